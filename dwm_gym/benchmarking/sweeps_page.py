"""docs/sweeps.md's generated region: a committed score cell against the same cell re-run through the sweep.

The committed cell is DWM-TD3BC on hopper-medium at the library's defaults (``records/hopper-medium.jsonl``, run on
the pools the sweep replaced); the re-run is ``dwm-gym sweep sweeps/hopper_medium_dwm_td3bc.toml``
(``records/hopper-medium_sweep.jsonl``). Whether they agree within seed noise is read off the difference of the
means against its standard error over the two sets of seeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dwm_gym.benchmarking.score_tables import SEEDS
from dwm_gym.evaluation.run_records import RunRecord, read_records

CELL = [f"DWM-TD3BC_s{seed}" for seed in SEEDS]
COMMITTED = "hopper-medium.jsonl"
REPRODUCED = "hopper-medium_sweep.jsonl"


def _scores(records: list[RunRecord], file: str) -> tuple[np.ndarray, np.ndarray]:
    """Final scores and last-3 means of the cell's runs in ``records``, in seed order."""
    by_name = {r.name: r for r in records if r.updates == 50_000}
    missing = [name for name in CELL if name not in by_name]
    if missing:
        raise FileNotFoundError(f"{file} lacks the runs {missing}: run the sweep sweeps/hopper_medium_dwm_td3bc.toml")
    runs = [by_name[name] for name in CELL]
    finals = np.array([r.final.normalized_score for r in runs])
    last3 = np.array([np.mean([p.normalized_score for p in r.curve[-3:]]) for r in runs])
    return finals, last3


def render_sweeps(results: Path) -> dict[str, str]:
    """The region ``sweeps-hopper-cell`` from the committed and the re-run records under ``results/records``."""
    rows = {
        "committed": _scores(read_records(results / "records" / COMMITTED), COMMITTED),
        "re-run through `dwm-gym sweep`": _scores(read_records(results / "records" / REPRODUCED), REPRODUCED),
    }
    lines = [
        "| runs | final score, seeds 0–4 | final, mean ± std | mean of the last 3 evaluations, mean ± std |",
        "|---|---|---|---|",
    ]
    for label, (finals, last3) in rows.items():
        per_seed = ", ".join(f"{v:.2f}" for v in finals)
        spread = f"{finals.mean():.3f} ± {finals.std():.3f} | {last3.mean():.3f} ± {last3.std():.3f}"
        lines.append(f"| {label} | {per_seed} | {spread} |")
    (a_final, a_last3), (b_final, b_last3) = rows.values()
    lines.append("")
    for name, a, b in (("final", a_final, b_final), ("last 3", a_last3, b_last3)):
        se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
        diff = float(b.mean() - a.mean())
        lines.append(
            f"- {name}: re-run minus committed {diff:+.3f}, {abs(diff) / se:.1f} standard errors of the difference."
        )
    return {"sweeps-hopper-cell": "\n".join(lines)}
