"""TD3BC: offline SB3 training (no env steps), normalization, callbacks, logs, save/load, any buffer."""

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback

from dwm_gym.agents import TD3BC
from dwm_gym.agents.normalization import NormalizedFlattenExtractor
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, OneStepMVEReplayBuffer
from dwm_gym.world_model.bundled import resolve_checkpoint

SMALL = dict(batch_size=32, policy_kwargs=dict(net_arch=[32, 32]), device="cpu", seed=0)


class CountSteps(BaseCallback):
    def _on_step(self) -> bool:
        return True


def test_learns_offline_with_callbacks_progress_bar_and_tensorboard(medium_data, untouchable_env, tmp_path):
    agent = TD3BC("MlpPolicy", untouchable_env, tensorboard_log=str(tmp_path / "tb"), **SMALL).load_dataset(medium_data)
    assert agent.replay_buffer.buffer_size == medium_data.num_transitions
    counter = CountSteps()
    agent.learn(60, callback=counter, progress_bar=True, log_interval=20)
    assert counter.n_calls == 60 and agent.num_timesteps == 60 and agent._n_updates == 60
    assert list((tmp_path / "tb").rglob("events.out.tfevents*"))
    # state statistics of the data in all four networks, so imagined ŝ are normalized like real states
    obs = medium_data.transitions["observations"]
    extractors = [m for m in agent.policy.modules() if isinstance(m, NormalizedFlattenExtractor)]
    assert len(extractors) == 4
    for extractor in extractors:
        np.testing.assert_allclose(extractor.mean.numpy(), obs.mean(0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(extractor.std.numpy(), obs.std(0) + 1e-3, rtol=1e-4, atol=1e-5)


def test_save_load_and_continue(medium_data, tmp_path):
    agent = TD3BC("MlpPolicy", "Hopper-v5", **SMALL).load_dataset(medium_data)
    agent.learn(20)
    agent.save(tmp_path / "agent.safetensors")
    loaded = TD3BC.load(tmp_path / "agent.safetensors", env="Hopper-v5", device="cpu")
    obs = medium_data.transitions["observations"][:5]
    np.testing.assert_allclose(loaded.predict(obs, deterministic=True)[0], agent.predict(obs, deterministic=True)[0])
    assert loaded.alpha == 2.5 and loaded.policy_delay == 2 and loaded.target_policy_noise == 0.2
    loaded.load_dataset(medium_data).learn(10, reset_num_timesteps=False)
    assert loaded.num_timesteps == 30


@pytest.mark.parametrize("kind", ["dwm", "onestep"])
def test_trains_with_the_model_based_buffers(medium_data, kind):
    buffer_class = DiffusionMVEReplayBuffer if kind == "dwm" else OneStepMVEReplayBuffer
    kwargs = dict(world_model=str(resolve_checkpoint("hopper", "medium", kind)), horizon=3)
    agent = TD3BC("MlpPolicy", "Hopper-v5", replay_buffer_class=buffer_class, replay_buffer_kwargs=kwargs, **SMALL)
    agent.load_dataset(medium_data).learn(6)  # the one-step buffer gets the actor without a callback
    batch = agent.replay_buffer.sample(4)
    assert torch.allclose(batch.discounts, torch.full((4, 1), 0.99**3)) and agent.num_timesteps == 6


def test_refuses_an_empty_buffer_or_a_discount_mismatch(medium_data):
    with pytest.raises(ValueError, match="load an offline dataset first"):
        TD3BC("MlpPolicy", "Hopper-v5", **SMALL).learn(5)
    kwargs = dict(world_model=str(resolve_checkpoint("hopper", "medium", "onestep")), horizon=2, gamma=0.9)
    agent = TD3BC(
        "MlpPolicy", "Hopper-v5", replay_buffer_class=OneStepMVEReplayBuffer, replay_buffer_kwargs=kwargs, **SMALL
    )
    with pytest.raises(ValueError, match="gamma=0.9"):
        agent.load_dataset(medium_data).learn(5)


def test_load_dataset_hands_the_loaded_world_model_to_the_resized_buffer(medium_data, monkeypatch):
    import pickle

    import dwm_gym.value_expansion.base_buffer as base_buffer

    loads = []
    real_load = base_buffer.load_world_model
    monkeypatch.setattr(base_buffer, "load_world_model", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    path = str(resolve_checkpoint("hopper", "medium", "dwm"))
    agent = TD3BC(
        "MlpPolicy",
        "Hopper-v5",
        replay_buffer_class=DiffusionMVEReplayBuffer,
        device="cpu",
        replay_buffer_kwargs=dict(world_model=path, horizon=3),
    )
    agent.load_dataset(medium_data)
    assert len(loads) == 1 and agent.replay_buffer.buffer_size == medium_data.num_transitions
    assert agent.replay_buffer.world_model_path == path
    assert pickle.loads(pickle.dumps(agent.replay_buffer)).world_model_path == path


def test_logs_critic_and_imagination_statistics(medium_data, tmp_path):
    import csv

    from stable_baselines3.common.logger import configure

    kwargs = dict(world_model=str(resolve_checkpoint("hopper", "medium", "dwm")), horizon=3)
    agent = TD3BC(
        "MlpPolicy", "Hopper-v5", replay_buffer_class=DiffusionMVEReplayBuffer, replay_buffer_kwargs=kwargs, **SMALL
    )
    agent.set_logger(configure(str(tmp_path), ["csv"]))
    agent.load_dataset(medium_data).learn(40, log_interval=20)
    rows = [r for r in csv.DictReader((tmp_path / "progress.csv").open()) if r.get("train/critic_loss")]
    assert len(rows) == 2
    row = {k: float(v) for k, v in rows[-1].items() if v}
    assert row["train/q_max"] >= row["train/q_mean"] and row["train/target_max"] >= row["train/target_mean"]
    assert 0.0 < row["train/bootstrap_share"] <= 1.5
    assert 0.0 <= row["imagined/outside_support"] <= 1.0
    data_rewards = medium_data.transitions["rewards"]
    assert abs(row["imagined/reward_data"] - data_rewards.mean()) < 3 * data_rewards.std()
    assert abs(row["imagined/reward_first"] - row["imagined/reward_data"]) < 1.0  # r̂_t next to r_t
    assert row["imagined/reward_sum"] > row["imagined/reward_first"]  # three discounted positive rewards
    bound = np.abs(data_rewards).max() / (1 - 0.99)
    assert agent.critic_monitor.q_bound == pytest.approx(bound, rel=1e-5) and agent.divergence is None
