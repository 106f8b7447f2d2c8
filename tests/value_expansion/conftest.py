"""Small Hopper-shaped data and tiny world models (saved as checkpoints) for buffer tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dwm_gym.data import OfflineDataset
from dwm_gym.data.normalizers import MinMaxNormalizer
from dwm_gym.world_model import DiffusionWorldModel, SamplerConfig, Segment, preset, save_world_model
from dwm_gym.world_model.onestep.model import OneStepModel

OBS, ACT = 11, 3
HEALTHY = np.array([1.25, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])


def hopper_like_dataset(episodes: int = 6, length: int = 40, seed: int = 0) -> OfflineDataset:
    """Random-walk episodes around an upright Hopper state; even episodes terminate, odd ones are truncated."""
    rng = np.random.default_rng(seed)
    parts = {k: [] for k in ("observations", "actions", "rewards", "next_observations", "terminations", "truncations")}
    for e in range(episodes):
        states = HEALTHY + np.cumsum(rng.normal(0, 0.01, (length + 1, OBS)), axis=0)
        parts["observations"].append(states[:-1])
        parts["next_observations"].append(states[1:])
        parts["actions"].append(rng.uniform(-1, 1, (length, ACT)))
        parts["rewards"].append(rng.uniform(0, 3, length))
        end = np.zeros(length, bool)
        end[-1] = True
        parts["terminations"].append(end if e % 2 == 0 else np.zeros(length, bool))
        parts["truncations"].append(np.zeros(length, bool) if e % 2 == 0 else end)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    return OfflineDataset.from_arrays(**arrays, env_id="Hopper-v5", dataset_id="test/hopper-like")


def tiny_dwm(deterministic: bool = False, seed: int = 0) -> DiffusionWorldModel:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    states = rng.normal(0, 0.05, size=(500, OBS)) + HEALTHY
    sampler = SamplerConfig(temperature=0.0, start_noise_scale=0.0) if deterministic else None
    config = preset("small", dim=8, dim_mults=(1, 2))
    sn = config.new_state_normalizer().fit(states)
    rn = MinMaxNormalizer().fit(rng.uniform(0, 3, 500))
    return DiffusionWorldModel(config, OBS, ACT, sn, rn, env_id="Hopper-v5", sampler=sampler).eval()


class ScriptedDWM(DiffusionWorldModel):
    """``rollout``: ŝ_{t+h} = s_t with torso height z + dz·h, r̂_{t+h} = h + 1 (deterministic)."""

    dz = 0.0

    def rollout(self, obs, action, steps=None, *, rtg=None, policy=None, generator=None, sampler=None) -> Segment:
        steps = self.check_steps(steps)
        obs = torch.as_tensor(obs, dtype=torch.float32)
        moves = torch.arange(1, steps + 1, dtype=torch.float32)
        states = obs[:, None, :].repeat(1, steps, 1)
        states[..., 0] += self.dz * moves
        rewards = (torch.arange(steps, dtype=torch.float32) + 1).repeat(len(obs), 1)
        return Segment(states, rewards, self.terminated(states))


@pytest.fixture
def dataset() -> OfflineDataset:
    return hopper_like_dataset()


@pytest.fixture
def scripted_dwm() -> ScriptedDWM:
    base = tiny_dwm()
    info = {"rtg_max": 0.9, "rtg_median": 0.7}
    return ScriptedDWM(base.config, OBS, ACT, base.state_normalizer, base.reward_normalizer, "Hopper-v5", info)


@pytest.fixture
def dwm_path(tmp_path) -> str:
    return str(save_world_model(tiny_dwm(), tmp_path / "dwm.safetensors", rtg_max=0.9, rtg_median=0.7))


@pytest.fixture
def deterministic_dwm_path(tmp_path) -> str:
    return str(
        save_world_model(tiny_dwm(deterministic=True), tmp_path / "dwm_det.safetensors", rtg_max=0.9, rtg_median=0.7)
    )


@pytest.fixture
def onestep_path(tmp_path) -> str:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sn = MinMaxNormalizer().fit(rng.normal(0, 0.05, size=(500, OBS)) + HEALTHY)
    rn = MinMaxNormalizer().fit(rng.uniform(0, 3, 500))
    model = OneStepModel(OBS, ACT, sn, rn, hidden=16, layers=2, env_id="Hopper-v5")
    return str(save_world_model(model, tmp_path / "onestep.safetensors"))


@pytest.fixture
def retrained_dwm_path(tmp_path) -> str:
    """The tiny DWM's architecture with other weights (as if retrained): the same file size as ``dwm_path``."""
    return str(save_world_model(tiny_dwm(seed=1), tmp_path / "retrained.safetensors", rtg_max=0.9, rtg_median=0.7))
