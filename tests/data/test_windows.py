import numpy as np
import pytest

from dwm_gym.data import DatasetError, DWMWindows, Episode, OfflineDataset
from dwm_gym.data.windows import discounted_returns_to_go


def make_episode(length: int, terminated: bool, obs_start: float = 0.0, obs_dim: int = 11) -> Episode:
    """Observations count up (row i = obs_start + i), rewards are 1, 2, 3, ... so windows are readable."""
    obs = obs_start + np.arange(length + 1, dtype=np.float64)[:, None] * np.ones(obs_dim)
    terminations = np.zeros(length, bool)
    truncations = np.zeros(length, bool)
    (terminations if terminated else truncations)[-1] = True
    actions = (obs_start + np.arange(length, dtype=np.float32))[:, None] * np.ones((1, 3), np.float32)
    return Episode(obs, actions, np.arange(1, length + 1, dtype=np.float64), terminations, truncations)


def test_rtg_matches_hand_computation():
    rewards = np.array([1.0, 2.0, 3.0])
    gamma = 0.5
    expected = [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0]
    np.testing.assert_allclose(discounted_returns_to_go(rewards, gamma), expected)


def test_windows_of_truncated_episode_never_cross_the_cut():
    data = OfflineDataset([make_episode(5, terminated=False)], env_id="Hopper-v5")
    windows = DWMWindows(data, segment_length=3, gamma=1.0, rtg_scale=1.0)
    assert len(windows) == 3  # starts 0, 1, 2 (5 - 3 + 1)
    batch = windows.batch(np.arange(3))
    np.testing.assert_array_equal(batch.states[:, 0], [0, 1, 2])
    np.testing.assert_array_equal(batch.rewards, [[1, 2, 3], [2, 3, 4], [3, 4, 5]])
    np.testing.assert_array_equal(batch.future_states[:, :, 0], [[1, 2], [2, 3], [3, 4]])
    np.testing.assert_array_equal(batch.masks, np.ones((3, 3)))
    np.testing.assert_array_equal(batch.terminals, np.zeros((3, 3)))
    # full-episode RTG (gamma 1): sum of the remaining rewards 1..5
    np.testing.assert_allclose(batch.rtg, [15, 14, 12])


def test_windows_after_termination_are_padded_with_absorbing_state():
    data = OfflineDataset([make_episode(3, terminated=True)], env_id="Hopper-v5")
    windows = DWMWindows(data, segment_length=4, gamma=0.9, rtg_scale=2.0)
    assert len(windows) == 3  # every start of a terminated episode
    last = windows.batch(np.array([2]))
    # s_2, then s_3 = the terminal next-state, repeated
    np.testing.assert_array_equal(last.states[0], np.full(11, 2.0))
    np.testing.assert_array_equal(last.future_states[0, :, 0], [3, 3, 3])
    np.testing.assert_array_equal(last.rewards[0], [3, 0, 0, 0])
    np.testing.assert_array_equal(last.masks[0], [1, 0, 0, 0])
    np.testing.assert_array_equal(last.terminals[0], [1, 1, 1, 1])
    first = windows.batch(np.array([0]))
    np.testing.assert_array_equal(first.rewards[0], [1, 2, 3, 0])
    np.testing.assert_array_equal(first.terminals[0], [0, 0, 1, 1])
    np.testing.assert_array_equal(first.masks[0], [1, 1, 1, 0])
    np.testing.assert_allclose(first.rtg[0], (1 + 0.9 * 2 + 0.81 * 3) / 2.0, rtol=1e-6)


def test_windows_do_not_mix_episodes():
    data = OfflineDataset(
        [make_episode(4, terminated=True, obs_start=0), make_episode(4, terminated=False, obs_start=100)],
        env_id="Hopper-v5",
    )
    windows = DWMWindows(data, segment_length=3, gamma=1.0, rtg_scale=1.0)
    assert len(windows) == 4 + 2
    batch = windows.batch(np.arange(len(windows)))
    for states, future in zip(batch.states[:, 0], batch.future_states[:, :, 0]):
        # all states of a window come from the same episode (0.. or 100..)
        assert (states >= 100) == (future >= 100).all() == (future >= 100).any()


def test_default_rtg_scale_comes_from_the_task():
    data = OfflineDataset([make_episode(10, terminated=False)], env_id="Hopper-v5")
    assert DWMWindows(data, segment_length=2).rtg_scale == 400.0
    unknown = OfflineDataset([make_episode(10, terminated=False)], env_id="Pendulum-v1")
    with pytest.raises(ValueError, match="rtg_scale"):
        DWMWindows(unknown, segment_length=2)


def test_no_window_fits_gives_clear_error():
    data = OfflineDataset([make_episode(3, terminated=False)], env_id="Hopper-v5")
    with pytest.raises(DatasetError, match="no window of length 8"):
        DWMWindows(data, segment_length=8)


def test_sample_uses_the_generator():
    data = OfflineDataset([make_episode(50, terminated=False)], env_id="Hopper-v5")
    windows = DWMWindows(data, segment_length=8)
    a = windows.sample(16, np.random.default_rng(3))
    b = windows.sample(16, np.random.default_rng(3))
    np.testing.assert_array_equal(a.states, b.states)
    assert a.future_states.shape == (16, 7, 11) and a.rewards.shape == (16, 8)
