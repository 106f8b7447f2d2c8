"""``dwm-gym`` command line: datasets, behaviour policies, world models, agents and the demo."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dwm_gym.utils.cli_fields import add_dataclass_arguments, dataclass_from_args


def _dataset_make(args: argparse.Namespace) -> int:
    from dwm_gym.data import make_dataset

    dataset = make_dataset(
        args.name,
        steps=args.steps,
        seed=args.seed,
        num_envs=args.num_envs,
        overwrite=args.force,
        train_missing_policies=not args.no_train,
        policy_training_steps=args.policy_steps,
    )
    meta = dataset.metadata
    print(f"{dataset.dataset_id}: {dataset.num_episodes} episodes, {dataset.num_transitions} steps")
    print(
        f"mean episode return {meta['mean_return']:.1f} "
        f"(episodes not cut by the step budget: {meta['mean_return_finished_episodes']:.1f})"
    )
    if dataset.task is not None:
        from dwm_gym.evaluation import normalized_score

        scores = {refs: float(normalized_score(dataset.env_id, meta["mean_return"], refs)) for refs in ("v5", "d4rl")}
        print(
            f"normalized: {scores['v5']:.3f} with the v5 references (Minari's ref_min/max_score, what "
            f"minari.get_normalized_score gives), {scores['d4rl']:.3f} with D4RL's"
        )
    for part in meta["parts"]:
        if "policy_mean_return" in part:
            print(
                f"  {part['part']} policy: {part['policy']}, measured return {part['policy_mean_return']:.1f} "
                f"± {part['policy_std_return']:.1f} over {part['policy_eval_episodes']} episodes"
            )
    return 0


def _dataset_list(args: argparse.Namespace) -> int:
    from dwm_gym.data.minari_io import datasets_root, list_local_datasets

    ids = list_local_datasets()
    print(f"Minari datasets under {datasets_root()}:")
    for dataset_id in ids:
        print(f"  {dataset_id}")
    if not ids:
        print("  (none) — make one with: dwm-gym dataset make hopper-medium")
    return 0


def _dataset_info(args: argparse.Namespace) -> int:
    from dwm_gym.data import OfflineDataset
    from dwm_gym.data.specs import dataset_id, parse_dataset_name

    target = args.id
    if "/" not in target:
        spec, quality = parse_dataset_name(target)
        target = dataset_id(spec.name, quality)
    dataset = OfflineDataset.from_minari(target)
    summary = dataset.summary()
    summary["provenance"] = {k: v for k, v in dataset.metadata.items() if k != "budget_cut_episodes"}
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _behavior_train(args: argparse.Namespace) -> int:
    from dwm_gym.data.behavior.sac_training import SACTrainingConfig, train_behavior_sac
    from dwm_gym.data.specs import task_spec

    spec = task_spec(args.task)
    config = SACTrainingConfig(env_id=spec.env_id, total_steps=args.steps, seed=args.seed)
    train_behavior_sac(config, args.run_dir, resume=args.resume)
    return 0


def _behavior_export(args: argparse.Namespace) -> int:
    from dwm_gym.data.behavior.export import export_behavior

    summary = export_behavior(args.run_dir, args.task, args.out, eval_episodes=args.eval_episodes)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _world_model_train(args: argparse.Namespace) -> int:
    from dwm_gym.data import OfflineDataset
    from dwm_gym.world_model import preset
    from dwm_gym.world_model.one_step import ONESTEP_PRESETS
    from dwm_gym.world_model.training import TrainingRun, train_world_model

    dataset = OfflineDataset.from_minari(args.dataset)
    config = preset(args.preset) if args.kind == "dwm" else ONESTEP_PRESETS[args.preset]
    run = dataclass_from_args(TrainingRun, args, steps=config.train_steps if args.steps is None else args.steps)
    writers: list = []  # made at the first metrics, once the run folder has been checked

    def on_metrics(step: int, metrics: dict) -> None:
        if not writers:
            writers.append(_tensorboard_writer(args.out))
        if writers[0] is not None:
            for key, value in metrics.items():
                writers[0].add_scalar(key, value, step)

    train_world_model(dataset, config, run, args.out, resume=args.resume, on_metrics=on_metrics, overwrite=args.force)
    print(f"checkpoint: {args.out}/model.safetensors")
    return 0


def _world_model_eval(args: argparse.Namespace) -> int:
    from dwm_gym.data import OfflineDataset
    from dwm_gym.evaluation.error_report import error_report, format_table, write_report

    checkpoints = {"dwm" if args.baseline else "model": args.checkpoint}
    if args.baseline:
        checkpoints["baseline"] = args.baseline
    dataset = OfflineDataset.from_minari(args.dataset)
    policy = None
    if args.noise_floor:
        from dwm_gym.data.behavior.shipped import load_behavior_policy

        policy = load_behavior_policy(dataset.task.name, args.noise_floor) if dataset.task else None
        if policy is None:
            raise SystemExit(f"no {args.noise_floor} behaviour policy for {dataset.env_id}: drop --noise-floor")
    report = error_report(checkpoints, dataset, args.windows, args.seed, args.device, policy)
    print(format_table(report))
    write_report(report, args.json, args.plot)
    return 0


def _world_model_export(args: argparse.Namespace) -> int:
    from dwm_gym.world_model.export import export_checkpoint

    model = export_checkpoint(
        args.checkpoint, args.out, args.weights_dtype, data=args.data, resample=args.resample_data, force=args.force
    )
    size = Path(args.out).stat().st_size / 1e6
    print(
        f"wrote {args.out} ({size:.2f} MB, {args.weights_dtype} weights, {model.kind}, {model.info.get('dataset_id')})"
    )
    return 0


def _tensorboard_writer(log_dir: str):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is an optional extra
        logging.getLogger(__name__).info("tensorboard not installed: metrics go to metrics.jsonl only")
        return None
    return SummaryWriter(log_dir)


def build_parser() -> argparse.ArgumentParser:
    """The ``dwm-gym`` argument parser."""
    from dwm_gym.agents.cli_commands import add_agent_parser
    from dwm_gym.demo import DemoConfig
    from dwm_gym.world_model.training import TrainingRun

    parser = argparse.ArgumentParser(
        prog="dwm-gym", description="Diffusion World Models as Gymnasium envs and SB3 plug-ins."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    dataset = commands.add_parser("dataset", help="offline datasets (Minari)").add_subparsers(
        dest="action", required=True
    )
    make = dataset.add_parser("make", help="generate a D4RL-recipe dataset, e.g. hopper-medium")
    make.add_argument("name", help="{hopper,walker2d,halfcheetah}-{random,medium,medium-replay,expert,medium-expert}")
    make.add_argument("--steps", type=int, default=None, help="transitions (default 1M; per part for medium-expert)")
    make.add_argument(
        "--seed", type=int, default=0, help="seed of the envs and of the action noise (default: %(default)s)"
    )
    make.add_argument("--num-envs", type=int, default=16, help="env copies stepped side by side")
    make.add_argument("--force", action="store_true", help="replace an existing dataset")
    make.add_argument("--no-train", action="store_true", help="fail instead of training a missing behaviour policy")
    make.add_argument("--policy-steps", type=int, default=1_000_000, help="SAC steps when a policy must be trained")
    make.set_defaults(func=_dataset_make)
    dataset.add_parser("list", help="Minari datasets on disk").set_defaults(func=_dataset_list)
    info = dataset.add_parser("info", help="size, returns and provenance of a dataset")
    info.add_argument("id", help="Minari id (dwm_gym/hopper/medium-v0) or short name (hopper-medium)")
    info.set_defaults(func=_dataset_info)

    behavior = commands.add_parser("behavior", help="behaviour policies (SB3 SAC)").add_subparsers(
        dest="action", required=True
    )
    train = behavior.add_parser("train", help="train SAC, recording snapshots and its replay stream")
    train.add_argument("--task", required=True, help="hopper, walker2d or halfcheetah (or its env id, e.g. Hopper-v5)")
    train.add_argument("--steps", type=int, default=1_000_000, help="SAC env steps (default: %(default)s)")
    train.add_argument("--seed", type=int, default=0, help="seed of SAC and its env (default: %(default)s)")
    train.add_argument("--run-dir", required=True, help="folder of the run: snapshots, replay stream, logs")
    train.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    train.set_defaults(func=_behavior_train)
    export = behavior.add_parser("export", help="pick medium/expert snapshots of a run and write the policy files")
    export.add_argument("--task", required=True, help="hopper, walker2d or halfcheetah (the run's task)")
    export.add_argument("--run-dir", required=True, help="folder of a `behavior train` run")
    export.add_argument("--out", required=True, help="folder (the package ships dwm_gym/data/behavior/assets)")
    export.add_argument(
        "--eval-episodes",
        type=int,
        default=50,
        help="episodes that re-evaluate each chosen actor (default: %(default)s)",
    )
    export.set_defaults(func=_behavior_export)

    world_model = commands.add_parser("world-model", help="world models").add_subparsers(dest="action", required=True)
    wm_train = world_model.add_parser("train", help="train a world model on a Minari dataset (resumable)")
    wm_train.add_argument("--dataset", required=True, help="Minari id, e.g. dwm_gym/hopper/medium-v0")
    wm_train.add_argument(
        "--kind",
        default="dwm",
        choices=["dwm", "onestep"],
        help="the diffusion world model, or the one-step baseline (default: %(default)s)",
    )
    wm_train.add_argument(
        "--preset",
        default="small",
        choices=["small", "paper"],
        help="model size and optimiser settings: small (2 CPU cores) or the paper's (default: %(default)s)",
    )
    wm_train.add_argument("--out", required=True, help="run folder (checkpoints, metrics, TensorBoard)")
    wm_train.add_argument("--resume", action="store_true", help="continue the run in --out")
    wm_train.add_argument("--force", action="store_true", help="replace a run already in --out")
    # the run's settings are TrainingRun's fields; its required `steps` defaults to the preset's train_steps
    steps_help = "iterations to reach, counting those of a resumed run (default: the preset's train_steps)"
    add_dataclass_arguments(
        wm_train, TrainingRun, overrides={"steps": {"default": None, "required": False, "help": steps_help}}
    )
    wm_train.set_defaults(func=_world_model_train)
    wm_eval = world_model.add_parser("eval", help="per-step state/reward error against held-out real trajectories")
    wm_eval.add_argument("--checkpoint", required=True, help="model.safetensors of a DWM or one-step model")
    wm_eval.add_argument("--baseline", default=None, help="a second checkpoint (e.g. the one-step model)")
    wm_eval.add_argument("--dataset", required=True, help="Minari id of the real trajectories (held-out episodes)")
    wm_eval.add_argument("--windows", type=int, default=500, help="held-out windows compared (default: %(default)s)")
    wm_eval.add_argument(
        "--seed", type=int, default=0, help="seed of the windows and the sampling (default: %(default)s)"
    )
    wm_eval.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    wm_eval.add_argument("--json", default=None, help="write the per-step errors here")
    wm_eval.add_argument("--plot", default=None, help="write a PNG of error against horizon here")
    wm_eval.add_argument(
        "--noise-floor",
        choices=["medium", "expert"],
        default=None,
        help="with the data's behaviour policy (medium/expert), add its error floor (two real futures of one"
        " (s_t, a_t)) and each one-step model rolled out with actions that policy samples after a_t",
    )
    wm_eval.set_defaults(func=_world_model_eval)
    wm_export = world_model.add_parser(
        "export", help="copy a checkpoint for shipping, e.g. with float16 weights (half the file)"
    )
    wm_export.add_argument("checkpoint", help="model.safetensors of a DWM or one-step model")
    wm_export.add_argument("out", help="the new .safetensors file (the package ships dwm_gym/world_model/assets)")
    wm_export.add_argument(
        "--weights-dtype",
        choices=["float32", "float16"],
        default="float16",
        help="storage of the network weights; normalizers and start states stay float32 (default: %(default)s)",
    )
    wm_export.add_argument(
        "--data",
        default=None,
        help="the model's training dataset (Minari id): re-derive the data sample it carries, with the actions"
        " the pessimistic mode needs (checkpoints from before they were stored)",
    )
    wm_export.add_argument(
        "--resample-data", action="store_true", help="with --data: a fresh sample of it (another generation)"
    )
    wm_export.add_argument("--force", action="store_true", help="replace an existing file")
    wm_export.set_defaults(func=_world_model_export)

    add_agent_parser(commands)

    demo = commands.add_parser(
        "demo", help="the whole project in ~4 minutes on a CPU: data, imagined env, video, TD3BC vs DWM-TD3BC"
    )
    add_dataclass_arguments(demo, DemoConfig)
    demo.set_defaults(func=_demo)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from dwm_gym.demo import DemoConfig, run_demo

    config = dataclass_from_args(DemoConfig, args)
    run_demo(config)
    print(f"videos, plots and summary.md in {config.out}/")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``dwm-gym``."""
    args = build_parser().parse_args(argv)
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and "MUJOCO_GL" not in os.environ:
        os.environ["MUJOCO_GL"] = "egl"  # off-screen MuJoCo rendering on machines without a display
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
