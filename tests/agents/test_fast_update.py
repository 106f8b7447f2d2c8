"""The fast update plumbing computes what SB3's does: the same batches and, after training, the same weights."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.utils import polyak_update

from dwm_gym.agents import IQL, TD3BC, fast_update
from dwm_gym.agents.fast_update import TransitionTable, polyak

SMALL = dict(batch_size=64, policy_kwargs=dict(net_arch=[64, 64]), device="cpu", seed=3)


def filled_buffer(n_envs: int = 1, size: int = 50) -> ReplayBuffer:
    obs_space = spaces.Box(-np.inf, np.inf, (4,), np.float64)
    buffer = ReplayBuffer(size, obs_space, spaces.Box(-1, 1, (2,), np.float32), device="cpu", n_envs=n_envs)
    rng = np.random.default_rng(0)
    for _ in range(size - 10):  # not full: sampling stays below pos
        obs, next_obs = rng.normal(size=(n_envs, 4)), rng.normal(size=(n_envs, 4))
        done = rng.random(n_envs) < 0.3
        infos = [{"TimeLimit.truncated": bool(d and rng.random() < 0.5)} for d in done]
        buffer.add(obs, next_obs, rng.uniform(-1, 1, (n_envs, 2)), rng.normal(size=n_envs), done, infos)
    return buffer


@pytest.mark.parametrize("n_envs", [1, 3])
def test_the_table_samples_the_batch_replay_buffer_sample_returns(n_envs):
    buffer = filled_buffer(n_envs)
    assert buffer.timeouts.any() and buffer.dones.any()  # time-limit dones are masked the same way
    table = TransitionTable(buffer)
    for seed in range(3):
        np.random.seed(seed)
        expected = buffer.sample(16)
        np.random.seed(seed)
        got = table.sample(16, torch.device("cpu"))
        assert expected.discounts is None and got.discounts is None
        for field, want, have in zip(expected._fields[:5], expected[:5], got[:5]):
            assert have.dtype == want.dtype and have.shape == want.shape, field
            assert torch.equal(have, want), field
        after_table = np.random.randint(1 << 30)  # the generator is left where SB3 leaves it
        np.random.seed(seed)
        buffer.sample(16)
        assert after_table == np.random.randint(1 << 30)


def test_the_table_sees_rows_written_in_place_and_refuses_other_buffers():
    buffer = filled_buffer()
    table = TransitionTable(buffer)
    buffer.rewards[:] = 7.0
    np.random.seed(0)
    assert torch.all(table.sample(8, torch.device("cpu")).rewards == 7.0)
    assert table.reads(buffer) and not table.reads(filled_buffer())
    buffer.observations = buffer.observations.copy()  # arrays replaced, not rewritten: the views are stale
    assert not table.reads(buffer)
    with pytest.raises(ValueError, match="plain SB3 ReplayBuffer"):
        box = spaces.Box(-1, 1, (2,))
        TransitionTable(ReplayBuffer(10, box, box, optimize_memory_usage=True, handle_timeout_termination=False))


def test_polyak_is_sb3_polyak_update_bit_for_bit():
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(33, 7, generator=gen), torch.randn(5, generator=gen)]
    targets = [torch.randn(33, 7, generator=gen), torch.randn(5, generator=gen)]
    expected = [t.clone() for t in targets]
    for _ in range(5):
        polyak_update(params, expected, 0.005)
        polyak(params, targets, 0.005)
    assert all(torch.equal(a, b) for a, b in zip(targets, expected))
    assert not torch.equal(targets[0], params[0])  # it moved
    with pytest.raises(ValueError, match="target parameters"):
        polyak(params, targets[:1], 0.5)


def sb3_plumbing(monkeypatch):
    """The update as before the fast plumbing: SB3's sample and polyak_update, Adam's per-tensor loop."""
    monkeypatch.setattr(TransitionTable, "supports", staticmethod(lambda buffer: False))
    monkeypatch.setattr("dwm_gym.agents.td3bc.polyak", polyak_update)
    monkeypatch.setattr("dwm_gym.agents.iql.polyak", polyak_update)
    monkeypatch.setattr(fast_update, "OPTIMIZER_DEFAULTS", {"foreach": False})


def trained(cls, data, updates: int):
    agent = cls("MlpPolicy", "Hopper-v5", **SMALL).load_dataset(data)
    agent.learn(updates)
    return agent


@pytest.mark.parametrize("cls", [TD3BC, IQL])
def test_training_gives_the_same_weights_as_sb3s_plumbing(cls, medium_data, monkeypatch):
    fast = trained(cls, medium_data, 40)
    assert fast.transition_table is not None  # the fast path ran
    assert all(g["foreach"] for g in fast.policy.critic.optimizer.param_groups)
    with monkeypatch.context() as patch:
        sb3_plumbing(patch)
        slow = trained(cls, medium_data, 40)
        assert slow.transition_table is None and not slow.policy.critic.optimizer.param_groups[0]["foreach"]
    fast_state, slow_state = fast.policy.state_dict(), slow.policy.state_dict()
    assert fast_state.keys() == slow_state.keys()
    for key in fast_state:
        assert torch.equal(fast_state[key], slow_state[key]), key
    assert fast.critic_monitor._sums == slow.critic_monitor._sums  # the same losses, Q and targets on the way
    fresh = cls("MlpPolicy", "Hopper-v5", **SMALL).policy.state_dict()
    assert any(not torch.equal(fresh[k], fast_state[k]) for k in fresh)  # it trained


def test_user_optimizer_settings_win_over_the_defaults(medium_data):
    agent = TD3BC("MlpPolicy", "Hopper-v5", **{**SMALL, "policy_kwargs": dict(optimizer_kwargs={"foreach": False})})
    assert not agent.policy.critic.optimizer.param_groups[0]["foreach"]
    eps = TD3BC("MlpPolicy", "Hopper-v5", **{**SMALL, "policy_kwargs": dict(optimizer_kwargs={"eps": 1e-5})})
    group = eps.policy.actor.optimizer.param_groups[0]
    assert group["eps"] == 1e-5 and group["foreach"]
    fused = TD3BC("MlpPolicy", "Hopper-v5", **{**SMALL, "policy_kwargs": dict(optimizer_kwargs={"fused": True})})
    group = fused.policy.critic.optimizer.param_groups[0]
    assert group["fused"] and not group["foreach"]  # torch refuses both at once
