"""``dwm-gym world-model``: train, evaluate and export world models."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from dwm_gym.utils.checks import check_output_file, int_at_least
from dwm_gym.utils.cli_fields import add_dataclass_arguments, dataclass_from_args
from dwm_gym.world_model.checkpoint import WeightsDtype


@dataclass
class WorldModelEvalOptions:
    """Options of ``world-model eval``.

    Attributes:
        checkpoint: ``model.safetensors`` of a DWM or one-step model.
        dataset: Minari id of the real trajectories (held-out episodes).
        baseline: A second checkpoint (e.g. the one-step model).
        windows: Held-out windows compared.
        seed: Seed of the windows and the sampling.
        device: ``auto``, ``cpu`` or ``cuda``.
        json: Write the per-step errors here.
        plot: Write a PNG of error against horizon here.
        noise_floor: With the data's behaviour policy (medium/expert), add its error floor (two real futures
            of one (s_t, a_t)) and each one-step model rolled out with actions that policy samples after a_t.
    """

    checkpoint: str
    dataset: str
    baseline: str | None = None
    windows: int = 500
    seed: int = 0
    device: str = "auto"
    json: str | None = None
    plot: str | None = None
    noise_floor: Literal["medium", "expert"] | None = None


@dataclass
class WorldModelExportOptions:
    """Options of ``world-model export``.

    Attributes:
        checkpoint: ``model.safetensors`` of a DWM or one-step model.
        out: The new ``.safetensors`` file (the package ships ``dwm_gym/world_model/assets``).
        weights_dtype: Storage of the network weights; normalizers and start states stay float32.
        data: The model's training dataset (Minari id): re-derive the data sample it carries, with the actions
            the pessimistic mode needs (checkpoints from before they were stored).
        resample_data: With ``--data``: a fresh sample of it (another generation).
        force: Replace an existing file.
    """

    checkpoint: str
    out: str
    weights_dtype: WeightsDtype = "float16"
    data: str | None = None
    resample_data: bool = False
    force: bool = False


def _world_model_train(args: argparse.Namespace) -> int:
    from dwm_gym.data import OfflineDataset
    from dwm_gym.world_model.registry import world_model_kind
    from dwm_gym.world_model.training import TrainingRun, train_world_model

    chosen = {
        name: getattr(args, name) for name in ("state_normalization", "prediction") if getattr(args, name) is not None
    }
    try:
        config = world_model_kind(args.kind).preset(args.preset, **chosen)
    except (TypeError, ValueError) as exc:
        options = " and ".join("--" + name.replace("_", "-") for name in chosen)
        raise SystemExit(f"{exc}: drop {options} for --kind {args.kind}") from exc
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

    options = dataclass_from_args(WorldModelEvalOptions, args)
    check_output_file(options.json, "--json")  # before the evaluation, not after it
    check_output_file(options.plot, "--plot")
    checkpoints = {"dwm" if options.baseline else "model": options.checkpoint}
    if options.baseline:
        checkpoints["baseline"] = options.baseline
    dataset = OfflineDataset.from_minari(options.dataset)
    policy = None
    if options.noise_floor:
        from dwm_gym.data.behavior.shipped import load_behavior_policy

        policy = load_behavior_policy(dataset.task.name, options.noise_floor) if dataset.task else None
        if policy is None:
            raise SystemExit(f"no {options.noise_floor} behaviour policy for {dataset.env_id}: drop --noise-floor")
    report = error_report(checkpoints, dataset, options.windows, options.seed, options.device, policy)
    print(format_table(report))
    write_report(report, options.json, options.plot)
    return 0


def _world_model_export(args: argparse.Namespace) -> int:
    from dwm_gym.world_model.export import export_checkpoint

    options = dataclass_from_args(WorldModelExportOptions, args)
    model = export_checkpoint(
        options.checkpoint,
        options.out,
        options.weights_dtype,
        data=options.data,
        resample=options.resample_data,
        force=options.force,
    )
    size = Path(options.out).stat().st_size / 1e6
    print(
        f"wrote {options.out} ({size:.2f} MB, {options.weights_dtype} weights, {model.kind}, "
        f"{model.info.get('dataset_id')})"
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
    from dwm_gym.world_model.dwm.config import StateNormalization
    from dwm_gym.world_model.dwm.diffusion import PREDICTIONS
    from dwm_gym.world_model.registry import kind_names, preset_names
    from dwm_gym.world_model.training import TrainingRun

    world_model = commands.add_parser("world-model", help="world models").add_subparsers(dest="action", required=True)
    wm_train = world_model.add_parser("train", help="train a world model on a Minari dataset (resumable)")
    wm_train.add_argument("--dataset", required=True, help="Minari id, e.g. dwm_gym/hopper/medium-v0")
    wm_train.add_argument(
        "--kind",
        default="dwm",
        choices=kind_names(),
        help="the diffusion world model, or the one-step baseline (default: %(default)s)",
    )
    wm_train.add_argument(
        "--preset",
        default="small",
        choices=preset_names(),
        help="model size and optimiser settings: small (2 CPU cores) or the paper's (default: %(default)s)",
    )
    wm_train.add_argument(
        "--state-normalization",
        default=None,
        choices=get_args(StateNormalization),
        help="DWM only: states diffused in CDF space (the paper's) or standardized (default: the preset's)",
    )
    wm_train.add_argument(
        "--prediction",
        default=None,
        choices=PREDICTIONS,
        help="DWM only: the denoiser predicts the noise (the paper's), x0 or v (default: the preset's)",
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
    add_dataclass_arguments(
        wm_eval,
        WorldModelEvalOptions,
        overrides={"windows": {"type": int_at_least(1)}, "seed": {"type": int_at_least(0)}},
    )
    wm_eval.set_defaults(func=_world_model_eval)
    wm_export = world_model.add_parser(
        "export", help="copy a checkpoint for shipping, e.g. with float16 weights (half the file)"
    )
    add_dataclass_arguments(wm_export, WorldModelExportOptions, positional={"checkpoint", "out"})
    wm_export.set_defaults(func=_world_model_export)
