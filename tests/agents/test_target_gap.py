"""The critic monitor's target gap: value-expansion target minus the one-step TD target on the real transition."""

import numpy as np
import pytest
import torch

from dwm_gym.agents import IQL, TD3BC
from dwm_gym.value_expansion import OneStepMVEReplayBuffer
from dwm_gym.world_model.bundled import resolve_checkpoint

SMALL = dict(batch_size=32, policy_kwargs=dict(net_arch=[32, 32]), device="cpu", seed=0)


def trained(cls, data, updates: int, model_based: bool = True):
    kwargs = dict(world_model=str(resolve_checkpoint("hopper", "medium", "onestep")), horizon=3)  # cheaper than a DWM
    buffer = dict(replay_buffer_class=OneStepMVEReplayBuffer, replay_buffer_kwargs=kwargs) if model_based else {}
    agent = cls("MlpPolicy", "Hopper-v5", **buffer, **SMALL).load_dataset(data)
    agent.learn(updates, log_interval=10)
    return agent


@pytest.mark.parametrize("cls", [TD3BC, IQL])
def test_measuring_the_gap_leaves_training_exactly_as_it_is_without(cls, medium_data, monkeypatch):
    module = "dwm_gym.agents.td3bc" if cls is TD3BC else "dwm_gym.agents.iql"
    monkeypatch.setattr(f"{module}.TARGET_GAP_EVERY", 1)
    measured = trained(cls, medium_data, 20)
    monkeypatch.setattr(f"{module}.TARGET_GAP_EVERY", 10**9)
    unmeasured = trained(cls, medium_data, 20)
    gaps = [w.mve_minus_td for w in measured.critic_monitor.history]
    assert len(gaps) == 2 and all(g is not None and np.isfinite(g) for g in gaps)
    assert [w.mve_minus_td for w in unmeasured.critic_monitor.history] == [None, None]
    a, b = measured.policy.state_dict(), unmeasured.policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_model_free_run_has_no_gap(medium_data):
    agent = trained(TD3BC, medium_data, 20, model_based=False)
    assert [w.mve_minus_td for w in agent.critic_monitor.history] == [None, None]


def test_the_batch_carries_each_rows_real_next_state_reward_and_termination(medium_data):
    agent = trained(TD3BC, medium_data, 1)
    data = medium_data.transitions
    ended, cut = np.flatnonzero(data["terminations"]), np.flatnonzero(data["truncations"] & ~data["terminations"])
    assert len(ended) and len(cut), "the test data needs a terminal and a truncated transition"
    rows = np.concatenate([ended[:3], cut[:3], np.arange(5)])
    batch = agent.replay_buffer._get_samples(rows)
    np.testing.assert_array_equal(batch.real_next_observations.numpy(), data["next_observations"][rows])
    np.testing.assert_allclose(batch.real_rewards.numpy()[:, 0], data["rewards"][rows])
    expected = data["terminations"][rows].astype(np.float32)  # a time-limit cut is no termination
    np.testing.assert_array_equal(batch.real_dones.numpy()[:, 0], expected)
    assert expected[:3].all() and not expected[3:6].any()


def test_the_window_averages_the_sampled_gaps_and_the_next_one_starts_empty():
    from dwm_gym.agents.diagnostics import CriticMonitor

    monitor = CriticMonitor()
    q = torch.ones(4, 1)
    for update in range(4):
        monitor.add(1.0, q, q, None)
        if update % 2 == 0:
            monitor.add_target_gap(-2.0 * (update + 1))  # -2 and -6
    monitor.record(None, 4)
    monitor.add(1.0, q, q, None)
    monitor.record(None, 5)
    assert [w.mve_minus_td for w in monitor.history] == [-4.0, None]
