"""The dataset content digest: equal only for equal content, cached per Minari dataset, recomputed when remade."""

import dataclasses

from dwm_gym.data import OfflineDataset, content_hash, make_dataset
from dwm_gym.data.content_hash import compute_digest, dataset_digest


def test_digest_is_cached_per_dataset_and_follows_a_remade_dataset(monkeypatch):
    made = make_dataset("hopper-random", steps=300, num_envs=2, progress=False)
    first = dataset_digest(OfflineDataset.from_minari(made.dataset_id))
    assert first == compute_digest(made) and len(first) == 64

    def no_hashing(dataset):
        raise AssertionError("hashed again although the files did not change")

    with monkeypatch.context() as patch:
        patch.setattr(content_hash, "compute_digest", no_hashing)
        assert dataset_digest(OfflineDataset.from_minari(made.dataset_id)) == first  # read from the cache
    remade = make_dataset("hopper-random", steps=300, num_envs=2, seed=1, overwrite=True, progress=False)
    assert dataset_digest(OfflineDataset.from_minari(remade.dataset_id)) == compute_digest(remade) != first


def test_digest_sees_order_and_values():
    made = make_dataset("hopper-random", steps=300, num_envs=2, progress=False)
    reordered = OfflineDataset(made.episodes[::-1], env_id=made.env_id, dataset_id=made.dataset_id)
    first = made.episodes[0]
    nudged = dataclasses.replace(first, rewards=first.rewards + 1e-6)
    changed = OfflineDataset([nudged, *made.episodes[1:]], env_id=made.env_id, dataset_id=made.dataset_id)
    digests = {compute_digest(d) for d in (made, reordered, changed)}
    assert len(digests) == 3  # same id, same sizes: only the content tells them apart
    same = OfflineDataset(list(made.episodes), env_id=made.env_id, dataset_id="another id")
    assert compute_digest(same) == compute_digest(made)
