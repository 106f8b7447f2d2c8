"""Real and imagined rollouts from one start state, with their MuJoCo frames.

The real rollout runs a policy in the real env; imagined rollouts replay the real rollout's
actions open-loop in an imagined env (the paper's error protocol, stepped one env step at a time),
so the states line up step by step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import gymnasium as gym
import numpy as np

from dwm_gym.envs.imagined_env import DiffusionImaginedEnv
from dwm_gym.envs.mujoco_view import ObservationRenderer


@dataclass
class Rollout:
    """States ``(N+1, obs)`` (start included), actions ``(N, act)``, rewards ``(N,)``, frames, end flag."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    frames: list[np.ndarray] = field(default_factory=list)
    terminated_at: int | None = None


def real_rollout(env_id: str, policy, steps: int, seed: int, size: int = 240, render: bool = True) -> Rollout:
    """Runs ``policy.act(obs, rng)`` in the real env from ``reset(seed=seed)`` for up to ``steps`` steps."""
    env = gym.make(env_id, render_mode="rgb_array" if render else None, width=size, height=size)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    states, actions, rewards, frames, end = [obs], [], [], [env.render()] if render else [], None
    for t in range(steps):
        action = policy.act(obs, rng)
        obs, reward, terminated, truncated, _ = env.step(action)
        states.append(obs)
        actions.append(action)
        rewards.append(reward)
        if render:
            frames.append(env.render())
        if terminated or truncated:
            end = t + 1 if terminated else None
            break
    env.close()
    return Rollout(np.array(states), np.array(actions), np.array(rewards), cast(list[np.ndarray], frames), end)


def imagined_rollout(
    env: DiffusionImaginedEnv, start: np.ndarray, actions: np.ndarray, seed: int, size: int = 240, render: bool = True
) -> Rollout:
    """Replays ``actions`` open-loop in the imagined ``env`` from ``start``.

    It keeps going after an imagined termination (recorded in ``terminated_at``) so the comparison
    spans the same steps.
    """
    renderer = ObservationRenderer(env.model.env_id, size, size) if render else None
    obs, _ = env.reset(seed=seed, options={"state": start})
    states, rewards, frames, end = [obs], [], [renderer.render(obs)] if renderer is not None else [], None
    for t, action in enumerate(actions):
        obs, reward, terminated, _, _ = env.step(action)
        states.append(obs)
        rewards.append(reward)
        if terminated and end is None:
            end = t + 1
        if renderer is not None:
            renderer.advance(obs)
            frames.append(renderer.render(obs))
    if renderer is not None:
        renderer.close()
    return Rollout(np.array(states), np.asarray(actions), np.array(rewards), frames, end)
