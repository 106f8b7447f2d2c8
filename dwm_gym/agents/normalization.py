"""Observation normalization inside the networks, so every state they see is normalized the same way.

TD3+BC normalizes states by the dataset's mean and std. Doing it in the policy's features extractor
(not in the buffer) means imagined states ŝ from an MVE buffer, the dataset's states and the real
env's observations at evaluation all go through one transformation, and the statistics are saved
and loaded with the policy's weights.
"""

from __future__ import annotations

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_flattened_obs_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class NormalizedFlattenExtractor(BaseFeaturesExtractor):
    """``(obs - mean) / std``, flattened; mean 0 and std 1 until :func:`set_observation_stats` is called.

    Args:
        observation_space: A ``Box``.
    """

    def __init__(self, observation_space: spaces.Box) -> None:
        dim = get_flattened_obs_dim(observation_space)
        super().__init__(observation_space, dim)
        self.mean: th.Tensor
        self.std: th.Tensor
        self.fitted: th.Tensor
        self.register_buffer("mean", th.zeros(dim))
        self.register_buffer("std", th.ones(dim))
        self.register_buffer("fitted", th.zeros((), dtype=th.bool))

    def forward(self, observations: th.Tensor) -> th.Tensor:
        """Flattens ``(B, ...)`` observations to ``(B, dim)`` and standardizes them with the stored mean and std."""
        flat = observations.reshape(observations.shape[0], -1)
        return (flat - self.mean) / self.std


def observation_stats(observations: np.ndarray, eps: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """TD3+BC's statistics: per-dimension mean and std + ``eps`` of ``(N, obs_dim)`` states."""
    observations = np.asarray(observations, dtype=np.float64).reshape(len(observations), -1)
    return observations.mean(axis=0), observations.std(axis=0) + eps


def set_observation_stats(module: nn.Module, mean: np.ndarray, std: np.ndarray) -> int:
    """Sets the statistics of every :class:`NormalizedFlattenExtractor` inside ``module``.

    Returns:
        How many extractors were set (actor, critic, their targets ...).
    """
    count = 0
    for sub in module.modules():
        if isinstance(sub, NormalizedFlattenExtractor):
            sub.mean.copy_(th.as_tensor(mean, dtype=th.float32))
            sub.std.copy_(th.as_tensor(std, dtype=th.float32))
            sub.fitted.fill_(True)
            count += 1
    return count


def needs_observation_stats(module: nn.Module) -> bool:
    """True if ``module`` holds a :class:`NormalizedFlattenExtractor` that was never fitted."""
    return any(isinstance(m, NormalizedFlattenExtractor) and not bool(m.fitted) for m in module.modules())
