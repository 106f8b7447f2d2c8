"""Command-line options derived from dataclasses: names, types, defaults and help from one place."""

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from dwm_gym.agents.runs import AgentRunConfig
from dwm_gym.cli.agent_commands import AgentEvalOptions
from dwm_gym.cli.data_commands import (
    BehaviorExportOptions,
    BehaviorTrainOptions,
    DatasetInfoOptions,
    DatasetMakeOptions,
)
from dwm_gym.cli.world_model_commands import WorldModelEvalOptions, WorldModelExportOptions
from dwm_gym.demo import DemoConfig
from dwm_gym.utils.cli_fields import add_dataclass_arguments, dataclass_from_args, field_docs, plain_help
from dwm_gym.world_model.training import TrainingRun

# every dataclass the ``dwm-gym`` parser derives options from (dwm_gym/cli/)
DERIVED = [
    AgentRunConfig,
    TrainingRun,
    DemoConfig,
    AgentEvalOptions,
    WorldModelEvalOptions,
    WorldModelExportOptions,
    DatasetMakeOptions,
    DatasetInfoOptions,
    BehaviorTrainOptions,
    BehaviorExportOptions,
]


@dataclass
class Settings:
    """Example settings.

    Attributes:
        steps: Updates to run; this description goes on
            over two lines.
        rate (float): Learning rate, 100%.
        name: ``auto`` or a name, see :func:`~dwm_gym.utils.cli_fields.field_docs`.
        target: Optional target.
        verbose: Talk more.
        cache: Keep a cache.
        mode: One of two modes.
        where: A folder.
        sizes: Not expressible on the command line.

    Raises:
        ValueError: Not an attribute.
    """

    steps: int
    rate: float = 0.5
    name: str = "auto"
    target: float | None = None
    verbose: bool = False
    cache: bool = True
    mode: Literal["fast", "slow"] = "fast"
    where: Path = Path("runs")
    sizes: list[int] = field(default_factory=list)


def parser_for(cls=Settings, **kwargs) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, cls, **{"exclude": ("sizes",), **kwargs})
    return parser


def test_field_docs_reads_the_attributes_section_only():
    docs = field_docs(Settings)
    assert list(docs) == [f.name for f in dataclasses.fields(Settings)]
    assert docs["steps"] == "Updates to run; this description goes on over two lines."
    assert docs["rate"] == "Learning rate, 100%."
    assert "ValueError" not in docs
    assert plain_help(docs["name"]) == "auto or a name, see field_docs."
    assert plain_help(docs["rate"]) == "Learning rate, 100%%."  # argparse formats help with %


def test_options_carry_the_fields_types_defaults_and_docs():
    parser = parser_for()
    args = parser.parse_args(["--steps", "3"])
    assert dataclass_from_args(Settings, args) == Settings(steps=3)
    args = parser.parse_args(
        "--steps 3 --rate 0.1 --name x --target 2 --verbose --no-cache --mode slow --where /tmp/a".split()
    )
    assert dataclass_from_args(Settings, args) == Settings(3, 0.1, "x", 2.0, True, False, "slow", Path("/tmp/a"))
    assert dataclass_from_args(Settings, args, steps=7, sizes=[1]).steps == 7
    with pytest.raises(SystemExit):  # a field without default is a required option
        parser.parse_args([])
    with pytest.raises(SystemExit):
        parser.parse_args(["--steps", "3", "--mode", "medium"])  # Literal -> choices
    helps = {a.dest: a.help for a in parser._actions}
    assert helps["steps"].startswith("Updates to run") and "(default" not in helps["steps"]
    assert helps["rate"] == "Learning rate, 100%% (default: %(default)s)"
    assert "--sizes" not in parser.format_help() and "Learning rate, 100% (default: 0.5)" in parser.format_help()


def test_rename_and_overrides():
    parser = parser_for(rename={"where": ["--out", "-o"]}, overrides={"steps": {"default": 9, "required": False}})
    args = parser.parse_args(["-o", "x"])
    assert args.where == Path("x") and args.steps == 9
    with pytest.raises(ValueError, match="no field"):
        parser_for(rename={"nope": "--nope"})


def test_positional_fields():
    parser = parser_for(positional={"steps"})
    args = parser.parse_args(["7", "--mode", "slow"])
    assert args.steps == 7 and args.mode == "slow"
    with pytest.raises(SystemExit):
        parser.parse_args(["seven"])  # typed like an option
    with pytest.raises(ValueError, match="Settings.rate has a default"):
        parser_for(positional={"rate"})


def test_every_command_takes_its_options_from_a_dataclass():
    """Each ``dwm-gym`` sub-command's options are the fields of its dataclass (plus a few run flags)."""
    from dwm_gym.cli import build_parser

    parser = build_parser()
    parsed = {
        "dataset make hopper-medium --no-train --steps 5": (DatasetMakeOptions, {"train_missing_policies": False}),
        "dataset info hopper-medium": (DatasetInfoOptions, {"id": "hopper-medium"}),
        "behavior train --task hopper --run-dir r": (BehaviorTrainOptions, {"run_dir": "r", "steps": 1_000_000}),
        "behavior export --task hopper --run-dir r --out o": (BehaviorExportOptions, {"eval_episodes": 50}),
        "world-model eval --checkpoint c --dataset d --noise-floor medium": (
            WorldModelEvalOptions,
            {"noise_floor": "medium", "windows": 500},
        ),
        "world-model export c o --weights-dtype float32": (WorldModelExportOptions, {"weights_dtype": "float32"}),
        "agent eval --model m.zip --algo iql": (AgentEvalOptions, {"algo": "iql", "refs": "d4rl"}),
    }
    for argv, (cls, expected) in parsed.items():
        options = dataclass_from_args(cls, parser.parse_args(argv.split()))
        assert {key: getattr(options, key) for key in expected} == expected, argv
    with pytest.raises(SystemExit):
        parser.parse_args("world-model export c o --weights-dtype bfloat16".split())  # a Literal's choices


def test_a_field_without_docstring_entry_is_an_error():
    @dataclass
    class Undocumented:
        """Settings.

        Attributes:
            documented: Yes.
        """

        documented: int = 0
        forgotten: int = 1

    with pytest.raises(ValueError, match="Undocumented.forgotten has no entry"):
        add_dataclass_arguments(argparse.ArgumentParser(), Undocumented)
    add_dataclass_arguments(argparse.ArgumentParser(), Undocumented, overrides={"forgotten": {"help": "given here"}})


def test_unsupported_types_are_an_error():
    with pytest.raises(TypeError, match="Settings.sizes"):
        add_dataclass_arguments(argparse.ArgumentParser(), Settings)


@pytest.mark.parametrize("cls", DERIVED, ids=lambda c: c.__name__)
def test_every_field_of_a_derived_dataclass_has_a_docstring_entry(cls):
    docs = field_docs(cls)
    missing = [f.name for f in dataclasses.fields(cls) if not docs.get(f.name, "").strip()]
    assert not missing, f"{cls.__name__}: add {missing} to the docstring's 'Attributes:' section (it is the --help)"
