"""AnchoredTD3: TD3 that learns in its env while mixing in data rows and cloning the data's actions."""

import numpy as np
import pytest
import torch

from dwm_gym.agents import AnchoredTD3

SMALL = dict(batch_size=16, learning_starts=50, policy_kwargs=dict(net_arch=[32, 32]), device="cpu", seed=0)


def data_action_mse(agent: AnchoredTD3, data) -> float:
    rows = data.transitions
    actions = torch.as_tensor(agent.policy.scale_action(rows["actions"]), dtype=torch.float32)
    with torch.no_grad():
        predicted = agent.actor(torch.as_tensor(rows["observations"], dtype=torch.float32))
    return float(((predicted - actions) ** 2).mean())


def test_minibatch_mixes_data_rows_with_their_own_discount(medium_data):
    agent = AnchoredTD3("MlpPolicy", "Hopper-v5", dataset=medium_data, data_ratio=0.25, data_discount=0.9, **SMALL)
    agent.learn(60)  # fills the replay buffer with real env steps
    batch, data = agent._minibatch(16)
    assert batch["observations"].shape == (16, 11) and data["observations"].shape == (4, 11)
    torch.testing.assert_close(batch["observations"][-4:], data["observations"])
    observations = medium_data.transitions["observations"]
    for row in data["observations"].numpy():  # data rows are dataset transitions
        assert np.isclose(observations, row, atol=1e-6).all(axis=1).any()
    torch.testing.assert_close(batch["discounts"][:12], torch.full((12, 1), 0.99))
    torch.testing.assert_close(batch["discounts"][12:], torch.full((4, 1), 0.9))
    assert batch["actions"].abs().max() <= 1.0  # data actions are in TD3's scaled [-1, 1] units


def test_behaviour_cloning_term_pulls_the_actor_to_the_data(medium_data):
    def mse_after(alpha):
        agent = AnchoredTD3("MlpPolicy", "Hopper-v5", dataset=medium_data, data_ratio=0.5, alpha=alpha, **SMALL)
        before = data_action_mse(agent, medium_data)
        agent.learn(300)
        return before, data_action_mse(agent, medium_data)

    before, anchored = mse_after(0.01)  # λ small: the BC term dominates the actor loss
    _, plain = mse_after(None)
    assert anchored < 0.7 * before and anchored < 0.5 * plain  # measured: 0.19 vs 0.33 before, 1.0 plain


def test_logs_the_critic(medium_data, tmp_path):
    agent = AnchoredTD3("MlpPolicy", "Hopper-v5", dataset=medium_data, **SMALL)
    agent.learn(80)
    values = agent.logger.name_to_value
    assert {"train/critic_loss", "train/q_mean", "train/target_mean", "train/bc_loss"} <= set(values)
    assert agent.critic_monitor.history and np.isfinite(agent.critic_monitor.history[-1][1])


def test_save_load_needs_the_dataset_again(medium_data, tmp_path):
    agent = AnchoredTD3("MlpPolicy", "Hopper-v5", dataset=medium_data, data_ratio=0.5, alpha=2.5, **SMALL)
    agent.learn(60)
    agent.save(tmp_path / "agent.zip")
    loaded = AnchoredTD3.load(tmp_path / "agent.zip", env=agent.get_env(), device="cpu")
    assert loaded.data_ratio == 0.5 and loaded.alpha == 2.5 and loaded.dataset_id == medium_data.dataset_id
    loaded.replay_buffer = agent.replay_buffer
    with pytest.raises(ValueError, match="set_dataset"):
        loaded.learn(5, reset_num_timesteps=False)
    loaded.set_dataset(medium_data).learn(5, reset_num_timesteps=False)
    assert loaded._n_updates > agent._n_updates


def test_rejects_bad_settings(medium_data):
    with pytest.raises(ValueError, match=r"data_ratio must be in \[0, 1\)"):
        AnchoredTD3("MlpPolicy", "Hopper-v5", dataset=medium_data, data_ratio=1.0, **SMALL)
    with pytest.raises(ValueError, match="needs the dataset"):
        AnchoredTD3("MlpPolicy", "Hopper-v5", **SMALL)
    with pytest.raises(ValueError, match=r"expects \(17,\)"):
        AnchoredTD3("MlpPolicy", "Walker2d-v5", dataset=medium_data, **SMALL)


def test_pretrain_critic_evaluates_the_fixed_actor_on_the_data(medium_data):
    agent = AnchoredTD3("MlpPolicy", "Hopper-v5", dataset=medium_data, **SMALL)
    actor_before = [p.detach().clone() for p in agent.actor.parameters()]
    first = agent.pretrain_critic(1, batch_size=64)
    last = agent.pretrain_critic(600, batch_size=64)
    assert last < 0.5 * first  # TD error of the fixed actor's value falls
    assert [row[0] for row in agent.critic_monitor.history] == [0, 0]  # one window per call, before any update
    assert all(torch.equal(a, b) for a, b in zip(actor_before, agent.actor.parameters()))
    rows = agent._data_rows(256)
    with torch.no_grad():
        q = agent.critic.q1_forward(rows["observations"], rows["actions"])
    assert q.mean() > 2 * rows["rewards"].mean()  # values of several steps, not of one reward


def test_actor_warmup_holds_the_actor_but_moves_the_critic_target():
    agent = AnchoredTD3("MlpPolicy", "Hopper-v5", data_ratio=0.0, alpha=None, actor_warmup=40, **SMALL)
    params = lambda net: [p.detach().clone() for p in net.parameters()]  # noqa: E731
    actor, critic_target = params(agent.actor), params(agent.critic_target)
    agent.learn(50 + 30)  # learning starts at 50: 30 updates, all within the warm-up
    assert agent._n_updates == 30
    assert all(torch.equal(a, b) for a, b in zip(actor, agent.actor.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(critic_target, agent.critic_target.parameters()))
    agent.learn(20, reset_num_timesteps=False)  # updates 31..50: the actor moves after update 40
    assert not all(torch.equal(a, b) for a, b in zip(actor, agent.actor.parameters()))
    with pytest.raises(ValueError, match="actor_warmup must be >= 0"):
        AnchoredTD3("MlpPolicy", "Hopper-v5", data_ratio=0.0, alpha=None, actor_warmup=-1, **SMALL)
