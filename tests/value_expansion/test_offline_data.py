"""Offline datasets into SB3 buffers: terminations vs truncations, scaled actions, size checks."""

import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer

from dwm_gym.value_expansion import buffer_from_dataset, load_offline_data


def test_only_terminations_are_dones(dataset):
    buffer = buffer_from_dataset(dataset, ReplayBuffer, device="cpu")
    data = dataset.transitions
    n = dataset.num_transitions
    assert buffer.size() == n and buffer.full
    np.testing.assert_array_equal(buffer.dones[:, 0], data["terminations"])
    np.testing.assert_array_equal(buffer.timeouts[:, 0], data["truncations"] & ~data["terminations"])
    assert data["truncations"].sum() == 3 and data["terminations"].sum() == 3
    np.testing.assert_allclose(buffer.next_observations[:, 0], data["next_observations"])
    ends = data["truncations"] | data["terminations"]
    batch = buffer._get_samples(np.flatnonzero(ends))
    np.testing.assert_array_equal(batch.dones[:, 0].numpy(), data["terminations"][ends])


def test_actions_are_scaled_like_sb3_and_sizes_are_checked(dataset):
    obs_space = spaces.Box(-np.inf, np.inf, (11,), np.float64)
    wide = spaces.Box(-2.0, 2.0, (3,), np.float32)
    buffer = load_offline_data(ReplayBuffer(500, obs_space, wide, device="cpu"), dataset)
    np.testing.assert_allclose(buffer.actions[:240, 0], dataset.transitions["actions"] / 2.0, rtol=1e-6)
    assert buffer.pos == 240 and not buffer.full and np.all(buffer.actions[240:] == 0)
    with pytest.raises(ValueError, match="buffer_size >= 240"):
        load_offline_data(ReplayBuffer(100, obs_space, wide, device="cpu"), dataset)
    with pytest.raises(ValueError, match="n_envs=1"):
        load_offline_data(ReplayBuffer(500, obs_space, wide, device="cpu", n_envs=2), dataset)
