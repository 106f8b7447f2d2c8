"""The table of ``examples/train_in_imagination.py`` runs: real score and imagined training episodes per config.

Reads ``<runs>/<config>/seed<k>/{evaluations,training_episodes}.jsonl`` (as the example writes them), keeps the
evaluations up to ``--steps`` env steps (runs made with a longer budget are cut there) and the seeds that reached
it, and prints a markdown table: the real D4RL-normalized score at ``--frozen`` steps (the end of the critic
warm-up: the cloned policy, when ``--bc-init`` was used), at ``--steps``, and the mean of the last three
evaluations (mean ± std over seeds), next to the mean return and length of the last 100 training episodes at those
two points (imagined episodes in the imagined env). ``--curve`` adds a second table: the real score at every
evaluation, mean ± std over seeds, one row per config (the learning curves). Writes the same to
``<runs>/summary.json``.

python studies/train_in_imagination_summary.py [--runs runs/train_in_imagination]
                                                  [--steps 20000] [--frozen 10000] [--curve]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np


def read(path: Path, steps: int) -> list[dict]:
    """The JSON lines of ``path`` up to ``steps`` env steps (none when the file is missing)."""
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["timesteps"] <= steps]


def at(rows: list[dict], step: int, key: str) -> float:
    """``key`` of the row closest to ``step`` from above within one evaluation period (NaN if none)."""
    near = [r for r in rows if step <= r["timesteps"] < step + 100 and key in r]
    return float(near[0][key]) if near else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs/train_in_imagination")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--frozen", type=int, default=10_000)
    parser.add_argument("--curve", action="store_true", help="also print the mean curve of each config")
    args = parser.parse_args()
    table = {}
    for config in sorted(p for p in Path(args.runs).iterdir() if p.is_dir()):
        seeds = {}
        for folder in sorted(config.glob("seed*")):
            evals = read(folder / "evaluations.jsonl", args.steps)
            if evals and evals[-1]["timesteps"] >= args.steps:
                seeds[folder.name] = (evals, read(folder / "training_episodes.jsonl", args.steps))
        if not seeds:
            continue

        def stat(values: list[float]) -> list[float]:
            with warnings.catch_warnings():  # a run without training-episode records gives NaN, not a warning
                warnings.simplefilter("ignore", RuntimeWarning)
                return [float(np.nanmean(values)), float(np.nanstd(values))]

        table[config.name] = {
            "seeds": len(seeds),
            "score_frozen": stat([at(e, args.frozen, "normalized_score") for e, _ in seeds.values()]),
            "score_final": stat([e[-1]["normalized_score"] for e, _ in seeds.values()]),
            "score_last3": stat([np.mean([r["normalized_score"] for r in e[-3:]]) for e, _ in seeds.values()]),
            "train_return_frozen": stat([at(t, args.frozen, "return") for _, t in seeds.values()]),
            "train_return_final": stat([at(t, args.steps, "return") for _, t in seeds.values()]),
            "train_length_frozen": stat([at(t, args.frozen, "length") for _, t in seeds.values()]),
            "train_length_final": stat([at(t, args.steps, "length") for _, t in seeds.values()]),
            "q_max_final": stat([at(t, args.steps, "q_max") for _, t in seeds.values()]),
            "curves": {k: [(r["timesteps"], r["normalized_score"]) for r in e] for k, (e, _) in seeds.items()},
        }
        steps_seen = sorted({int(r["timesteps"]) for e, _ in seeds.values() for r in e})
        table[config.name]["curve"] = {
            step: stat([at(e, step, "normalized_score") for e, _ in seeds.values()]) for step in steps_seen
        }
    frozen, steps = (f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}" for n in (args.frozen, args.steps))
    print(
        f"| run | seeds | real score at {frozen} | at {steps} | last 3 evaluations "
        f"| training episodes at {frozen}: return / length | at {steps} | critic's max Q at {steps} |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, row in table.items():
        fmt = lambda pair: f"{pair[0]:.3f} ± {pair[1]:.3f}"  # noqa: E731
        ep = lambda ret, length: "—" if np.isnan(ret[0]) else f"{ret[0]:.0f} / {length[0]:.0f}"  # noqa: E731
        print(
            f"| {name} | {row['seeds']} | {fmt(row['score_frozen'])} | {fmt(row['score_final'])} "
            f"| {fmt(row['score_last3'])} | {ep(row['train_return_frozen'], row['train_length_frozen'])} "
            f"| {ep(row['train_return_final'], row['train_length_final'])} "
            f"| {'—' if np.isnan(row['q_max_final'][0]) else format(row['q_max_final'][0], '.0f')} |"
        )
    if args.curve:
        points = sorted({step for row in table.values() for step in row["curve"]})
        print("\n| run | " + " | ".join(f"{step / 1000:g}k" for step in points) + " |")
        print("|---|" + "---|" * len(points))
        for name, row in table.items():
            cells = [fmt(row["curve"][step]) if step in row["curve"] else "—" for step in points]
            print(f"| {name} ({row['seeds']} seeds) | " + " | ".join(cells) + " |")
    out = Path(args.runs) / "summary.json"
    out.write_text(json.dumps({"steps": args.steps, "frozen": args.frozen, "runs": table}, indent=2))


if __name__ == "__main__":
    main()
