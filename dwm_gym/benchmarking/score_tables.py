"""The score tables of the docs, computed from run records: the library's defaults, the paper's protocol, ratios.

Every figure is a mean ± std over seeds of a method's runs, each run taken from a
:class:`~dwm_gym.evaluation.run_records.RunRecord` file (one per dataset, ``benchmarks/results/records``). A cell
is formed only from finished runs; a ratio only between cells with the same seeds, at least :data:`MIN_SEEDS`
of them (a claim needs five).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dwm_gym.benchmarking.protocol import HORIZONS, choose, grid
from dwm_gym.benchmarking.score_runs import METHODS, method_settings, run_name
from dwm_gym.evaluation.run_records import RunRecord

SEEDS = (0, 1, 2, 3, 4)  # the seeds of a table cell
SELECT_SEEDS = (0, 1)  # the protocol's seeds for choosing a configuration
MIN_SEEDS = 5
RATIOS = (  # (numerator, denominator) of the ratios the tables give
    ("DWM-TD3BC", "OneStep-TD3BC"),
    ("DWM-TD3BC", "TD3BC"),
    ("DWM-IQL", "IQL"),
    ("DWM-IQL", "OneStep-IQL"),
)


@dataclass(frozen=True)
class Cell:
    """One method's runs on one dataset.

    Attributes:
        seeds: The runs' seeds.
        final: Mean and std over seeds of the final evaluation's normalized score.
        last3: Mean and std over seeds of each run's mean of its last three evaluations.
        curve: (updates, mean, std) over seeds at every evaluation.
        diverged: How many runs' critic monitors reported a divergence.
        label: The configuration, when it is not the defaults (``H 7, g 0.8``).
    """

    seeds: tuple[int, ...]
    final: tuple[float, float]
    last3: tuple[float, float]
    curve: tuple[tuple[int, float, float], ...]
    diverged: int
    label: str = ""


def cell(records: Iterable[RunRecord], label: str = "") -> Cell | None:
    """The cell of ``records`` (one method, one configuration), or None when there are none."""
    runs = sorted(records, key=lambda r: r.seed)
    if not runs:
        return None
    finals = np.array([r.final.normalized_score for r in runs])
    last3 = np.array([np.mean([p.normalized_score for p in r.curve[-3:]]) for r in runs])
    steps = sorted({p.updates for r in runs for p in r.curve})
    at = {t: [p.normalized_score for r in runs for p in r.curve if p.updates == t] for t in steps}
    return Cell(
        seeds=tuple(r.seed for r in runs),
        final=(float(finals.mean()), float(finals.std())),
        last3=(float(last3.mean()), float(last3.std())),
        curve=tuple((t, float(np.mean(v)), float(np.std(v))) for t, v in at.items()),
        diverged=sum(r.critic.divergence is not None for r in runs),
        label=label,
    )


def _settings(method: str, horizon: int = 5, rtg: float | None = None) -> argparse.Namespace:
    """The method settings that name a run of ``method`` at (H, g_eval)."""
    if method.startswith("OneStep-"):
        return method_settings(argparse.Namespace(), onestep_horizon=horizon)
    return method_settings(argparse.Namespace(), horizon=horizon, rtg=rtg)


def _named(by_name: Mapping[str, RunRecord], method: str, seeds: Iterable[int], settings) -> list[RunRecord]:
    names = (run_name(method, seed, settings) for seed in seeds)
    return [by_name[n] for n in names if n in by_name]


def defaults_table(records: Iterable[RunRecord]) -> dict[str, Cell | None]:
    """Every method's cell at the library's defaults (H 5, the checkpoint's RTG; runs ``<method>_s<seed>``)."""
    by_name = {r.name: r for r in records}
    return {m: cell(_named(by_name, m, SEEDS, _settings(m))) for m in METHODS}


def defaults_runs(records: Mapping[str, list[RunRecord]]) -> list[RunRecord]:
    """The records of the defaults' cells (``<method>_s<seed>``)."""
    names = {f"{m}_s{s}" for m in METHODS for s in SEEDS}
    return [r for runs in records.values() for r in runs if r.name in names]


def describe(method: str, config: Mapping) -> str:
    """``H 7, g 0.8`` for a DWM configuration, ``H 3`` for a one-step one, ``defaults`` otherwise."""
    if method.startswith("DWM-"):
        return f"H {config['horizon']}, g {config['rtg']:g}"
    return f"H {config['horizon']}" if method.startswith("OneStep-") else "defaults"


def protocol_grid(records: Iterable[RunRecord], dataset: str, method: str) -> list[dict]:
    """Every configuration of ``method``'s grid on ``dataset`` (``hopper-medium``) and its selection runs.

    Each row holds the configuration, the selection runs' seeds, their mean final score (None when one is
    missing) and how many diverged.
    """
    by_name = {r.name: r for r in records}
    rows = []
    for config in grid(method, dataset, HORIZONS, None):
        runs = _named(by_name, method, SELECT_SEEDS, _settings(method, config["horizon"], config["rtg"]))
        done = len(runs) == len(SELECT_SEEDS)
        rows.append(
            {
                **config,
                "seeds": [r.seed for r in runs],
                "final_mean": float(np.mean([r.final.normalized_score for r in runs])) if done else None,
                "diverged": sum(r.critic.divergence is not None for r in runs),
            }
        )
    return rows


def protocol_table(records: Iterable[RunRecord], dataset: str) -> dict[str, Cell | None]:
    """The paper's protocol (selection on test returns): each method's chosen configuration over :data:`SEEDS`.

    The model-free methods keep their defaults' cells; None: no configuration chosen yet.
    """
    records = list(records)
    by_name = {r.name: r for r in records}
    table = {}
    for method in METHODS:
        if not method.startswith(("DWM-", "OneStep-")):
            table[method] = cell(_named(by_name, method, SEEDS, _settings(method)), "defaults")
            continue
        chosen = choose(protocol_grid(records, dataset, method), len(SELECT_SEEDS))
        runs = [] if chosen is None else _named(by_name, method, SEEDS, _settings(method, **chosen))
        table[method] = cell(runs, describe(method, chosen)) if chosen else None
    return table


def ratio(table: Mapping[str, Cell | None], numerator: str, denominator: str) -> tuple[float, float] | None:
    """(final, last 3) of ``numerator`` over ``denominator``; None unless both have the same seeds, enough."""
    a, b = table.get(numerator), table.get(denominator)
    if a is None or b is None or a.seeds != b.seeds or len(a.seeds) < MIN_SEEDS or 0 in (b.final[0], b.last3[0]):
        return None
    return a.final[0] / b.final[0], a.last3[0] / b.last3[0]


def mean_table(tables: Iterable[Mapping[str, Cell | None]]) -> dict[str, tuple[float, float] | None]:
    """Per method, (final, last 3) means over the datasets' cells.

    None unless every dataset has the method with the same seeds, at least :data:`MIN_SEEDS` of them.
    """
    tables = list(tables)
    means: dict[str, tuple[float, float] | None] = {}
    for method in METHODS:
        found = [t.get(method) for t in tables]
        cells = [c for c in found if c is not None]
        ok = len(cells) == len(found) and all(c.seeds == cells[0].seeds and len(c.seeds) >= MIN_SEEDS for c in cells)
        means[method] = (
            (float(np.mean([c.final[0] for c in cells])), float(np.mean([c.last3[0] for c in cells]))) if ok else None
        )
    return means


def paper_rows(path: str | Path) -> dict[str, dict[str, tuple[float, float]]]:
    """The paper's rows from the committed reference file: dataset -> method -> (mean, std).

    Raises:
        ValueError: If the file lacks its ``rows`` or a cell is not ``[mean, std]``.
    """
    data = json.loads(Path(path).read_text())
    if not isinstance(data.get("rows"), dict):
        raise ValueError(f"{path}: expected an object with 'rows': {{dataset: {{method: [mean, std]}}}}")
    rows = {}
    for dataset, methods in data["rows"].items():
        for method, value in methods.items():
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)):
                raise ValueError(f"{path}: {dataset} {method} must be [mean, std], got {value!r}")
        rows[dataset] = {m: (float(v[0]), float(v[1])) for m, v in methods.items()}
    return rows
