"""A scripted world model for env tests: a tiny DWM whose ``rollout`` returns chosen segments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dwm_gym.data.normalizers import MinMaxNormalizer
from dwm_gym.world_model import DiffusionWorldModel, Segment, preset

OBS, ACT = 11, 3
HEALTHY = np.array([1.25, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])


class ScriptedDWM(DiffusionWorldModel):
    """``rollout`` moves x-velocity (obs[5]) by +1 per step and the torso height by ``dz`` per step.

    Rewards are ``h + 1`` for row h; the segment terminates by the real Hopper rule once z <= 0.7.
    """

    dz = 0.0
    calls = 0

    def rollout(self, obs, action, steps=None, *, rtg=None, policy=None, generator=None, sampler=None) -> Segment:
        self.calls += 1
        steps = self.check_steps(steps)
        obs = torch.as_tensor(obs, dtype=torch.float32)
        moves = torch.arange(1, steps + 1, dtype=torch.float32)
        states = obs[:, None, :].repeat(1, steps, 1)
        states[..., 5] += moves
        states[..., 0] += self.dz * moves
        rewards = (torch.arange(steps, dtype=torch.float32) + 1).repeat(len(obs), 1)
        return Segment(states, rewards, self.terminated(states))


@pytest.fixture
def scripted_dwm() -> ScriptedDWM:
    rng = np.random.default_rng(0)
    states = rng.normal(size=(500, OBS)) + HEALTHY
    config = preset("small", dim=8, dim_mults=(1, 2))
    model = ScriptedDWM(
        config,
        OBS,
        ACT,
        config.new_state_normalizer().fit(states),
        MinMaxNormalizer().fit(rng.uniform(0, 3, 500)),
        env_id="Hopper-v5",
        info={"rtg_max": 0.9, "rtg_median": 0.7},
        start_states={"episode_starts": np.tile(HEALTHY, (4, 1)), "states": states},
    )
    return model


@pytest.fixture
def healthy() -> np.ndarray:
    """An upright Hopper-v5 observation (z = 1.25, x-velocity 1)."""
    return HEALTHY.copy()
