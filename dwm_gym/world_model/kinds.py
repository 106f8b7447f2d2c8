"""The kind → class table checkpoints pick their model class from.

A checkpoint's header names its ``kind``; :func:`dwm_gym.world_model.checkpoint.load_world_model`
builds it with ``model_class(kind).from_config(...)``. A new kind of world model becomes loadable
(and so usable by the envs, the MVE buffers and ``world-model eval``) by registering its class:

    register_kind(MyModel)   # MyModel.kind == "mine"
"""

from __future__ import annotations

from dwm_gym.world_model.base import WorldModel
from dwm_gym.world_model.model import DiffusionWorldModel
from dwm_gym.world_model.one_step import OneStepModel

MODEL_KINDS: dict[str, type[WorldModel]] = {
    DiffusionWorldModel.kind: DiffusionWorldModel,
    OneStepModel.kind: OneStepModel,
}


def register_kind(model_class: type[WorldModel], replace: bool = False) -> type[WorldModel]:
    """Adds ``model_class`` under its ``kind`` (usable as a class decorator).

    Raises:
        TypeError: If it is not a :class:`WorldModel` subclass.
        ValueError: If the kind is taken by another class and ``replace`` is False.
    """
    if not (isinstance(model_class, type) and issubclass(model_class, WorldModel)):
        raise TypeError(f"expected a WorldModel subclass, got {model_class!r}")
    kind = model_class.kind
    if MODEL_KINDS.get(kind, model_class) is not model_class and not replace:
        raise ValueError(f"world-model kind {kind!r} is taken by {MODEL_KINDS[kind].__name__}; pass replace=True")
    MODEL_KINDS[kind] = model_class
    return model_class


def unregister_kind(kind: str) -> None:
    """Removes ``kind`` from the table (the built-in kinds stay)."""
    if kind in (DiffusionWorldModel.kind, OneStepModel.kind):
        raise ValueError(f"the built-in kind {kind!r} cannot be removed")
    MODEL_KINDS.pop(kind, None)


def model_class(kind: str) -> type[WorldModel]:
    """The class of checkpoint kind ``kind``.

    Raises:
        KeyError: Naming the known kinds.
    """
    if kind not in MODEL_KINDS:
        raise KeyError(f"unknown world-model kind {kind!r}; known kinds: {', '.join(sorted(MODEL_KINDS))}")
    return MODEL_KINDS[kind]
