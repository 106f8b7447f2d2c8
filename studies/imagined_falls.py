"""Does the DWM's first imagined step fall where the data falls? The evidence behind the H = 1 divergence.

For each RTG of ``--rtgs``, the shared imagination cache of ``scores.py`` (filled, or loaded when it is on
disk) gives one imagined first step (r̂_t, ŝ_{t+1}, terminated) per dataset transition. Against the data's
own transition it reports:

* the mean imagined reward and the data's;
* the z-scored squared error of ŝ_{t+1} to the real s_{t+1} (mean and median over transitions);
* at the data's real terminations (falls): the share the DWM also imagines as terminal; and the imagined
  termination rate elsewhere.

A DWM-MVE target at H = 1 bootstraps wherever the imagined step is not terminal, so a real fall imagined as
healthy is a transition whose target keeps Q where the data's target stops (docs/scores.md, "The paper's
protocol on hopper-medium-replay").

python studies/imagined_falls.py [--dataset dwm_gym/hopper/medium-replay-v0] [--rtgs default,0.6,0.7,0.8]
                                    [--runs runs/scores] [--workers 2]
                                    [--json studies/results/imagined_falls.json] [--tiny]

``--tiny``: a 400-transition hopper-medium dataset in a temporary folder, the default RTG only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dwm_gym.benchmarking.harness import make_parser, parse_args, scratch_dir, tiny_dataset, write_result
from dwm_gym.benchmarking.score_runs import dataset_name, method_settings, prepare_shared_cache
from dwm_gym.data import OfflineDataset


def first_steps(args: argparse.Namespace, rtg: float | None) -> dict[str, np.ndarray]:
    """The first imagined step of every transition at ``rtg`` (None: the checkpoint's median)."""
    base = argparse.Namespace(dataset=args.dataset, runs=args.runs, workers=args.workers)
    cache_args = method_settings(base, rtg=rtg)
    (Path(args.runs) / dataset_name(cache_args)).mkdir(parents=True, exist_ok=True)
    cache = prepare_shared_cache(cache_args).cache
    return {
        "reward": cache.rewards[:, 0, 0].cpu().numpy(),
        "state": cache.states[:, 0, 0].cpu().numpy(),
        "terminated": cache.terminated[:, 0, 0].cpu().numpy().astype(bool),
    }


def compare(imagined: dict[str, np.ndarray], data: dict[str, np.ndarray]) -> dict[str, float]:
    """The imagined first steps against the data's transitions (same order)."""
    scale = data["observations"].std(0) + 1e-6
    z_error = (((imagined["state"] - data["next_observations"]) / scale) ** 2).mean(1)
    falls = data["terminations"].astype(bool)
    return {
        "reward_mean": float(imagined["reward"].mean()),
        "data_reward_mean": float(data["rewards"].mean()),
        "next_state_z_mse_mean": float(z_error.mean()),
        "next_state_z_mse_median": float(np.median(z_error)),
        "data_falls": int(falls.sum()),
        "falls_imagined_terminal": float(imagined["terminated"][falls].mean()) if falls.any() else None,
        "terminal_rate_elsewhere": float(imagined["terminated"][~falls].mean()),
    }


def main() -> None:
    parser = make_parser(__doc__, "studies/results/imagined_falls.json", device=None, seed=None)
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-replay-v0")
    parser.add_argument("--rtgs", default="default,0.6,0.7,0.8", help="'default' is the checkpoint's median")
    parser.add_argument("--runs", default="runs/scores", help="where scores.py keeps the shared caches")
    parser.add_argument("--workers", type=int, default=2, help="torch threads while a cache is filled")
    args = parse_args(parser, tiny=lambda: {"rtgs": "default", "runs": str(scratch_dir() / "runs")})
    if args.tiny:
        args.dataset = tiny_dataset()
    data = OfflineDataset.from_minari(args.dataset).transitions
    rows = {}
    for name in args.rtgs.split(","):
        rtg = None if name == "default" else float(name)
        rows[name] = compare(first_steps(args, rtg), data)
        r = rows[name]
        falls = "n/a" if r["falls_imagined_terminal"] is None else f"{r['falls_imagined_terminal']:.3f}"
        print(
            f"rtg {name:8s} reward {r['reward_mean']:.3f} (data {r['data_reward_mean']:.3f}) | next-state z-MSE "
            f"mean {r['next_state_z_mse_mean']:.4f}, median {r['next_state_z_mse_median']:.4f} | real falls "
            f"imagined terminal {falls} of {r['data_falls']} | terminal elsewhere {r['terminal_rate_elsewhere']:.4f}"
        )
    write_result(args.json, {"dataset": args.dataset, "rows": rows}, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
