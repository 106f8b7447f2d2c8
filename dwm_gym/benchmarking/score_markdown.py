"""Markdown pieces of the score pages: cells, rows, the provenance line of a table, the curve table."""

from __future__ import annotations

from collections.abc import Iterable

from dwm_gym.benchmarking.score_tables import SEEDS, Cell
from dwm_gym.evaluation.run_records import RunRecord


def seed_text(records: Iterable[RunRecord]) -> str:
    """``0–4`` for a consecutive run of seeds, else ``0, 2, 5``."""
    seeds = sorted({r.seed for r in records})
    consecutive = len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1))
    return f"{seeds[0]}–{seeds[-1]}" if consecutive else ", ".join(map(str, seeds))


def cell_text(cell: Cell | None) -> str:
    """``0.547 ± 0.244``, with its seeds when they are not 0–4 and its diverged runs; "—" for no cell."""
    if cell is None:
        return "—"
    text = f"{cell.final[0]:.3f} ± {cell.final[1]:.3f}"
    notes = [] if cell.seeds == SEEDS else [f"seeds {', '.join(map(str, cell.seeds))}"]
    notes += [f"{cell.diverged} diverged"] if cell.diverged else []
    return f"{text} ({'; '.join(notes)})" if notes else text


def last3_text(cell: Cell | None) -> str:
    """The mean ± std over seeds of each run's last three evaluations; "—" for no cell."""
    return "—" if cell is None else f"{cell.last3[0]:.3f} ± {cell.last3[1]:.3f}"


def paper_text(value: tuple[float, float] | None) -> str:
    """A paper cell, ``0.65 ± 0.10``; "—" where the paper has none."""
    return "—" if value is None else f"{value[0]:.2f} ± {value[1]:.2f}"


def md_row(*cells: str) -> str:
    """A markdown table row."""
    return "| " + " | ".join(cells) + " |"


def md_header(*names: str) -> list[str]:
    """A markdown table's header and rule."""
    return [md_row(*names), md_row(*("---" for _ in names))]


STANDARD_UPDATES = 1_000_000  # the budget of published TD3+BC and IQL scores (the paper's model-based agents: 5e5)


def budget_label(updates: Iterable[int]) -> str:
    """The "(early training: ...)" note when the largest budget is below :data:`STANDARD_UPDATES`, else ""."""
    most = max(updates, default=0)
    if most >= STANDARD_UPDATES:
        return ""
    share = f"{100 * most / STANDARD_UPDATES:.3g} %"
    return f" (early training: {share} of the {STANDARD_UPDATES:,} updates behind published TD3+BC and IQL scores)"


def provenance_line(records: Iterable[RunRecord], files: Iterable[str]) -> str:
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
        f"updates on {values(lambda r: r.eval_episodes)} episodes of the real env. Seeds: {seed_text(records)} "
        f"({len(records)} run{'s' if len(records) > 1 else ''}). Machine: {'; '.join(machines)}. Records: "
        + ", ".join(f"`{f}`" for f in files)
        + "."
    )


def curve_table(tables: dict) -> list[str]:
    """Mean ± std over seeds at every evaluation, a row per dataset and method (``{dataset: {method: Cell}}``)."""
    steps = sorted({t for table in tables.values() for c in table.values() if c for t, _, _ in c.curve})
    if not steps:
        return ["No runs recorded yet."]
    lines = md_header("dataset, method", *(f"{t:,}" for t in steps))
    for dataset, table in tables.items():
        for method, cell in table.items():
            if cell is None:
                continue
            at = {t: f"{m:.3f} ± {s:.3f}" for t, m, s in cell.curve}
            lines.append(md_row(f"{dataset}, {method}", *(at.get(t, "—") for t in steps)))
    return lines
