"""A scripted world model for env tests: a tiny DWM whose ``imagine`` returns chosen segments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dwm_gym.data.normalizers import CDFNormalizer, MinMaxNormalizer
from dwm_gym.world_model import DiffusionWorldModel, Segment, preset
from dwm_gym.world_model.termination import segment_terminated

OBS, ACT = 11, 3
HEALTHY = np.array([1.25, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])


class ScriptedDWM(DiffusionWorldModel):
    """``imagine`` moves x-velocity (obs[5]) by +1 per step and the torso height by ``dz`` per step.

    Rewards are ``h + 1`` for row h; the segment terminates by the real Hopper rule once z <= 0.7.
    """

    dz = 0.0
    calls = 0

    def imagine(self, obs, action, rtg, generator=None) -> Segment:
        self.calls += 1
        obs = torch.as_tensor(obs, dtype=torch.float32)
        steps = torch.arange(1, self.config.horizon, dtype=torch.float32)
        states = obs[:, None, :].repeat(1, self.config.horizon - 1, 1)
        states[..., 5] += steps
        states[..., 0] += self.dz * steps
        rewards = (torch.arange(self.config.horizon, dtype=torch.float32) + 1).repeat(len(obs), 1)
        return Segment(states, rewards, segment_terminated(self.env_id, states))


@pytest.fixture
def scripted_dwm() -> ScriptedDWM:
    rng = np.random.default_rng(0)
    states = rng.normal(size=(500, OBS)) + HEALTHY
    model = ScriptedDWM(
        preset("small", dim=8, dim_mults=(1, 2)),
        OBS,
        ACT,
        CDFNormalizer().fit(states),
        MinMaxNormalizer().fit(rng.uniform(0, 3, 500)),
        env_id="Hopper-v5",
    )
    model.reference_data = {"episode_starts": np.tile(HEALTHY, (4, 1)), "states": states}
    model.checkpoint_info = {"rtg_max": 0.9, "rtg_median": 0.7}
    return model


@pytest.fixture
def healthy() -> np.ndarray:
    """An upright Hopper-v5 observation (z = 1.25, x-velocity 1)."""
    return HEALTHY.copy()
