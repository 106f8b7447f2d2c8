"""Hopper-v5 data from the shipped medium behaviour policy (in memory, cached per session)."""

from __future__ import annotations

from functools import lru_cache

import gymnasium as gym
import numpy as np
import pytest

from dwm_gym.data import OfflineDataset
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.shipped import load_behavior_policy


@lru_cache(maxsize=4)
def hopper_medium(steps: int, seed: int = 0) -> OfflineDataset:
    """``steps`` transitions of the shipped hopper medium actor (stochastic), like ``dwm_gym/hopper/medium-v0``."""
    actor, rng = load_behavior_policy("hopper", "medium"), np.random.default_rng(seed)
    episodes = collect_episodes("Hopper-v5", lambda o: actor.act(o, rng), num_steps=steps, num_envs=4, seed=seed)
    return OfflineDataset(episodes, env_id="Hopper-v5", dataset_id="test/hopper-medium")


@pytest.fixture
def medium_data() -> OfflineDataset:
    return hopper_medium(3000)


@pytest.fixture
def make_medium_data():
    """``make_medium_data(steps)``: a larger (cached) medium dataset."""
    return hopper_medium


class NoInteraction(gym.Wrapper):
    """The real env for spaces only: stepping or resetting it fails the test."""

    def reset(self, **kwargs):
        raise AssertionError("an offline agent reset the env")

    def step(self, action):
        raise AssertionError("an offline agent stepped the env")


@pytest.fixture
def untouchable_env() -> gym.Env:
    return NoInteraction(gym.make("Hopper-v5"))
