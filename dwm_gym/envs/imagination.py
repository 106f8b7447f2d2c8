"""The batched imagination step shared by the single and the vector env.

One call of :meth:`Imagination.step` advances a batch of imagined states by one env step:

* ``segment_length == 1``: (ŝ_{t+1}, r̂_t) — from a DWM segment's first row, or one sample of a
  one-step model;
* ``segment_length == H`` (DWM only, 2..T-1): ŝ_{t+H} and Σ_{h<H} γ^h r̂_{t+h}, with the rewards
  after an imagined termination masked out and the state held at the one that terminated.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch

from dwm_gym.world_model.model import DiffusionWorldModel
from dwm_gym.world_model.one_step import OneStepModel
from dwm_gym.world_model.rtg import default_rtg
from dwm_gym.world_model.segment_returns import discounted_reward_sum
from dwm_gym.world_model.termination import termination_rule

# DWMConfig fields that only affect sampling, settable per env
SAMPLER_FIELDS = ("guidance_weight", "start_noise_scale", "temperature", "clip_denoised", "clip_state_tails", "precision")


@dataclass
class ImaginedStep:
    """One imagined env step for a batch (torch tensors on the model's device).

    Attributes:
        next_obs: ``(B, obs_dim)`` the state the agent observes next.
        reward: ``(B,)`` r̂_t, or the discounted sum of the segment's rewards.
        terminated: ``(B,)`` imagined termination inside the step.
        segment_states: ``(B, H, obs_dim)`` ŝ_{t+1} .. ŝ_{t+H}.
        segment_rewards: ``(B, H)`` r̂_t .. r̂_{t+H-1}.
    """

    next_obs: torch.Tensor
    reward: torch.Tensor
    terminated: torch.Tensor
    segment_states: torch.Tensor
    segment_rewards: torch.Tensor


class Imagination:
    """Steps batches of imagined states with a DWM or a one-step model.

    Args:
        model: A loaded :class:`DiffusionWorldModel` or :class:`OneStepModel`.
        segment_length: H, env steps imagined per ``step`` (1 for a one-step model).
        rtg: RTG target (scaled, as in training); ``None`` uses the checkpoint's data maximum.
        gamma: Discount of the rewards inside a segment.
        sampler: DWM sampler overrides, e.g. ``{"guidance_weight": 1.0}`` (keys: SAMPLER_FIELDS).

    Raises:
        ValueError: On a segment length the model cannot produce or unknown sampler keys.
    """

    def __init__(
        self,
        model: DiffusionWorldModel | OneStepModel,
        segment_length: int = 1,
        rtg: float | None = None,
        gamma: float = 0.99,
        sampler: dict | None = None,
    ) -> None:
        self.model, self.gamma = model, float(gamma)
        self.is_dwm = isinstance(model, DiffusionWorldModel)
        horizon = model.config.horizon if self.is_dwm else 1
        if not self.is_dwm and segment_length != 1:
            raise ValueError(
                "a one-step model imagines one step per env step: use segment_length=1, or a DWM checkpoint "
                f"for segment mode (got segment_length={segment_length})"
            )
        if not 1 <= segment_length <= max(horizon - 1, 1):
            raise ValueError(
                f"segment_length must be in 1..{horizon - 1} for this DWM (T={horizon}), got {segment_length}"
            )
        self.segment_length = int(segment_length)
        sampler = dict(sampler or {})
        unknown = set(sampler) - set(SAMPLER_FIELDS)
        if unknown:
            raise ValueError(f"unknown sampler settings {sorted(unknown)}; expected some of {SAMPLER_FIELDS}")
        if sampler and not self.is_dwm:
            raise ValueError("sampler settings apply to a DWM only")
        if sampler:  # a shallow copy: the caller's model (shared weights) keeps its own settings
            model = copy.copy(model)
            model.config = dataclasses.replace(model.config, **sampler)
            self.model = model
        info = getattr(model, "checkpoint_info", {}) or {}
        self.rtg = default_rtg(info, rtg) if self.is_dwm else float(rtg if rtg is not None else 0.0)
        self._rule = termination_rule(model.env_id)

    @property
    def device(self) -> torch.device:
        return self.model.device

    @torch.no_grad()
    def step(self, obs: torch.Tensor, action: torch.Tensor, generator: torch.Generator | None) -> ImaginedStep:
        """Imagines one env step for every row of ``obs`` (raw units, on :attr:`device`)."""
        if not self.is_dwm:
            next_obs, reward = self.model.step(obs, action, generator)
            terminated = self._rule(next_obs) if self._rule is not None else torch.zeros_like(reward, dtype=torch.bool)
            return ImaginedStep(next_obs, reward, terminated, next_obs[:, None], reward[:, None])
        seg = self.model.imagine(obs, action, self.rtg, generator)
        h = self.segment_length
        states, rewards, term = seg.states[:, :h], seg.rewards[:, :h], seg.terminated[:, :h]
        reward = discounted_reward_sum(rewards, term, self.gamma)
        terminated = term[:, -1]
        last = torch.full_like(terminated, h - 1, dtype=torch.long)
        first_end = torch.where(terminated, term.int().argmax(dim=1), last)
        next_obs = states[torch.arange(len(states), device=states.device), first_end]
        return ImaginedStep(next_obs, reward, terminated, states, rewards)
