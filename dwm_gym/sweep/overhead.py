"""Ray's overhead per trial of a finished sweep: Tune's clock of each trial against the agent run's own.

For each finished trial of an experiment folder (``<storage>/<name>-<digest>``), from Tune's experiment state
(``experiment_state-*.json``, the newest):

- ``launch_s``: from a slot freeing (the latest end of another trial before this one started, else the
  experiment's start) to Tune starting this trial: a new worker process for it, its imports and its placement.
  In a sweep with more trials than slots that is the trial's launch; at least, it is a lower bound of it.
- ``trial_s``: from Tune starting the trial to Tune receiving its last result, on the driver's clock: the trial's
  wall time as Tune saw it, checkpoint packing and reports included.
- ``trainable_s``: Tune's clock inside the worker (``time_total_s``): the trial's function from its start to its
  last report.
- ``run_s``: the agent run's own wall time (``run_wall_s``, which :func:`dwm_gym.sweep.trial.run_trial` reports):
  what ``train_agent`` took, from loading its data to its last save.
- ``overhead``: ``(launch_s + trial_s - run_s) / (launch_s + trial_s)``, Ray's share of the trial's wall time from
  its slot freeing to its end; ``overhead_in_trial``: ``(trial_s - run_s) / trial_s``, once it started.

What a sweep pays once before its trials (Ray's start, the cache stage) is in no trial's. The times span a whole
trial only for a sweep that was not interrupted: a restored trial's start is its first start.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dwm_gym.sweep.trial import RUN_WALL


class OverheadError(ValueError):
    """The folder is not a Tune experiment of finished sweep trials that report their run's wall time."""


@dataclass(frozen=True)
class TrialTime:
    """One finished trial's wall times (seconds) and Ray's share of them.

    Attributes:
        name: The trial's name (``hopper-medium/TD3BC_s0``).
        updates: Its update budget.
        trial_s: Tune's wall time of the trial (driver's clock, start to last result).
        trainable_s: Tune's clock of the trial's function in its worker.
        run_s: The agent run's own wall time.
        launch_s: From its slot freeing to Tune starting it.
        overhead: ``(launch_s + trial_s - run_s) / (launch_s + trial_s)``.
        overhead_in_trial: ``(trial_s - run_s) / trial_s``.
        restored: Whether Tune restored the trial after an interruption (its span then holds the time it was
            stopped, so it is left out of the summary).
    """

    name: str
    updates: int
    trial_s: float
    trainable_s: float
    run_s: float
    launch_s: float
    overhead: float
    overhead_in_trial: float
    restored: bool = False


def experiment_state(experiment: str | os.PathLike) -> dict[str, Any]:
    """The newest ``experiment_state-*.json`` of a Tune experiment folder, by the time in its name.

    Not by modification time: Tune rewrites every state file of the folder when a sweep ends, so a resumed sweep's
    first file can be touched last.

    Raises:
        OverheadError: When the folder holds none.
    """
    states = sorted(Path(experiment).glob("experiment_state-*.json"), key=lambda p: p.name)  # ISO-ordered names
    if not states:
        raise OverheadError(
            f"{experiment} holds no experiment_state-*.json: not a Tune experiment folder; give the sweep's "
            "<storage>/<name>-<digest> folder (dwm-gym sweep prints it)"
        )
    return json.loads(states[-1].read_text())


def trial_times(experiment: str | os.PathLike) -> list[TrialTime]:
    """The wall times of every finished trial of the experiment, by name.

    Raises:
        OverheadError: When the folder is not a Tune experiment, no trial finished, or a finished trial does not
            report ``run_wall_s`` (a sweep run before it was recorded).
    """
    state = experiment_state(experiment)
    metas = [json.loads(metadata) for _, metadata in state.get("trial_data", [])]
    begun = float(state.get("stats", {}).get("start_time") or min(m["start_time"] for m in metas if m["start_time"]))
    ends = [float(m["last_result_time"]) for m in metas if m.get("last_result_time")]
    rows = []
    for meta in metas:
        result = meta.get("last_result") or {}
        trial = (result.get("config") or {}).get("trial") or {}
        updates = (trial.get("config") or {}).get("steps")
        if not trial or updates is None or result.get("done_updates") != updates:
            continue  # not started, or not finished
        if RUN_WALL not in result:
            raise OverheadError(
                f"trial {trial['name']} reports no {RUN_WALL}: its sweep predates the run's own wall time; "
                "run the sweep again with this version to measure it"
            )
        start = float(meta["start_time"])
        trial_s, run_s = float(meta["last_result_time"]) - start, float(result[RUN_WALL])
        launch_s = start - max([begun, *(end for end in ends if end <= start)])
        rows.append(
            TrialTime(
                name=trial["name"],
                updates=int(updates),
                trial_s=trial_s,
                trainable_s=float(result["time_total_s"]),
                run_s=run_s,
                launch_s=launch_s,
                overhead=_share(launch_s + trial_s - run_s, launch_s + trial_s),
                overhead_in_trial=_share(trial_s - run_s, trial_s),
                restored=result.get("iterations_since_restore", 0) < result.get("training_iteration", 0),
            )
        )
    if not rows:
        raise OverheadError(f"{experiment} holds no finished trial: finish the sweep first (run its command again)")
    return sorted(rows, key=lambda row: row.name)


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else float("nan")


def overhead_summary(rows: list[TrialTime]) -> dict[str, float]:
    """Mean, median and largest overhead (with and without the launch), and the mean of each time, over ``rows``."""
    shares, inside = [row.overhead for row in rows], [row.overhead_in_trial for row in rows]
    return {
        "trials": len(rows),
        "overhead_mean": statistics.fmean(shares),
        "overhead_median": statistics.median(shares),
        "overhead_max": max(shares),
        "overhead_in_trial_mean": statistics.fmean(inside),
        "overhead_in_trial_max": max(inside),
        "launch_s_mean": statistics.fmean(row.launch_s for row in rows),
        "trial_s_mean": statistics.fmean(row.trial_s for row in rows),
        "trainable_s_mean": statistics.fmean(row.trainable_s for row in rows),
        "run_s_mean": statistics.fmean(row.run_s for row in rows),
    }


def overhead_report(experiment: str | os.PathLike) -> dict[str, Any]:
    """``{"experiment", "trials": [TrialTime as dicts], "summary": overhead_summary}`` of a finished sweep.

    The summary is over the trials that ran without interruption (all of them if every one was restored).
    """
    rows = trial_times(experiment)
    whole = [r for r in rows if not r.restored] or rows
    return {
        "experiment": Path(experiment).name,
        "trials": [asdict(r) for r in rows],
        "summary": overhead_summary(whole),
    }
