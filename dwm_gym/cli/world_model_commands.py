"""``dwm-gym world-model``: train, evaluate and export world models."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from dwm_gym.utils.checks import check_output_file, int_at_least
from dwm_gym.utils.cli_fields import add_dataclass_arguments, dataclass_from_args


def _world_model_train(args: argparse.Namespace) -> int:
    from dwm_gym.data import OfflineDataset
    from dwm_gym.world_model import preset
    from dwm_gym.world_model.one_step import ONESTEP_PRESETS
    from dwm_gym.world_model.training import TrainingRun, train_world_model

    if args.kind == "dwm":
        chosen = {} if args.state_normalization is None else {"state_normalization": args.state_normalization}
        config = preset(args.preset, **chosen)
    elif args.state_normalization is not None:
        raise SystemExit("--state-normalization is a DWM setting (the one-step model normalizes min-max): drop it")
    else:
        config = ONESTEP_PRESETS[args.preset]
    run = dataclass_from_args(TrainingRun, args, steps=config.train_steps if args.steps is None else args.steps)
    dataset = OfflineDataset.from_minari(args.dataset)  # after the settings are checked: a bad one fails at once
    writers: list = []  # made at the first metrics, once the run folder has been checked

    def on_metrics(step: int, metrics: dict) -> None:
        if not writers:
            writers.append(_tensorboard_writer(args.out))
        if writers[0] is not None:
            for key, value in metrics.items():
                writers[0].add_scalar(key, value, step)

    try:
        train_world_model(dataset, config, run, args.out, args.resume, on_metrics, overwrite=args.force)
    except KeyboardInterrupt:
        state = Path(args.out) / "train_state.pt"
        again = "add --resume to continue it" if state.is_file() else "add --force to start it again"
        print(f"\ninterrupted: run the same command and {again}", file=sys.stderr)
        return 130
    print(f"checkpoint: {args.out}/model.safetensors")
    return 0


def _world_model_eval(args: argparse.Namespace) -> int:
    from dwm_gym.data import OfflineDataset
    from dwm_gym.evaluation.error_report import error_report, format_table, write_report

    check_output_file(args.json, "--json")  # before the evaluation, not after it
    check_output_file(args.plot, "--plot")
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


def add_world_model_parser(commands: argparse._SubParsersAction) -> None:
    """Adds the ``world-model`` command group to ``commands``."""
    from dwm_gym.world_model.config import STATE_NORMALIZERS
    from dwm_gym.world_model.training import TrainingRun

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
    wm_train.add_argument(
        "--state-normalization",
        default=None,
        choices=list(STATE_NORMALIZERS),
        help="DWM only: states diffused in CDF space (the paper's) or standardized (default: the preset's)",
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
    wm_eval.add_argument(
        "--windows", type=int_at_least(1), default=500, help="held-out windows compared (default: %(default)s)"
    )
    wm_eval.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of the windows and the sampling (default: %(default)s)"
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
