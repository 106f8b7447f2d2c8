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
over them. Both phases are sweeps (:mod:`dwm_gym.sweep`, as ``dwm-gym sweep`` runs a spec) on Ray Tune, on
``--workers`` local cores or the Ray cluster at ``--address``: phase 1 one sweep of every method's grid on the
selection seeds, phase 2 one sweep per method of its chosen configuration on the other seeds. Their experiments,
run folders and caches live under ``--runs`` (an interrupted protocol continues where it stopped: run the same
command again), one imagination cache per g_eval serves every H, and each finished run's record goes to
``--archive/<dataset>.jsonl`` under the names of ``scores.py``'s runs; ``--report-only`` reads them, without Ray.

python benchmarks/paper_protocol.py [--dataset dwm_gym/hopper/medium-replay-v0]
                                    [--methods DWM-TD3BC,DWM-IQL,OneStep-TD3BC,OneStep-IQL]
                                    [--select-seeds 0,1] [--seeds 0,1,2,3,4] [--updates 50000]
                                    [--eval-every 10000] [--eval-episodes 10] [--workers 2] [--address ADDRESS]
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
from pathlib import Path

import numpy as np

from dwm_gym.benchmarking.harness import command_line, make_parser, parse_args, scratch_dir, tiny_dataset, write_result
from dwm_gym.benchmarking.protocol import G_EVAL, HORIZONS, choose, grid
from dwm_gym.benchmarking.run_archive import finished
from dwm_gym.benchmarking.score_runs import dataset_name, method_settings

LABEL = "selection on test returns (the paper's protocol), not the library's defaults"


def config_args(args: argparse.Namespace, method: str, config: dict) -> argparse.Namespace:
    """``scores.py``'s arguments for one configuration of ``method``."""
    model = {"dwm_checkpoint": args.dwm_checkpoint, "dwm_label": args.dwm_label}
    if method.startswith("OneStep-"):
        return method_settings(args, onestep_horizon=config["horizon"], **model)
    return method_settings(args, horizon=config["horizon"], rtg=config["rtg"], **model)


def protocol_spec(args: argparse.Namespace, stage: str, methods: list[str], seeds: list[int], **grid_settings):
    """A sweep of the protocol: ``methods`` × ``seeds`` × the horizons and RTGs of ``grid_settings``."""
    from dwm_gym.sweep import Budget, Resources, SweepSpec

    return SweepSpec(
        name=f"protocol-{dataset_name(args)}-{stage}",
        datasets=(args.dataset,),
        methods=tuple(methods),
        seeds=tuple(seeds),
        budget=Budget(updates=args.updates, eval_every=args.eval_every, eval_episodes=args.eval_episodes),
        resources=Resources(cpus=1),
        dwm_checkpoint=args.dwm_checkpoint,
        dwm_label=args.dwm_label,
        label=LABEL,
        **grid_settings,
    )


def run_stage(spec, args: argparse.Namespace) -> dict[tuple[str, int, float | None, int], dict]:
    """Runs one sweep of the protocol (or, with ``--report-only``, reads its archived records); returns each
    finished run's figures by (method, H, g_eval, seed)."""
    from dwm_gym.evaluation.run_records import RunRecord
    from dwm_gym.sweep import SweepOptions, plan_trials, run_sweep
    from dwm_gym.sweep.records import finished_records

    if args.report_only:
        trials = plan_trials(spec, cache_dir=Path(args.runs).resolve() / "caches")
        records, _ = finished_records(args.archive, trials)
    else:
        options = SweepOptions(
            storage=args.runs, address=args.address, records=args.archive, num_cpus=args.workers, verbose=0
        )
        sweep = run_sweep(spec, options)
        trials, records = sweep.trials, {k: RunRecord.from_dict(v) for k, v in sweep.records.items()}
    runs = {}
    for trial in trials:
        if trial.name in records:
            runs[trial.method, trial.horizon, trial.rtg, trial.seed] = {
                "seed": trial.seed,
                **finished(records[trial.name]),
            }
    return runs


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
    parser.add_argument("--workers", type=int, default=2, help="CPU cores of the local Ray (one per trial)")
    parser.add_argument("--address", default=None, help="a Ray cluster (default: $RAY_ADDRESS, else local)")
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
    methods = args.methods.split(",")
    g_grid = g_evals or G_EVAL[name]
    selection = run_stage(
        protocol_spec(args, "select", methods, select_seeds, horizons=horizons, rtgs=g_grid), args
    )  # phase 1: every configuration of every method on the selection seeds
    table, missing = {}, []
    for method in methods:
        configs = grid(method, name, horizons, g_evals)
        per_config = []
        for config in configs:
            key = (method, config["horizon"], config["rtg"])
            done = [selection[(*key, s)] for s in select_seeds if (*key, s) in selection]
            missing += [
                f"{method} {describe(config_args(args, method, config), method)} s{s}"
                for s in select_seeds
                if (*key, s) not in selection
            ]
            per_config.append({**config, **(summarize(done) if done else {"final_mean": None})})
        best = choose(per_config, len(select_seeds))
        if best is None:
            table[method] = {"configs": per_config, "chosen": None}
            continue
        key = (method, best["horizon"], best["rtg"])
        rest = [s for s in seeds if s not in select_seeds]
        final = dict(selection)
        if rest:  # phase 2: the chosen configuration on the other seeds
            chosen_grid = {"horizons": (best["horizon"],), "rtgs": None if best["rtg"] is None else (best["rtg"],)}
            final.update(run_stage(protocol_spec(args, f"final-{method}", [method], rest, **chosen_grid), args))
        missing += [
            f"{method} {describe(config_args(args, method, best), method)} s{s}"
            for s in seeds
            if (*key, s) not in final
        ]
        done = [final[(*key, s)] for s in seeds if (*key, s) in final]
        table[method] = {"configs": per_config, "chosen": best, "chosen_runs": summarize(done) if done else None}
        print(f"{method}: chosen {describe(config_args(args, method, best), method)}", flush=True)
    result = {
        "command": command,
        "label": LABEL,
        "dataset": args.dataset,
        "wall_s": time.perf_counter() - start,
        "methods": table,
        "missing_runs": missing,
    }
    write_result(args.json, result, args)
    print(f"wrote {args.json} ({len(missing)} runs missing)")


if __name__ == "__main__":
    main()
