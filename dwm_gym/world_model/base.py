"""``WorldModel``: the interface every world-model kind implements, and the :class:`Segment` it returns.

Callers (the imagined envs, the MVE replay buffers, the error report, checkpoints) only use what
this base class declares, so a new kind of model plugs in by subclassing it and registering its
class under its ``kind`` (:func:`dwm_gym.world_model.registry.register_kind`):

* sizes and identity: ``obs_dim``, ``action_dim``, ``env_id``, ``device``, ``segment_length`` (T,
  the longest future one call generates; ``None`` when the model can roll out any number of steps);
* what travels with a checkpoint: ``info`` (its JSON header) and ``start_states`` (dataset states
  the envs start from);
* conditioning: ``uses_rtg`` / :attr:`~WorldModel.default_rtg` (return-to-go targets),
  ``needs_policy`` (whether steps after the first need actions from a policy), ``sampler_class``
  (per-call sampler settings, see :meth:`WorldModel.sampler_settings`);
* one call: :meth:`WorldModel.rollout` ``(obs, action, steps) -> Segment``, whose states and rewards
  are finite, with states within the training data's range (each kind bounds what it samples to it).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from dwm_gym.data.gaussian_normalizer import GaussianNormalizer
from dwm_gym.data.normalizers import CDFNormalizer, MinMaxNormalizer
from dwm_gym.world_model.rtg import default_rtg
from dwm_gym.world_model.termination import segment_terminated

if TYPE_CHECKING:
    from dwm_gym.data.offline_dataset import OfflineDataset
    from dwm_gym.world_model.training_setup import TrainingSetup

# What a rollout's actions after a_t come from: a policy (states -> env-unit actions) or a given
# sequence (B, steps - 1, action_dim).
ActionSource = Callable[[torch.Tensor], torch.Tensor] | torch.Tensor | np.ndarray
Normalizer = CDFNormalizer | GaussianNormalizer | MinMaxNormalizer


@dataclass
class Segment:
    """``n`` imagined transitions from (s_t, a_t), in raw (unnormalized) units.

    Attributes:
        states: ``(B, n, obs_dim)`` ŝ_{t+1} .. ŝ_{t+n}.
        rewards: ``(B, n)`` r̂_t .. r̂_{t+n-1}.
        terminated: ``(B, n)`` True from the first transition whose next state breaks the env's
            termination rule (cumulative). All False for envs without a rule.
    """

    states: torch.Tensor
    rewards: torch.Tensor
    terminated: torch.Tensor

    def __len__(self) -> int:
        return self.rewards.shape[1]


class WorldModel(nn.Module, ABC):
    """Base class of the world models (see the module docstring).

    Args:
        obs_dim: State size.
        action_dim: Action size.
        state_normalizer: Fitted state normalizer.
        reward_normalizer: Fitted reward normalizer.
        env_id: Gymnasium id (selects the termination rule), optional.
        info: The checkpoint's JSON header (empty for a model that was never saved).
        start_states: Dataset states that travel with the model: ``episode_starts`` and
            ``states`` (a sample of all states), each ``(n, obs_dim)``.

    Attributes:
        kind: The checkpoint ``kind`` of the class (``"dwm"``, ``"onestep"``...).
        uses_rtg: The model is conditioned on a return-to-go target.
        needs_policy: Steps after the first need actions (``policy=``) from the caller; a model
            without this need imagines a whole segment from (s_t, a_t) alone, so its segments do
            not depend on the policy being trained and can be cached.
        sampler_class: Dataclass of the per-call sampler settings, or None when there are none.
    """

    kind: ClassVar[str]
    uses_rtg: ClassVar[bool] = False
    needs_policy: ClassVar[bool] = False
    sampler_class: ClassVar[type | None] = None

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        state_normalizer: Normalizer,
        reward_normalizer: Normalizer,
        env_id: str | None = None,
        info: Mapping[str, Any] | None = None,
        start_states: Mapping[str, ArrayLike] | None = None,
    ) -> None:
        super().__init__()
        self.obs_dim, self.action_dim, self.env_id = int(obs_dim), int(action_dim), env_id
        self.state_normalizer, self.reward_normalizer = state_normalizer, reward_normalizer
        self.info: dict[str, Any] = dict(info or {})
        self.start_states: dict[str, np.ndarray] = {
            key: np.asarray(value, dtype=np.float32) for key, value in (start_states or {}).items()
        }
        # an instance of ``sampler_class`` (a dataclass), None for a model without sampler settings
        self.sampler: Any = None if self.sampler_class is None else self.sampler_class()
        self._anchor: torch.Tensor
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    # ------------------------------------------------------------------ declared properties
    @property
    def device(self) -> torch.device:
        """The device of the model's tensors."""
        return self._anchor.device

    @property
    @abstractmethod
    def segment_length(self) -> int | None:
        """T: states and rewards one call generates (``None``: any number of steps)."""

    @property
    def max_steps(self) -> int | None:
        """The most transitions :meth:`rollout` returns (T - 1; ``None``: no limit)."""
        return None if self.segment_length is None else self.segment_length - 1

    @property
    def default_rtg(self) -> float | None:
        """The RTG target used when none is given: the median of the training data's (None without RTG)."""
        return default_rtg(self.info) if self.uses_rtg else None

    def resolve_rtg(self, rtg: float | None) -> float | None:
        """``rtg`` validated (finite), or :attr:`default_rtg` when None; None for models without RTG.

        Raises:
            ValueError: On a non-finite ``rtg`` (see :func:`dwm_gym.world_model.rtg.default_rtg`).
        """
        return default_rtg(self.info, rtg) if self.uses_rtg else None

    @abstractmethod
    def config_dict(self) -> dict[str, Any]:
        """The JSON-able settings a checkpoint stores to rebuild the model with :meth:`from_config`."""

    @classmethod
    @abstractmethod
    def from_config(cls, config: Mapping[str, Any], sampler: Mapping[str, Any] | None, **common: Any) -> WorldModel:
        """A model of this kind from a checkpoint's ``config`` (and ``sampler``) and the common arguments."""

    @classmethod
    def training_setup(
        cls, train: OfflineDataset, held: OfflineDataset, config: Any, info: dict[str, Any], seed: int
    ) -> TrainingSetup:
        """A fresh model of ``config`` fitted to ``train`` and the batches to train it on.

        Args:
            train: The training episodes.
            held: The held-out episodes.
            config: The kind's settings dataclass (its ``kind`` names this class).
            info: The header the model will carry; the kind may add entries (e.g. RTG statistics).
            seed: Seed of the start-state sample.

        Raises:
            NotImplementedError: For kinds that are not trained by ``train_world_model`` (e.g. analytic models).
        """
        raise NotImplementedError(f"world-model kind {cls.kind!r} does not define training_setup()")

    @abstractmethod
    def loss(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """The training loss on a raw-unit batch."""

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """The training loss (so ``DistributedDataParallel`` can wrap the model); see :meth:`loss`."""
        return self.loss(*args, **kwargs)

    @abstractmethod
    def rollout(
        self,
        obs: ArrayLike,
        action: ArrayLike,
        steps: int | None = None,
        *,
        rtg: float | ArrayLike | None = None,
        policy: ActionSource | None = None,
        generator: torch.Generator | None = None,
        sampler: Any = None,
    ) -> Segment:
        """Imagines ``steps`` transitions from (s_t, a_t) for every row.

        Args:
            obs: s_t, ``(B, obs_dim)`` or ``(obs_dim,)`` raw states (numpy or torch).
            action: a_t, ``(B, action_dim)`` in env units.
            steps: Transitions n (1 .. :attr:`max_steps`); None: :attr:`max_steps`.
            rtg: Return-to-go target (float or ``(B,)``) of models that use one; None:
                :attr:`default_rtg`.
            policy: The actions after a_t, for models that need them: a function of the states
                ``(B, obs_dim) -> (B, action_dim)``, or a ``(B, steps - 1, action_dim)`` sequence.
            generator: Torch generator on the model's device, for reproducible samples.
            sampler: Per-call sampler settings (see :meth:`sampler_settings`).

        Returns:
            The :class:`Segment`, on the model's device. Its states and rewards are finite, and its states
            lie within the training data's per-dimension range (the fitted state normalizer's min and
            max), however far the actions are from the data's: the envs and the MVE targets rely on it.
        """

    # ------------------------------------------------------------------ helpers for subclasses
    def sampler_settings(self, overrides: Mapping[str, Any] | Any = None) -> Any:
        """The model's sampler settings with ``overrides`` (a mapping or a ``sampler_class`` instance).

        Raises:
            ValueError: When the model has no sampler settings, or on unknown keys (listing the known ones).
        """
        if overrides is None:
            return self.sampler
        if self.sampler_class is None:
            raise ValueError(f"a {self.kind!r} world model has no sampler settings; pass sampler=None")
        if isinstance(overrides, self.sampler_class):
            return overrides
        known = [f.name for f in dataclasses.fields(self.sampler_class)]
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ValueError(f"unknown sampler settings {unknown}; expected some of {known}")
        return dataclasses.replace(self.sampler, **overrides)

    def check_steps(self, steps: int | None) -> int:
        """``steps`` validated against :attr:`max_steps` (None: :attr:`max_steps`)."""
        limit = self.max_steps
        if steps is None:
            if limit is None:
                raise ValueError(f"a {self.kind!r} world model rolls out any number of steps: pass steps=")
            return limit
        if not isinstance(steps, (int, np.integer)) or steps < 1 or (limit is not None and steps > limit):
            bound = "" if limit is None else f" and <= {limit} (T - 1, T = {self.segment_length})"
            raise ValueError(f"steps must be an integer >= 1{bound}, got {steps!r}")
        return int(steps)

    def as_batch(self, obs: ArrayLike, action: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, obs_dim)`` and ``(B, action_dim)`` float tensors on the model's device, shapes checked."""
        obs_t = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        act_t = torch.as_tensor(action, dtype=torch.float32, device=self.device)
        if obs_t.dim() == 1:
            obs_t, act_t = obs_t[None], act_t.reshape(1, -1)
        if obs_t.dim() != 2 or obs_t.shape[-1] != self.obs_dim or act_t.shape != (obs_t.shape[0], self.action_dim):
            raise ValueError(
                f"expected obs (B, {self.obs_dim}) and action (B, {self.action_dim}), got {tuple(obs_t.shape)} "
                f"and {tuple(act_t.shape)}"
            )
        return obs_t, act_t

    def terminated(self, states: torch.Tensor) -> torch.Tensor:
        """Cumulative termination flags ``(B, n)`` of imagined states ``(B, n, obs_dim)``."""
        return segment_terminated(self.env_id, states)[:, : states.shape[1]]


def next_actions(policy: ActionSource | None, states: torch.Tensor, step: int) -> torch.Tensor:
    """The action after ``states`` at rollout step ``step`` (1-based) from a policy or a given sequence.

    Raises:
        ValueError: When ``policy`` is None (the caller must provide the actions after a_t).
    """
    if policy is None:
        raise ValueError(
            "this world model needs the actions after a_t: pass policy= (a function of the states, or a "
            "(B, steps - 1, action_dim) sequence)"
        )
    if callable(policy):
        with torch.no_grad():
            return torch.as_tensor(policy(states), dtype=torch.float32, device=states.device)
    return torch.as_tensor(policy, dtype=torch.float32, device=states.device)[:, step - 1]
