"""Why does DWM-MVE at H = 1 diverge on hopper-medium-replay? Each part of the imagined step tested, with seeds.

Usage:
    python studies/h1_divergence.py [--dataset dwm_gym/hopper/medium-replay-v0] [--seeds 0,1,2,3,4]
                                       [--variants all] [--unmask 0.5] [--updates 50000] [--eval-every 10000]
                                       [--eval-episodes 10] [--workers 2] [--runs runs/scores]
                                       [--archive benchmarks/results/records]
                                       [--json studies/results/h1_divergence.json] [--tiny]

An H = 1 Diffusion-MVE target replaces the data's (r_t, s_{t+1}, termination) by the DWM's first imagined step.
TD3BC is trained on the same data with each variant (``--variants``: 'all' or names separated by ';'):

* ``TD3BC``: model-free, the control;
* ``TD3BC, falls unmasked``: model-free, with ``--unmask`` (half) of the falls turned into time-limit
  truncations (drawn once, generator seed 0), so their targets bootstrap from the fallen state;
* ``DWM-TD3BC H=1``: the whole imagined step;
* ``DWM-TD3BC H=1, data termination``: the same, with the data's termination OR-ed in
  (``data_termination=True`` of the MVE buffers);
* ``H=1, only the reward / next state / termination imagined``: one part of the imagined step kept, the
  other two the data's (:class:`altered_targets.OnePartImaginedBuffer`);
* ``H=1, only the next state imagined, its worst 1% the data's``: the same, with the real next state at
  the 1 % of transitions whose imagined one is farthest from it (an oracle, for diagnosis only);
* ``H=1, only the next state imagined, half / a quarter of its error``: the real next state plus 0.5 (0.25)
  times the DWM's error: how accurate the model's first step must be for H = 1 to hold;
* ``DWM-TD3BC H=1, 8 segments per transition``: a cache of 8 segments per transition, one drawn per
  sample, close to the paper's fresh sampling per minibatch;
* ``OneStep-TD3BC H=1``: the one-step model's imagined step (its rollouts are fresh every minibatch).

The runs are ``scores.py``'s (same folders, archive, reuse and resumption) where the variant is one of
its settings; the others are named after the variant (``TD3BC_unmask0.5_s0``,
``DWM-TD3BC_h1_imagined-state_s0``, ``DWM-TD3BC_h1_m8_s0``) and archived the same way (a one-part run
has no checkpoint and restarts when interrupted). The report gives, per variant, the final score and the
mean of the last three evaluations (mean ± std over seeds), the curve, and from each run's critic monitor
the number of diverged critics, the last logged critic loss and the largest Q.

``--tiny``: a 400-transition hopper-medium dataset, seed 0, 20 updates evaluated every 10 on one episode.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch as th

from dwm_gym.benchmarking.altered_targets import OnePartImaginedBuffer, unmask_falls
from dwm_gym.benchmarking.harness import command_line, make_parser, parse_args, scratch_dir, tiny_dataset, write_result
from dwm_gym.benchmarking.run_archive import archive_folder, archived_record, finished
from dwm_gym.benchmarking.score_runs import (
    dataset_name,
    method_settings,
    prepare_shared_cache,
    run_folder,
    run_one,
    shared_cache_file,
)
from dwm_gym.utils.parallel import run_side_by_side
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer

VARIANTS = {  # name: (kind, scores.py method, H, data termination, the one imagined part of a "swap" run)
    "TD3BC": ("scores", "TD3BC", 5, False, None),
    "TD3BC, falls unmasked": ("unmask", "TD3BC", 5, False, None),
    "DWM-TD3BC H=1": ("scores", "DWM-TD3BC", 1, False, None),
    "DWM-TD3BC H=1, data termination": ("scores", "DWM-TD3BC", 1, True, None),
    "H=1, only the reward imagined": ("swap", "DWM-TD3BC", 1, False, "reward"),
    "H=1, only the next state imagined": ("swap", "DWM-TD3BC", 1, False, "state"),
    "H=1, only the termination imagined": ("swap", "DWM-TD3BC", 1, False, "termination"),
    "H=1, only the next state imagined, its worst 1% the data's": ("swap", "DWM-TD3BC", 1, False, "state-tail"),
    "H=1, only the next state imagined, half its error": ("swap", "DWM-TD3BC", 1, False, "state-x0.5"),
    "H=1, only the next state imagined, a quarter of its error": ("swap", "DWM-TD3BC", 1, False, "state-x0.25"),
    "DWM-TD3BC H=1, 8 segments per transition": ("samples", "DWM-TD3BC", 1, False, None),
    "OneStep-TD3BC H=1": ("scores", "OneStep-TD3BC", 1, False, None),
}
SAMPLES = 8  # segments cached per transition in the "samples" variant (fresh sampling, approximately)


def variant_args(args: argparse.Namespace, variant: str) -> argparse.Namespace:
    """``scores.py``'s arguments for one variant."""
    _, method, horizon, data_termination, _ = VARIANTS[variant]
    which = "onestep_horizon" if method.startswith("OneStep") else "horizon"
    return method_settings(args, **{which: horizon, "data_termination": data_termination})


def samples_cache_file(args: argparse.Namespace) -> str:
    """The imagination cache of the "samples" variant: SAMPLES segments per transition, H = 1."""
    return str(Path(args.runs) / dataset_name(args) / f"dwm_cache_rtgdefault_h1_m{SAMPLES}.safetensors")


def prepare_samples_cache(args: argparse.Namespace) -> None:
    """Fills the "samples" variant's cache once, before its runs start (they then load it)."""
    from dwm_gym.data import OfflineDataset
    from dwm_gym.data.specs import parse_dataset_name
    from dwm_gym.value_expansion import buffer_from_dataset
    from dwm_gym.world_model.bundled import resolve_checkpoint

    th.set_num_threads(args.workers)
    spec, quality = parse_dataset_name(args.dataset)
    buffer = buffer_from_dataset(
        OfflineDataset.from_minari(args.dataset),
        DiffusionMVEReplayBuffer,
        device="cpu",
        world_model=str(resolve_checkpoint(spec.name, quality, "dwm").resolve()),
        horizon=1,
        cache_samples=SAMPLES,
        cache_file=samples_cache_file(args),
        seed=0,
    )
    print(f"{SAMPLES}-segment cache: {buffer.prepare_cache(progress=False)}", flush=True)


def variant_folder(variant: str, seed: int, args: argparse.Namespace) -> Path:
    """The run folder of ``variant`` (``scores.py``'s for its own runs)."""
    kind, method, _, _, part = VARIANTS[variant]
    if kind == "scores":
        return run_folder(method, seed, variant_args(args, variant))
    names = {
        "unmask": f"TD3BC_unmask{args.unmask:g}_s{seed}",
        "swap": f"DWM-TD3BC_h1_imagined-{part}_s{seed}",
        "samples": f"DWM-TD3BC_h1_m{SAMPLES}_s{seed}",
    }
    return Path(args.runs) / dataset_name(args) / names[kind]


def run_swap(variant: str, seed: int, args: argparse.Namespace) -> dict:
    """Trains (or reuses) a one-part-imagined run: TD3BC with :class:`OnePartImaginedBuffer`.

    Its record is archived like ``scores.py``'s (``--archive/<dataset>.jsonl``); an unfinished run starts over
    (it has no checkpoint).
    """
    import shutil

    from stable_baselines3.common.logger import configure

    from dwm_gym.agents import TD3BC
    from dwm_gym.agents.callbacks import EvalOnRealEnvCallback
    from dwm_gym.data import OfflineDataset
    from dwm_gym.data.specs import parse_dataset_name
    from dwm_gym.utils.atomic import atomic_write_text
    from dwm_gym.world_model.bundled import resolve_checkpoint

    th.set_num_threads(1)
    out = variant_folder(variant, seed, args)
    archive = Path(args.archive) / f"{out.parent.name}.jsonl"
    stored = archived_record(archive, out.name)
    if stored is not None:
        return finished(stored)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    dataset = OfflineDataset.from_minari(args.dataset)
    spec, quality = parse_dataset_name(args.dataset)
    buffer_kwargs = dict(
        world_model=str(resolve_checkpoint(spec.name, quality, "dwm").resolve()),
        horizon=1,
        seed=seed,
        cache_file=shared_cache_file(variant_args(args, variant)),
        imagined=VARIANTS[variant][4],
    )
    agent = TD3BC(
        "MlpPolicy",
        dataset.env_id,
        buffer_size=dataset.num_transitions,
        replay_buffer_class=OnePartImaginedBuffer,
        replay_buffer_kwargs=buffer_kwargs,
        seed=seed,
        device="cpu",
    )
    agent.set_logger(configure(str(out), ["csv"]))
    agent.load_dataset(dataset)
    evaluation = EvalOnRealEnvCallback(
        dataset.env_id, args.eval_every, args.eval_episodes, seed, log_path=out / "evaluations.jsonl"
    )
    agent.learn(args.updates, callback=evaluation)
    summary = {
        "variant": variant,
        "dataset_id": args.dataset,
        "updates": agent.num_timesteps,
        "final_evaluation": evaluation.history[-1],
        "critic": {"divergence": agent.divergence, "history": agent.critic_monitor.history},
    }
    atomic_write_text(out / "agent.json", json.dumps(summary, indent=2))
    return finished(archive_folder(out, archive, algo="td3bc", seed=seed, horizon=1, variant=variant))


def run_variant(variant: str, seed: int, args: argparse.Namespace) -> dict:
    """Trains (or reuses, or resumes) one run of ``variant``."""
    kind, method, _, _, _ = VARIANTS[variant]
    if kind == "swap":
        return {"variant": variant, "seed": seed, **run_swap(variant, seed, args)}
    run_args = variant_args(args, variant)
    if kind == "scores":
        return {"variant": variant, **run_one(method, seed, run_args)}
    name = variant_folder(variant, seed, args).name
    if kind == "samples":
        changes = {"cache_samples": SAMPLES, "cache_file": samples_cache_file(args)}
        return {"variant": variant, **run_one(method, seed, run_args, name=name, changes=changes)}
    from dwm_gym.data import OfflineDataset

    dataset, _ = unmask_falls(OfflineDataset.from_minari(args.dataset), args.unmask)
    return {"variant": variant, **run_one(method, seed, run_args, dataset=dataset, name=name)}


def critic_of(result: dict) -> dict:
    """The run's critic monitor (from its archived record): the loss's first and last logged value, the largest
    Q and the last mean |target| (None for a monitor that did not log it).
    """
    ends = result["critic_ends"]
    if not ends:
        return {"diverged": result["divergence"] is not None}
    return {
        "diverged": result["divergence"] is not None,
        "first_loss": ends[0]["loss"],
        "last_loss": ends[-1]["loss"],
        "max_q": result["critic_max_q"],
        "last_abs_target": ends[-1].get("mean_abs_target"),
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
    parser = make_parser(__doc__, "studies/results/h1_divergence.json", device=None, seed=None)
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-replay-v0")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--variants", default="all", help=f"'all' or a comma list of: {'; '.join(VARIANTS)}")
    parser.add_argument("--unmask", type=float, default=0.5, help="share of the falls turned into truncations")
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", default="runs/scores")
    parser.add_argument("--archive", default="benchmarks/results/records")
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
    if any(VARIANTS[v][1].startswith("DWM-") for v in variants):
        (Path(args.runs) / dataset_name(args)).mkdir(parents=True, exist_ok=True)
        prepare_shared_cache(variant_args(args, variants[0]))
    if any(VARIANTS[v][0] == "samples" for v in variants):
        prepare_samples_cache(args)
    jobs = [(v, s) for s in seeds for v in variants]
    # a variant swaps the buffer class or the dataset, which a sweep trial cannot express: one process per run
    results = []
    for (variant, seed), result in zip(
        jobs, run_side_by_side(run_variant, [(v, s, args) for v, s in jobs], args.workers)
    ):
        result["critic"] = critic_of(result)
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
