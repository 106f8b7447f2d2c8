"""Diffusion-MVE stability on the demo's data: the alternatives behind the fix, with seeds.

Usage:
    python studies/mve_stability.py [--updates 20000] [--seeds 0,1,2] [--variants all] [--horizon 5]
                                       [--batch-size 128] [--eval-every 5000] [--eval-episodes 10] [--workers 2]
                                       [--runs runs/mve_stability] [--json studies/results/mve_stability.json]
                                       [--tiny]

Builds the demo's dataset (50k transitions of hopper-medium, seed 0, exactly as ``dwm-gym demo``) in
``--runs/datasets``, then trains TD3BC on it (H = 5, batch 128) with the bundled hopper-medium DWM in each
variant (its states are standardized since 2026-12-04; the committed ``mve_stability*.json`` were measured with
the CDF-state DWM bundled before, ``git show b712f03:dwm_gym/world_model/assets/hopper_medium_dwm.safetensors``):

* ``TD3BC``: model-free;
* ``DWM plain-inverse, RTG max``: the sampler and RTG default before the fix (the plain CDF inverse,
  ``clip_state_tails=False``; RTG = the data's maximum);
* ``DWM plain-inverse, RTG median`` and ``DWM clipped tails, RTG max``: one change each;
* ``DWM clipped tails, RTG median``: the library's defaults now.

Every run is evaluated every ``--eval-every`` (5k) updates on ``--eval-episodes`` (10) real Hopper-v5
episodes. For each run it reports the stability criterion of the project: the largest logged critic loss
(1k-update windows) in the second half over the median of the windows in the first 2k updates (a run
passes at <= 20). The runs are trials of a sweep on Ray Tune (:mod:`dwm_gym.sweep`, on ``--workers`` local cores):
run the same command again after an interruption, and finished runs are kept, unfinished ones resume.

``--tiny`` (smoke test): a 400-transition dataset under a temporary ``--runs``; TD3BC, plain-inverse at
RTG max and clipped tails at the median RTG, seed 0, 1,000 updates of batch 16 (the first critic-loss
window), evaluated every 500 updates on one episode.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from dwm_gym.benchmarking.harness import command_line, make_parser, parse_args, scratch_dir, tiny_dataset, write_result

# the sweep's method and trial label of each variant (the label names the plain-inverse DWM's trials)
TRIALS = {
    "TD3BC": ("TD3BC", None),
    "DWM plain-inverse, RTG max": ("DWM-TD3BC", "plain-inverse"),
    "DWM plain-inverse, RTG median": ("DWM-TD3BC", "plain-inverse"),
    "DWM clipped tails, RTG max": ("DWM-TD3BC", None),
    "DWM clipped tails, RTG median": ("DWM-TD3BC", None),
}
VARIANTS = {  # name: (world model: None / "plain" / "default", RTG: None = default rule / "max")
    "TD3BC": (None, None),
    "DWM plain-inverse, RTG max": ("plain", "max"),
    "DWM plain-inverse, RTG median": ("plain", None),
    "DWM clipped tails, RTG max": ("default", "max"),
    "DWM clipped tails, RTG median": ("default", None),
}


def plain_inverse_checkpoint(folder: Path) -> Path:
    """A copy of the bundled DWM whose header turns ``clip_state_tails`` off (same weights)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from dwm_gym.utils.atomic import atomic_write
    from dwm_gym.world_model.bundled import resolve_checkpoint

    path = folder / "hopper_medium_dwm_plain_inverse.safetensors"
    if not path.is_file():
        with safe_open(str(resolve_checkpoint("hopper", "medium", "dwm")), framework="pt") as handle:
            header = json.loads(handle.metadata()["dwm_gym"])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        header["sampler"] = {**(header.get("sampler") or {}), "clip_state_tails": False}
        header["config"].pop("clip_state_tails", None)  # older headers kept it among the model settings
        atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"dwm_gym": json.dumps(header)}))
    return path


def run_config(variant: str, seed: int, args: argparse.Namespace):
    from dwm_gym.agents.runs import AgentRunConfig
    from dwm_gym.world_model.bundled import resolve_checkpoint
    from dwm_gym.world_model.checkpoint import read_header

    sampler, rtg = VARIANTS[variant]
    world_model = None
    if sampler == "plain":
        world_model = str(plain_inverse_checkpoint(Path(args.runs)).resolve())
    elif sampler == "default":
        world_model = str(resolve_checkpoint("hopper", "medium", "dwm").resolve())
    if rtg == "max":
        rtg = read_header(resolve_checkpoint("hopper", "medium", "dwm"))["rtg_max"]
    return AgentRunConfig(
        algo="td3bc",
        dataset="dwm_gym/hopper/medium-v0",
        world_model=world_model,
        horizon=args.horizon,
        rtg=rtg,
        steps=args.updates,
        batch_size=args.batch_size,
        seed=seed,
        device="cpu",
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        checkpoint_every=args.eval_every,
    )


def trial_of(variant: str, seed: int, args: argparse.Namespace):
    """The sweep trial of one (variant, seed)."""
    from dwm_gym.sweep.trials import custom_trial

    method, label = TRIALS[variant]
    return custom_trial(method, run_config(variant, seed, args), label=label)


def measured(variant: str, seed: int, out: Path, args: argparse.Namespace) -> dict:
    """One finished run's figures: its scores and the stability criterion from its critic-loss log."""
    from dwm_gym.render.curves import read_learning_curve

    summary = json.loads((out / "agent.json").read_text())
    curve = read_learning_curve(out)
    losses = np.array(curve.critic_loss)
    steps = np.array(curve.loss_updates)
    early = float(np.median(losses[steps <= 2000]))
    late = float(losses[steps > args.updates // 2].max())
    return {
        "variant": variant,
        "seed": seed,
        "scores": dict(zip(curve.score_updates, curve.scores)),
        "final_score": summary["final_evaluation"]["normalized_score"],
        "critic_loss_first_2k_median": early,
        "critic_loss_second_half_max": late,
        "loss_ratio": late / early,
        "divergence": summary.get("critic", {}).get("divergence"),
        "curve": {"updates": curve.loss_updates, "critic_loss": curve.critic_loss},
    }


def ensure_dataset(args: argparse.Namespace) -> None:
    from dwm_gym.data import make_dataset

    if args.tiny:
        tiny_dataset(Path(args.runs) / "datasets")
        return
    os.environ["MINARI_DATASETS_PATH"] = str((Path(args.runs) / "datasets").resolve())
    if not list((Path(args.runs) / "datasets").rglob("*.hdf5")):
        make_dataset("hopper-medium", steps=50_000, seed=0, overwrite=True)


def main() -> None:
    parser = make_parser(__doc__, "studies/results/mve_stability.json", device=None, seed=None)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default="all", help="semicolon-separated names, or 'all'")
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--eval-every", type=int, default=5000, help="updates between evaluations (and checkpoints)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="CPU cores of the local Ray (one per run)")
    parser.add_argument("--runs", default="runs/mve_stability")
    args = parse_args(
        parser,
        tiny=lambda: {
            "updates": 1000,
            "seeds": "0",
            "variants": "TD3BC;DWM plain-inverse, RTG max;DWM clipped tails, RTG median",
            "batch_size": 16,
            "eval_every": 500,
            "eval_episodes": 1,
            "runs": str(scratch_dir() / "runs"),
        },
    )
    variants = list(VARIANTS) if args.variants == "all" else args.variants.split(";")
    seeds = [int(s) for s in args.seeds.split(",")]
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    ensure_dataset(args)
    start = time.perf_counter()
    from dwm_gym.sweep import Resources, SweepOptions
    from dwm_gym.sweep.runner import run_trials
    from dwm_gym.sweep.trials import trial_set_digest

    jobs = [(v, s, trial_of(v, s, args)) for s in seeds for v in variants]
    trials = [trial for _, _, trial in jobs]
    name = f"mve-stability-{trial_set_digest(trials)}"  # Ray Tune runs them, resumable: run the same command again
    sweep = run_trials(
        name, trials, Resources(cpus=1), SweepOptions(storage=args.runs, num_cpus=args.workers, verbose=0)
    )
    runs = [measured(v, s, sweep.experiment / "runs" / trial.name, args) for v, s, trial in jobs]
    table = {}
    print(f"{'variant':32s} {'final score':>16s} {'loss ratio (max 2nd half / early)':>36s}")
    for variant in variants:
        rows = [r for r in runs if r["variant"] == variant]
        finals = np.array([r["final_score"] for r in rows])
        ratios = [r["loss_ratio"] for r in rows]
        table[variant] = {
            "seeds": [r["seed"] for r in rows],
            "final_scores": finals.tolist(),
            "final_mean": float(finals.mean()),
            "final_std": float(finals.std()),
            "loss_ratios": ratios,
            "stable_runs": int(sum(ratio <= 20 for ratio in ratios)),
        }
        print(f"{variant:32s} {finals.mean():8.3f} ± {finals.std():.3f} {', '.join(f'{x:.3g}' for x in ratios):>36s}")
    result = {
        "command": command_line(args),
        "wall_s": time.perf_counter() - start,
        "variants": table,
        "runs": runs,
    }
    write_result(args.json, result, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
