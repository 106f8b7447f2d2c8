"""The error floor set by the behaviour policy's own randomness (what no model of s_t, a_t can beat).

The DWM predicts s_{t+1..t+T-1} from (s_t, a_t, RTG) only: the actions after a_t are the
behaviour policy's, which samples them. Two real rollouts from the same (s_t, a_t) that draw the
policy's noise independently differ by exactly what a perfect sampler of p(future | s_t, a_t)
would differ from the data: their per-step MSE is that sampler's expected error. The one-step
model, rolled out with the true actions (docs/paper.md#model-error-protocol), does not face this noise.

Needs the behaviour policy and a MuJoCo env whose observation is ``qpos[1:]`` then ``qvel``
(the x position, absent from the observation, does not change the dynamics).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from dwm_gym.data.behavior.actor import BehaviorPolicy
from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.evaluation.model_error import error_summary, evaluation_windows, state_scale


def real_branch(
    env: gym.Env, obs: np.ndarray, action: np.ndarray, policy: BehaviorPolicy, steps: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A real future of (``obs``, ``action``): ``action``, then ``policy``'s actions, for ``steps - 1`` transitions.

    Returns:
        States s_{t+1..t+steps-1} ``(steps - 1, obs)`` and rewards r_t..r_{t+steps-2}, as the models' rollouts.
    """
    base: Any = env.unwrapped  # a MuJoCo env: its model and set_state are not on gym.Env
    nq = base.model.nq
    base.set_state(np.concatenate([[0.0], obs[: nq - 1]]), obs[nq - 1 :])
    states, rewards = [], []
    for _ in range(steps):
        obs, reward, terminated, _, _ = env.step(action)
        states.append(obs)
        rewards.append(reward)
        action = policy.act(obs, rng)
    return np.array(states[:-1]), np.array(rewards[:-1])  # T - 1 transitions, as the models' rollouts


def behaviour_noise_floor(
    dataset: OfflineDataset, policy: BehaviorPolicy, num_windows: int = 300, segment_length: int = 8, seed: int = 0
) -> dict:
    """Per-step state/reward MSE between two real futures of the same (s_t, a_t).

    Uses the same windows as :func:`~dwm_gym.evaluation.model_error.model_error_by_horizon`
    with the same ``seed`` and dataset, and the same z-scoring, so the curves compare directly.

    Returns:
        The dict layout of ``model_error_by_horizon`` (T state steps, step 1 is s_t: 0; T - 1 reward steps).
    """
    windows, idx = evaluation_windows(dataset, segment_length, num_windows, seed)
    mean, std = state_scale(dataset)
    batch = windows.batch(idx)
    if dataset.env_id is None:
        raise ValueError(f"{dataset.dataset_id} names no env: the noise floor steps the real env")
    env = gym.make(dataset.env_id)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    state_err, reward_err = [], []
    for obs, action in zip(batch.states.astype(np.float64), batch.actions.astype(np.float64)):
        first = real_branch(env, obs, action, policy, segment_length, np.random.default_rng(rng.integers(2**62)))
        second = real_branch(env, obs, action, policy, segment_length, np.random.default_rng(rng.integers(2**62)))
        state_err.append(np.concatenate([[0.0], (((first[0] - second[0]) / std) ** 2).mean(-1)]))
        reward_err.append((first[1] - second[1]) ** 2)
    env.close()
    return error_summary(np.array(state_err), np.array(reward_err))
