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

from dwm_gym.benchmarking.score_runs import METHODS
from dwm_gym.benchmarking.score_tables import (
    RATIOS,
    SEEDS,
    SELECT_SEEDS,
    Cell,
    defaults_table,
    describe,
    mean_table,
    paper_rows,
    protocol_grid,
    protocol_table,
    ratio,
)
from dwm_gym.evaluation.run_records import RunRecord, read_records

#: The environments the page covers and their datasets, in table order.
ENVIRONMENTS = {
    task: tuple(f"{task}-{quality}" for quality in ("medium", "medium-replay", "medium-expert"))
    for task in ("hopper", "walker2d", "halfcheetah")
}
#: The environments whose page section also has the paper's protocol (selection on test returns) and its grid.
PROTOCOL_ENVIRONMENTS = ("hopper",)


def _cell(cell: Cell | None) -> str:
    if cell is None:
        return "—"
    text = f"{cell.final[0]:.3f} ± {cell.final[1]:.3f}"
    notes = [] if cell.seeds == SEEDS else [f"seeds {', '.join(map(str, cell.seeds))}"]
    notes += [f"{cell.diverged} diverged"] if cell.diverged else []
    return f"{text} ({'; '.join(notes)})" if notes else text


def _last3(cell: Cell | None) -> str:
    return "—" if cell is None else f"{cell.last3[0]:.3f} ± {cell.last3[1]:.3f}"


def _paper(value: tuple[float, float] | None) -> str:
    return "—" if value is None else f"{value[0]:.2f} ± {value[1]:.2f}"


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(*names: str) -> list[str]:
    return [_row(*names), _row(*("---" for _ in names))]


STANDARD_UPDATES = 1_000_000  # the budget of published TD3+BC and IQL scores (the paper's model-based agents: 5e5)


def budget_label(updates: Iterable[int]) -> str:
    """The "(early training: ...)" note when the largest budget is below :data:`STANDARD_UPDATES`, else ""."""
    most = max(updates, default=0)
    if most >= STANDARD_UPDATES:
        return ""
    share = f"{100 * most / STANDARD_UPDATES:.3g} %"
    return f" (early training: {share} of the {STANDARD_UPDATES:,} updates behind published TD3+BC and IQL scores)"


def _provenance(records: Iterable[RunRecord], files: Iterable[str]) -> str:
    """The budget, seeds and machines of the runs behind a table, and where their records are."""
    records = list(records)
    if not records:
        return "No runs recorded yet."

    def values(key) -> str:
        found = sorted({key(r) for r in records if key(r) is not None})
        return " or ".join(f"{v:,}" for v in found) or "?"

    machines = sorted(
        {
            f"{m.get('processor', '?')}, {m.get('cpu_count', '?')} CPUs, "
            + (f"GPU {m['cuda']}" if m.get("cuda") else "no GPU")
            for m in (r.machine or {} for r in records)
        }
    )
    early = budget_label(r.updates for r in records if r.updates)
    return (
        f"Budget: {values(lambda r: r.updates)} updates per run{early}, "
        f"an evaluation every {values(lambda r: r.eval_every)} "
        f"updates on {values(lambda r: r.eval_episodes)} episodes of the real env. Seeds 0–4 per cell "
        f"({len(records)} runs). Machine: {'; '.join(machines)}. Records: " + ", ".join(f"`{f}`" for f in files) + "."
    )


def _score_table(tables: dict, paper: dict, protocol: bool) -> list[str]:
    lines = _header("dataset", "", *(f"{m}, chosen" if protocol and "-" in m else m for m in METHODS))
    for dataset, table in tables.items():
        if protocol:
            lines.append(_row(dataset, "configuration", *(t.label if (t := table[m]) else "—" for m in METHODS)))
        lines.append(_row(dataset, "final", *(_cell(table[m]) for m in METHODS)))
        lines.append(_row(dataset, "last 3", *(_last3(table[m]) for m in METHODS)))
        lines.append(_row(dataset, "paper", *(_paper(paper.get(dataset, {}).get(m)) for m in METHODS)))
    means = mean_table(tables.values())
    paper_means = _paper_means(paper, tables)
    lines.append(_row("mean of the three", "final", *(f"{v[0]:.3f}" if (v := means[m]) else "—" for m in METHODS)))
    lines.append(_row("mean of the three", "last 3", *(f"{v[1]:.3f}" if (v := means[m]) else "—" for m in METHODS)))
    lines.append(_row("mean of the three", "paper", *(f"{paper_means[m]:.3f}" for m in METHODS)))
    return lines


def _paper_means(paper: dict, datasets: Iterable[str]) -> dict[str, float]:
    return {m: float(np.mean([paper[d][m][0] for d in datasets])) for m in METHODS}


def _ratio_table(tables: dict, paper: dict) -> list[str]:
    means = mean_table(tables.values())
    paper_means = _paper_means(paper, tables)
    lines = _header("ratio, final / last 3", *tables, "mean of the three", "paper, mean of the three")
    for a, b in RATIOS:
        cells = [f"{r[0]:.2f} / {r[1]:.2f}" if (r := ratio(t, a, b)) else "—" for t in tables.values()]
        mean_a, mean_b = means[a], means[b]
        mean = f"**{mean_a[0] / mean_b[0]:.2f} / {mean_a[1] / mean_b[1]:.2f}**" if mean_a and mean_b else "—"
        lines.append(_row(f"{a} / {b}", *cells, mean, f"{paper_means[a] / paper_means[b]:.2f}"))
    return lines


def _grid_table(records: list[RunRecord], dataset: str, chosen: Mapping[str, Cell | None]) -> list[str]:
    """Each configuration's mean final score over the selection seeds, per algorithm; the chosen ones in bold."""
    lines = _header("model", "configuration", "TD3BC", "IQL")
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
            lines.append(_row(prefix, describe(f"{prefix}-TD3BC", config), *cells))
    return lines


def _curve_table(tables: dict) -> list[str]:
    steps = sorted({t for table in tables.values() for c in table.values() if c for t, _, _ in c.curve})
    if not steps:
        return ["No runs recorded yet."]
    lines = _header("dataset, method", *(f"{t:,}" for t in steps))
    for dataset, table in tables.items():
        for method, cell in table.items():
            if cell is None:
                continue
            at = {t: f"{m:.3f} ± {s:.3f}" for t, m, s in cell.curve}
            lines.append(_row(f"{dataset}, {method}", *(at.get(t, "—") for t in steps)))
    return lines


def _nine_table(tables: dict, paper: dict) -> list[str]:
    """Every dataset's mean final score (and last 3) per method, beside the paper's row."""
    lines = _header("dataset", "", *METHODS)
    for dataset, table in tables.items():
        ours = (f"{c.final[0]:.3f} ({c.last3[0]:.3f})" if (c := table[m]) else "—" for m in METHODS)
        lines.append(_row(dataset, "ours: final (last 3)", *ours))
        lines.append(_row(dataset, "paper", *(_paper(paper.get(dataset, {}).get(m)) for m in METHODS)))
    return lines


def _nine_ratios(tables: dict, paper: dict) -> list[str]:
    """Each ratio of :data:`RATIOS` over the means of each environment's datasets, and of all of them."""
    groups = {f"{env} (3)": [d for d in datasets if d in tables] for env, datasets in ENVIRONMENTS.items()}
    groups[f"all {len(tables)}"] = list(tables)
    means = {name: mean_table(tables[d] for d in group) for name, group in groups.items()}
    paper_means = _paper_means(paper, tables)
    lines = _header("ratio of means, final / last 3", *groups, f"paper, all {len(tables)}")
    for a, b in RATIOS:
        cells = []
        for mean in means.values():
            ok = mean[a] is not None and mean[b] is not None and 0 not in mean[b]
            cells.append(f"{mean[a][0] / mean[b][0]:.2f} / {mean[a][1] / mean[b][1]:.2f}" if ok else "—")
        lines.append(_row(f"{a} / {b}", *cells, f"{paper_means[a] / paper_means[b]:.2f}"))
    return lines


def _threshold_table(tables: dict, data_scores: Mapping[str, Mapping]) -> list[str]:
    """Per dataset and method, the first evaluation at which the seeds' mean score reaches the data's own score."""
    lines = _header("dataset", "data's score", *METHODS)
    for dataset, table in tables.items():
        entry = data_scores.get(dataset)
        if entry is None or all(c is None for c in table.values()):
            continue
        threshold = entry["normalized"]["d4rl"]
        lines.append(_row(dataset, f"{threshold:.3f}", *(_first_reach(table[m], threshold) for m in METHODS)))
    return lines


def _first_reach(cell: Cell | None, threshold: float) -> str:
    """The first evaluation whose mean over seeds is at least ``threshold``, or "not by <last evaluation>"."""
    if cell is None:
        return "—"
    reached = [t for t, mean, _ in cell.curve if mean >= threshold]
    return f"{reached[0]:,}" if reached else f"not by {cell.curve[-1][0]:,}"


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
        regions[f"scores-{env}-curves"] = "\n".join(_curve_table(defaults))
        regions[f"scores-{env}-defaults"] = "\n".join(
            [
                _provenance(_defaults_runs(records), files),
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
            _provenance(_defaults_runs(every_record), files),
            "",
            *_nine_table(every_table, paper),
            "",
            *_nine_ratios(every_table, paper),
        ]
    )
    data_scores = results / "data_scores.json"
    scores = json.loads(data_scores.read_text())["datasets"] if data_scores.is_file() else {}
    regions["scores-updates-to-data-score"] = "\n".join(_threshold_table(every_table, scores))
    return regions


def _defaults_runs(records: Mapping[str, list[RunRecord]]) -> list[RunRecord]:
    """The records of the defaults' cells (``<method>_s<seed>``)."""
    names = {f"{m}_s{s}" for m in METHODS for s in SEEDS}
    return [r for runs in records.values() for r in runs if r.name in names]
