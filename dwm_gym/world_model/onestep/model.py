"""``OneStepModel``: the paper's one-step baseline (docs/paper.md#one-step-mve-baseline).

A single Gaussian f_θ(s_{t+1}, r_t | s_t, a_t) = N(μ_θ, diag σ²_θ): μ and σ from two separate
4-layer, 256-unit ReLU MLPs (softplus on σ), trained by maximum likelihood. It predicts the state
*difference* in normalized units (standard practice for dynamics models; documented choice), and
rolls out step by step, with given actions or with a policy, so it can stand in for the DWM.

Each sampled state and reward is clamped to the training data's per-dimension range (the min-max
normalizers' fitted min and max), as the DWM's normalizers clamp what it samples: a Gaussian step
adds its error to the state it starts from, so under actions far from the data's a rollout would
otherwise compound to inf (the halfcheetah-medium model reaches 1e16 in 100 random-action steps).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn
from torch.nn import functional as F

from dwm_gym.data.normalizers import MinMaxNormalizer
from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.world_model.base import ActionSource, Segment, WorldModel, next_actions
from dwm_gym.world_model.training_setup import TrainingSetup, dataset_start_states


def _mlp(inp: int, out: int, hidden: int, layers: int) -> nn.Sequential:
    mods: list[nn.Module] = []
    last = inp
    for _ in range(layers):
        mods += [nn.Linear(last, hidden), nn.ReLU()]
        last = hidden
    mods.append(nn.Linear(last, out))
    return nn.Sequential(*mods)


@dataclass
class OneStepConfig:
    """Settings of the one-step baseline (docs/paper.md#one-step-mve-baseline: 4×256 MLPs, Adam 1e-4, 1M iterations).

    Attributes:
        hidden: MLP width.
        layers: Hidden layers per MLP.
        learning_rate: Adam learning rate.
        batch_size: Training batch.
        train_steps: Default training iterations.
    """

    kind: ClassVar[str] = "onestep"
    hidden: int = 256
    layers: int = 4
    learning_rate: float = 1e-4
    batch_size: int = 256
    train_steps: int = 1_000_000


# what a checkpoint's ``config`` may hold: the network sizes, and the segment length older ones stored
_STORED_CONFIG_KEYS = {"hidden", "layers", "horizon", "segment_length"}

ONESTEP_PRESETS: dict[str, OneStepConfig] = {
    "paper": OneStepConfig(),
    "small": OneStepConfig(learning_rate=3e-4, train_steps=60_000),
}


class TransitionBatches:
    """One-step training batches: single real transitions (s, a, r, s') (``loss`` keyword arguments)."""

    def __init__(self, data: OfflineDataset) -> None:
        self.transitions = data.transitions

    def __len__(self) -> int:
        return len(self.transitions["rewards"])

    def batch(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """State, action, next state and reward of transitions ``idx``."""
        t = self.transitions
        return {
            "obs": t["observations"][idx],
            "action": t["actions"][idx],
            "next_obs": t["next_observations"][idx],
            "reward": t["rewards"][idx],
        }


def within_range(values: torch.Tensor, normalizer: MinMaxNormalizer) -> torch.Tensor:
    """``values`` in raw units clamped to the normalizer's fitted min and max.

    Args:
        values: ``(..., dim)`` values, or ``(...)`` ones for a normalizer fitted on a scalar range (rewards).
        normalizer: The fitted normalizer whose range bounds them (the one source of the bound).
    """
    fitted = normalizer.state_dict()
    low, high = (torch.as_tensor(fitted[k], dtype=values.dtype, device=values.device) for k in ("low", "high"))
    if len(low) == 1:
        low, high = low[0], high[0]
    return values.clamp(low, high)


class OneStepModel(WorldModel):
    """Gaussian one-step dynamics and reward model.

    Args:
        obs_dim: State size.
        action_dim: Action size.
        state_normalizer: Per-dimension min-max normalizer of states (fitted); its range bounds the states
            the model samples.
        reward_normalizer: Min-max normalizer of rewards (fitted); its range bounds the sampled rewards.
        hidden: MLP width (256).
        layers: Hidden layers per MLP (4).
        env_id: Gymnasium id (termination rule).
        info: The checkpoint's JSON header.
        start_states: Dataset states that travel with the model (see :class:`WorldModel`).

    Raises:
        TypeError: When a normalizer is not a :class:`~dwm_gym.data.normalizers.MinMaxNormalizer`.
    """

    kind = "onestep"
    uses_rtg = False
    needs_policy = True

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        state_normalizer: MinMaxNormalizer,
        reward_normalizer: MinMaxNormalizer,
        hidden: int = 256,
        layers: int = 4,
        env_id: str | None = None,
        info: Mapping[str, Any] | None = None,
        start_states: Mapping[str, ArrayLike] | None = None,
    ) -> None:
        for name, normalizer in (("state", state_normalizer), ("reward", reward_normalizer)):
            if not isinstance(normalizer, MinMaxNormalizer):
                raise TypeError(
                    f"a one-step model's {name} normalizer must be a fitted MinMaxNormalizer (its range bounds the "
                    f"rollouts), got {type(normalizer).__name__}"
                )
        super().__init__(obs_dim, action_dim, state_normalizer, reward_normalizer, env_id, info, start_states)
        self.state_normalizer: MinMaxNormalizer = state_normalizer  # their fitted ranges bound what the model samples
        self.reward_normalizer: MinMaxNormalizer = reward_normalizer
        self.hidden, self.layers = hidden, layers
        self.mean_net = _mlp(obs_dim + action_dim, obs_dim + 1, hidden, layers)
        self.std_net = _mlp(obs_dim + action_dim, obs_dim + 1, hidden, layers)

    @property
    def segment_length(self) -> None:
        """None: the model steps as often as asked."""
        return None

    def config_dict(self) -> dict[str, Any]:
        """The network sizes."""
        return {"hidden": self.hidden, "layers": self.layers}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], sampler: Mapping[str, Any] | None, **common: Any) -> OneStepModel:
        """A one-step model from a checkpoint's ``config`` (older ones also stored a segment length)."""
        if sampler:
            raise ValueError("a one-step checkpoint has no sampler settings")
        unknown = sorted(set(config) - _STORED_CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown one-step config keys {unknown}; known: {sorted(_STORED_CONFIG_KEYS)}")
        return cls(**common, hidden=int(config["hidden"]), layers=int(config["layers"]))

    @classmethod
    def training_setup(
        cls, train: OfflineDataset, held: OfflineDataset, config: OneStepConfig, info: dict[str, Any], seed: int
    ) -> TrainingSetup:
        """A one-step model with min-max normalizers on transition batches, saved as trained (no EMA)."""
        states = np.concatenate([e.observations for e in train.episodes])
        model = cls(
            train.obs_dim,
            train.action_dim,
            MinMaxNormalizer().fit(states),
            MinMaxNormalizer().fit(train.transitions["rewards"]),
            config.hidden,
            config.layers,
            env_id=train.env_id,
            info=info,
            start_states=dataset_start_states(train, np.random.default_rng(seed)),
        )
        return TrainingSetup(model, TransitionBatches(train), TransitionBatches(held), None)

    def _dist(self, obs_n: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([obs_n, action], dim=-1)
        return self.mean_net(x), F.softplus(self.std_net(x)) + 1e-4

    def loss(
        self,
        obs: torch.Tensor,
        action: torch.Tensor,
        next_obs: torch.Tensor,
        reward: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Gaussian negative log-likelihood of (Δŝ, r) in normalized units (raw-unit inputs).

        ``generator`` is accepted for a common signature with the DWM; no noise is drawn.
        """
        obs_n, next_n = self.state_normalizer.normalize(obs), self.state_normalizer.normalize(next_obs)
        target = torch.cat([next_n - obs_n, self.reward_normalizer.normalize(reward).reshape(-1, 1)], dim=-1)
        mean, std = self._dist(obs_n, action)
        return (((target - mean) / std) ** 2 / 2 + std.log()).mean()

    @torch.no_grad()
    def step(
        self, obs: torch.Tensor, action: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples (s_{t+1}, r_t) in raw units for raw ``obs`` and ``action``, within the data's range."""
        obs_n = self.state_normalizer.normalize(obs)
        mean, std = self._dist(obs_n, action)
        sample = mean + std * torch.randn(mean.shape, device=mean.device, generator=generator)
        next_obs = self.state_normalizer.unnormalize(obs_n + sample[:, : self.obs_dim])
        reward = self.reward_normalizer.unnormalize(sample[:, -1])
        return within_range(next_obs, self.state_normalizer), within_range(reward, self.reward_normalizer)

    @torch.no_grad()
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
        """Steps ``steps`` times from (s_t, a_t), then with the actions of ``policy``.

        Args:
            obs: s_t ``(B, obs_dim)``.
            action: a_t ``(B, action_dim)``.
            steps: Transitions (required: the model has no segment length).
            rtg: Ignored (the model is not conditioned on a return).
            policy: The actions a_{t+1} .. a_{t+steps-1}: a function of the imagined states (on-policy
                MVE rollouts) or a ``(B, steps - 1, action_dim)`` sequence (the error protocol's true
                actions). Not needed for ``steps=1``.
            generator: Torch generator for the Gaussian samples.
            sampler: Must be None (the model has no sampler settings).

        Returns:
            The :class:`Segment`; every state and reward within the training data's range (see :meth:`step`).
        """
        steps = self.check_steps(steps)
        self.sampler_settings(sampler)
        state, act = self.as_batch(obs, action)
        states, rewards = [], []
        for h in range(steps):
            if h:
                act = next_actions(policy, state, h)
            state, reward = self.step(state, act, generator)
            states.append(state)
            rewards.append(reward)
        states_t = torch.stack(states, dim=1)
        return Segment(states_t, torch.stack(rewards, dim=1), self.terminated(states_t))
