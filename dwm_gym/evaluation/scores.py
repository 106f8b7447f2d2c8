"""Normalized scores: ``(return - random) / (expert - random)`` on a 0-1 scale (docs/paper.md#evaluation-protocol)."""

from __future__ import annotations

import numpy as np

from dwm_gym.data.specs import reference_scores


def normalized_score(env: str, episode_return: float | np.ndarray, refs: str = "d4rl") -> float | np.ndarray:
    """D4RL-style normalized score, 0 = random policy, 1 = expert (the paper reports this 0-1 value).

    Args:
        env: Task name or Gymnasium id (``"hopper"``, ``"Hopper-v5"``).
        episode_return: Undiscounted return(s).
        refs: ``"d4rl"``: the D4RL constants (hopper -20.272305 / 3234.3, walker2d 1.629008 / 4592.3,
            halfcheetah -280.178953 / 12135.0), comparable with published tables. ``"v5"``: the
            random and expert returns measured by this project on the Gymnasium v5 envs it uses.

    Returns:
        The score(s), same shape as ``episode_return``.
    """
    low, high = reference_scores(env, refs)
    score = (np.asarray(episode_return, dtype=np.float64) - low) / (high - low)
    return float(score) if np.ndim(score) == 0 else score
