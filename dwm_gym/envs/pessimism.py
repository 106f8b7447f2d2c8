"""Pessimism for imagined envs: an uncertainty signal per step, and an optional halt (MOReL's HALT state).

A learned model is trusted only where its data is. Two signals of how far a step is from there,
both in z-units of the data's states (so one threshold means the same on every dimension):

* ``disagreement``: draw ``samples`` imagined steps for the same (s_t, a_t); u is the mean over state
  dimensions of their standard deviation. For the one-step model the spread is its own predicted
  σ (MOPO's penalty); for the DWM it is how much the sampler's futures disagree.
* ``support``: distance from ŝ_{t+H} to the nearest of the data states the checkpoint carries,
  divided by the median nearest-neighbour distance among those states (1 ≈ as close as data
  states are to each other).
* ``pair_support``: the same distance for the pair (s_t, a_t) the step is asked about, against the
  data's (s, a) pairs the checkpoint carries: whether the model has seen this action taken in a state
  like this one. Unlike the two above, it does not rely on the model to show its own ignorance.

With a ``threshold``, a step whose u exceeds it ends the episode in an absorbing halt state with
reward ``penalty`` (MOReL's pessimistic MDP); ``info["uncertainty"]`` carries u either way.
``threshold="auto"`` (the two support signals) halts where the data itself is rare: above the 99.9th
percentile of the reference points' leave-one-out distances, so about one held-out data step in 1,000
(one per full-length episode) would halt. On hopper-medium's (s, a) pairs that is u > 3.7, which 0.05 %
of held-out data pairs exceed. The 99th percentile (2.5) halts the data's own policy after ~200 steps
(1.3 % of its steps), since a per-step test compounds over an episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from dwm_gym.utils.validation import choice, finite, integer, non_negative

SIGNALS = ("disagreement", "support", "pair_support")


@dataclass(frozen=True)
class PessimismConfig:
    """Settings of the pessimistic mode (env option ``pessimism=``, a dict of these fields or an instance).

    Attributes:
        signal: ``"disagreement"``, ``"support"`` or ``"pair_support"`` (see the module docstring).
        samples: Imagined steps drawn per (s_t, a_t) for ``disagreement`` (at least 2).
        threshold: Halt when u exceeds it; ``"auto"``: the data's own 99.9th percentile (support signals);
            None only reports u in ``info["uncertainty"]``.
        penalty: Reward of the halting step.
    """

    signal: str = "disagreement"
    samples: int = 4
    threshold: float | str | None = None
    penalty: float = 0.0

    def __post_init__(self) -> None:
        choice("signal", self.signal, SIGNALS)
        if integer("samples", self.samples) < 2 and self.signal == "disagreement":
            raise ValueError(f"disagreement needs samples >= 2, got {self.samples}")
        if self.threshold == "auto":
            if self.signal == "disagreement":
                raise ValueError('threshold="auto" needs signal "support" or "pair_support" (a data quantile)')
        elif self.threshold is not None:
            non_negative("threshold", self.threshold)
        finite("penalty", self.penalty)

    @classmethod
    def from_option(cls, option: PessimismConfig | dict[str, Any] | None) -> PessimismConfig | None:
        """The config of an env's ``pessimism=`` option (None: off).

        Raises:
            TypeError: On unknown keys, listing the accepted ones.
        """
        if option is None or isinstance(option, PessimismConfig):
            return option
        if not isinstance(option, dict):
            raise TypeError(
                f"pessimism must be a dict of settings, e.g. pessimism={{'signal': 'support'}}, a PessimismConfig "
                f"or None, got {option!r}"
            )
        known = {"signal", "samples", "threshold", "penalty"}
        unknown = sorted(set(option) - known)
        if unknown:
            raise TypeError(f"pessimism got unknown keys {unknown}; accepted: {', '.join(sorted(known))}")
        return cls(**option)


#: Quantile of the reference's own leave-one-out distances that ``threshold="auto"`` halts above:
#: one data step in 1,000, the locomotion envs' episode length (see the module docstring).
AUTO_QUANTILE = 0.999


class SupportDistance:
    """Distance of points to the nearest of ``reference`` points, in z-units, relative to their own spacing.

    Attributes:
        spacing: Median leave-one-out nearest-neighbour distance of the reference (the unit of u).
        auto_threshold: The reference's :data:`AUTO_QUANTILE` leave-one-out distance, in that unit.
    """

    def __init__(self, reference: torch.Tensor) -> None:
        self.mean, self.std = reference.mean(0), reference.std(0) + 1e-6
        self.points = (reference - self.mean) / self.std
        inner = torch.cdist(self.points, self.points)
        inner.fill_diagonal_(float("inf"))
        nearest = inner.min(1).values
        self.spacing = nearest.median().clamp_min(1e-6)
        self.auto_threshold = float(torch.quantile(nearest / self.spacing, AUTO_QUANTILE))

    def __call__(self, states: torch.Tensor) -> torch.Tensor:
        """``(B,)`` distances of raw ``states (B, obs)``."""
        z = (states - self.mean.to(states.device)) / self.std.to(states.device)
        return torch.cdist(z, self.points.to(states.device)).min(1).values / self.spacing


def disagreement(samples: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(B,)`` mean over dimensions of the z-scored spread of ``samples (m, B, obs)``."""
    return (samples.std(0) / std).mean(-1)
