"""A sweep's results: one compact run record per finished trial (:mod:`dwm_gym.evaluation.run_records`)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dwm_gym.agents.run_config import AgentRunConfig
from dwm_gym.agents.run_identity import RESUMABLE_CHANGES
from dwm_gym.evaluation.run_records import RunRecord, read_records, record_from_run_folder
from dwm_gym.sweep.trials import NOT_IDENTITY, Trial
from dwm_gym.utils.atomic import atomic_write_text
from dwm_gym.utils.provenance import machine_info, utc_now
from dwm_gym.utils.run_lock import hold_lock

logger = logging.getLogger(__name__)


def trial_record(out: str | os.PathLike, trial: Trial, commit: str | None) -> dict[str, Any]:
    """The record of the finished trial whose run folder is ``out``, as plain data (it travels in Tune's results).

    Its name is the trial's name within its dataset (``DWM-TD3BC_h3_rtg0.7_s0``): a dataset's records share a file.
    ``commit`` is that of the code the trial ran (taken when it started: the checkout may have moved on since).
    """
    machine = {k: v for k, v in machine_info().items() if k != "load_average"}
    record = record_from_run_folder(
        out,
        name=trial.name.split("/", 1)[1],
        method=trial.method,
        commit=commit,
        date=utc_now(),
        machine=machine,
    )
    return json.loads(json.dumps(record.to_dict()))  # JSON's types, as a restored experiment gives them back


def _identity(updates: int, digest: str | None, settings: dict[str, Any]) -> tuple:
    """A run's budget, world model and learning settings (not the evaluation cadence, device or local paths)."""
    ignored = {*RESUMABLE_CHANGES, *NOT_IDENTITY, *(("world_model",) if digest else ())}
    defaults = {f.name: f.default for f in dataclasses.fields(AgentRunConfig)}  # a setting a record predates
    return updates, digest, {k: v for k, v in {**defaults, **settings}.items() if k not in ignored}


def same_trial(a: RunRecord, b: RunRecord) -> bool:
    """Whether two records are of one trial: its budget, world model and learning settings."""
    return _identity(a.updates, a.world_model_digest, a.settings) == _identity(
        b.updates, b.world_model_digest, b.settings
    )


def is_record_of(record: RunRecord, trial: Trial) -> bool:
    """Whether ``record`` is of ``trial``: its name, budget, world model and learning settings."""
    mine = _identity(trial.config.steps, trial.digest, dataclasses.asdict(trial.config))
    name = trial.name.split("/", 1)[1]
    return record.name == name and _identity(record.updates, record.world_model_digest, record.settings) == mine


def finished_records(folder: str | os.PathLike, trials: list[Trial]) -> tuple[dict[str, RunRecord], list[str]]:
    """The records in ``folder/<dataset>.jsonl`` of the finished ``trials`` (by trial name), and the missing names.

    A sweep that starts a new experiment trains only the missing ones; one that restores its Tune experiment
    follows Tune's state.
    """
    found, missing = {}, []
    files: dict[str, list[RunRecord]] = {}
    for trial in trials:
        stored = files.setdefault(trial.dataset, read_records(Path(folder) / f"{trial.dataset}.jsonl"))
        match = next((r for r in stored if is_record_of(r, trial)), None)
        if match is None:
            missing.append(trial.name)
        else:
            found[trial.name] = match
    return found, missing


def write_records(folder: str | os.PathLike, records: Iterable[tuple[str, dict[str, Any]]]) -> list[Path]:
    """Writes ``(dataset, record)`` pairs to ``folder/<dataset>.jsonl``, one file per dataset, atomically.

    A record replaces the file's record of the same name when both are of the same trial (:func:`same_trial`:
    measured again); a record of the same name made with another budget, other settings or another model (a
    short check run beside the committed records, say) is never overwritten: the new one is then left out,
    with a warning. The file's other records stay.

    Returns:
        The files written.
    """
    by_dataset: dict[str, dict[str, RunRecord]] = {}
    for dataset, data in records:
        record = RunRecord.from_dict(data)
        by_dataset.setdefault(dataset, {})[record.name] = record
    written = []
    # other writers of the folder (another sweep, append_records) wait for their turn
    with hold_lock(folder, f"the records folder {folder}", wait=True, folder=True):
        for dataset, new in sorted(by_dataset.items()):
            path = Path(folder) / f"{dataset}.jsonl"
            existing = read_records(path)
            for old in existing:
                if old.name in new and not same_trial(old, new[old.name]):
                    logger.warning(
                        "%s holds another run named %s (other budget, settings or model): kept", path, old.name
                    )
                    new[old.name] = old
            kept = [r for r in existing if r.name not in new]
            rows = [*kept, *sorted(new.values(), key=lambda r: r.name)]
            atomic_write_text(path, "".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in rows))
            written.append(path)
    return written
