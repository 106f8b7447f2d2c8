"""``MVEReplayBufferSamples``: the batch an MVE replay buffer returns (SB3's fields plus the imagined segment)."""

from __future__ import annotations

from typing import Any, NamedTuple, TypeGuard

import torch as th


class MVEReplayBufferSamples(NamedTuple):
    """SB3's ``ReplayBufferSamples`` fields (same order), plus the imagined segment when requested.

    Attributes:
        segment_states: ``(B, H, obs)`` ŝ_{t+1} .. ŝ_{t+H} (normalized like ``next_observations``).
        segment_rewards: ``(B, H)`` r̂_t .. r̂_{t+H-1} (not masked).
        segment_terminated: ``(B, H)`` cumulative termination flags as floats.
        real_next_observations: ``(B, obs)`` the data's s_{t+1} of each row (normalized like ``observations``),
            for the one-step TD target the critic monitor compares the value-expansion target with.
        real_rewards: ``(B, 1)`` the data's r_t.
        real_dones: ``(B, 1)`` the data's terminations (time-limit truncations excluded).
    """

    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor
    rewards: th.Tensor
    discounts: th.Tensor | None = None
    segment_states: th.Tensor | None = None
    segment_rewards: th.Tensor | None = None
    segment_terminated: th.Tensor | None = None
    real_next_observations: th.Tensor | None = None
    real_rewards: th.Tensor | None = None
    real_dones: th.Tensor | None = None


def has_real_transitions(data: Any) -> TypeGuard[MVEReplayBufferSamples]:
    """Whether ``data`` is a value-expansion batch that carries the data's own next states, rewards and dones."""
    return isinstance(data, MVEReplayBufferSamples) and data.real_next_observations is not None
