"""The table and JSON of ``scores.py``: per method, the final scores, the last-3 means and the curves over seeds."""

from __future__ import annotations

import argparse
import os

import numpy as np
from harness import command_line, write_result

ALGOS = {"TD3BC": "td3bc", "IQL": "iql"}  # scores.py's method suffix -> AgentRunConfig.algo


def report(
    results: list[dict], methods: list[str], args: argparse.Namespace, wall: float, missing: list[str] | None = None
) -> None:
    """Prints the table and writes the JSON (``missing``: runs not finished yet, with ``--report-only``)."""
    from dwm_gym.data.specs import parse_dataset_name
    from dwm_gym.evaluation import normalized_score

    env_id = parse_dataset_name(args.dataset)[0].env_id
    table = {}
    for method in methods:
        runs = [r for r in results if r["method"] == method]
        returns = np.array([r["mean_return"] for r in runs])
        scores = np.array([r["normalized_score"] for r in runs])
        v5 = np.array([float(np.mean(normalized_score(env_id, r["returns"], "v5"))) for r in runs])
        curves = [r.get("curve", []) for r in runs]
        last3 = np.array([np.mean([p["normalized_score"] for p in c[-3:]]) for c in curves if c])
        steps = sorted({p["updates"] for c in curves for p in c})
        by_step = {t: [p["normalized_score"] for c in curves for p in c if p["updates"] == t] for t in steps}
        table[method] = {
            "seeds": [r["seed"] for r in runs],
            "last3_scores": last3.tolist(),
            "last3_mean": float(last3.mean()) if len(last3) else None,
            "last3_std": float(last3.std()) if len(last3) else None,
            "curve": [
                {"updates": t, "mean": float(np.mean(v)), "std": float(np.std(v)), "runs": len(v)}
                for t, v in by_step.items()
            ],
            "returns": returns.tolist(),
            "d4rl_scores": scores.tolist(),
            "v5_scores": v5.tolist(),
            "mean_return": float(returns.mean()),
            "d4rl_mean": float(scores.mean()),
            "d4rl_std": float(scores.std()),
            "v5_mean": float(v5.mean()),
            "v5_std": float(v5.std()),
            "seconds": [r.get("seconds") for r in runs],
        }
    print(
        f"\n{args.dataset}, {args.updates} updates per run, batch 128, seeds {args.seeds}, "
        f"{args.eval_episodes} eval episodes on real {env_id}; wall {wall / 60:.1f} min on {os.cpu_count()} CPUs"
    )
    print(f"{'method':14s} {'return':>8s} {'D4RL score':>16s} {'last-3 mean':>16s} {'v5 score':>16s}")
    for method, row in table.items():
        last3 = f"{row['last3_mean']:8.3f} ± {row['last3_std']:.3f}" if row["last3_mean"] is not None else "n/a"
        print(
            f"{method:14s} {row['mean_return']:8.1f} {row['d4rl_mean']:8.3f} ± {row['d4rl_std']:.3f} "
            f"{last3:>16s} {row['v5_mean']:8.3f} ± {row['v5_std']:.3f}"
        )
    ratios = {}
    for algo in ALGOS:
        for base in (algo, f"OneStep-{algo}"):
            if f"DWM-{algo}" in table and base in table and table[base]["d4rl_mean"] > 0:
                ratios[f"DWM-{algo} / {base}"] = table[f"DWM-{algo}"]["d4rl_mean"] / table[base]["d4rl_mean"]
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}x")
    result = {
        "command": command_line(args),
        "dataset": args.dataset,
        "dwm_checkpoint": args.dwm_checkpoint,  # None: the dataset's DWM
        "budget": {"updates_per_run": args.updates, "batch_size": 128, "seeds": args.seeds, "workers": args.workers},
        "wall_s": wall,
        "methods": table,
        "ratios": ratios,
        "missing_runs": missing or [],
        "runs": results,
    }
    write_result(args.json, result, args)
    print(f"wrote {args.json}")
