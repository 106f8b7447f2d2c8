"""``ImaginedEnvConfig``: the settings the single and the vector imagined env share, declared once."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from dwm_gym.data.specs import task_spec
from dwm_gym.envs.imagination import Imagination
from dwm_gym.envs.pessimism import PessimismConfig
from dwm_gym.envs.start_states import StartStates
from dwm_gym.utils.deprecation import warn_deprecated
from dwm_gym.utils.device import resolve_device
from dwm_gym.utils.validation import discount, finite, integer
from dwm_gym.world_model.base import WorldModel
from dwm_gym.world_model.bundled import resolve_checkpoint
from dwm_gym.world_model.checkpoint import CheckpointError, load_world_model


@dataclass
class ImaginedEnvConfig:
    """What an imagined env imagines with, and how (keyword arguments of both imagined envs).

    Attributes:
        checkpoint: A ``.safetensors`` world model; default: resolved from ``task``/``quality``
            (``$DWM_GYM_HOME`` first, then the checkpoints bundled with the package).
        task: ``hopper``, ``walker2d`` or ``halfcheetah`` (checkpoint look-up).
        quality: Dataset quality, e.g. ``medium`` (checkpoint look-up).
        kind: ``dwm`` or ``onestep`` (checkpoint look-up).
        model: An already loaded world model (overrides the checkpoint).
        horizon: H, env steps imagined per ``step()``: 1 returns ŝ_{t+1} and r̂_t; H > 1 (up to
            T - 1, models that need no policy only) returns ŝ_{t+H} and Σ_{h<H} γ^h r̂_{t+h}.
        rtg: Scaled RTG target of RTG-conditioned models; default: the median RTG of the
            training data (stored in the checkpoint).
        gamma: Discount of the rewards inside a segment.
        sampler: Sampler settings of the model, e.g. ``{"guidance_weight": 1.0}`` (a DWM's keys:
            the fields of :class:`~dwm_gym.world_model.config.SamplerConfig`).
        start_states: ``episode_starts`` (dataset episode starts), ``dataset`` (any dataset
            state) or ``env`` (the real env's reset); ``reset(options=...)`` overrides it.
        device: Torch device of the sampler (``auto``: CUDA when available).
        pessimism: The pessimistic mode: a dict of :class:`~dwm_gym.envs.pessimism.PessimismConfig`'s
            fields (e.g. ``{"signal": "disagreement", "threshold": 0.5, "penalty": -10.0}``) or an
            instance; None (default) is off. Its signal goes to ``info["uncertainty"]``.
        segment_length: Deprecated name of ``horizon``.
    """

    checkpoint: str | os.PathLike | None = None
    task: str | None = None
    quality: str | None = None
    kind: str = "dwm"
    model: WorldModel | None = None
    horizon: int = 1
    rtg: float | None = None
    gamma: float = 0.99
    sampler: dict[str, Any] | None = None
    start_states: str = "episode_starts"
    device: str = "auto"
    pessimism: PessimismConfig | dict[str, Any] | None = None
    segment_length: dataclasses.InitVar[int | None] = None

    def __post_init__(self, segment_length: int | None) -> None:
        if segment_length is not None:
            warn_deprecated("segment_length= is deprecated: the imagined env's H is horizon=")
            self.horizon = integer("segment_length", segment_length)  # named as the caller spelled it
        self.horizon = integer("horizon", self.horizon)
        self.gamma = discount("gamma", self.gamma)
        self.rtg = None if self.rtg is None else finite("rtg", self.rtg)
        StartStates.check_mode(self.start_states)
        self.pessimism = PessimismConfig.from_option(self.pessimism)
        resolve_device(self.device)  # an unknown or absent device fails here, before any model is loaded

    @classmethod
    def from_kwargs(cls, owner: str, kwargs: dict[str, Any]) -> ImaginedEnvConfig:
        """The settings from an env's keyword arguments.

        Raises:
            TypeError: On unknown keywords, listing the accepted ones.
        """
        known = [f.name for f in dataclasses.fields(cls)] + ["segment_length"]
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise TypeError(f"{owner} got unknown keyword arguments {unknown}; accepted: {', '.join(known)}")
        return cls(**kwargs)

    def load_model(self) -> WorldModel:
        """``model`` as given, else the resolved checkpoint on ``device``; checked against ``task``'s env.

        Raises:
            ValueError: When neither a model, a checkpoint nor task and quality are given.
            CheckpointError: When the model or checkpoint is for another env than ``task``'s (e.g. a
                hopper checkpoint given to ``DWM-walker2d-medium-v0``).
        """
        env_id = task_spec(self.task).env_id if self.task is not None else None
        if self.model is not None:
            if env_id is not None and self.model.env_id not in (None, env_id):
                raise CheckpointError(
                    f"model= is a world model of {self.model.env_id}, but this env imagines {env_id} ({self.task})"
                )
            return self.model
        if self.checkpoint is None and (self.task is None or self.quality is None):
            raise ValueError(
                "pass checkpoint='model.safetensors', model=..., or task= and quality= ('hopper', 'medium')"
            )
        path = resolve_checkpoint(self.task or "", self.quality or "", self.kind, self.checkpoint)
        return load_world_model(path, env=env_id, device=resolve_device(self.device))


# the InitVar's default would otherwise stay behind as a class attribute (config.segment_length == None)
del ImaginedEnvConfig.segment_length


@dataclass
class ImaginedEnvParts:
    """What both imagined envs are built from.

    Attributes:
        config: The validated settings.
        imagination: The batched imagination step.
        starts: The start-state sampler.
        observation_space: The real env's observation space (of one env).
        action_space: The real env's action space (of one env).
        real_fps: The real env's ``render_fps``.
    """

    config: ImaginedEnvConfig
    imagination: Imagination
    starts: StartStates
    observation_space: gym.Space
    action_space: gym.Space
    real_fps: int


def build_parts(owner: str, settings: dict[str, Any]) -> ImaginedEnvParts:
    """Validates an env's keyword ``settings``, loads its model and builds the shared parts.

    Args:
        owner: The env class name (for error messages).
        settings: The env's keyword arguments (fields of :class:`ImaginedEnvConfig`).
    """
    config = ImaginedEnvConfig.from_kwargs(owner, settings)
    model = config.load_model()
    imagination = Imagination(model, config.horizon, config.rtg, config.gamma, config.sampler, config.pessimism)
    real = gym.make(model.env_id)
    try:
        spaces = real.observation_space, real.action_space
        fps = int(real.metadata.get("render_fps", 125))
    finally:
        real.close()
    return ImaginedEnvParts(config, imagination, StartStates(model, config.start_states), *spaces, fps)
