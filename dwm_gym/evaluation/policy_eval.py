"""Deterministic evaluation of a Stable-Baselines3 policy on the real env: return and normalized score."""

from __future__ import annotations

from typing import get_args

import gymnasium as gym
import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.type_aliases import PolicyPredictor
from stable_baselines3.common.vec_env import DummyVecEnv

from dwm_gym.data.specs import Refs
from dwm_gym.evaluation.scores import normalized_score
from dwm_gym.utils.validation import choice, integer


def evaluate_agent(
    model: PolicyPredictor, env_id: str, episodes: int = 10, seed: int = 0, refs: str = "d4rl"
) -> dict[str, float]:
    """Deterministic episodes of ``model`` on the real ``env_id``.

    Args:
        model: An SB3 model or policy (anything with ``predict``).
        env_id: The real env, e.g. ``"Hopper-v5"``.
        episodes: Episodes to run.
        seed: Seed of the first episode.
        refs: Reference returns of the normalized score, ``"d4rl"`` or ``"v5"``
            (see :func:`dwm_gym.evaluation.scores.normalized_score`).

    Returns:
        ``mean_return``, ``std_return``, ``normalized_score`` (mean, 0-1 scale; NaN for unknown tasks),
        ``episodes`` and the ``returns`` themselves.

    Raises:
        ValueError: If ``episodes`` is not a positive integer or ``refs`` is unknown.
    """
    episodes = integer("episodes", episodes)
    choice("refs", refs, get_args(Refs))
    env = DummyVecEnv([lambda: Monitor(gym.make(env_id))])
    env.seed(seed)
    try:
        episode_returns, _ = evaluate_policy(
            model, env, n_eval_episodes=episodes, deterministic=True, return_episode_rewards=True
        )
    finally:
        env.close()
    returns = np.asarray(episode_returns, dtype=np.float64)
    try:
        score = float(np.mean(normalized_score(env_id, returns, refs)))
    except KeyError:  # not one of the project's tasks: no reference returns
        score = float("nan")
    return {
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "normalized_score": score,
        "episodes": float(episodes),
        "returns": returns.tolist(),
    }
