"""``OneStepModel``: the paper's one-step baseline (PAPER.md 3.1).

A single Gaussian f_θ(s_{t+1}, r_t | s_t, a_t) = N(μ_θ, diag σ²_θ): μ and σ from two separate
4-layer, 256-unit ReLU MLPs (softplus on σ), trained by maximum likelihood. It predicts the state
*difference* in normalized units (standard practice for dynamics models; documented choice), and
rolls out step by step, with given actions or with a policy, so it can stand in for the DWM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from numpy.typing import ArrayLike
from torch import nn
from torch.nn import functional as F

from dwm_gym.data.normalizers import MinMaxNormalizer
from dwm_gym.world_model.model import Segment
from dwm_gym.world_model.termination import segment_terminated


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
    """Settings of the one-step baseline (PAPER.md 3.1: 4×256 MLPs, Adam 1e-4, 1M iterations).

    Attributes:
        horizon: Length T of imagined segments (as the DWM's).
        hidden: MLP width.
        layers: Hidden layers per MLP.
        learning_rate: Adam learning rate.
        batch_size: Training batch.
        train_steps: Default training iterations.
    """

    horizon: int = 8
    hidden: int = 256
    layers: int = 4
    learning_rate: float = 1e-4
    batch_size: int = 256
    train_steps: int = 1_000_000


ONESTEP_PRESETS: dict[str, OneStepConfig] = {
    "paper": OneStepConfig(),
    "small": OneStepConfig(learning_rate=3e-4, train_steps=60_000),
}


class OneStepModel(nn.Module):
    """Gaussian one-step dynamics and reward model.

    Args:
        obs_dim: State size.
        action_dim: Action size.
        state_normalizer: Per-dimension min-max normalizer of states (fitted).
        reward_normalizer: Min-max normalizer of rewards (fitted).
        horizon: Length T of the segments :meth:`imagine` returns (as the DWM's).
        hidden: MLP width (256).
        layers: Hidden layers per MLP (4).
        env_id: Gymnasium id (termination rule).
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        state_normalizer: MinMaxNormalizer,
        reward_normalizer: MinMaxNormalizer,
        horizon: int = 8,
        hidden: int = 256,
        layers: int = 4,
        env_id: str | None = None,
    ) -> None:
        super().__init__()
        self.obs_dim, self.action_dim, self.horizon, self.env_id = obs_dim, action_dim, horizon, env_id
        self.hidden, self.layers = hidden, layers
        self.state_normalizer, self.reward_normalizer = state_normalizer, reward_normalizer
        self.mean_net = _mlp(obs_dim + action_dim, obs_dim + 1, hidden, layers)
        self.std_net = _mlp(obs_dim + action_dim, obs_dim + 1, hidden, layers)
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    @property
    def device(self) -> torch.device:
        return self._anchor.device

    def _dist(self, obs_n: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([obs_n, action], dim=-1)
        return self.mean_net(x), F.softplus(self.std_net(x)) + 1e-4

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """The training loss (so ``DistributedDataParallel`` can wrap the model); see :meth:`loss`."""
        return self.loss(*args, **kwargs)

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
    def step(self, obs: torch.Tensor, action: torch.Tensor, generator: torch.Generator | None = None):
        """Samples (s_{t+1}, r_t) in raw units for raw ``obs`` and ``action``."""
        obs_n = self.state_normalizer.normalize(obs)
        mean, std = self._dist(obs_n, action)
        sample = mean + std * torch.randn(mean.shape, device=mean.device, generator=generator)
        next_obs = self.state_normalizer.unnormalize(obs_n + sample[:, : self.obs_dim])
        return next_obs, self.reward_normalizer.unnormalize(sample[:, -1])

    @torch.no_grad()
    def imagine(
        self,
        obs: ArrayLike,
        action: ArrayLike,
        rtg: float | ArrayLike | None = None,
        generator: torch.Generator | None = None,
        future_actions: ArrayLike | None = None,
        policy: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> Segment:
        """Rolls out T steps from (s_t, a_t), the same :class:`Segment` as the DWM returns.

        Args:
            obs: s_t ``(B, obs_dim)``.
            action: a_t ``(B, action_dim)``.
            rtg: Ignored (accepted so both models are interchangeable).
            generator: Torch generator for the Gaussian samples.
            future_actions: ``(B, T-1, action_dim)`` actions a_{t+1} .. a_{t+T-1} (the paper's
                error protocol uses the true ones).
            policy: Maps states ``(B, obs_dim)`` to actions, used when ``future_actions`` is None
                (on-policy MVE rollouts).
        """
        obs_t = torch.as_tensor(obs, dtype=torch.float32, device=self.device).reshape(-1, self.obs_dim)
        act = torch.as_tensor(action, dtype=torch.float32, device=self.device).reshape(-1, self.action_dim)
        if future_actions is None and policy is None:
            raise ValueError("a one-step model needs future_actions (B, T-1, action_dim) or a policy to roll out")
        states, rewards = [], []
        for h in range(self.horizon):
            obs_t, reward = self.step(obs_t, act, generator)
            rewards.append(reward)
            if h == self.horizon - 1:
                break
            states.append(obs_t)
            if future_actions is not None:
                act = torch.as_tensor(future_actions, dtype=torch.float32, device=self.device)[:, h]
            else:
                act = policy(obs_t)
        states_t = torch.stack(states, dim=1)
        return Segment(states_t, torch.stack(rewards, dim=1), segment_terminated(self.env_id, states_t))
