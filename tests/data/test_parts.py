"""Which policy made which episode of a medium-expert dataset, and the split's episode indices."""

import numpy as np
import pytest

from dwm_gym.data import OfflineDataset, make_dataset
from dwm_gym.data.parts import episode_parts


def test_medium_expert_episodes_are_labelled_by_the_policy_that_made_them():
    data = make_dataset("hopper-medium-expert", steps=300, num_envs=2, overwrite=True, progress=False)
    parts = episode_parts(data)
    lengths = np.array([len(e.rewards) for e in data.episodes])
    assert list(dict.fromkeys(parts)) == ["medium", "expert"]  # one block of each, medium first
    assert lengths[parts == "medium"].sum() == 300 and lengths[parts == "expert"].sum() == 300
    medium = make_dataset("hopper-medium", steps=300, num_envs=2, overwrite=True, progress=False)
    assert (parts == "medium").sum() == medium.num_episodes  # the medium half is the medium dataset itself
    plain = OfflineDataset(data.episodes, env_id=data.env_id, dataset_id="test/no-provenance")
    with pytest.raises(ValueError, match="no 'parts' provenance"):
        episode_parts(plain)


def test_split_indices_match_the_split():
    data = make_dataset("hopper-random", steps=400, num_envs=4, overwrite=True, progress=False)
    train_idx, held_idx = data.split_indices(0.2, np.random.default_rng(3))
    train, held = data.split(0.2, np.random.default_rng(3))
    assert sorted(train_idx + held_idx) == list(range(data.num_episodes))
    starts = [data.episodes[i].observations[0].tolist() for i in held_idx]
    assert [e.observations[0].tolist() for e in held.episodes] == starts
    assert train.num_episodes == len(train_idx) and held.dataset_id.endswith("[held-out]")
