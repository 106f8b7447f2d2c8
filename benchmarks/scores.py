"""Normalized scores on the real env: model-free vs OneStep-MVE vs DWM-MVE, for TD3BC and IQL, one run.

Usage:
    python benchmarks/scores.py [--dataset dwm_gym/hopper/medium-v0] [--updates 50000] [--seeds 0,1,2,3,4]
                                [--methods TD3BC,OneStep-TD3BC,DWM-TD3BC,IQL,OneStep-IQL,DWM-IQL]
                                [--horizon 5] [--onestep-horizon 5] [--rtg RTG] [--cache-seed 0]
                                [--eval-every 10000]
                                [--eval-episodes 10] [--workers 2] [--runs runs/scores]
                                [--archive benchmarks/results/scores_runs] [--report-only]
                                [--json benchmarks/results/scores.json] [--tiny]

Every method gets the same update budget and batch (128) on the same data, with the world models of
the dataset (``$DWM_GYM_HOME/world_models`` first, then the ones bundled in the package); each run is
scored every ``--eval-every`` updates (default 10k) on 10 deterministic episodes of the real env
(D4RL-normalized 0-1 score, and the project's v5 references); the table gives the final score and the
mean of the last three evaluations, and the JSON the curves. Runs go to
``--runs/<dataset>/<run name>/`` (``hopper-medium/DWM-TD3BC_s0``; a DWM run with another H or RTG than the
defaults is ``DWM-TD3BC_h3_rtg0.7_s0``, one on another ``--cache-seed`` ``DWM-TD3BC_cache1_s0``, a one-step
run with another H ``OneStep-TD3BC_h3_s0``) and their records are archived under
``--archive/<dataset>/<run name>/``; finished runs are reused and unfinished ones resume from their
checkpoint, so an interrupted benchmark continues where it stopped.

Budget on 2 CPU cores (one torch thread per worker, 2 workers): about 170 updates/s for TD3BC, 140 for
IQL, ~65 for the one-step variants (H=5 rollouts per minibatch), and the DWM variants at model-free speed
plus one shared imagination cache filled before the runs (~1,000-2,000 DWM segments/s: 10-16 min for the
1M-transition hopper-medium, then loaded by every DWM run). The defaults (50k updates, 5 seeds, 6 methods =
30 runs) take about 3.5 hours on 2 cores, most of it the one-step variants; the paper's budgets (5e5-1e6
updates) are out of reach on CPU, so compare the methods with each other, not with the paper's numbers.
A smoke run: ``--updates 200 --seeds 0 --eval-episodes 1``. ``--tiny``: every method for 20 updates on a
400-transition dataset generated into a temporary folder, one seed, evaluated every 10 updates on one
episode, with temporary ``--runs`` and ``--archive`` (unless given) — it never touches the archive.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from harness import make_parser, parse_args, scratch_dir, tiny_dataset
from run_archive import archive_finished, archived_summary, finished, restore_finished, same_run
from scores_report import ALGOS, report

METHODS = ["TD3BC", "OneStep-TD3BC", "DWM-TD3BC", "IQL", "OneStep-IQL", "DWM-IQL"]
DEFAULT_HORIZON = 5
# the arguments that set a run's method (its name, its config, its cache): scores.py's options, with their
# defaults; the scripts that drive run_one (paper_protocol, h1_divergence) set them with method_settings()
METHOD_SETTINGS = {
    "horizon": DEFAULT_HORIZON,
    "onestep_horizon": DEFAULT_HORIZON,
    "rtg": None,
    "data_termination": False,
    "dwm_checkpoint": None,
    "dwm_label": None,
    "cache_seed": 0,
}


def method_settings(args: argparse.Namespace, **changes) -> argparse.Namespace:
    """A copy of ``args`` with every :data:`METHOD_SETTINGS` field: ``changes``, else the default.

    Raises:
        ValueError: On a name that is not a method setting.
    """
    unknown = set(changes) - set(METHOD_SETTINGS)
    if unknown:
        raise ValueError(f"not method settings: {sorted(unknown)}; they are {sorted(METHOD_SETTINGS)}")
    return argparse.Namespace(**{**vars(args), **METHOD_SETTINGS, **changes})


def run_config(method: str, seed: int, args: argparse.Namespace):
    """The :class:`AgentRunConfig` of one (method, seed)."""
    from dwm_gym.agents.runs import AgentRunConfig

    prefix, _, algo = method.rpartition("-")
    if algo not in ALGOS or prefix not in ("", "OneStep", "DWM"):
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    world_model = {"": None, "OneStep": "onestep", "DWM": args.dwm_checkpoint or "dwm"}[prefix]
    # a model-free run has no H: it keeps the default, so --horizon never renames or retrains TD3BC / IQL
    horizon = {"": DEFAULT_HORIZON, "OneStep": args.onestep_horizon, "DWM": args.horizon}[prefix]
    return AgentRunConfig(
        algo=ALGOS[algo],
        dataset=args.dataset,
        world_model=world_model,
        horizon=horizon,
        rtg=args.rtg,
        steps=args.updates,
        seed=seed,
        device="cpu",
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        checkpoint_every=args.eval_every,
        cache_file=shared_cache_file(args) if prefix == "DWM" else None,
        data_termination=args.data_termination and prefix != "",
    )


def dataset_label(dataset_id: str) -> str:
    """``hopper-medium`` for ``dwm_gym/hopper/medium-v0``."""
    from dwm_gym.data.specs import parse_dataset_name

    spec, quality = parse_dataset_name(dataset_id)
    return f"{spec.name}-{quality}"


def dataset_name(args: argparse.Namespace) -> str:
    """``hopper-medium`` for ``--dataset dwm_gym/hopper/medium-v0`` (the folder of the dataset's runs)."""
    return dataset_label(args.dataset)


def run_name(method: str, seed: int, args: argparse.Namespace) -> str:
    """``DWM-TD3BC_s0``; settings other than the defaults are spelled out (``DWM-TD3BC_h3_rtg0.7_s0``)."""
    prefix = method.rpartition("-")[0]
    parts = [method]
    if prefix == "DWM":
        parts += [args.dwm_label] if args.dwm_label else []
        parts += [f"h{args.horizon}"] if args.horizon != DEFAULT_HORIZON else []
        parts += [f"rtg{args.rtg:g}"] if args.rtg is not None else []
        parts += [f"cache{args.cache_seed}"] if args.cache_seed else []
    elif prefix == "OneStep" and args.onestep_horizon != DEFAULT_HORIZON:
        parts.append(f"h{args.onestep_horizon}")
    if prefix and args.data_termination:
        parts.append("dterm")
    return "_".join([*parts, f"s{seed}"])


def run_folder(method: str, seed: int, args: argparse.Namespace) -> Path:
    """Where one run trains (``--runs/<dataset>/<run name>``)."""
    return Path(args.runs) / dataset_name(args) / run_name(method, seed, args)


def archive_folder(args: argparse.Namespace) -> Path:
    """Where the dataset's finished runs are archived (``--archive/<dataset>``)."""
    return Path(args.archive) / dataset_name(args)


def shared_cache_file(args: argparse.Namespace) -> str:
    """One imagination cache for every DWM run of the dataset and RTG (all seeds, TD3BC and IQL, every H).

    It is filled at the DWM's longest horizon (T - 1) with all states kept, and a run with a shorter H
    reads the first H steps of each segment (``ImaginationCache.load``), so a sweep over H costs one fill.
    ``--cache-seed`` other than 0 gives a cache of its own (``..._seed1.safetensors``), sampled anew.
    """
    label = f"{args.dwm_label}_" if args.dwm_label else ""
    seed = f"_seed{args.cache_seed}" if args.cache_seed else ""
    name = f"dwm_cache_{label}rtg{args.rtg or 'default'}{seed}.safetensors"
    return str(Path(args.runs) / dataset_name(args) / name)


def prepare_shared_cache(args: argparse.Namespace):
    """Fills the shared DWM cache once, in this process, before the runs start (they then load it).

    Returns:
        The filled ``DiffusionMVEReplayBuffer`` (rows in the dataset's transition order).
    """
    import torch

    from dwm_gym.data import OfflineDataset
    from dwm_gym.data.specs import parse_dataset_name
    from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, buffer_from_dataset
    from dwm_gym.world_model.bundled import resolve_checkpoint

    torch.set_num_threads(args.workers)
    dataset = OfflineDataset.from_minari(args.dataset)
    spec, quality = parse_dataset_name(args.dataset)
    settings = dict(
        device="cpu",
        world_model=str(Path(args.dwm_checkpoint or resolve_checkpoint(spec.name, quality, "dwm")).resolve()),
        rtg=args.rtg,
        cache_file=shared_cache_file(args),
        seed=args.cache_seed,
    )
    longest = DiffusionMVEReplayBuffer(1, *spaces(dataset), horizon=0, **settings).max_horizon
    buffer = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, horizon=longest, **settings)
    print(f"imagination cache: {buffer.prepare_cache(progress=True)}", flush=True)
    return buffer


def spaces(dataset):
    """The (observation, action) spaces of ``dataset``'s real env."""
    import gymnasium as gym

    env = gym.make(dataset.env_id)
    env.close()
    return env.observation_space, env.action_space


def finished_run(method: str, seed: int, args: argparse.Namespace) -> dict | None:
    """The finished run of (method, seed) under ``args`` (restored from the archive), or None if there is none
    with these updates, settings and world model."""
    from dwm_gym.agents.run_identity import world_model_digest

    out = run_folder(method, seed, args)
    config = run_config(method, seed, args)
    digest = world_model_digest(config)
    restore_finished(out, archive_folder(args), args.updates, config, digest)
    summary = archived_summary(out)
    if summary is None or not same_run(summary, args.updates, config, digest):
        return None
    return {"method": method, "seed": seed, "reused": True, **finished(out, summary)}


def run_one(
    method: str,
    seed: int,
    args: argparse.Namespace,
    dataset=None,
    name: str | None = None,
    changes: dict | None = None,
) -> dict:
    """Trains (or reuses, or resumes) one run; returns its final evaluation.

    ``dataset`` (an ``OfflineDataset``) replaces the one ``--dataset`` names, for runs on altered data, and
    ``changes`` replace fields of the run's :class:`AgentRunConfig`; such a run needs its own ``name`` (its
    folder and archive entry, instead of :func:`run_name`).
    """
    import dataclasses

    import torch

    from dwm_gym.agents.run_identity import world_model_digest
    from dwm_gym.agents.runs import train_agent

    if (dataset is not None or changes) and name is None:
        raise ValueError("a run on altered data or settings needs its own name=")
    torch.set_num_threads(1)
    out = run_folder(method, seed, args) if name is None else Path(args.runs) / dataset_name(args) / name
    summary_path = out / "agent.json"
    config = dataclasses.replace(run_config(method, seed, args), **(changes or {}))
    digest = world_model_digest(config)
    restore_finished(out, archive_folder(args), args.updates, config, digest)
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        if same_run(summary, args.updates, config, digest):
            return {"method": method, "seed": seed, "reused": True, **finished(out, summary)}
    resume = (out / "checkpoints" / "latest.safetensors").is_file()
    if summary_path.is_file() and not resume:
        summary_path.unlink()
    start = time.perf_counter()
    summary = train_agent(config, out, resume=resume, progress_bar=False, dataset=dataset)
    seconds = time.perf_counter() - start
    archive_finished(out, archive_folder(args), args.updates, config, digest)
    return {"method": method, "seed": seed, "seconds": seconds, **finished(out, summary)}


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/scores.json", device=None, seed=None)
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0")
    parser.add_argument("--updates", type=int, default=50_000, help="gradient updates per run (all methods)")
    parser.add_argument("--eval-every", type=int, default=10_000, help="updates between real-env evaluations")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--horizon", type=int, default=5, help="H of DWM-MVE")
    parser.add_argument("--onestep-horizon", type=int, default=5, help="H of one-step MVE")
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
    parser.add_argument("--workers", type=int, default=2, help="runs in parallel (one CPU core each)")
    parser.add_argument("--runs", default="runs/scores")
    parser.add_argument(
        "--archive",
        default="benchmarks/results/scores_runs",
        help="finished runs' records are copied here (and restored from here into a fresh --runs folder)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: report the finished runs among --methods x --seeds and list the missing ones",
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
    methods, seeds = args.methods.split(","), [int(s) for s in args.seeds.split(",")]
    for method in methods:
        run_config(method, seeds[0], args)  # fail early on unknown names
    jobs = [(m, s) for s in seeds for m in methods]
    start = time.perf_counter()
    if args.report_only:
        results, missing = [], []
        for method, seed in jobs:
            result = finished_run(method, seed, args)
            if result is not None:
                results.append(result)
            else:
                missing.append(run_name(method, seed, args))
        present = [m for m in methods if any(r["method"] == m for r in results)]
        report(results, present, args, time.perf_counter() - start, missing)
        return
    if args.tiny:
        args.dataset = tiny_dataset()  # before the workers start: they inherit MINARI_DATASETS_PATH
    if any(m.startswith("DWM-") for m in methods):
        (Path(args.runs) / dataset_name(args)).mkdir(parents=True, exist_ok=True)
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


if __name__ == "__main__":
    main()
