"""``ImaginationStats``: what an MVE buffer's imagined segments look like next to its data, for the logger."""

from __future__ import annotations

import numpy as np
import torch as th


class ImaginationStats:
    """Running means of imagination diagnostics over the batches sampled since the last :meth:`pop`.

    Keys: ``outside_support`` (share of rows with an imagined state outside the per-dimension range
    of the buffer's data), ``reward_first`` (imagined r̂_t) next to ``reward_data`` (the data's r_t
    of the same rows), and ``reward_sum`` (Σ_h γ^h r̂_{t+h}, the target's reward part).
    """

    def __init__(self) -> None:
        self.support: tuple[th.Tensor, th.Tensor] | None = None
        self._sums: dict[str, float] = {}
        self._batches = 0

    def forget_support(self) -> None:
        """The data changed in bulk: the support is recomputed at the next batch."""
        self.support = None

    def widen_support(self, states: np.ndarray) -> None:
        """Widens a computed support by newly added raw states ``(n, obs)``."""
        if self.support is None:
            return
        low, high = self.support
        new = th.as_tensor(states, device=low.device)
        self.support = (
            th.minimum(low, new.min(0).values.to(low.dtype)),
            th.maximum(high, new.max(0).values.to(high.dtype)),
        )

    def accumulate(
        self,
        support: tuple[th.Tensor, th.Tensor],
        states: th.Tensor,
        rewards: th.Tensor,
        reward_sum: th.Tensor,
        data_rewards: np.ndarray,
    ) -> None:
        """Adds one batch: raw imagined ``states (B, H, obs)``, ``rewards (B, H)``, the target's ``reward_sum``."""
        low, high = support
        outside = ((states < low) | (states > high)).flatten(1).any(1)
        values = {
            "outside_support": float(outside.float().mean()),
            "reward_first": float(rewards[:, 0].mean()),
            "reward_data": float(np.mean(data_rewards)),
            "reward_sum": float(reward_sum.mean()),
        }
        for key, value in values.items():
            self._sums[key] = self._sums.get(key, 0.0) + value
        self._batches += 1

    def pop(self) -> dict[str, float]:
        """Means over the batches since the last call (empty when none), then starts over."""
        if not self._batches:
            return {}
        means = {key: value / self._batches for key, value in self._sums.items()}
        self._sums, self._batches = {}, 0
        return means
