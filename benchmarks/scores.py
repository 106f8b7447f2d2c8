"""Normalized scores on real Hopper-v5: model-free vs OneStep-MVE vs DWM-MVE, for TD3BC and IQL, one run.

Usage:
    python benchmarks/scores.py [--dataset dwm_gym/hopper/medium-v0] [--updates 20000] [--seeds 0,1,2]
                                [--methods TD3BC,OneStep-TD3BC,DWM-TD3BC,IQL,OneStep-IQL,DWM-IQL]
                                [--horizon 5] [--onestep-horizon 5] [--rtg RTG] [--workers 2]
                                [--runs runs/scores] [--json benchmarks/results/scores.json]

Every method gets the same update budget and batch (128) on the same data, with the world models of
the dataset (``$DWM_GYM_HOME/world_models`` first, then the ones bundled in the package); each run is
scored at the end on 10 deterministic episodes of the real env (D4RL-normalized 0-1 score, and the
project's v5 references). Runs go to ``--runs/<method>_s<seed>/`` and finished ones are reused, so an
interrupted benchmark continues where it stopped.

Budget on 2 CPU cores (one torch thread per worker, 2 workers): about 170 updates/s for TD3BC, 140 for
IQL, ~65 for the one-step variants (H=5 rollouts per minibatch), and the DWM variants at model-free speed
plus the lazily filled imagination cache (~1,500-2,000 DWM segments/s: about 8-10 min per DWM run on the
1M-transition hopper-medium). The defaults (20k updates, 3 seeds, 6 methods = 18 runs) take roughly one
hour; the paper's budgets (5e5-1e6 updates) are out of reach on CPU, so compare the methods with each
other, not with the paper's absolute numbers. A smoke run: ``--updates 200 --seeds 0 --eval-episodes 1``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ALGOS = {"TD3BC": "td3bc", "IQL": "iql"}
METHODS = ["TD3BC", "OneStep-TD3BC", "DWM-TD3BC", "IQL", "OneStep-IQL", "DWM-IQL"]


def run_config(method: str, seed: int, args: argparse.Namespace):
    """The :class:`AgentRunConfig` of one (method, seed)."""
    from dwm_gym.agents.runs import AgentRunConfig

    prefix, _, algo = method.rpartition("-")
    if algo not in ALGOS or prefix not in ("", "OneStep", "DWM"):
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    world_model = {"": None, "OneStep": "onestep", "DWM": "dwm"}[prefix]
    horizon = args.onestep_horizon if prefix == "OneStep" else args.horizon
    return AgentRunConfig(
        algo=ALGOS[algo],
        dataset=args.dataset,
        world_model=world_model,
        horizon=horizon,
        rtg=args.rtg,
        steps=args.updates,
        seed=seed,
        device="cpu",
        eval_every=args.updates,
        eval_episodes=args.eval_episodes,
        checkpoint_every=max(1, args.updates // 4),
        cache_file=shared_cache_file(args) if prefix == "DWM" else None,
    )


def shared_cache_file(args: argparse.Namespace) -> str:
    """One imagination cache for every DWM run (all seeds, TD3BC and IQL): same data, model, H and RTG."""
    return str(Path(args.runs) / f"dwm_cache_h{args.horizon}_rtg{args.rtg or 'max'}.safetensors")


def prepare_shared_cache(args: argparse.Namespace) -> None:
    """Fills the shared DWM cache once, in this process, before the runs start (they then load it)."""
    import torch

    from dwm_gym.data import OfflineDataset
    from dwm_gym.data.specs import parse_dataset_name
    from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, buffer_from_dataset
    from dwm_gym.world_model.bundled import resolve_checkpoint

    torch.set_num_threads(args.workers)
    dataset = OfflineDataset.from_minari(args.dataset)
    spec, quality = parse_dataset_name(args.dataset)
    buffer = buffer_from_dataset(
        dataset,
        DiffusionMVEReplayBuffer,
        device="cpu",
        world_model=str(resolve_checkpoint(spec.name, quality, "dwm").resolve()),
        horizon=args.horizon,
        rtg=args.rtg,
        cache_file=shared_cache_file(args),
        seed=0,
    )
    print(f"imagination cache: {buffer.prepare_cache(progress=True)}", flush=True)


def run_one(method: str, seed: int, args: argparse.Namespace) -> dict:
    """Trains (or reuses, or resumes) one run; returns its final evaluation."""
    import torch

    from dwm_gym.agents.runs import train_agent

    torch.set_num_threads(1)
    out = Path(args.runs) / f"{method}_s{seed}"
    summary_path = out / "agent.json"
    config = run_config(method, seed, args)
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        if summary.get("updates") == args.updates and summary.get("config") == _as_dict(config):
            return {"method": method, "seed": seed, "reused": True, **summary["final_evaluation"]}
    resume = (out / "checkpoints" / "latest.zip").is_file()
    if summary_path.is_file() and not resume:
        summary_path.unlink()
    start = time.perf_counter()
    summary = train_agent(config, out, resume=resume, progress_bar=False)
    seconds = time.perf_counter() - start
    return {"method": method, "seed": seed, "seconds": seconds, **summary["final_evaluation"]}


def _as_dict(config) -> dict:
    import dataclasses

    return dataclasses.asdict(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0")
    parser.add_argument("--updates", type=int, default=20_000, help="gradient updates per run (all methods)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--horizon", type=int, default=5, help="H of DWM-MVE")
    parser.add_argument("--onestep-horizon", type=int, default=5, help="H of one-step MVE")
    parser.add_argument("--rtg", type=float, default=None, help="DWM RTG target (default: checkpoint rtg_max)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="runs in parallel (one CPU core each)")
    parser.add_argument("--runs", default="runs/scores")
    parser.add_argument("--json", default="benchmarks/results/scores.json")
    args = parser.parse_args()
    methods, seeds = args.methods.split(","), [int(s) for s in args.seeds.split(",")]
    for method in methods:
        run_config(method, seeds[0], args)  # fail early on unknown names
    jobs = [(m, s) for s in seeds for m in methods]
    start = time.perf_counter()
    if any(m.startswith("DWM-") for m in methods):
        Path(args.runs).mkdir(parents=True, exist_ok=True)
        prepare_shared_cache(args)
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_one, m, s, args) for m, s in jobs]
        results = []
        for future in futures:
            results.append(future.result())
            r = results[-1]
            print(
                f"{r['method']:14s} seed {r['seed']}: return {r['mean_return']:7.1f}, "
                f"normalized {r['normalized_score']:.3f}",
                flush=True,
            )
    wall = time.perf_counter() - start
    report(results, methods, args, wall)


def report(results: list[dict], methods: list[str], args: argparse.Namespace, wall: float) -> None:
    """Prints the table and writes the JSON."""
    from dwm_gym.agents.callbacks import normalized_return

    table = {}
    for method in methods:
        runs = [r for r in results if r["method"] == method]
        returns = np.array([r["mean_return"] for r in runs])
        scores = np.array([r["normalized_score"] for r in runs])
        v5 = np.array([float(np.mean(normalized_return("Hopper-v5", r["returns"], "v5"))) for r in runs])
        table[method] = {
            "seeds": [r["seed"] for r in runs],
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
        f"{args.eval_episodes} eval episodes on real Hopper-v5; wall {wall / 60:.1f} min on {os.cpu_count()} CPUs"
    )
    print(f"{'method':14s} {'return':>8s} {'D4RL score':>16s} {'v5 score':>16s}")
    for method, row in table.items():
        print(
            f"{method:14s} {row['mean_return']:8.1f} {row['d4rl_mean']:8.3f} ± {row['d4rl_std']:.3f} "
            f"{row['v5_mean']:8.3f} ± {row['v5_std']:.3f}"
        )
    ratios = {}
    for algo in ALGOS:
        for base in (algo, f"OneStep-{algo}"):
            if f"DWM-{algo}" in table and base in table and table[base]["d4rl_mean"] > 0:
                ratios[f"DWM-{algo} / {base}"] = table[f"DWM-{algo}"]["d4rl_mean"] / table[base]["d4rl_mean"]
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}x")
    result = {
        "command": "python benchmarks/scores.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
        "budget": {"updates_per_run": args.updates, "batch_size": 128, "seeds": args.seeds, "workers": args.workers},
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "wall_s": wall},
        "methods": table,
        "ratios": ratios,
        "runs": results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
