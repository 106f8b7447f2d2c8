"""``dwm-gym`` command line: datasets, behaviour policies, world models, agents and the demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from dwm_gym.utils.cli_fields import add_dataclass_arguments, dataclass_from_args


def build_parser() -> argparse.ArgumentParser:
    """The ``dwm-gym`` argument parser."""
    from dwm_gym.cli.agent_commands import add_agent_parser
    from dwm_gym.cli.data_commands import add_data_parsers
    from dwm_gym.cli.sweep_commands import add_sweep_parser
    from dwm_gym.cli.world_model_commands import add_world_model_parser
    from dwm_gym.demo import DemoConfig

    parser = argparse.ArgumentParser(
        prog="dwm-gym", description="Diffusion World Models as Gymnasium envs and SB3 plug-ins."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    add_data_parsers(commands)
    add_world_model_parser(commands)
    add_agent_parser(commands)
    add_sweep_parser(commands)

    demo = commands.add_parser(
        "demo", help="the whole project in ~6 minutes on a CPU: data, imagined env, video, TD3BC vs DWM-TD3BC"
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
    from dwm_gym.utils.run_lock import LockedError

    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError, KeyError, LockedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
