"""Reading D4RL-format HDF5 files (the layout of ``d4rl``'s ``get_dataset()``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dwm_gym.data.episode import DatasetError

REQUIRED_KEYS = ("observations", "actions", "rewards", "next_observations", "terminals", "timeouts")


def load_d4rl_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads the flat arrays of a D4RL HDF5 file.

    Args:
        path: File with datasets ``observations``, ``actions``, ``rewards``, ``next_observations``,
            ``terminals`` and ``timeouts`` (D4RL v2 files have them all).

    Returns:
        Keyword arguments for :meth:`OfflineDataset.from_arrays`.

    Raises:
        FileNotFoundError: If the file does not exist.
        DatasetError: If it is not HDF5 or lacks a required dataset.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no D4RL file at {path}")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise DatasetError(f"{path} is not a readable HDF5 file: {exc}") from exc
    with handle:
        missing = [key for key in REQUIRED_KEYS if key not in handle]
        if missing:
            raise DatasetError(
                f"{path} lacks {missing}; a D4RL-format file needs {list(REQUIRED_KEYS)} "
                "(v0 files without next_observations: regenerate with d4rl >= 1.1 / the v2 datasets)"
            )
        return {
            "observations": handle["observations"][:],
            "actions": handle["actions"][:],
            "rewards": handle["rewards"][:],
            "next_observations": handle["next_observations"][:],
            "terminations": handle["terminals"][:],
            "truncations": handle["timeouts"][:],
        }
