"""Command-line options derived from dataclasses: names, types, defaults and help from one place."""

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from dwm_gym.agents.runs import AgentRunConfig
from dwm_gym.demo import DemoConfig
from dwm_gym.utils.cli_fields import add_dataclass_arguments, dataclass_from_args, field_docs, plain_help
from dwm_gym.world_model.training import TrainingRun

# every dataclass the ``dwm-gym`` parser derives options from (dwm_gym/cli/)
DERIVED = [AgentRunConfig, TrainingRun, DemoConfig]


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
