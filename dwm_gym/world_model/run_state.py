"""What a world-model run folder keeps besides its checkpoints: its identity, its split and a clean metrics log.

* The identity (``settings`` in ``train_state.pt``): the kind, the model settings, the dataset's id and
  content digest, and the run settings that change the result (seed, held-out fraction and samples,
  evaluation interval). ``--resume`` with anything else is refused, naming each difference.
* ``split.json``: the held-out episode indices, drawn once when the run starts and reused on every resume,
  so episodes trained on never become held-out ones.
* ``metrics.jsonl``: on resume, lines written after the checkpoint (they will be written again) move to
  ``metrics.dropped.jsonl``, so every step appears once.

:func:`check_run_folder` keeps two runs out of one folder: a run is resumed only with its identity, and replaced
only on request (``--force``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dwm_gym.data.content_hash import dataset_digest
from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.utils.atomic import atomic_write_text

__all__ = [
    "RUN_FILES",
    "RUN_SETTINGS",
    "check_run_folder",
    "load_split",
    "read_train_state",
    "run_identity",
    "trim_metrics",
]

logger = logging.getLogger(__name__)
# the TrainingRun settings that change what a run learns or selects (steps, device and intervals of
# checkpoints may change between a run and its resumption)
RUN_SETTINGS = ("seed", "held_out_fraction", "held_out_samples", "eval_every")
SPLIT_FILE = "split.json"


def run_identity(kind: str, config: dict, dataset: OfflineDataset, run: Any) -> dict[str, Any]:
    """The settings a resumption must share with its run (stored in ``train_state.pt``)."""
    return {
        "kind": kind,
        "config": config,
        "dataset_id": dataset.dataset_id,
        "dataset_sha256": dataset_digest(dataset),
        "run": {name: getattr(run, name) for name in RUN_SETTINGS},
    }


def read_train_state(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """``train_state.pt`` read without running code (``weights_only``).

    Raises:
        ValueError: A truncated or corrupt file, with what to do about it.
    """
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, KeyError) as exc:
        raise ValueError(
            f"{path} is truncated or corrupt ({type(exc).__name__}: {exc}); this run cannot be resumed from it: "
            "restore the file, or start the run again with --force"
        ) from exc


def load_split(out_dir: Path, dataset: OfflineDataset, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) episode indices of the run in ``out_dir``: from ``split.json``, else drawn and stored.

    Raises:
        ValueError: When ``split.json`` was made for a dataset of another size.
    """
    path = out_dir / SPLIT_FILE
    if path.is_file():
        stored = json.loads(path.read_text())
        held = [int(i) for i in stored["held_out_episodes"]]
        if stored.get("episodes") != dataset.num_episodes or (held and max(held) >= dataset.num_episodes):
            raise ValueError(
                f"{path} holds the split of a dataset of {stored.get('episodes')} episodes, this one has "
                f"{dataset.num_episodes}: start the run again with --force"
            )
        held_set = set(held)
        return [i for i in range(dataset.num_episodes) if i not in held_set], held
    train, held = dataset.split_indices(fraction, np.random.default_rng(seed))
    record = {"episodes": dataset.num_episodes, "held_out_fraction": fraction, "seed": seed, "held_out_episodes": held}
    atomic_write_text(path, json.dumps(record) + "\n")
    return train, held


def trim_metrics(out_dir: Path, step: int) -> int:
    """Moves the ``metrics.jsonl`` lines after ``step`` (and a half-written last line) to ``metrics.dropped.jsonl``.

    Returns:
        How many lines were moved.
    """
    path = out_dir / "metrics.jsonl"
    if not path.is_file():
        return 0
    kept: list[str] = []
    dropped: list[str] = []
    for line in path.read_text().splitlines():
        try:
            (kept if json.loads(line)["step"] <= step else dropped).append(line)
        except (ValueError, KeyError, TypeError):
            dropped.append(line)
    if dropped:
        with open(out_dir / "metrics.dropped.jsonl", "a") as handle:
            handle.write("".join(line + "\n" for line in dropped))
        atomic_write_text(path, "".join(line + "\n" for line in kept))
        logger.info("%s: %d lines after step %d moved to metrics.dropped.jsonl", path, len(dropped), step)
    return len(dropped)


def changed_settings(before: dict[str, Any], now: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    """Differences between a run's stored identity and the resumption's, one ``name: run x, now y`` each.

    A model setting the record lacks was added after the run started (the run used ``defaults``); an identity
    entry the record lacks (the digest, the run settings of runs started before they were recorded) cannot be
    checked and is skipped with a warning.
    """
    before = dict(before)
    before["config"] = {**defaults, **before.get("config", {})}
    changes = []
    for key, value in now.items():
        if key not in before:
            logger.warning("the run predates recording %s: it cannot be checked", key)
            continue
        if isinstance(value, dict) and isinstance(before[key], dict) and key == "run":
            for name, new in value.items():
                if name in before[key] and json.dumps(before[key][name]) != json.dumps(new):
                    changes.append(f"{name}: run {before[key][name]!r}, now {new!r}")
        elif json.dumps(before[key]) != json.dumps(value):
            changes.append(f"{key}: run {before[key]!r}, now {value!r}")
    return changes


RUN_FILES = (
    "train_state.pt",
    "model.safetensors",
    "last.safetensors",
    "selection.json",
    "metrics.jsonl",
    "last_step.txt",
    "split.json",
    "metrics.dropped.jsonl",
)


def check_run_folder(out_dir: Path, resume: bool, overwrite: bool, settings: dict, defaults: dict) -> None:
    """Refuses to mix two runs in one folder (see ``train_world_model``'s Raises); ``overwrite`` clears it.

    ``defaults`` fill the model settings a run's record lacks.
    """
    state_path = out_dir / "train_state.pt"
    if resume:
        if not state_path.is_file():
            raise FileNotFoundError(f"nothing to resume: {state_path} does not exist (drop --resume to start a run)")
        stored = read_train_state(state_path).get("settings")
        if stored is not None:
            changed = changed_settings(json.loads(stored), settings, defaults)
            if changed:
                raise ValueError(
                    f"cannot resume {out_dir} with other settings or data ({'; '.join(changed)}): "
                    "use the run's settings, another --out, or --force to start it again"
                )
        return
    present = [name for name in RUN_FILES if (out_dir / name).exists()]
    if not present:
        return
    if not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds a world-model run ({', '.join(present)}): pass --resume to continue it, "
            "--force to replace it, or pick another --out"
        )
    for name in present:
        (out_dir / name).unlink()
    for events in out_dir.glob("events.out.tfevents.*"):
        events.unlink()
