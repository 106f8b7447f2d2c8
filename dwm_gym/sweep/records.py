"""A sweep's results: one compact run record per finished trial (:mod:`dwm_gym.evaluation.run_records`)."""

from __future__ import annotations

import datetime
import json
import os
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dwm_gym.evaluation.run_records import RunRecord, read_records, record_from_run_folder
from dwm_gym.sweep.trials import Trial
from dwm_gym.utils.atomic import atomic_write_text


def trial_record(out: str | os.PathLike, trial: Trial) -> dict[str, Any]:
    """The record of the finished trial whose run folder is ``out``, as plain data (it travels in Tune's results).

    Its name is the trial's name within its dataset (``DWM-TD3BC_h3_rtg0.7_s0``): a dataset's records share a file.
    """
    record = record_from_run_folder(
        out,
        name=trial.name.split("/", 1)[1],
        method=trial.method,
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        machine={"processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()},
    )
    return json.loads(json.dumps(record.to_dict()))  # JSON's types, as a restored experiment gives them back


def write_records(folder: str | os.PathLike, records: Iterable[tuple[str, dict[str, Any]]]) -> list[Path]:
    """Writes ``(dataset, record)`` pairs to ``folder/<dataset>.jsonl``, one file per dataset, atomically.

    A record replaces the file's record of the same name (the same trial, measured again); the others stay.

    Returns:
        The files written.
    """
    by_dataset: dict[str, dict[str, RunRecord]] = {}
    for dataset, data in records:
        record = RunRecord.from_dict(data)
        by_dataset.setdefault(dataset, {})[record.name] = record
    written = []
    for dataset, new in sorted(by_dataset.items()):
        path = Path(folder) / f"{dataset}.jsonl"
        kept = [r for r in read_records(path) if r.name not in new]
        rows = [*kept, *sorted(new.values(), key=lambda r: r.name)]
        atomic_write_text(path, "".join(json.dumps(r.to_dict(), sort_keys=True) + "\n" for r in rows))
        written.append(path)
    return written
