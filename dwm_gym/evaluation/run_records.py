"""Compact records of finished agent runs, kept as JSON lines: one line per run, one file per table.

A finished run's folder holds its model, checkpoints and a per-update log (``progress.csv``): far too much to
keep in a repository. A :class:`RunRecord` (:mod:`dwm_gym.evaluation.run_record_schema`: its fields and checks)
keeps what tables and learning curves need. :func:`record_from_run_folder` builds one from a run folder
(``agent.json`` and ``evaluations.jsonl``, as :func:`dwm_gym.agents.runs.train_agent` writes them);
:func:`append_records` and :func:`read_records` keep them in a ``.jsonl`` file, written atomically and validated
on reading. The record's types are importable from here too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dwm_gym.data.specs import parse_dataset_name
from dwm_gym.evaluation.run_record_schema import (
    CRITIC_WINDOW_FIELDS,
    SCHEMA,
    CriticSummary,
    Evaluation,
    RunRecord,
    RunRecordError,
)
from dwm_gym.evaluation.scores import normalized_score
from dwm_gym.utils.atomic import atomic_write_text
from dwm_gym.utils.run_lock import hold_lock

__all__ = [
    "CRITIC_WINDOW_FIELDS",
    "SCHEMA",
    "CriticSummary",
    "Evaluation",
    "RunRecord",
    "RunRecordError",
    "append_records",
    "read_records",
    "record_from_run_folder",
]


def read_records(path: str | os.PathLike) -> list[RunRecord]:
    """The records of a ``.jsonl`` file, in file order (none when the file does not exist).

    Raises:
        RunRecordError: On a line that is not a valid record (the message names the file and line), or two
            records of one name.
    """
    path = Path(path)
    if not path.is_file():
        return []
    records: list[RunRecord] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(RunRecord.from_dict(json.loads(line)))
        except (json.JSONDecodeError, RunRecordError) as error:
            raise RunRecordError(f"{path}:{number}: {error}") from error
    _check_unique(records, path)
    return records


def append_records(path: str | os.PathLike, records: Iterable[RunRecord]) -> Path:
    """Adds ``records`` at the end of a ``.jsonl`` file (made if missing), atomically: a crash leaves the old file.

    Writers are serialized by a lock on the file's folder, so processes finishing runs side by side lose none.

    Raises:
        RunRecordError: If a record is invalid, or its name is already in the file (or twice in ``records``):
            remove the old line first, or give the run another name.
    """
    new = list(records)
    for record in new:
        record.validate()
    path = Path(path)
    # runs finishing side by side append to one file: they take turns, none may be lost
    with hold_lock(path.parent, f"the records folder {path.parent}", wait=True, folder=True):
        existing = read_records(path)
        _check_unique([*existing, *new], path)
        text = "".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in [*existing, *new])
        return atomic_write_text(path, text)


def _check_unique(records: list[RunRecord], path: Path) -> None:
    seen: set[str] = set()
    for record in records:
        if record.name in seen:
            raise RunRecordError(f"{path}: two records named {record.name!r}; a run name is unique in its file")
        seen.add(record.name)


def _local_name(value: Any) -> Any:
    """A file path reduced to its file name (paths of the machine that ran it mean nothing elsewhere)."""
    if isinstance(value, str) and ("/" in value or os.sep in value):
        return Path(value).name
    return value


def _scores(env_id: str, row: Mapping[str, Any], refs: str) -> Evaluation:
    returns = row.get("returns")
    spread = float(np.std(normalized_score(env_id, np.asarray(returns), refs))) if returns else None
    return Evaluation(
        updates=int(row["timesteps"]),
        normalized_score=float(row["normalized_score"]),
        normalized_std=spread,
        mean_return=float(row["mean_return"]),
        std_return=None if row.get("std_return") is None else float(row["std_return"]),
    )


def record_from_run_folder(
    folder: str | os.PathLike,
    *,
    name: str | None = None,
    method: str | None = None,
    commit: str | None = None,
    date: str | None = None,
    machine: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> RunRecord:
    """The record of the finished run in ``folder`` (its ``agent.json`` and ``evaluations.jsonl``).

    Args:
        folder: A finished run's folder, as :func:`dwm_gym.agents.runs.train_agent` writes it.
        name: The run's name (default: the folder's name).
        method: The tables' name of its method (default: the name's part before the first ``_``).
        commit: The git commit of the code that made it (None: unknown).
        date: When it finished, ISO 8601 UTC (None: unknown).
        machine: The machine it ran on (e.g. :func:`dwm_gym.utils.provenance.machine_info`).
        settings: Settings its ``agent.json`` lacks (a run made outside ``train_agent``: ``algo``, ``seed``...).

    Raises:
        RunRecordError: If the folder holds no finished run (no ``agent.json`` with a final evaluation).
    """
    folder = Path(folder)
    summary_path = folder / "agent.json"
    if not summary_path.is_file():
        raise RunRecordError(f"{folder} holds no agent.json: not a finished run folder (train it to the end first)")
    summary = json.loads(summary_path.read_text())
    if "final_evaluation" not in summary:
        raise RunRecordError(f"{summary_path} has no final_evaluation: the run did not finish")
    config = {**summary.get("config", {}), **(settings or {})}
    missing = {"algo", "seed"} - set(config)
    if missing:
        raise RunRecordError(f"{summary_path} lacks the settings {sorted(missing)}: pass them as settings=")
    dataset_id = summary.get("dataset_id") or config.get("dataset")
    if not dataset_id:
        raise RunRecordError(f"{summary_path} names no dataset (dataset_id or config.dataset)")
    env_id = summary.get("env_id") or parse_dataset_name(dataset_id)[0].env_id
    refs = config.get("refs", "d4rl")
    rows = []
    log = folder / "evaluations.jsonl"
    if log.is_file():
        rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    by_step = {int(r["timesteps"]): r for r in rows}  # a resumed run may repeat an evaluation: the last one counts
    critic = summary.get("critic", {})
    history = critic.get("history") or []
    windows = [dict(zip(CRITIC_WINDOW_FIELDS, row)) for row in history]
    ends = [windows[0], windows[-1]] if windows else [None, None]
    at_evaluations = {int(w["updates"]): w for w in windows if int(w["updates"]) in by_step}
    name = name or folder.name
    final = summary["final_evaluation"]
    record = RunRecord(
        name=name,
        method=method or name.split("_")[0],
        algo=config["algo"],
        dataset_id=dataset_id,
        dataset_hash=summary.get("dataset_hash"),
        world_model=_local_name(config.get("world_model")),
        world_model_digest=summary.get("world_model_digest"),
        horizon=config.get("horizon"),
        rtg=config.get("rtg"),
        seed=int(config["seed"]),
        updates=int(summary["updates"]),
        eval_every=config.get("eval_every"),
        eval_episodes=config.get("eval_episodes"),
        settings={k: _local_name(v) if k == "world_model" else v for k, v in config.items() if k != "cache_file"},
        final=_scores(env_id, final, refs),
        final_returns=tuple(float(r) for r in final.get("returns", ())),
        curve=tuple(_scores(env_id, by_step[t], refs) for t in sorted(by_step)),
        critic=CriticSummary(
            divergence=critic.get("divergence"),
            first=ends[0],
            last=ends[-1],
            max_q=max(row[2] for row in history) if history else None,
            curve=tuple(at_evaluations[t] for t in sorted(at_evaluations)),
        ),
        commit=commit,
        date=date,
        machine=dict(machine) if machine is not None else None,
    )
    record.validate()
    return record
