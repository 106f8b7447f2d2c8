"""The world-model kinds: each kind's class and presets, and :func:`load_world_model`, which builds any of them.

A checkpoint's header names its ``kind``; :func:`load_world_model` builds it with
``model_class(kind).from_config(...)``. The table also gives the command line its choices (``--kind``,
``--preset``) and the bundled checkpoints their names (``{task}_{quality}_{kind}.safetensors``). A new
kind of world model becomes loadable (and so usable by the envs, the MVE buffers and
``world-model eval``) by registering its class:

    register_kind(MyModel)   # MyModel.kind == "mine"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from dwm_gym.utils.device import resolve_device
from dwm_gym.world_model.base import WorldModel
from dwm_gym.world_model.checkpoint import file_sha256, load_normalizers, read_header, read_tensors, validate_env
from dwm_gym.world_model.dwm import PRESETS, DiffusionWorldModel
from dwm_gym.world_model.errors import CheckpointError
from dwm_gym.world_model.onestep import ONESTEP_PRESETS, OneStepModel

if TYPE_CHECKING:
    import gymnasium as gym


@dataclass(frozen=True)
class WorldModelKind:
    """One kind of world model: its class and its named settings.

    Attributes:
        model_class: The :class:`WorldModel` subclass (its ``kind`` names the kind).
        presets: Preset name -> the settings (a config dataclass) ``world-model train --preset`` trains with.
    """

    model_class: type[WorldModel]
    presets: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The checkpoint ``kind``, e.g. ``"dwm"``."""
        return self.model_class.kind

    def preset(self, name: str, **overrides: Any) -> Any:
        """A copy of preset ``name`` with ``overrides`` applied.

        Raises:
            KeyError: Listing this kind's presets.
            ValueError: When an override is not a setting of this kind.
        """
        if name not in self.presets:
            raise KeyError(f"the {self.name} model has no preset {name!r}; presets: {', '.join(self.presets)}")
        base = self.presets[name]
        unknown = sorted(set(overrides) - set(base.__dataclass_fields__))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a setting of the {self.name} model")
        return replace(base, **overrides)


BUILT_IN = (WorldModelKind(DiffusionWorldModel, PRESETS), WorldModelKind(OneStepModel, ONESTEP_PRESETS))
_KINDS: dict[str, WorldModelKind] = {spec.name: spec for spec in BUILT_IN}


def register_kind(
    model_class: type[WorldModel], replace: bool = False, presets: Mapping[str, Any] | None = None
) -> type[WorldModel]:
    """Adds ``model_class`` under its ``kind`` (usable as a class decorator).

    Raises:
        TypeError: If it is not a :class:`WorldModel` subclass.
        ValueError: If the kind is taken by another class and ``replace`` is False.
    """
    if not (isinstance(model_class, type) and issubclass(model_class, WorldModel)):
        raise TypeError(f"expected a WorldModel subclass, got {model_class!r}")
    kind = model_class.kind
    taken = _KINDS.get(kind)
    if taken is not None and taken.model_class is not model_class and not replace:
        raise ValueError(f"world-model kind {kind!r} is taken by {taken.model_class.__name__}; pass replace=True")
    _KINDS[kind] = WorldModelKind(model_class, dict(presets or {}))
    return model_class


def unregister_kind(kind: str) -> None:
    """Removes ``kind`` from the table (the built-in kinds stay)."""
    if kind in {spec.name for spec in BUILT_IN}:
        raise ValueError(f"the built-in kind {kind!r} cannot be removed")
    _KINDS.pop(kind, None)


def world_model_kind(kind: str) -> WorldModelKind:
    """The registered kind ``kind``.

    Raises:
        KeyError: Naming the known kinds.
    """
    if kind not in _KINDS:
        raise KeyError(f"unknown world-model kind {kind!r}; known kinds: {', '.join(sorted(_KINDS))}")
    return _KINDS[kind]


def model_class(kind: str) -> type[WorldModel]:
    """The class of checkpoint kind ``kind``.

    Raises:
        KeyError: Naming the known kinds.
    """
    return world_model_kind(kind).model_class


def kind_names() -> tuple[str, ...]:
    """The registered kinds, built-in ones first (``dwm``, ``onestep``, then the registered ones)."""
    return tuple(_KINDS)


def preset_names() -> tuple[str, ...]:
    """Every preset name some registered kind has (the ``--preset`` choices)."""
    return tuple(dict.fromkeys(name for spec in _KINDS.values() for name in spec.presets))


def load_world_model(
    path: str | os.PathLike, env: gym.Env | str | None = None, device: str | torch.device = "cpu"
) -> WorldModel:
    """Loads a checkpoint of any registered kind, validated against ``env`` when given.

    Args:
        path: The ``.safetensors`` file.
        env: A Gymnasium env (or env id) the model must match (obs/action sizes, id).
        device: Where to put the model (``"auto"``: CUDA when available).

    Returns:
        The model in eval mode; its ``info`` is the header (plus ``path``, the file it came from).

    Raises:
        CheckpointError: On unreadable files, an unknown kind or a mismatch with ``env`` (the message names it).
    """
    header = read_header(path)
    validate_env(header, env, path)
    tensors = read_tensors(path)
    norms = load_normalizers(header, tensors)
    try:
        cls = model_class(header["kind"])
    except KeyError as exc:
        raise CheckpointError(f"{path}: {exc.args[0]}") from exc
    try:
        model = cls.from_config(
            header["config"],
            header.get("sampler"),
            obs_dim=header["obs_dim"],
            action_dim=header["action_dim"],
            state_normalizer=norms["state_normalizer"],
            reward_normalizer=norms["reward_normalizer"],
            env_id=header["env_id"],
            info={**header, "path": str(Path(path).resolve()), "sha256": file_sha256(path)},
            start_states={k[len("data.") :]: v.numpy() for k, v in tensors.items() if k.startswith("data.")},
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: header 'config' / 'sampler' do not fit kind {header['kind']!r} ({type(exc).__name__}: {exc})"
        ) from exc
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not match the config in its header: {exc}") from exc
    return model.to(resolve_device(device)).eval()
