"""The behaviour policies' SAC training: evaluated return against SAC steps, per env, and the shipped snapshots.

Reads the ``{task}_sac_curve.json`` files that ``dwm-gym behavior export`` writes next to the shipped actors
(every 10k-step snapshot: 10 stochastic episodes; the shipped medium and expert actors were re-evaluated
over 50), plots return against SAC steps with D4RL's expert reference, and reports per env: the SAC steps
used, the best snapshot, and the shipped actors' returns as fractions of D4RL's expert reference.

python benchmarks/behavior_curves.py [--tasks walker2d,halfcheetah] [--assets DIR]
    [--plot docs/img/behavior_sac_curves.png] [--json benchmarks/results/behavior_curves.json]
"""

from __future__ import annotations

import json
from pathlib import Path

from dwm_gym.benchmarking.harness import make_parser, parse_args, scratch_dir, write_result
from dwm_gym.data.behavior.actor import load_actor
from dwm_gym.data.behavior.shipped import ASSETS
from dwm_gym.data.specs import reference_scores


def summarize(assets: Path, task: str) -> dict:
    """The curve and the shipped actors of one task, with D4RL-normalized returns."""
    curve = json.loads((assets / f"{task}_sac_curve.json").read_text())
    low, high = reference_scores(task, "d4rl")
    best = max(curve["snapshots"], key=lambda row: row["mean_return"])
    shipped = {}
    for role in ("medium", "expert"):
        info = load_actor(assets / f"{task}_{role}.safetensors").info
        shipped[role] = {
            "train_steps": info.train_steps,
            "mean_return": info.mean_return,
            "std_return": info.std_return,
            "eval_episodes": info.eval_episodes,
            "d4rl_normalized": (info.mean_return - low) / (high - low),
        }
    return {
        "env_id": curve["env_id"],
        "sac_steps": max(row["train_steps"] for row in curve["snapshots"]),
        "wall_s": max((row["wall_s"] or 0.0) for row in curve["snapshots"]),
        "d4rl_expert_reference": high,
        "best_snapshot": {"train_steps": best["train_steps"], "mean_return": best["mean_return"]},
        "shipped": shipped,
        "curve": [(row["train_steps"], row["mean_return"], row["std_return"]) for row in curve["snapshots"]],
    }


def plot(results: dict[str, dict], path: Path) -> Path:
    """One panel per env: evaluated return ± std against SAC steps, the D4RL expert reference, the picks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.6), squeeze=False)
    for ax, row in zip(axes[0], results.values()):
        steps, mean, std = (list(column) for column in zip(*row["curve"]))
        ax.plot(steps, mean, marker=".", label="snapshot (10 episodes)")
        ax.fill_between(steps, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)], alpha=0.2)
        ax.axhline(row["d4rl_expert_reference"], color="gray", linestyle="--", label="D4RL expert reference")
        for role, marker in (("medium", "s"), ("expert", "*")):
            pick = row["shipped"][role]
            ax.plot(pick["train_steps"], pick["mean_return"], marker, markersize=10, label=f"shipped {role} (50 ep.)")
        ax.set(title=row["env_id"], xlabel="SAC env steps", ylabel="return")
        ax.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:.0f}k")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/behavior_curves.json", device=None, seed=None)
    parser.add_argument("--tasks", default=None, help="comma-separated (default: every task with a curve file)")
    parser.add_argument("--assets", default=str(ASSETS), help="folder of the exported policies")
    parser.add_argument("--plot", default="docs/img/behavior_sac_curves.png")
    args = parse_args(parser, lambda: {"plot": str(scratch_dir() / "behavior_sac_curves.png")})
    assets = Path(args.assets)
    tasks = (
        args.tasks.split(",")
        if args.tasks
        else sorted(p.name[: -len("_sac_curve.json")] for p in assets.glob("*_sac_curve.json"))
    )
    if not tasks:
        raise SystemExit(f"no *_sac_curve.json in {assets}: export a SAC run first (dwm-gym behavior export)")
    results = {task: summarize(assets, task) for task in tasks}
    figure = plot(results, Path(args.plot))
    for task, row in results.items():
        print(
            f"{task}: {row['sac_steps']} SAC steps; best snapshot {row['best_snapshot']['mean_return']:.0f}; "
            + ", ".join(
                f"{r} {v['mean_return']:.0f} ({v['d4rl_normalized']:.2f} of D4RL)" for r, v in row["shipped"].items()
            )
        )
    write_result(args.json, {"tasks": results, "plot": str(figure)}, args)


if __name__ == "__main__":
    main()
