"""``MVEReplayBufferSamples``: the batch an MVE replay buffer returns (SB3's fields plus the imagined segment)."""

from __future__ import annotations

from typing import NamedTuple

import torch as th


class MVEReplayBufferSamples(NamedTuple):
    """SB3's ``ReplayBufferSamples`` fields (same order), plus the imagined segment when requested.

    Attributes:
        segment_states: ``(B, H, obs)`` ŝ_{t+1} .. ŝ_{t+H} (normalized like ``next_observations``).
        segment_rewards: ``(B, H)`` r̂_t .. r̂_{t+H-1} (not masked).
        segment_terminated: ``(B, H)`` cumulative termination flags as floats.
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
