"""A dataset's content digest: what a run records to tell "the same data" from "the same id, other content".

The digest is the SHA-256 of every episode's arrays (observations, actions, rewards, terminations,
truncations; shapes, dtypes and bytes, in episode order), so a dataset remade under the same id with
other episodes, another order or other values has another digest. It is computed once per loaded
dataset (kept on the object) and, for a Minari dataset, cached in ``$DWM_GYM_HOME/dataset_digests/`` keyed by
the data files' sizes and modification times, so a second run on the same files reads it instead of hashing
again (a remade dataset has new files, so its digest is computed afresh).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.utils.paths import dwm_gym_home

__all__ = ["dataset_digest"]

logger = logging.getLogger(__name__)
DIGEST_FOLDER = "dataset_digests"
_ATTRIBUTE = "_content_digest"


def _update(digest: hashlib._Hash, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.data.cast("B"))


def compute_digest(dataset: OfflineDataset) -> str:
    """SHA-256 (hex) of the dataset's episodes, computed from the arrays."""
    digest = hashlib.sha256(f"episodes={dataset.num_episodes}".encode())
    for episode in dataset.episodes:
        for name in ("observations", "actions", "rewards", "terminations", "truncations"):
            _update(digest, np.asarray(getattr(episode, name)))
    return digest.hexdigest()


def _minari_folder(dataset: OfflineDataset) -> Path | None:
    from dwm_gym.data.minari_io import datasets_root

    if not dataset.dataset_id or "[" in dataset.dataset_id:  # a subset is not the dataset on disk
        return None
    folder = datasets_root() / dataset.dataset_id / "data"
    return folder if folder.is_dir() else None


def _file_stamp(folder: Path) -> dict[str, list[int]]:
    return {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in sorted(folder.iterdir()) if p.is_file()}


def dataset_digest(dataset: OfflineDataset) -> str:
    """The dataset's content digest (see the module docstring), cached on the object and per Minari dataset."""
    cached = dataset.__dict__.get(_ATTRIBUTE)
    if cached is not None:
        return cached
    folder = _minari_folder(dataset)
    stamp = {"folder": str(folder.resolve()), **_file_stamp(folder)} if folder is not None else None
    name = (dataset.dataset_id or "").replace("/", "__") + ".json"
    record = dwm_gym_home() / DIGEST_FOLDER / name if folder is not None else None
    value = None
    if record is not None and record.is_file():
        try:
            stored = json.loads(record.read_text())
            same_size = [stored.get("episodes"), stored.get("transitions")] == [
                dataset.num_episodes,
                dataset.num_transitions,
            ]
            if stored.get("files") == json.loads(json.dumps(stamp)) and same_size:
                value = str(stored["sha256"])
        except (OSError, ValueError, KeyError):
            value = None
    if value is None:
        value = compute_digest(dataset)
        if record is not None:
            from dwm_gym.utils.atomic import atomic_write_text

            try:
                sizes = {"episodes": dataset.num_episodes, "transitions": dataset.num_transitions}
                text = json.dumps({"sha256": value, **sizes, "files": stamp})
                atomic_write_text(record, text)
            except OSError as exc:  # an unwritable home: the digest is only not cached
                logger.debug("cannot cache the digest in %s: %s", record, exc)
    dataset.__dict__[_ATTRIBUTE] = value
    return value
