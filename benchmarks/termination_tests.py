"""Is it the imagined terminations that make DWM-MVE at H = 1 diverge? Two tests of the mechanism, with seeds.

Usage:
    python benchmarks/termination_tests.py [--dataset dwm_gym/hopper/medium-replay-v0] [--seeds 0,1,2,3,4]
                                           [--variants all] [--unmask 0.5] [--updates 50000] [--eval-every 10000]
                                           [--eval-episodes 10] [--workers 2] [--runs runs/scores]
                                           [--archive benchmarks/results/scores_runs]
                                           [--json benchmarks/results/termination_tests.json] [--tiny]

The DWM's first imagined step lands on the healthy side of Hopper's termination rule at about half of the
data's real falls (``imagined_falls.py``), so an H = 1 target bootstraps where the data's target stops.
TD3BC is trained with each variant on the same data:

* ``TD3BC``: model-free, the data's terminations (the control);
* ``TD3BC, falls unmasked``: model-free, with ``--unmask`` (half) of the falls turned into time-limit
  truncations, so their targets bootstrap from the fallen state as a missed imagined fall does. The
  falls are drawn once (generator seed 0) and are the same for every seed;
* ``DWM-TD3BC H=1``: the DWM's imagined terminations (the rule on ŝ_{t+1});
* ``DWM-TD3BC H=1, data termination``: the same imagined r̂_t and ŝ_{t+1}, but the first step's
  termination taken from the data (``data_termination=True`` of the MVE buffers).

If the mechanism is the missed falls, the second variant diverges and the fourth holds. The runs are
``scores.py``'s (same folders, archive, reuse and resumption); the unmasked one is named
``TD3BC_unmask<fraction>_s<seed>``. The report gives, per variant, the final score and the mean of the
last three evaluations (mean ± std over seeds), the curve, and from each run's critic monitor the number
of diverged critics, the last logged critic loss and the largest Q.

``--tiny``: a 400-transition hopper-medium dataset, seed 0, 20 updates evaluated every 10 on one episode.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from harness import command_line, make_parser, parse_args, scratch_dir, tiny_dataset, write_result
from scores import dataset_name, prepare_shared_cache, run_folder, run_one

VARIANTS = {  # name: (scores.py method, H, data termination, share of falls unmasked)
    "TD3BC": ("TD3BC", 5, False, False),
    "TD3BC, falls unmasked": ("TD3BC", 5, False, True),
    "DWM-TD3BC H=1": ("DWM-TD3BC", 1, False, False),
    "DWM-TD3BC H=1, data termination": ("DWM-TD3BC", 1, True, False),
}


def unmask_falls(dataset, fraction: float):
    """A copy of ``dataset`` in which ``fraction`` of the terminated episodes end in a truncation instead.

    Returns:
        The altered dataset and the number of falls unmasked.
    """
    falls = [i for i, episode in enumerate(dataset.episodes) if episode.terminated]
    chosen = set(np.random.default_rng(0).choice(falls, size=round(fraction * len(falls)), replace=False).tolist())
    episodes = []
    for i, episode in enumerate(dataset.episodes):
        if i in chosen:
            terminations, truncations = episode.terminations.copy(), episode.truncations.copy()
            terminations[-1], truncations[-1] = False, True
            episode = dataclasses.replace(episode, terminations=terminations, truncations=truncations)
        episodes.append(episode)
    return dataclasses.replace(dataset, episodes=episodes), len(chosen)


def variant_args(args: argparse.Namespace, variant: str) -> argparse.Namespace:
    """``scores.py``'s arguments for one variant."""
    _, horizon, data_termination, _ = VARIANTS[variant]
    out = argparse.Namespace(**vars(args))
    out.horizon, out.onestep_horizon, out.rtg, out.data_termination = horizon, 5, None, data_termination
    return out


def run_variant(variant: str, seed: int, args: argparse.Namespace) -> dict:
    """Trains (or reuses, or resumes) one run of ``variant``."""
    method, _, _, unmasked = VARIANTS[variant]
    run_args = variant_args(args, variant)
    if not unmasked:
        return {"variant": variant, **run_one(method, seed, run_args)}
    from dwm_gym.data import OfflineDataset

    dataset, _ = unmask_falls(OfflineDataset.from_minari(args.dataset), args.unmask)
    name = f"TD3BC_unmask{args.unmask:g}_s{seed}"
    return {"variant": variant, **run_one(method, seed, run_args, dataset=dataset, name=name)}


def critic_of(variant: str, seed: int, args: argparse.Namespace, result: dict) -> dict:
    """The run's critic monitor: last logged loss, largest Q, the loss's first logged value."""
    method, _, _, unmasked = VARIANTS[variant]
    folder = run_folder(method, seed, variant_args(args, variant))
    if unmasked:
        folder = folder.parent / f"TD3BC_unmask{args.unmask:g}_s{seed}"
    history = json.loads((folder / "agent.json").read_text()).get("critic", {}).get("history", [])
    if not history:
        return {"diverged": result["divergence"] is not None}
    return {
        "diverged": result["divergence"] is not None,
        "first_loss": history[0][1],
        "last_loss": history[-1][1],
        "max_q": max(row[2] for row in history),
        "last_abs_target": history[-1][3],
    }


def summarize(results: list[dict]) -> dict:
    """Per variant: scores (final, last 3), curve, critic figures over seeds."""
    table = {}
    for variant in dict.fromkeys(r["variant"] for r in results):
        runs = [r for r in results if r["variant"] == variant]
        final = np.array([r["normalized_score"] for r in runs])
        last3 = np.array([np.mean([p["normalized_score"] for p in r["curve"][-3:]]) for r in runs])
        steps = sorted({p["updates"] for r in runs for p in r["curve"]})
        by_step = {t: [p["normalized_score"] for r in runs for p in r["curve"] if p["updates"] == t] for t in steps}
        table[variant] = {
            "seeds": [r["seed"] for r in runs],
            "final_mean": float(final.mean()),
            "final_std": float(final.std()),
            "last3_mean": float(last3.mean()),
            "last3_std": float(last3.std()),
            "diverged": sum(r["critic"]["diverged"] for r in runs),
            "last_loss": [r["critic"].get("last_loss") for r in runs],
            "max_q": [r["critic"].get("max_q") for r in runs],
            "curve": [{"updates": t, "mean": float(np.mean(v)), "std": float(np.std(v))} for t, v in by_step.items()],
        }
    return table


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/termination_tests.json", device=None, seed=None)
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-replay-v0")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--variants", default="all", help=f"'all' or a comma list of: {'; '.join(VARIANTS)}")
    parser.add_argument("--unmask", type=float, default=0.5, help="share of the falls turned into truncations")
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", default="runs/scores")
    parser.add_argument("--archive", default="benchmarks/results/scores_runs")
    tiny = {"seeds": "0", "updates": 20, "eval_every": 10, "eval_episodes": 1}
    args = parse_args(
        parser, tiny=lambda: {**tiny, "runs": str(scratch_dir() / "runs"), "archive": str(scratch_dir() / "archive")}
    )
    if not 0.0 < args.unmask <= 1.0:
        parser.error(f"--unmask must be in (0, 1], got {args.unmask}")
    variants = list(VARIANTS) if args.variants == "all" else args.variants.split(";")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {list(VARIANTS)} (separate them with ';')")
    if args.tiny:
        args.dataset = tiny_dataset()
    seeds, start = [int(s) for s in args.seeds.split(",")], time.perf_counter()
    if any(VARIANTS[v][0].startswith("DWM-") for v in variants):
        (Path(args.runs) / dataset_name(args)).mkdir(parents=True, exist_ok=True)
        prepare_shared_cache(variant_args(args, variants[0]))
    jobs = [(v, s) for s in seeds for v in variants]
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_variant, v, s, args) for v, s in jobs]
        results = []
        for (variant, seed), future in zip(jobs, futures):
            result = future.result()
            result["critic"] = critic_of(variant, seed, args, result)
            results.append(result)
            print(f"{variant:34s} seed {seed}: {result['normalized_score']:.3f} critic {result['critic']}", flush=True)
    table = summarize(results)
    for variant, row in table.items():
        print(
            f"{variant:34s} final {row['final_mean']:.3f} ± {row['final_std']:.3f}, last 3 {row['last3_mean']:.3f} "
            f"± {row['last3_std']:.3f}, diverged {row['diverged']}/{len(row['seeds'])}"
        )
    from dwm_gym.data import OfflineDataset

    _, unmasked = unmask_falls(OfflineDataset.from_minari(args.dataset), args.unmask)
    payload = {
        "command": command_line(args),
        "dataset": args.dataset,
        "falls_unmasked": unmasked,
        "wall_s": time.perf_counter() - start,
        "variants": table,
        "runs": results,
    }
    write_result(args.json, payload, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
