import numpy as np
import pytest

from dwm_gym.data import DatasetError, Episode, OfflineDataset


def flat_arrays(n=10, obs_dim=3):
    obs = np.arange(n * obs_dim, dtype=np.float64).reshape(n, obs_dim)
    return {
        "observations": obs,
        "actions": np.zeros((n, 2), np.float32),
        "rewards": np.ones(n),
        "next_observations": np.concatenate([obs[1:], obs[-1:] + 0.5]),
        "terminations": np.zeros(n, bool),
        "truncations": np.zeros(n, bool),
    }


def test_from_arrays_splits_at_flags_and_keeps_them_apart():
    arrays = flat_arrays(10)
    arrays["terminations"][3] = True
    arrays["truncations"][6] = True
    data = OfflineDataset.from_arrays(**arrays, env_id="MyEnv-v0")
    assert [len(e) for e in data.episodes] == [4, 3, 3]
    assert data.episodes[0].terminated and not data.episodes[1].terminated
    assert data.episodes[1].truncations[-1]
    # the tail after the last flag is a truncated episode: the data just stops
    assert data.episodes[2].truncations[-1] and not data.episodes[2].terminations.any()
    # observations hold the final next-state
    np.testing.assert_array_equal(data.episodes[0].observations[-1], arrays["next_observations"][3])
    assert data.num_transitions == 10
    np.testing.assert_array_equal(data.transitions["next_observations"], arrays["next_observations"])


def test_bad_inputs_give_clear_errors():
    arrays = flat_arrays(5)
    with pytest.raises(DatasetError, match="same length"):
        OfflineDataset.from_arrays(**{**arrays, "rewards": np.ones(4)})
    with pytest.raises(DatasetError, match="empty"):
        OfflineDataset.from_arrays(**{k: v[:0] for k, v in arrays.items()})
    bad = flat_arrays(5)
    bad["rewards"][2] = np.nan
    with pytest.raises(DatasetError, match="NaN or inf"):
        OfflineDataset.from_arrays(**bad)
    bad = flat_arrays(5)
    bad["observations"][1, 0] = np.inf
    with pytest.raises(DatasetError, match="observations contains NaN or inf"):
        OfflineDataset.from_arrays(**bad)
    shuffled = flat_arrays(5)
    shuffled["observations"] = shuffled["observations"][::-1].copy()
    with pytest.raises(DatasetError, match="time-ordered"):
        OfflineDataset.from_arrays(**shuffled)
    with pytest.raises(DatasetError, match="no episodes"):
        OfflineDataset([])


def test_episode_validation_messages():
    ok = Episode(np.zeros((4, 2)), np.zeros((3, 1)), np.zeros(3), np.array([0, 0, 1], bool), np.zeros(3, bool))
    assert ok.validate() is ok
    short_obs = Episode(np.zeros((3, 2)), np.zeros((3, 1)), np.zeros(3), np.zeros(3, bool), np.zeros(3, bool))
    with pytest.raises(DatasetError, match="one more entry than actions"):
        short_obs.validate()
    mid_flag = Episode(np.zeros((4, 2)), np.zeros((3, 1)), np.zeros(3), np.array([1, 0, 0], bool), np.zeros(3, bool))
    with pytest.raises(DatasetError, match="before the last step"):
        mid_flag.validate()
    with pytest.raises(DatasetError, match="obs/action sizes"):
        OfflineDataset(
            [ok, Episode(np.zeros((4, 5)), np.zeros((3, 1)), np.zeros(3), np.zeros(3, bool), np.zeros(3, bool))]
        )


def test_split_by_episodes(rng):
    arrays = flat_arrays(20)
    arrays["truncations"][1::2] = True  # 10 episodes of 2 steps
    data = OfflineDataset.from_arrays(**arrays, env_id="MyEnv-v0", metadata={"budget_cut_episodes": [9]})
    train, held = data.split(0.3, rng)
    assert (train.num_episodes, held.num_episodes) == (7, 3)
    assert "budget_cut_episodes" not in train.metadata
    firsts = {tuple(e.observations[0]) for e in train.episodes} | {tuple(e.observations[0]) for e in held.episodes}
    assert len(firsts) == 10
    with pytest.raises(ValueError, match="held_out_fraction"):
        data.split(1.0, rng)
    assert data.episode_returns(finished_only=True).shape == (9,)
