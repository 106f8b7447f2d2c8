"""The batched imagination step shared by the single and the vector env.

One call of :meth:`Imagination.step` advances a batch of imagined states by one env step, i.e.
H transitions of the world model (``horizon``):

* ``horizon == 1``: (ŝ_{t+1}, r̂_t);
* ``horizon == H`` (2..T-1, models that imagine without a policy): ŝ_{t+H} and
  Σ_{h<H} γ^h r̂_{t+h}, with the rewards after an imagined termination masked out and the state
  held at the one that terminated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch

from dwm_gym.envs.pessimism import PessimismConfig, SupportDistance, disagreement
from dwm_gym.world_model.base import WorldModel
from dwm_gym.world_model.segment_returns import discounted_reward_sum


@dataclass
class ImaginedStep:
    """One imagined env step for a batch (torch tensors on the model's device).

    Attributes:
        next_obs: ``(B, obs_dim)`` the state the agent observes next.
        reward: ``(B,)`` r̂_t, or the discounted sum of the segment's rewards.
        terminated: ``(B,)`` imagined termination inside the step.
        segment_states: ``(B, H, obs_dim)`` ŝ_{t+1} .. ŝ_{t+H}.
        segment_rewards: ``(B, H)`` r̂_t .. r̂_{t+H-1}.
        uncertainty: ``(B,)`` the pessimistic mode's signal, or None when it is off.
        halted: ``(B,)`` steps the pessimistic mode ended (part of ``terminated``), or None.
    """

    next_obs: torch.Tensor
    reward: torch.Tensor
    terminated: torch.Tensor
    segment_states: torch.Tensor
    segment_rewards: torch.Tensor
    uncertainty: torch.Tensor | None = None
    halted: torch.Tensor | None = None


def check_finite(model: WorldModel, states: torch.Tensor, rewards: torch.Tensor) -> None:
    """Raises when a world model imagined NaN or inf (a rollout must stay finite, ``WorldModel.rollout``).

    An agent must never see a non-finite observation or reward: it would end an SB3 run in
    ``VecCheckNan`` or poison its networks silently. The built-in kinds bound what they sample to the
    data's range, so this catches a broken checkpoint (NaN weights) or a custom kind that breaks the contract.

    Raises:
        FloatingPointError: Naming the model kind and the first row with a non-finite value.
    """
    bad = ~torch.isfinite(states).all(2).all(1) | ~torch.isfinite(rewards).all(1)
    if bool(bad.any()):
        row = int(bad.int().argmax())
        raise FloatingPointError(
            f"the {model.kind!r} world model imagined a non-finite state or reward (row {row} of {len(bad)}) from "
            "finite inputs; a rollout must return finite values within the data's range (WorldModel.rollout): "
            "check the checkpoint's weights for NaN, or bound what the model samples"
        )


class Imagination:
    """Steps batches of imagined states with any :class:`~dwm_gym.world_model.base.WorldModel`.

    Args:
        model: A loaded world model.
        horizon: H, transitions imagined per ``step``.
        rtg: RTG target (scaled, as in training) of RTG-conditioned models; ``None``: the model's
            ``default_rtg``.
        gamma: Discount of the rewards inside a segment.
        sampler: Sampler settings of the model (see ``WorldModel.sampler_settings``).
        pessimism: The pessimistic mode (:mod:`dwm_gym.envs.pessimism`), or None (off).

    Raises:
        ValueError: On a horizon the model cannot produce, unknown sampler settings, or a pessimistic
            mode for a checkpoint that carries no data states.
    """

    def __init__(
        self,
        model: WorldModel,
        horizon: int = 1,
        rtg: float | None = None,
        gamma: float = 0.99,
        sampler: dict[str, Any] | None = None,
        pessimism: PessimismConfig | None = None,
    ) -> None:
        self.model, self.gamma = model, float(gamma)
        if model.needs_policy and horizon != 1:
            raise ValueError(
                f"a {model.kind!r} world model needs a policy for the steps after a_t, so an env imagines one step "
                f"per env step with it: use horizon=1, or a DWM checkpoint for H > 1 (got horizon={horizon})"
            )
        limit = model.max_steps
        if not isinstance(horizon, (int, np.integer)) or horizon < 1 or (limit is not None and horizon > limit):
            bound = "" if limit is None else f" in 1..{limit} for this model (T={model.segment_length})"
            raise ValueError(f"horizon must be an integer{bound}, got {horizon!r}")
        self.horizon = int(horizon)
        self.sampler = model.sampler_settings(sampler)
        self.rtg = model.resolve_rtg(rtg)
        self.pessimism = pessimism
        if pessimism is not None:
            states = model.start_states.get("states")
            if states is None or not len(states):
                raise ValueError("the pessimistic mode needs the data states a checkpoint carries; this model has none")
            reference = torch.as_tensor(states, dtype=torch.float32, device=model.device)
            self._state_std = reference.std(0) + 1e-6
            self._support: SupportDistance | None = (
                SupportDistance(reference) if pessimism.signal == "support" else None
            )
            if pessimism.signal == "pair_support":
                actions = model.start_states.get("actions")
                if actions is None or len(actions) != len(states):
                    raise ValueError(
                        "pair_support needs the data's actions next to its states, which this checkpoint does not "
                        "carry: re-export it with `dwm-gym world-model export CHECKPOINT OUT --data DATASET_ID`"
                    )
                pairs = torch.cat([reference, torch.as_tensor(actions, dtype=torch.float32, device=model.device)], 1)
                self._support = SupportDistance(pairs)
            if pessimism.threshold == "auto":  # PessimismConfig allows it only with a support signal
                assert self._support is not None
                self.threshold: float | None = self._support.auto_threshold
            else:
                self.threshold = cast(float | None, pessimism.threshold)

    @property
    def device(self) -> torch.device:
        """The world model's device."""
        return self.model.device

    @torch.no_grad()
    def step(self, obs: torch.Tensor, action: torch.Tensor, generator: torch.Generator | None) -> ImaginedStep:
        """Imagines one env step for every row of ``obs`` (raw units, on :attr:`device`).

        Raises:
            FloatingPointError: When the world model imagined NaN or inf (see :func:`check_finite`).
        """
        p, batch = self.pessimism, len(obs)
        asked = torch.cat([obs, action], 1) if p is not None and p.signal == "pair_support" else None
        draws = p.samples if p is not None and p.signal == "disagreement" else 1
        if draws > 1:  # all draws in one call; the first is the transition the env takes
            obs, action = obs.repeat(draws, 1), action.repeat(draws, 1)
        seg = self.model.rollout(obs, action, self.horizon, rtg=self.rtg, generator=generator, sampler=self.sampler)
        states, rewards, ends = seg.states[:batch], seg.rewards[:batch], seg.terminated[:batch]
        check_finite(self.model, states, rewards)
        reward = discounted_reward_sum(rewards, ends, self.gamma)
        terminated = ends[:, -1]
        last = torch.full_like(terminated, self.horizon - 1, dtype=torch.long)
        first_end = torch.where(terminated, ends.int().argmax(dim=1), last)
        next_obs = states[torch.arange(batch, device=states.device), first_end]
        if p is None:
            return ImaginedStep(next_obs, reward, terminated, states, rewards)
        if asked is not None and self._support is not None:
            uncertainty = self._support(asked)
        elif self._support is not None:
            uncertainty = self._support(next_obs)
        else:
            uncertainty = disagreement(seg.states[:, -1].reshape(draws, batch, -1), self._state_std)
        halted = torch.zeros_like(terminated)
        if self.threshold is not None:
            halted = (uncertainty > self.threshold) & ~terminated
            reward = torch.where(halted, torch.full_like(reward, p.penalty), reward)
            terminated = terminated | halted
        return ImaginedStep(next_obs, reward, terminated, states, rewards, uncertainty, halted)
