"""Offline datasets into SB3 replay buffers, in one call.

Only true terminations become ``dones``; time-limit truncations are stored as SB3 ``timeouts``
(which never mask a termination). Actions are stored scaled to [-1, 1], as SB3 stores them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer

from dwm_gym.data import OfflineDataset
from dwm_gym.value_expansion.base_buffer import MVEReplayBuffer


def scale_actions(actions: np.ndarray, action_space: spaces.Box) -> np.ndarray:
    """Env-unit actions → [-1, 1] (SB3's ``policy.scale_action``)."""
    low, high = action_space.low, action_space.high
    return (2.0 * (np.asarray(actions) - low) / (high - low) - 1.0).astype(np.float32)


def load_offline_data(buffer: ReplayBuffer, dataset: OfflineDataset) -> ReplayBuffer:
    """Replaces the content of ``buffer`` with every transition of ``dataset``.

    Args:
        buffer: An SB3 ``ReplayBuffer`` (or subclass) with ``n_envs=1``, ``optimize_memory_usage=False``
            and room for the dataset.
        dataset: The offline data.

    Returns:
        ``buffer``, filled (``pos``/``full`` set as if the transitions had been added one by one).

    Raises:
        ValueError: If the buffer is too small, vectorized, memory-optimized or of other sizes, or its
            world model imagines another env than the dataset's.
    """
    data = dataset.transitions
    n = len(data["observations"])
    if buffer.n_envs != 1:
        raise ValueError(f"offline data goes into a buffer with n_envs=1, got n_envs={buffer.n_envs}")
    if buffer.optimize_memory_usage:
        raise ValueError("offline data needs optimize_memory_usage=False (episodes are not contiguous in time)")
    if n > buffer.buffer_size:
        raise ValueError(
            f"the buffer holds {buffer.buffer_size} transitions, the dataset has {n}: use buffer_size >= {n}"
        )
    if buffer.obs_shape != (dataset.obs_dim,) or buffer.action_dim != dataset.action_dim:
        raise ValueError(
            f"buffer obs shape {buffer.obs_shape} / action dim {buffer.action_dim} do not match the dataset's "
            f"({dataset.obs_dim},) / {dataset.action_dim}"
        )
    if isinstance(buffer, MVEReplayBuffer) and dataset.env_id and buffer.model.env_id not in (None, dataset.env_id):
        raise ValueError(
            f"the buffer's world model imagines {buffer.model.env_id} but the dataset comes from {dataset.env_id}: "
            "use the world model trained for this dataset's env"
        )
    terminations = data["terminations"].astype(bool)
    buffer.observations[:n, 0] = data["observations"]
    buffer.next_observations[:n, 0] = data["next_observations"]
    action_space = buffer.action_space
    if not isinstance(action_space, spaces.Box):
        raise ValueError(f"offline data needs a Box action space, got {action_space}")
    buffer.actions[:n, 0] = scale_actions(data["actions"], action_space)
    buffer.rewards[:n, 0] = data["rewards"]
    buffer.dones[:n, 0] = terminations
    buffer.timeouts[:n, 0] = data["truncations"].astype(bool) & ~terminations
    for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        getattr(buffer, name)[n:] = 0
    buffer.pos, buffer.full = n % buffer.buffer_size, n == buffer.buffer_size
    if isinstance(buffer, MVEReplayBuffer):
        buffer.on_data_loaded()
    return buffer


def dataset_spaces(dataset: OfflineDataset) -> tuple[spaces.Box, spaces.Box]:
    """Observation and action spaces of the dataset's env (``gym.make(env_id)``), or Boxes from the data."""
    if dataset.env_id is not None:
        import gymnasium as gym

        env = gym.make(dataset.env_id)
        try:
            observation_space, action_space = env.observation_space, env.action_space
        finally:
            env.close()
        if not isinstance(observation_space, spaces.Box) or not isinstance(action_space, spaces.Box):
            raise ValueError(f"{dataset.env_id} has {observation_space} / {action_space}: offline RL here needs Boxes")
        return observation_space, action_space
    actions = dataset.transitions["actions"]
    obs_space = spaces.Box(-np.inf, np.inf, (dataset.obs_dim,), np.float64)
    return obs_space, spaces.Box(actions.min(axis=0), actions.max(axis=0), dtype=np.float32)


def buffer_from_dataset(
    dataset: OfflineDataset,
    buffer_class: type[ReplayBuffer] = ReplayBuffer,
    device: th.device | str = "auto",
    **buffer_kwargs: Any,
) -> ReplayBuffer:
    """A buffer of ``buffer_class`` sized to ``dataset`` and filled with it.

    Args:
        dataset: The offline data (its ``env_id`` gives the spaces).
        buffer_class: ``ReplayBuffer``, :class:`DiffusionMVEReplayBuffer`, ...
        device: Torch device of sampled batches.
        **buffer_kwargs: Passed to the buffer (``world_model=``, ``horizon=`` ...).
    """
    obs_space, action_space = dataset_spaces(dataset)
    buffer = buffer_class(dataset.num_transitions, obs_space, action_space, device=device, **buffer_kwargs)
    return load_offline_data(buffer, dataset)
