"""How fast and how far the methods learn: updates to reach the data's own score, and the long-budget curves."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dwm_gym.benchmarking.score_markdown import curve_table, md_header, md_row, provenance_line
from dwm_gym.benchmarking.score_runs import METHODS
from dwm_gym.benchmarking.score_tables import Cell, defaults_runs, defaults_table
from dwm_gym.evaluation.run_records import RunRecord, read_records


def threshold_table(
    tables: Mapping[str, Mapping[str, Cell | None]], data_scores: Mapping[str, Mapping], refs: Mapping[str, set[str]]
) -> list[str]:
    """Per dataset and method, the first evaluation at which the seeds' mean score reaches the data's own score.

    Args:
        tables: ``{dataset: {method: Cell}}`` at the defaults.
        data_scores: ``data_scores.json``'s ``datasets`` entries (``normalized[refs]``).
        refs: Per dataset, the normalized-score references of its runs (the threshold is normalized alike).

    Returns:
        The table's lines; a dataset with runs but no data score gets a row that says how to measure it.

    Raises:
        ValueError: When one dataset's runs were normalized with two reference sets.
    """
    lines = md_header("dataset", "data's score", *METHODS)
    for dataset, table in tables.items():
        if all(c is None for c in table.values()):
            continue
        entry = data_scores.get(dataset)
        if entry is None:
            note = f"not measured: `python benchmarks/data_scores.py --datasets {dataset}`"
            lines.append(md_row(dataset, note, *("—" for _ in METHODS)))
            continue
        if len(refs[dataset]) != 1:
            raise ValueError(f"{dataset}'s runs use the references {sorted(refs[dataset])}: one set per table")
        threshold = entry["normalized"][next(iter(refs[dataset]))]
        lines.append(md_row(dataset, f"{threshold:.3f}", *(first_reach(table[m], threshold) for m in METHODS)))
    return lines


def first_reach(cell: Cell | None, threshold: float) -> str:
    """The first evaluation whose mean over seeds is at least ``threshold``, or "not by <last evaluation>".

    Args:
        cell: One method's runs (None: no runs, "—").
        threshold: The score to reach.

    Returns:
        The cell's text.
    """
    if cell is None:
        return "—"
    reached = [t for t, mean, _ in cell.curve if mean >= threshold]
    return f"{reached[0]:,}" if reached else f"not by {cell.curve[-1][0]:,}"


#: The datasets of the long-budget curves (``<results>/records/long/<dataset>.jsonl``: runs named as the defaults').
LONG_DATASETS = ("hopper-medium", "walker2d-medium")


def critic_table(records: list[RunRecord]) -> list[str]:
    """Per method and evaluation: the mean over seeds of the critic loss and of the target's gap to one-step TD.

    Args:
        records: One dataset's runs, whose ``critic.curve`` holds the monitor window at each evaluation.

    Returns:
        The table's lines (none when no record has a critic curve).
    """
    steps = sorted({int(w["updates"]) for r in records for w in r.critic.curve})
    if not steps:
        return []
    lines = md_header("method: critic loss / MVE − TD target", *(f"{t:,}" for t in steps))
    for method in METHODS:
        runs = [r for r in records if r.method == method]
        if not runs:
            continue
        cells = []
        for t in steps:
            windows = [w for r in runs for w in r.critic.curve if int(w["updates"]) == t]
            gaps = [w["mve_minus_td"] for w in windows if w.get("mve_minus_td") is not None]
            loss = f"{np.mean([w['loss'] for w in windows]):.3g}" if windows else "—"
            cells.append(f"{loss} / {np.mean(gaps):+.3g}" if gaps else loss)
        lines.append(md_row(method, *cells))
    return lines


def long_curves(results: Path) -> list[str]:
    """The long-budget section: per dataset of :data:`LONG_DATASETS`, its curves, final scores and critic.

    Args:
        results: The results folder, holding ``records/long/<dataset>.jsonl``.

    Returns:
        The section's lines; only the defaults' runs (``<method>_s<seed>``) count.
    """
    lines = []
    for dataset in LONG_DATASETS:
        path = results / "records" / "long" / f"{dataset}.jsonl"
        records = defaults_runs({dataset: read_records(path)})
        lines += [f"**{dataset}**", ""]
        if not records:
            lines += ["No runs recorded yet.", ""]
            continue
        table = {dataset: defaults_table(records)}
        lines += [provenance_line(records, [f"benchmarks/results/records/long/{dataset}.jsonl"]), ""]
        lines += [*curve_table(table), ""]
        last3 = (f"{c.final[0]:.3f} / {c.last3[0]:.3f}" if (c := table[dataset][m]) else "—" for m in METHODS)
        lines += [*md_header("final / last 3", *METHODS), md_row(dataset, *last3), ""]
        lines += [*critic_table(records), ""]
    return lines[:-1]
