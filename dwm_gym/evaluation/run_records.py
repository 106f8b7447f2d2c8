"""Compact records of finished agent runs, kept as JSON lines: one line per run, one file per table.

A finished run's folder holds its model, checkpoints and a per-update log (``progress.csv``): far too much to
keep in a repository. A :class:`RunRecord` keeps what tables and learning curves need: the run's settings, the
digest of its world model, its evaluation curve, a summary of its critic, and where it comes from (commit, date,
machine). :func:`record_from_run_folder` builds one from a run folder (``agent.json`` and ``evaluations.jsonl``,
as :func:`dwm_gym.agents.runs.train_agent` writes them); :func:`append_records` and :func:`read_records` keep
them in a ``.jsonl`` file, written atomically and validated on reading.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dwm_gym.data.specs import parse_dataset_name
from dwm_gym.evaluation.scores import normalized_score
from dwm_gym.utils.atomic import atomic_write_text
from dwm_gym.utils.run_lock import hold_lock

SCHEMA = 1
CRITIC_WINDOW_FIELDS = (
    "updates",
    "loss",
    "max_q",
    "mean_abs_target",
)  # a critic monitor window, as agent.json stores it


class RunRecordError(ValueError):
    """A run record, a records file or a run folder that does not hold what is expected."""


@dataclass(frozen=True)
class Evaluation:
    """One evaluation on the real env: the scores over its episodes.

    Attributes:
        updates: Gradient updates done when it ran.
        normalized_score: Mean D4RL-normalized score over the episodes (0-1 scale).
        normalized_std: Standard deviation of the episodes' normalized scores (None when unknown).
        mean_return: Mean undiscounted return.
        std_return: Standard deviation of the returns (None when unknown).
    """

    updates: int
    normalized_score: float
    normalized_std: float | None
    mean_return: float
    std_return: float | None


@dataclass(frozen=True)
class CriticSummary:
    """The critic monitor of a run, in brief.

    Attributes:
        divergence: The monitor's divergence message, or None if the critic held.
        first: The first monitor window (``CRITIC_WINDOW_FIELDS``: updates, mean loss, max Q, mean |target|),
            None for a run without a monitor history. Old runs lack ``mean_abs_target``.
        last: The last window, like ``first``.
        max_q: The largest Q of any window (None without a history).
    """

    divergence: str | None = None
    first: dict[str, float] | None = None
    last: dict[str, float] | None = None
    max_q: float | None = None


@dataclass(frozen=True)
class RunRecord:
    """One finished agent run.

    Attributes:
        name: The run's name, unique within its records file (``DWM-TD3BC_h3_rtg0.7_s0``).
        method: What the tables call it (``DWM-TD3BC``, ``OneStep-IQL``, ``TD3BC``).
        algo: The offline-RL algorithm (``td3bc``, ``iql``).
        dataset_id: The Minari dataset (``dwm_gym/hopper/medium-v0``).
        dataset_hash: A content hash of the dataset, or None when the run did not record one.
        world_model: The world model's kind or file name (``dwm``, ``onestep``, ``hopper_medium_dwm.safetensors``),
            None for a model-free run.
        world_model_digest: SHA-256 of the world model's weights (None for a model-free run).
        horizon: The value-expansion horizon H (None for a run that has no H setting).
        rtg: The DWM's return-to-go target (None: the checkpoint's default).
        seed: The agent's seed.
        updates: Gradient updates of the finished run (its budget).
        eval_every: Updates between evaluations.
        eval_episodes: Real-env episodes per evaluation.
        settings: Every setting the run was made with (its ``AgentRunConfig`` as stored), machine-local paths
            reduced to file names.
        final: The last evaluation.
        final_returns: The returns of the final evaluation's episodes.
        curve: Every evaluation, in update order.
        critic: The critic monitor's summary.
        commit: The git commit of the code that made or archived the run (None when unknown).
        date: UTC date and time (ISO 8601) the record was made (None when unknown).
        machine: The machine the run was made on (processor, CPU count, CUDA device...; None when unknown).
        schema: The record layout's version.
    """

    name: str
    method: str
    algo: str
    dataset_id: str
    seed: int
    updates: int
    final: Evaluation
    curve: tuple[Evaluation, ...]
    final_returns: tuple[float, ...] = ()
    dataset_hash: str | None = None
    world_model: str | None = None
    world_model_digest: str | None = None
    horizon: int | None = None
    rtg: float | None = None
    eval_every: int | None = None
    eval_episodes: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    critic: CriticSummary = field(default_factory=CriticSummary)
    commit: str | None = None
    date: str | None = None
    machine: dict[str, Any] | None = None
    schema: int = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON types."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Builds a record from :meth:`to_dict`'s layout.

        Raises:
            RunRecordError: On a missing or unknown field, a wrong type, or another schema version.
        """
        if not isinstance(data, Mapping):
            raise RunRecordError(f"a run record is a JSON object, got {type(data).__name__}")
        if data.get("schema", SCHEMA) != SCHEMA:
            raise RunRecordError(f"run record schema {data.get('schema')!r}; this dwm_gym reads schema {SCHEMA}")
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING} - {"settings"}
        missing, unknown = required - set(data), set(data) - names
        if missing or unknown:
            raise RunRecordError(
                f"run record {data.get('name', '?')!r}: missing fields {sorted(missing)}, unknown fields "
                f"{sorted(unknown)}; expected {sorted(names)}"
            )
        values = dict(data)
        try:
            values["final"] = _evaluation(values["final"])
            values["curve"] = tuple(_evaluation(point) for point in values["curve"])
            values["final_returns"] = tuple(float(r) for r in values.get("final_returns", ()))
            values["critic"] = CriticSummary(**values.get("critic", {}))
        except (TypeError, ValueError) as error:
            raise RunRecordError(f"run record {data.get('name', '?')!r}: {error}") from error
        record = cls(**values)
        record.validate()
        return record

    def validate(self) -> None:
        """Checks the fields' types and that the curve is in update order.

        Raises:
            RunRecordError: Saying which field is wrong.
        """
        checks = {
            "name": isinstance(self.name, str) and bool(self.name),
            "method": isinstance(self.method, str) and bool(self.method),
            "algo": isinstance(self.algo, str),
            "dataset_id": isinstance(self.dataset_id, str) and bool(self.dataset_id),
            "seed": isinstance(self.seed, int) and not isinstance(self.seed, bool),
            "updates": isinstance(self.updates, int) and self.updates >= 0,
            "horizon": self.horizon is None or isinstance(self.horizon, int),
            "rtg": self.rtg is None or isinstance(self.rtg, (int, float)),
            "settings": isinstance(self.settings, dict),
            "curve": [p.updates for p in self.curve] == sorted({p.updates for p in self.curve}),
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:
            raise RunRecordError(f"run record {self.name!r}: wrong {', '.join(wrong)} ({self.to_dict()})")


def _evaluation(data: Mapping[str, Any]) -> Evaluation:
    point = Evaluation(**data)
    if not isinstance(point.updates, int) or not all(
        isinstance(v, (int, float)) for v in (point.normalized_score, point.mean_return)
    ):
        raise RunRecordError(f"an evaluation needs integer updates and numeric scores, got {dict(data)}")
    return point


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
    ends = [dict(zip(CRITIC_WINDOW_FIELDS, history[i])) for i in (0, -1)] if history else [None, None]
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
        ),
        commit=commit,
        date=date,
        machine=dict(machine) if machine is not None else None,
    )
    record.validate()
    return record
