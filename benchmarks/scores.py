"""Normalized scores on the real env: model-free vs OneStep-MVE vs DWM-MVE, for TD3BC and IQL, one dataset.

Usage:
    python benchmarks/scores.py [--dataset dwm_gym/hopper/medium-v0] [--updates 50000] [--seeds 0,1,2,3,4]
                                [--methods TD3BC,OneStep-TD3BC,DWM-TD3BC,IQL,OneStep-IQL,DWM-IQL]
                                [--horizon 5] [--rtg RTG] [--cache-seed 0] [--data-termination]
                                [--dwm-checkpoint PATH --dwm-label NAME]
                                [--eval-every 10000] [--eval-episodes 10] [--workers 2] [--address ADDRESS]
                                [--runs runs/scores] [--archive benchmarks/results/records] [--report-only]
                                [--json <runs>/scores_<dataset>.json] [--tiny]

A thin spec over ``dwm-gym sweep`` (:mod:`dwm_gym.sweep`): the options make a :class:`~dwm_gym.sweep.SweepSpec`
of one dataset (the same sweep as a TOML spec with these values), which Ray Tune runs on ``--workers`` local cores
(one per trial), or on the Ray cluster at ``--address`` / ``$RAY_ADDRESS``. Every method gets the same update
budget and batch (128) on the same data, with the world models of the dataset (``$DWM_GYM_HOME/world_models``
first, then the ones bundled in the package; ``--horizon`` is the H of both the one-step and the DWM methods);
each run is scored every ``--eval-every`` updates (default 10k) on 10 deterministic episodes of the real env
(D4RL-normalized 0-1 score, and the project's v5 references); the table gives the final score and the mean of
the last three evaluations, and the report JSON (default ``<runs>/scores_<dataset>.json``) the curves.

The sweep's experiment, run folders and shared imagination caches live under ``--runs``; run the same command
again after an interruption and Tune restores it (finished runs kept, unfinished ones resumed from their last
checkpoint). Each finished run's compact record (settings, model digest, curve, critic summary, commit, date,
machine) goes to ``--archive/<dataset>.jsonl`` (run names: ``DWM-TD3BC_s0``; a DWM run with another H or RTG
than the defaults is ``DWM-TD3BC_h3_rtg0.7_s0``, one on another ``--cache-seed`` ``DWM-TD3BC_cache1_s0``);
``--report-only`` reports from those records without Ray. The docs' tables are rendered from the archive by
``benchmarks/render_docs.py``.

Budget on 2 CPU cores (one torch thread per trial, 2 trials at once): about 170 updates/s for TD3BC, 140 for
IQL, ~65 for the one-step variants (H=5 rollouts per minibatch), and the DWM variants at model-free speed
plus one shared imagination cache filled before the runs (~1,000-2,000 DWM segments/s: 10-16 min for the
1M-transition hopper-medium, then loaded by every DWM run). The defaults (50k updates, 5 seeds, 6 methods =
30 runs) take about 3.5 hours on 2 cores, most of it the one-step variants; the paper's budgets (5e5-1e6
updates) are out of reach on CPU, so compare the methods with each other, not with the paper's numbers.
A smoke run: ``--updates 200 --seeds 0 --eval-episodes 1``. ``--tiny``: every method for 20 updates on a
400-transition dataset generated into a temporary folder, one seed, evaluated every 10 updates on one
episode, with temporary ``--runs`` and ``--archive`` (unless given): it never touches the archive.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from dwm_gym.benchmarking.harness import command_line, make_parser, parse_args, scratch_dir, tiny_dataset, write_result
from dwm_gym.benchmarking.run_archive import finished
from dwm_gym.benchmarking.score_runs import ALGOS, METHODS, dataset_name


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


def sweep_spec(args: argparse.Namespace, methods: list[str], seeds: list[int]):
    """The :class:`~dwm_gym.sweep.SweepSpec` of the command line: one dataset, its methods and seeds."""
    from dwm_gym.sweep import Budget, Resources, SweepSpec

    return SweepSpec(
        name=f"scores-{dataset_name(args)}",
        datasets=(args.dataset,),
        methods=tuple(methods),
        seeds=tuple(seeds),
        horizons=(args.horizon,),
        rtgs=None if args.rtg is None else (args.rtg,),
        budget=Budget(updates=args.updates, eval_every=args.eval_every, eval_episodes=args.eval_episodes),
        resources=Resources(cpus=1),
        dwm_checkpoint=args.dwm_checkpoint,
        dwm_label=args.dwm_label,
        cache_seed=args.cache_seed,
        data_termination=args.data_termination,
    )


def results_of(records: dict, trials: list) -> list[dict]:
    """The report's rows (method, seed and :func:`finished`'s figures) of the trials that have a record."""
    from dwm_gym.evaluation.run_records import RunRecord

    rows = []
    for trial in trials:
        if trial.name in records:
            record = records[trial.name]
            record = record if isinstance(record, RunRecord) else RunRecord.from_dict(record)
            rows.append({"method": trial.method, "seed": trial.seed, **finished(record)})
    return rows


def main() -> None:
    parser = make_parser(__doc__, None, device=None, seed=None)
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0")
    parser.add_argument("--updates", type=int, default=50_000, help="gradient updates per run (all methods)")
    parser.add_argument("--eval-every", type=int, default=10_000, help="updates between real-env evaluations")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--horizon", type=int, default=5, help="H of one-step MVE and DWM-MVE")
    parser.add_argument("--rtg", type=float, default=None, help="DWM RTG target (default: the checkpoint's median RTG)")
    parser.add_argument(
        "--data-termination",
        action="store_true",
        help="MVE targets take the first step's termination from the data (run names get '_dterm')",
    )
    parser.add_argument(
        "--dwm-checkpoint",
        default=None,
        help="the DWM methods' checkpoint (default: the dataset's); needs --dwm-label, which run names get",
    )
    parser.add_argument("--dwm-label", default=None, help="names the --dwm-checkpoint's runs and cache")
    parser.add_argument(
        "--cache-seed",
        type=int,
        default=0,
        help="seed of the shared imagination cache's sampling (DWM methods); every seed of an invocation trains on "
        "the one cache, so another cache seed measures the spread between caches (run names get '_cache<N>')",
    )
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="CPU cores of the local Ray (one per trial)")
    parser.add_argument("--address", default=None, help="a Ray cluster (default: $RAY_ADDRESS, else local)")
    parser.add_argument("--runs", default="runs/scores", help="the sweep's storage: experiment, run folders, caches")
    parser.add_argument(
        "--archive",
        default="benchmarks/results/records",
        help="folder of the finished runs' records (<dataset>.jsonl)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: report the finished runs among --methods x --seeds from --archive and list the missing",
    )
    args = parse_args(
        parser,
        tiny=lambda: {
            "updates": 20,
            "eval_every": 10,
            "seeds": "0",
            "eval_episodes": 1,
            "runs": str(scratch_dir() / "runs"),
            "archive": str(scratch_dir() / "archive"),
        },
    )
    if bool(args.dwm_checkpoint) != bool(args.dwm_label):
        parser.error("--dwm-checkpoint and --dwm-label go together (the label keeps its runs apart)")
    if args.cache_seed < 0:
        parser.error(f"--cache-seed must be 0 or a positive integer (got {args.cache_seed}); 0 is the default cache")
    # the report: the committed result is the records archive, which benchmarks/render_docs.py tabulates
    args.json = args.json or str(Path(args.runs) / f"scores_{dataset_name(args)}.json")
    methods, seeds = args.methods.split(","), [int(s) for s in args.seeds.split(",")]
    from dwm_gym.sweep import SweepOptions, plan_trials, run_sweep
    from dwm_gym.sweep.records import finished_records

    start = time.perf_counter()
    if args.report_only:
        trials = plan_trials(sweep_spec(args, methods, seeds), cache_dir=Path(args.runs).resolve() / "caches")
        records, missing = finished_records(args.archive, trials)
        results = results_of(records, trials)
        present = [m for m in methods if any(r["method"] == m for r in results)]
        report(results, present, args, time.perf_counter() - start, [n.split("/", 1)[1] for n in missing])
        return
    if args.tiny:
        args.dataset = tiny_dataset()  # before Ray starts: its workers get MINARI_DATASETS_PATH
    options = SweepOptions(
        storage=args.runs, address=args.address, records=args.archive, num_cpus=args.workers, verbose=0
    )
    sweep = run_sweep(sweep_spec(args, methods, seeds), options)
    results = results_of(sweep.records, sweep.trials)
    for r in results:
        score, mean = r["normalized_score"], r["mean_return"]
        print(f"{r['method']:14s} seed {r['seed']}: return {mean:7.1f}, normalized {score:.3f}")
    report(results, methods, args, time.perf_counter() - start)


if __name__ == "__main__":
    main()
