"""The generated tables of ``docs/scores.md``: per environment and for the nine datasets together.

Each environment has its defaults and curves; hopper also has the paper's protocol and its grid.

:func:`render_scores` reads the run records (``<results>/records/<dataset>.jsonl``) and the paper's reference rows
(``<results>/paper_scores.json``) and returns each generated region's markdown
(:mod:`dwm_gym.benchmarking.doc_regions`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from dwm_gym.benchmarking.learning_speed_page import long_curves, threshold_table
from dwm_gym.benchmarking.score_markdown import (
    cell_text,
    curve_table,
    last3_text,
    md_header,
    md_row,
    paper_text,
    provenance_line,
)
from dwm_gym.benchmarking.score_runs import METHODS
from dwm_gym.benchmarking.score_tables import (
    RATIOS,
    SELECT_SEEDS,
    Cell,
    defaults_runs,
    defaults_table,
    describe,
    mean_table,
    paper_rows,
    protocol_grid,
    protocol_table,
    ratio,
)
from dwm_gym.data.specs import paper_datasets
from dwm_gym.evaluation.run_records import RunRecord, read_records

#: The environments the page covers and their datasets, in table order.
ENVIRONMENTS = {
    task: tuple(f"{t}-{quality}" for t, quality in paper_datasets() if t == task)
    for task in dict.fromkeys(t for t, _ in paper_datasets())
}
#: The environments whose page section also has the paper's protocol (selection on test returns) and its grid.
PROTOCOL_ENVIRONMENTS = ("hopper",)


def _score_table(tables: dict, paper: dict, protocol: bool) -> list[str]:
    lines = md_header("dataset", "", *(f"{m}, chosen" if protocol and "-" in m else m for m in METHODS))
    for dataset, table in tables.items():
        if protocol:
            lines.append(md_row(dataset, "configuration", *(t.label if (t := table[m]) else "—" for m in METHODS)))
        lines.append(md_row(dataset, "final", *(cell_text(table[m]) for m in METHODS)))
        lines.append(md_row(dataset, "last 3", *(last3_text(table[m]) for m in METHODS)))
        lines.append(md_row(dataset, "paper", *_paper_row(dataset, paper)))
    means = mean_table(tables.values())
    paper_means = _paper_means(paper, tables)
    lines.append(md_row("mean of the three", "final", *(f"{v[0]:.3f}" if (v := means[m]) else "—" for m in METHODS)))
    lines.append(md_row("mean of the three", "last 3", *(f"{v[1]:.3f}" if (v := means[m]) else "—" for m in METHODS)))
    lines.append(md_row("mean of the three", "paper", *(f"{paper_means[m]:.3f}" for m in METHODS)))
    return lines


def _paper_means(paper: dict, datasets: Iterable[str]) -> dict[str, float]:
    return {m: float(np.mean([paper[d][m][0] for d in datasets])) for m in METHODS}


def _means_ratio(means: Mapping[str, tuple[float, float] | None], a: str, b: str) -> str | None:
    """``1.23 / 1.10``: ``a``'s over ``b``'s (final, last 3) means; None when one is missing or ``b``'s is zero."""
    mean_a, mean_b = means[a], means[b]
    if mean_a is None or mean_b is None or 0 in mean_b:
        return None
    return f"{mean_a[0] / mean_b[0]:.2f} / {mean_a[1] / mean_b[1]:.2f}"


def _paper_row(dataset: str, paper: Mapping) -> list[str]:
    """The paper's cells of ``dataset``, in :data:`METHODS` order."""
    return [paper_text(paper.get(dataset, {}).get(m)) for m in METHODS]


def _ratio_table(tables: dict, paper: dict) -> list[str]:
    means = mean_table(tables.values())
    paper_means = _paper_means(paper, tables)
    lines = md_header("ratio, final / last 3", *tables, "mean of the three", "paper, mean of the three")
    for a, b in RATIOS:
        cells = [f"{r[0]:.2f} / {r[1]:.2f}" if (r := ratio(t, a, b)) else "—" for t in tables.values()]
        mean = f"**{text}**" if (text := _means_ratio(means, a, b)) else "—"
        lines.append(md_row(f"{a} / {b}", *cells, mean, f"{paper_means[a] / paper_means[b]:.2f}"))
    return lines


def _grid_table(records: list[RunRecord], dataset: str, chosen: Mapping[str, Cell | None]) -> list[str]:
    """Each configuration's mean final score over the selection seeds, per algorithm; the chosen ones in bold."""
    lines = md_header("model", "configuration", "TD3BC", "IQL")
    for prefix in ("DWM", "OneStep"):
        grids = {algo: protocol_grid(records, dataset, f"{prefix}-{algo}") for algo in ("TD3BC", "IQL")}
        for k, config in enumerate(grids["TD3BC"]):
            cells = []
            for algo, rows in grids.items():
                row, method = rows[k], f"{prefix}-{algo}"
                text = "missing" if row["final_mean"] is None else f"{row['final_mean']:.3f}"
                text += f" ({row['diverged']} diverged)" if row["diverged"] else ""
                chosen_cell = chosen.get(method)
                picked = chosen_cell is not None and chosen_cell.label == describe(method, row)
                cells.append(f"**{text}**" if picked else text)
            lines.append(md_row(prefix, describe(f"{prefix}-TD3BC", config), *cells))
    return lines


def _nine_table(tables: dict, paper: dict) -> list[str]:
    """Every dataset's mean final score (and last 3) per method, beside the paper's row."""
    lines = md_header("dataset", "", *METHODS)
    for dataset, table in tables.items():
        ours = (f"{c.final[0]:.3f} ({c.last3[0]:.3f})" if (c := table[m]) else "—" for m in METHODS)
        lines.append(md_row(dataset, "ours: final (last 3)", *ours))
        lines.append(md_row(dataset, "paper", *_paper_row(dataset, paper)))
    return lines


def _nine_ratios(tables: dict, paper: dict) -> list[str]:
    """Each ratio of :data:`RATIOS` over the means of each environment's datasets, and of all of them."""
    groups = {f"{env} ({len(sets)})": [d for d in sets if d in tables] for env, sets in ENVIRONMENTS.items()}
    groups[f"all {len(tables)}"] = list(tables)
    means = {name: mean_table(tables[d] for d in group) for name, group in groups.items()}
    paper_means = _paper_means(paper, tables)
    lines = md_header("ratio of means, final / last 3", *groups, f"paper, all {len(tables)}")
    for a, b in RATIOS:
        cells = []
        for mean in means.values():
            cells.append(_means_ratio(mean, a, b) or "—")
        lines.append(md_row(f"{a} / {b}", *cells, f"{paper_means[a] / paper_means[b]:.2f}"))
    return lines


def _standing(tables: dict) -> list[str]:
    """Per ratio of :data:`RATIOS`, the datasets where the model-based method is ahead, behind, or neither.

    Ahead (behind): above (below) its baseline by both readings, final and last 3; neither: the rest (split between
    the readings, or level). Only datasets whose two cells have the same seeds, at least ``MIN_SEEDS`` of them,
    and whose baseline scores are positive count.
    """
    lines = ["Where each model-based method stands, dataset by dataset (its ratio, final / last 3):", ""]
    for a, b in RATIOS:
        groups: dict[str, list[str]] = {"ahead on": [], "behind on": [], "neither (split or level) on": []}
        for dataset, table in tables.items():
            r, base = ratio(table, a, b), table.get(b)
            if r is None or base is None or min(base.final[0], base.last3[0]) <= 0:
                continue
            key = "ahead on" if min(r) > 1 else "behind on" if max(r) < 1 else "neither (split or level) on"
            groups[key].append(f"{dataset} ({r[0]:.2f} / {r[1]:.2f})")
        found = [f"{key} {', '.join(names)}" for key, names in groups.items() if names]
        lines.append(f"- {a} against {b}: {'; '.join(found) if found else 'no dataset with both cells complete yet'}.")
    return lines


def render_scores(results: str | Path) -> dict[str, str]:
    """Every generated region of ``docs/scores.md``, from the records and paper rows under ``results``.

    Raises:
        ValueError: If the paper's reference file lacks a dataset of :data:`ENVIRONMENTS`.
    """
    results = Path(results)
    paper = paper_rows(results / "paper_scores.json")
    regions, every_table, every_record = {}, {}, {}
    for env, datasets in ENVIRONMENTS.items():
        missing = [d for d in datasets if d not in paper]
        if missing:
            raise ValueError(f"{results / 'paper_scores.json'} has no rows for {missing}")
        records = {d: read_records(results / "records" / f"{d}.jsonl") for d in datasets}
        files = [f"benchmarks/results/records/{d}.jsonl" for d in datasets if records[d]]
        defaults = {d: defaults_table(records[d]) for d in datasets}
        every_table.update(defaults)
        every_record.update(records)
        regions[f"scores-{env}-curves"] = "\n".join(curve_table(defaults))
        regions[f"scores-{env}-defaults"] = "\n".join(
            [
                provenance_line(defaults_runs(records), files),
                "",
                *_score_table(defaults, paper, False),
                "",
                *_ratio_table(defaults, paper),
            ]
        )
        if env not in PROTOCOL_ENVIRONMENTS:
            continue
        protocol = {d: protocol_table(records[d], d) for d in datasets}
        regions[f"scores-{env}-protocol"] = "\n".join(
            [*_score_table(protocol, paper, True), "", *_ratio_table(protocol, paper)]
        )
        grid_lines = []
        for d in datasets:
            grid_lines += [f"**{d}**, mean final score of seeds {', '.join(map(str, SELECT_SEEDS))}:", ""]
            grid_lines += [*_grid_table(records[d], d, protocol[d]), ""]
        regions[f"scores-{env}-protocol-grid"] = "\n".join(grid_lines)
    files = [f"benchmarks/results/records/{d}.jsonl" for d, runs in every_record.items() if runs]
    regions["scores-nine-datasets"] = "\n".join(
        [
            provenance_line(defaults_runs(every_record), files),
            "",
            *_nine_table(every_table, paper),
            "",
            *_nine_ratios(every_table, paper),
            "",
            *_standing(every_table),
        ]
    )
    data_scores = results / "data_scores.json"
    scores = json.loads(data_scores.read_text())["datasets"] if data_scores.is_file() else {}
    refs = {d: {str(r.settings.get("refs", "d4rl")) for r in runs} for d, runs in every_record.items()}
    regions["scores-updates-to-data-score"] = "\n".join(threshold_table(every_table, scores, refs))
    regions["scores-long-curves"] = "\n".join(long_curves(results))
    return regions
