"""One episode of offline data, in Minari's layout, with input validation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DatasetError(ValueError):
    """Raised for offline data that cannot be used as given (the message says why and how to fix it)."""


@dataclass
class Episode:
    """One episode in Minari's layout.

    Attributes:
        observations: ``(L + 1, obs_dim)``: every state, the last next-state included.
        actions: ``(L, action_dim)``.
        rewards: ``(L,)``.
        terminations: ``(L,)`` bool, True only at a true (MDP) termination.
        truncations: ``(L,)`` bool, True only where the episode was cut (time limit, budget).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def total_return(self) -> float:
        """Undiscounted sum of rewards."""
        return float(self.rewards.sum())

    @property
    def terminated(self) -> bool:
        """True when the episode ended in a true termination (not a cut)."""
        return bool(len(self) and self.terminations[-1])

    def validate(self, where: str = "episode") -> Episode:
        """Checks shapes, finiteness and end flags; returns ``self``.

        Args:
            where: Name used in error messages (e.g. ``"episode 12"``).

        Raises:
            DatasetError: On empty episodes, mismatched lengths, NaN/inf or flags set mid-episode.
        """
        length = len(self.actions)
        if length == 0:
            raise DatasetError(f"{where} has no transitions; drop empty episodes before building a dataset")
        if self.observations.ndim != 2 or self.actions.ndim != 2:
            raise DatasetError(
                f"{where}: expected observations (L+1, obs_dim) and actions (L, action_dim), got "
                f"{self.observations.shape} and {self.actions.shape}"
            )
        expected = {
            "observations": length + 1,
            "rewards": length,
            "terminations": length,
            "truncations": length,
        }
        for name, size in expected.items():
            got = len(getattr(self, name))
            if got != size:
                raise DatasetError(
                    f"{where}: {name} has {got} entries but {length} actions need {size} "
                    "(observations hold one more entry than actions: the final next-state)"
                )
        for name in ("observations", "actions", "rewards"):
            values = getattr(self, name)
            if not np.all(np.isfinite(values)):
                bad = int(np.argwhere(~np.isfinite(np.asarray(values, dtype=np.float64)))[0][0])
                raise DatasetError(f"{where}: {name} contains NaN or inf (first at index {bad}); clean the data first")
        flags = self.terminations | self.truncations
        if flags[:-1].any():
            first = int(np.argmax(flags[:-1]))
            raise DatasetError(
                f"{where}: termination/truncation flag at step {first} before the last step {length - 1}; "
                "split the data into episodes at every flag"
            )
        if self.terminations[-1] and self.truncations[-1]:
            raise DatasetError(f"{where}: the last step is flagged both terminated and truncated; keep one")
        return self
