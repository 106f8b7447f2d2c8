"""Reading and writing Minari datasets (the only module that imports minari).

Writes are atomic: the dataset is built in a hidden staging folder under the datasets root
and renamed into place, so an interrupted ``dataset make`` never leaves a half-written dataset.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dwm_gym.data.episode import DatasetError, Episode

PROVENANCE_FILE = "dwm_gym_provenance.json"


def datasets_root() -> Path:
    """The Minari datasets folder: ``$MINARI_DATASETS_PATH`` or ``~/.minari/datasets``."""
    env = os.environ.get("MINARI_DATASETS_PATH")
    return Path(env) if env else Path.home() / ".minari" / "datasets"


def check_writable_root(root: Path | None = None) -> Path:
    """The datasets root, created if needed, after checking that files can be written there.

    ``dataset make`` calls it before collecting any data, so an unwritable root fails in a second, not
    after the whole collection. It also removes staging folders left by writes that were killed.

    Raises:
        PermissionError: If the folder cannot be created or written (the message says how to choose another).
    """
    root = datasets_root() if root is None else root
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkstemp(prefix=".write-check-", dir=root)[1])
        probe.unlink()
    except OSError as exc:
        raise PermissionError(
            f"cannot write datasets to {root} ({exc.strerror or exc}): set MINARI_DATASETS_PATH to a writable folder"
        ) from exc
    remove_stale_staging(root)
    return root


def remove_stale_staging(root: Path) -> list[Path]:
    """Removes ``.staging-<pid>-*`` folders of processes that no longer run (a write killed midway); returns them."""
    removed = []
    for folder in root.glob(".staging-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and _process_alive(int(pid)):
            continue  # another dataset make is writing right now
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _make_hint(dataset_id: str) -> str:
    """The ``dataset make`` command for a ``dwm_gym/...`` id, only when that command exists (else the valid names)."""
    import difflib

    from dwm_gym.data.specs import QUALITIES, TASKS, parse_dataset_name

    try:
        spec, quality = parse_dataset_name(dataset_id)
    except ValueError:
        names = [f"{t}-{q}" for t in TASKS for q in QUALITIES]
        guess = dataset_id.split("/", 1)[-1].replace("/", "-").rsplit("-v", 1)[0]
        close = difflib.get_close_matches(guess, names, n=1)
        suggestion = f" Did you mean dwm_gym/{close[0].replace('-', '/', 1)}-v0?" if close else ""
        return f" It is not a dataset dwm_gym can make ({', '.join(names)}).{suggestion}"
    return f" Make it with: dwm-gym dataset make {spec.name}-{quality}."


def list_local_datasets() -> list[str]:
    """Ids of the Minari datasets on disk."""
    import minari

    return sorted(minari.list_local_datasets())


def load_minari_episodes(dataset_id: str, download: bool = False) -> tuple[list[Episode], str | None, dict]:
    """Loads all episodes of a Minari dataset.

    Args:
        dataset_id: Minari id.
        download: Allow Minari to download a remote dataset.

    Returns:
        ``(episodes, env_id, metadata)``; metadata holds Minari's fields and, for datasets made
        by this project, the provenance record.

    Raises:
        DatasetError: If the dataset is not on disk (listing those that are).
    """
    import minari

    local = list_local_datasets()
    if dataset_id not in local and not download:
        hint = ""
        if dataset_id.startswith("dwm_gym/"):
            hint = _make_hint(dataset_id)
        else:
            hint = " Download it with: minari download " + dataset_id + " (needs network)."
        raise DatasetError(
            f"no Minari dataset {dataset_id!r} under {datasets_root()}. Local datasets: "
            f"{', '.join(local) if local else 'none'}.{hint}"
        )
    dataset = minari.load_dataset(dataset_id, download=download)
    episodes = [
        Episode(
            observations=np.asarray(ep.observations, dtype=np.float64),
            actions=np.asarray(ep.actions, dtype=np.float32).reshape(len(ep.rewards), -1),
            rewards=np.asarray(ep.rewards, dtype=np.float64),
            terminations=np.asarray(ep.terminations, dtype=bool),
            truncations=np.asarray(ep.truncations, dtype=bool),
        )
        for ep in dataset.iterate_episodes()
    ]
    env_spec = dataset.spec.env_spec
    metadata = {
        "ref_min_score": dataset.storage.metadata.get("ref_min_score"),
        "ref_max_score": dataset.storage.metadata.get("ref_max_score"),
        "algorithm_name": dataset.storage.metadata.get("algorithm_name"),
        "description": dataset.storage.metadata.get("description"),
    }
    provenance = Path(dataset.spec.data_path).parent / PROVENANCE_FILE
    if provenance.is_file():
        metadata.update(json.loads(provenance.read_text()))
    return episodes, (env_spec.id if env_spec is not None else None), metadata


def write_minari_dataset(
    dataset_id: str,
    episodes: list[Episode],
    env_id: str,
    *,
    provenance: dict,
    ref_min_score: float,
    ref_max_score: float,
    algorithm_name: str,
    description: str,
    overwrite: bool = False,
) -> Path:
    """Writes episodes as a Minari dataset with ``minari.create_dataset_from_buffers``, atomically.

    Args:
        dataset_id: Target id, e.g. ``dwm_gym/hopper/medium-v0``.
        episodes: Validated episodes.
        env_id: Gymnasium id that produced them.
        provenance: JSON-able record stored next to the data (``dwm_gym_provenance.json``).
        ref_min_score: Random-policy reference return (Minari's normalized score).
        ref_max_score: Expert reference return.
        algorithm_name: Minari's ``algorithm_name``.
        description: Minari's ``description``.
        overwrite: Replace an existing dataset of that id.

    Returns:
        The dataset folder.

    Raises:
        FileExistsError: If the dataset exists and ``overwrite`` is False.
    """
    import minari
    from minari.data_collector import EpisodeBuffer

    root = datasets_root()
    final = root / dataset_id
    if final.exists() and not overwrite:
        raise FileExistsError(
            f"{dataset_id} already exists at {final}; pass overwrite=True (CLI: --force) to replace it"
        )
    buffers = [
        EpisodeBuffer(
            id=i,
            observations=ep.observations,
            actions=ep.actions,
            rewards=list(ep.rewards),
            terminations=list(ep.terminations),
            truncations=list(ep.truncations),
        )
        for i, ep in enumerate(episodes)
    ]
    check_writable_root(root)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=root))
    try:
        with _minari_root(staging):
            minari.create_dataset_from_buffers(
                dataset_id,
                buffers,
                env=env_id,
                eval_env=env_id,
                algorithm_name=algorithm_name,
                author="dwm_gym",
                author_email="dwm_gym@users.noreply.github.com",
                code_permalink="https://github.com/dwm-gym/dwm_gym",
                ref_min_score=ref_min_score,
                ref_max_score=ref_max_score,
                description=description,
                requirements=["gymnasium[mujoco]>=1.0"],
            )
        (staging / dataset_id / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n")
        _install_namespaces(staging, root, dataset_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            old = root / f".old-{os.getpid()}-{final.name}"
            os.replace(final, old)
            os.replace(staging / dataset_id, final)
            shutil.rmtree(old)
        else:
            os.replace(staging / dataset_id, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


@contextlib.contextmanager
def _minari_root(path: Path) -> Iterator[None]:
    """Points Minari's writer at ``path`` for the duration (it only reads the env variable)."""
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def _install_namespaces(staging: Path, root: Path, dataset_id: str) -> None:
    """Copies Minari's namespace metadata files of ``dataset_id`` into ``root`` where missing."""
    parts = dataset_id.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        src = staging.joinpath(*parts[:depth], "namespace_metadata.json")
        dst = root.joinpath(*parts[:depth], "namespace_metadata.json")
        if src.is_file() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
