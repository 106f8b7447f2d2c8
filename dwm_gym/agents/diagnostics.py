"""``CriticMonitor``: what a researcher needs to see a critic diverge, through the SB3 logger.

Every update, the agent hands the monitor its critic loss, Q(s, a), the target y and the bootstrap
term of y (γ^H (1 - d) Q'(ŝ_{t+H}, ·), or γ^H (1 - d) V(ŝ_{t+H}) for IQL). At each log dump the
monitor writes, averaged over the updates since the last dump:

* ``train/critic_loss``, ``train/q_mean``, ``train/q_max``, ``train/target_mean``, ``train/target_max``;
* ``train/bootstrap_share``: mean |bootstrap term| / mean |y|, how much of the target is the critic's
  own estimate rather than (imagined or real) reward;
* with value expansion, ``train/mve_minus_td_target``: the target minus the one-step TD target on the batch's real
  transitions, every :data:`TARGET_GAP_EVERY` updates (:meth:`CriticMonitor.add_target_gap`);
* with a model-based buffer, its ``imagined/*`` diagnostics (imagined reward sum next to the data's
  rewards, share of imagined states outside the data's support): see
  :meth:`dwm_gym.value_expansion.MVEReplayBuffer.batch_diagnostics`.

It also keeps the loss of every window, so :meth:`divergence` can say when the critic diverges:

* the loss grew more than ``loss_ratio`` times over its median in the first ``baseline_updates``
  updates, beyond what the growth of the targets explains. A squared TD error scales with the
  square of the targets, and a sound critic that starts at Q ≈ 0 sees its targets grow tenfold or
  more while Q rises to the data's returns; so the reference loss is scaled by
  (mean|y| now / mean|y| early)² when the targets have grown. Without this, model-free TD3BC on
  hopper-medium-replay (loss 0.8 → 22 while mean|y| went 8 → 158, Q within its bound) was
  reported as diverging;
* or Q exceeds the largest discounted return the data's rewards allow, max|r| / (1 - γ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch as th

#: Window losses above this multiple of the early median count as a divergence (the project's
#: stability criterion: docs/concepts.md, "Why Diffusion-MVE diverged").
DIVERGENCE_LOSS_RATIO = 20.0


class CriticWindow(NamedTuple):
    """One finished window of :attr:`CriticMonitor.history` (stored in a run's ``agent.json`` as a list).

    ``mve_minus_td`` is the mean of (value-expansion target − one-step TD target on the real transition) over the
    window's sampled updates (:meth:`CriticMonitor.add_target_gap`); None for a model-free run, or a window
    recorded before it was measured.
    """

    updates: int
    loss: float
    max_q: float
    mean_abs_target: float
    mve_minus_td: float | None = None


#: Updates between two measurements of the value-expansion target's gap to the one-step TD target (an extra target
#: forward pass on the real transitions of the batch: about 1 % of an update's cost at this spacing).
TARGET_GAP_EVERY = 20


@dataclass
class CriticMonitor:
    """Accumulates critic statistics between log dumps (see the module docstring).

    Attributes:
        baseline_updates: Updates whose median window loss is the reference of :meth:`divergence`.
        loss_ratio: Growth of the loss over that reference that counts as a divergence.
        q_bound: Largest plausible |Q| (max|r| / (1 - γ)); None until :meth:`set_q_bound`.
        history: A :class:`CriticWindow` (updates, mean critic loss, max Q, mean |target|) per finished window.
    """

    baseline_updates: int = 2000
    loss_ratio: float = DIVERGENCE_LOSS_RATIO
    q_bound: float | None = None
    history: list[CriticWindow] = field(default_factory=list)
    _sums: dict[str, float] = field(default_factory=dict)
    _maxima: dict[str, float] = field(default_factory=dict)
    _count: int = 0
    _gap_sum: float = 0.0
    _gap_count: int = 0

    def set_q_bound(self, max_abs_reward: float, gamma: float) -> None:
        """Sets the return bound max|r| / (1 - γ) from the data's rewards (in the critic's units)."""
        self.q_bound = float(max_abs_reward) / max(1.0 - float(gamma), 1e-8)

    def add(self, critic_loss: float, q: th.Tensor, target: th.Tensor, bootstrap: th.Tensor | None) -> None:
        """Adds one update's values (``q``, ``target``, ``bootstrap``: per-row tensors)."""
        q, target = q.detach().float(), target.detach().float()
        values = {
            "critic_loss": float(critic_loss),
            "q_mean": float(q.mean()),
            "target_mean": float(target.mean()),
            "abs_target": float(target.abs().mean()),
            "abs_bootstrap": float(bootstrap.detach().abs().mean()) if bootstrap is not None else 0.0,
        }
        for key, value in values.items():
            self._sums[key] = self._sums.get(key, 0.0) + value
        for key, value in (("q_max", float(q.max())), ("target_max", float(target.max()))):
            self._maxima[key] = max(self._maxima.get(key, -np.inf), value)
        self._count += 1

    def add_target_gap(self, gap: float) -> None:
        """Adds one sampled update's mean (value-expansion target − one-step TD target on the real transition).

        With value expansion the target's first H rewards and states are imagined, from the data's behaviour; the
        one-step target bootstraps from the real next state with the current policy. A gap that grows negative
        as training goes on is the H-step part lagging behind what the learned policy is worth.
        """
        self._gap_sum += float(gap)
        self._gap_count += 1

    def record(self, logger, updates: int, buffer_stats: dict[str, float] | None = None) -> None:
        """Writes the window's statistics to an SB3 logger (``None``: to :attr:`history` only), starts a new window."""
        if self._count == 0:
            return
        mean = {key: value / self._count for key, value in self._sums.items()}
        gap = self._gap_sum / self._gap_count if self._gap_count else None
        if logger is not None:
            for key in ("critic_loss", "q_mean", "target_mean"):
                logger.record(f"train/{key}", mean[key])
            for key, value in self._maxima.items():
                logger.record(f"train/{key}", value)
            logger.record("train/bootstrap_share", mean["abs_bootstrap"] / max(mean["abs_target"], 1e-12))
            if gap is not None:
                logger.record("train/mve_minus_td_target", gap)
            for key, value in (buffer_stats or {}).items():
                logger.record(f"imagined/{key}", value)
        window = CriticWindow(int(updates), mean["critic_loss"], self._maxima["q_max"], mean["abs_target"], gap)
        self.history.append(window)
        self._sums, self._maxima, self._count, self._gap_sum, self._gap_count = {}, {}, 0, 0.0, 0

    def divergence(self) -> str | None:
        """A message when the critic diverges (see the module docstring), else None."""
        if not self.history:
            return None
        last = self.history[-1]
        updates, loss, q_max, abs_target = last.updates, last.loss, last.max_q, last.mean_abs_target
        early = [(w.loss, w.mean_abs_target) for w in self.history if w.updates <= self.baseline_updates]
        if early and updates > self.baseline_updates:
            reference = float(np.median([value for value, _ in early]))
            early_scale = float(np.median([scale for _, scale in early]))
            growth = max(1.0, abs_target / early_scale) ** 2 if early_scale > 0 else 1.0
            if reference > 0 and loss > self.loss_ratio * reference * growth:
                explained = f", {growth:.3g}x of it explained by the targets' growth" if growth > 1.0 else ""
                return (
                    f"critic loss {loss:.3g} at {updates} updates is {loss / reference:.0f}x its median over the "
                    f"first {self.baseline_updates} updates ({reference:.3g}){explained}"
                )
        if self.q_bound is not None and q_max > 1.1 * self.q_bound:
            return (
                f"max Q {q_max:.4g} at {updates} updates exceeds the largest discounted return the data allows "
                f"(max|r| / (1 - gamma) = {self.q_bound:.4g})"
            )
        return None
