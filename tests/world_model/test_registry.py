"""The registry of world-model kinds: each kind's class and presets, the CLI's choices and the bundled names."""

from dataclasses import dataclass

import pytest

from dwm_gym.world_model import DiffusionWorldModel, DWMConfig, OneStepConfig, OneStepModel, preset
from dwm_gym.world_model.bundled import checkpoint_filename
from dwm_gym.world_model.registry import (
    kind_names,
    model_class,
    preset_names,
    register_kind,
    unregister_kind,
    world_model_kind,
)


def test_the_built_in_kinds_and_their_presets():
    assert kind_names()[:2] == ("dwm", "onestep")
    assert model_class("dwm") is DiffusionWorldModel and model_class("onestep") is OneStepModel
    assert world_model_kind("dwm").preset("small") == preset("small")
    assert isinstance(world_model_kind("onestep").preset("paper"), OneStepConfig)
    assert set(preset_names()) >= {"small", "paper"}
    small = world_model_kind("dwm").preset("small", state_normalization="cdf")
    assert isinstance(small, DWMConfig) and small.state_normalization == "cdf" and small.dim == preset("small").dim
    with pytest.raises(ValueError, match="state_normalization: not a setting of the onestep model"):
        world_model_kind("onestep").preset("small", state_normalization="cdf")
    with pytest.raises(KeyError, match="no preset 'huge'"):
        world_model_kind("dwm").preset("huge")
    with pytest.raises(KeyError, match="known kinds: dwm, onestep"):
        world_model_kind("nope")
    with pytest.raises(ValueError, match="built-in kind 'dwm' cannot be removed"):
        unregister_kind("dwm")


@dataclass
class TinyConfig:
    """Settings of the registered test kind."""

    width: int = 4


class TinyModel(OneStepModel):
    kind = "test-tiny"


def test_a_registered_kind_gives_the_cli_its_choices_and_the_bundled_files_their_names():
    from dwm_gym.cli import build_parser

    with pytest.raises(ValueError, match="kind must be one of"):
        checkpoint_filename("hopper", "medium", "test-tiny")
    register_kind(TinyModel, presets={"micro": TinyConfig()})
    try:
        assert "test-tiny" in kind_names() and "micro" in preset_names()
        assert world_model_kind("test-tiny").preset("micro", width=8) == TinyConfig(width=8)
        assert (
            checkpoint_filename("hopper", "medium-replay", "test-tiny") == "hopper_medium_replay_test-tiny.safetensors"
        )
        args = build_parser().parse_args(
            "world-model train --dataset d --out o --kind test-tiny --preset micro".split()
        )
        assert (args.kind, args.preset) == ("test-tiny", "micro")
        with pytest.raises(ValueError, match="taken by TinyModel"):
            register_kind(type("Other", (OneStepModel,), {"kind": "test-tiny"}))
    finally:
        unregister_kind("test-tiny")
    assert "test-tiny" not in kind_names() and "micro" not in preset_names()
    with pytest.raises(SystemExit):
        build_parser().parse_args("world-model train --dataset d --out o --kind test-tiny".split())
