"""The paper's protocol: the best (H, g_eval) per dataset over its grid, chosen on test returns.

This is selection on the real env's returns (what the paper reports), so it is kept apart from the
library's defaults (``scores.py``) and labelled as such wherever it is quoted. For each method:

* DWM-TD3BC / DWM-IQL: every H in {1, 3, 5, 7} × every g_eval of the dataset's grid (docs/paper.md);
* OneStep-TD3BC / OneStep-IQL: every H in {1, 3, 5, 7} (the one-step model takes no RTG);
* TD3BC / IQL: nothing to choose (their row is the default run).

Phase 1 trains every configuration with the ``--select-seeds`` and picks the one with the best mean
final score among those whose critics all held (a run whose critic monitor reported a divergence is
listed with its configuration but never chosen; ties: the smaller H, then the smaller g_eval). Phase 2
completes the chosen configuration to all ``--seeds``; the table gives its final score and last-3 mean
over them. The runs are those of ``scores.py`` (same folders, archive and resumption: an interrupted
protocol continues where it stopped, and a configuration equal to the defaults reuses the default runs),
one imagination cache per g_eval serves every H.

python benchmarks/paper_protocol.py [--dataset dwm_gym/hopper/medium-replay-v0]
                                    [--methods DWM-TD3BC,DWM-IQL,OneStep-TD3BC,OneStep-IQL]
                                    [--select-seeds 0,1] [--seeds 0,1,2,3,4] [--updates 50000]
                                    [--eval-every 10000] [--eval-episodes 10] [--workers 2]
                                    [--runs runs/scores] [--archive benchmarks/results/records]
                                    [--dwm-checkpoint PATH --dwm-label NAME] [--report-only]
                                    [--json <runs>/paper_protocol_<dataset>.json] [--tiny]

``--dwm-checkpoint`` / ``--dwm-label``: another DWM than the dataset's, as in ``scores.py`` (its runs and caches
carry the label: ``DWM-TD3BC_cdf_h3_rtg0.7_s0``).

``--tiny``: DWM-TD3BC and OneStep-TD3BC, H in {1, 3}, one g_eval, 20 updates, one seed, on a
400-transition dataset in a temporary folder.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from dwm_gym.benchmarking.harness import command_line, make_parser, parse_args, scratch_dir, tiny_dataset, write_result
from dwm_gym.benchmarking.protocol import HORIZONS, choose, grid
from dwm_gym.benchmarking.score_runs import dataset_name, finished_run, method_settings, prepare_shared_cache, run_one


def config_args(args: argparse.Namespace, method: str, config: dict) -> argparse.Namespace:
    """``scores.py``'s arguments for one configuration of ``method``."""
    model = {"dwm_checkpoint": args.dwm_checkpoint, "dwm_label": args.dwm_label}
    if method.startswith("OneStep-"):
        return method_settings(args, onestep_horizon=config["horizon"], **model)
    return method_settings(args, horizon=config["horizon"], rtg=config["rtg"], **model)


def run_all(jobs: list[tuple[str, int, argparse.Namespace]], workers: int, report_only: bool) -> list[dict | None]:
    """Runs (or reuses) every job; with ``report_only``, only reuses (None for the missing ones)."""
    results: list[dict | None] = [finished_run(m, s, a) for m, s, a in jobs]
    todo = [i for i, r in enumerate(results) if r is None]
    if report_only or not todo:
        return results
    for rtg_args in {(a.rtg, a.dataset): a for m, s, a in (jobs[i] for i in todo) if m.startswith("DWM-")}.values():
        (Path(rtg_args.runs) / dataset_name(rtg_args)).mkdir(parents=True, exist_ok=True)
        prepare_shared_cache(rtg_args)  # one fill per g_eval serves every H
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {i: pool.submit(run_one, *jobs[i]) for i in todo}
        for i, future in futures.items():
            results[i] = future.result()
            r = results[i]
            print(
                f"{r['method']:14s} {describe(jobs[i][2], r['method'])} seed {r['seed']}: {r['normalized_score']:.3f}"
            )
    return results


def describe(args: argparse.Namespace, method: str) -> str:
    """``H=3, g=0.7`` for a configuration."""
    if method.startswith("DWM-"):
        return f"H={args.horizon}, g={args.rtg:g}"
    if method.startswith("OneStep-"):
        return f"H={args.onestep_horizon}"
    return "defaults"


def summarize(runs: list[dict]) -> dict:
    """Final and last-3 means over seeds, the mean curve (``scores.py``'s layout), and each seed's critic: its
    loss in the first and the last monitor window and its mean |target| in the last (None for a run archived
    without a monitor history)."""
    finals = np.array([r["normalized_score"] for r in runs])
    last3 = np.array([np.mean([p["normalized_score"] for p in r["curve"][-3:]]) for r in runs if r.get("curve")])
    ends = [r.get("critic_ends") or [None, None] for r in runs]
    steps = sorted({p["updates"] for r in runs for p in r.get("curve", [])})
    at = {t: [p["normalized_score"] for r in runs for p in r.get("curve", []) if p["updates"] == t] for t in steps}
    return {
        "seeds": [r["seed"] for r in runs],
        "final_mean": float(finals.mean()),
        "final_std": float(finals.std()),
        "last3_mean": float(last3.mean()) if len(last3) else None,
        "last3_std": float(last3.std()) if len(last3) else None,
        "final_scores": finals.tolist(),
        "curve": [
            {"updates": t, "mean": float(np.mean(v)), "std": float(np.std(v)), "runs": len(v)} for t, v in at.items()
        ],
        "diverged": sum(r.get("divergence") is not None for r in runs),
        "critic_loss_first": [first and first["loss"] for first, _ in ends],
        "critic_loss_last": [last and last["loss"] for _, last in ends],
        "mean_abs_target_last": [last and last.get("mean_abs_target") for _, last in ends],
    }


def main() -> None:
    parser = make_parser(__doc__, None, device=None, seed=None)
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-replay-v0")
    parser.add_argument("--methods", default="DWM-TD3BC,DWM-IQL,OneStep-TD3BC,OneStep-IQL")
    parser.add_argument("--select-seeds", default="0,1", help="seeds every configuration is trained with")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="seeds of the chosen configuration")
    parser.add_argument("--horizons", default=",".join(map(str, HORIZONS)))
    parser.add_argument("--g-evals", default=None, help="override the dataset's g_eval grid (comma-separated)")
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", default="runs/scores")
    parser.add_argument("--archive", default="benchmarks/results/records")
    parser.add_argument("--report-only", action="store_true", help="train nothing; report what is finished")
    parser.add_argument(
        "--dwm-checkpoint", default=None, help="the DWM runs' checkpoint (default: the dataset's); needs --dwm-label"
    )
    parser.add_argument("--dwm-label", default=None, help="names the --dwm-checkpoint's runs and caches")
    args = parse_args(
        parser,
        tiny=lambda: {
            "methods": "DWM-TD3BC,OneStep-TD3BC",
            "select_seeds": "0",
            "seeds": "0",
            "horizons": "1,3",
            "g_evals": "0.7",
            "updates": 20,
            "eval_every": 10,
            "eval_episodes": 1,
            "runs": str(scratch_dir() / "runs"),
            "archive": str(scratch_dir() / "archive"),
        },
    )
    if args.tiny:
        args.dataset = tiny_dataset()
    args.json = args.json or str(Path(args.runs) / f"paper_protocol_{dataset_name(args)}.json")
    if bool(args.dwm_checkpoint) != bool(args.dwm_label):
        parser.error("--dwm-checkpoint and --dwm-label go together (the label keeps its runs apart)")
    command = command_line(args)  # the protocol's own options, before scores.py's fields are added
    # scores.py's fields at their defaults, but the DWM; each configuration sets its own
    args = method_settings(args, dwm_checkpoint=args.dwm_checkpoint, dwm_label=args.dwm_label)
    name, start = dataset_name(args), time.perf_counter()
    horizons = tuple(int(h) for h in args.horizons.split(","))
    g_evals = tuple(float(g) for g in args.g_evals.split(",")) if args.g_evals else None
    select_seeds, seeds = [int(s) for s in args.select_seeds.split(",")], [int(s) for s in args.seeds.split(",")]
    table, missing = {}, []
    for method in args.methods.split(","):
        configs = grid(method, name, horizons, g_evals)
        jobs = [(method, s, config_args(args, method, c)) for c in configs for s in select_seeds]
        results = run_all(jobs, args.workers, args.report_only)
        per_config = []
        for k, config in enumerate(configs):
            runs = results[k * len(select_seeds) : (k + 1) * len(select_seeds)]
            done = [r for r in runs if r is not None]
            missing += [
                f"{method} {describe(config_args(args, method, config), method)} s{s}"
                for s, r in zip(select_seeds, runs)
                if r is None
            ]
            per_config.append({**config, **(summarize(done) if done else {"final_mean": None})})
        best = choose(per_config, len(select_seeds))
        if best is None:
            table[method] = {"configs": per_config, "chosen": None}
            continue
        final_jobs = [(method, s, config_args(args, method, best)) for s in seeds]
        final = run_all(final_jobs, args.workers, args.report_only)
        missing += [f"{method} {describe(a, method)} s{s}" for (_, s, a), r in zip(final_jobs, final) if r is None]
        done = [r for r in final if r is not None]
        table[method] = {"configs": per_config, "chosen": best, "chosen_runs": summarize(done) if done else None}
        print(f"{method}: chosen {describe(config_args(args, method, best), method)}", flush=True)
    result = {
        "command": command,
        "label": "selection on test returns (the paper's protocol), not the library's defaults",
        "dataset": args.dataset,
        "wall_s": time.perf_counter() - start,
        "methods": table,
        "missing_runs": missing,
    }
    write_result(args.json, result, args)
    print(f"wrote {args.json} ({len(missing)} runs missing)")


if __name__ == "__main__":
    main()
