"""The world-model seam: a third kind of model, defined only here, works through the checkpoint
loader, ``gym.make``, the MVE replay buffer and ``dwm-gym world-model eval`` with no edit elsewhere."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from dwm_gym.cli import main
from dwm_gym.data import OfflineDataset, make_dataset
from dwm_gym.data.normalizers import MinMaxNormalizer
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, buffer_from_dataset
from dwm_gym.world_model import Segment, WorldModel, load_world_model, register_kind, save_world_model
from dwm_gym.world_model.registry import unregister_kind

HEALTHY = np.array([1.25, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])


class DriftModel(WorldModel):
    """A deterministic toy: every step adds ``drift`` to each state dimension and rewards ``reward + h``."""

    kind = "test-drift"
    needs_policy = False

    def __init__(self, obs_dim, action_dim, state_normalizer, reward_normalizer, drift=0.01, **common) -> None:
        super().__init__(obs_dim, action_dim, state_normalizer, reward_normalizer, **common)
        self.drift = float(drift)
        self.reward = nn.Parameter(torch.ones(()))  # a weight, so the checkpoint carries one

    @property
    def segment_length(self) -> int:
        return 5

    def config_dict(self) -> dict[str, Any]:
        return {"drift": self.drift}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], sampler, **common: Any) -> DriftModel:
        return cls(drift=config["drift"], **common)

    def loss(self, *args, **kwargs) -> torch.Tensor:
        return self.reward * 0.0

    @torch.no_grad()
    def rollout(self, obs, action, steps=None, *, rtg=None, policy=None, generator=None, sampler=None) -> Segment:
        steps = self.check_steps(steps)
        obs_t, _ = self.as_batch(obs, action)
        moves = torch.arange(1, steps + 1, dtype=torch.float32, device=obs_t.device)
        states = obs_t[:, None, :] + self.drift * moves[None, :, None]
        rewards = (self.reward + moves - 1).expand(len(obs_t), steps).clone()
        return Segment(states, rewards, self.terminated(states))


@pytest.fixture
def drift_checkpoint(tmp_path):
    register_kind(DriftModel)
    rng = np.random.default_rng(0)
    states = HEALTHY + rng.normal(0, 0.05, (200, 11))
    model = DriftModel(
        11,
        3,
        MinMaxNormalizer().fit(states),
        MinMaxNormalizer().fit(rng.uniform(0, 3, 200)),
        drift=0.02,
        env_id="Hopper-v5",
        start_states={"episode_starts": np.tile(HEALTHY, (3, 1)), "states": states},
    )
    yield save_world_model(model, tmp_path / "drift.safetensors", dataset_id="test/none")
    unregister_kind(DriftModel.kind)


def test_a_new_kind_loads_from_its_checkpoint(drift_checkpoint):
    model = load_world_model(drift_checkpoint, env="Hopper-v5")
    assert isinstance(model, DriftModel) and model.drift == 0.02 and model.max_steps == 4
    assert model.default_rtg is None and model.sampler is None
    np.testing.assert_allclose(model.start_states["episode_starts"], np.tile(HEALTHY, (3, 1)))


def test_a_new_kind_drives_the_imagined_env(drift_checkpoint):
    env = gym.make("DWM-hopper-medium-v0", checkpoint=str(drift_checkpoint), horizon=3, gamma=0.5)
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs, HEALTHY, atol=1e-6)
    nxt, reward, terminated, truncated, info = env.step(env.action_space.sample())
    np.testing.assert_allclose(nxt, HEALTHY + 0.06, atol=1e-6)
    assert reward == pytest.approx(1 + 0.5 * 2 + 0.25 * 3) and info["discount"] == 0.125
    assert not terminated and not truncated


def test_a_new_kind_gives_the_mve_target(drift_checkpoint):
    rng = np.random.default_rng(1)
    n = 50
    states = HEALTHY + np.cumsum(rng.normal(0, 0.01, (n + 1, 11)), axis=0)
    data = OfflineDataset.from_arrays(
        observations=states[:-1],
        actions=rng.uniform(-1, 1, (n, 3)),
        rewards=rng.uniform(0, 3, n),
        next_observations=states[1:],
        terminations=np.zeros(n, bool),
        truncations=np.arange(n) == n - 1,
        env_id="Hopper-v5",
        dataset_id="test/drift",
    )
    buffer = buffer_from_dataset(
        data, DiffusionMVEReplayBuffer, device="cpu", world_model=str(drift_checkpoint), horizon=2, gamma=0.9
    )
    np.random.seed(0)
    batch = buffer.sample(8)
    torch.testing.assert_close(batch.next_observations, batch.observations + 0.04)
    torch.testing.assert_close(batch.rewards, torch.full((8, 1), 1 + 0.9 * 2))
    torch.testing.assert_close(batch.discounts, torch.full((8, 1), 0.81))


def test_a_new_kind_is_evaluated_by_the_cli(drift_checkpoint, tmp_path, capsys):
    make_dataset("hopper-random", steps=1500, seed=0, num_envs=4)
    out = tmp_path / "err.json"
    args = f"world-model eval --checkpoint {drift_checkpoint} --dataset dwm_gym/hopper/random-v0 --windows 10"
    assert main([*args.split(), "--json", str(out)]) == 0
    report = json.loads(out.read_text())["model"]
    assert report["kind"] == "test-drift" and len(report["state_mse"]) == 5 and len(report["reward_mse"]) == 4
    assert report["state_mse"][0] == 0.0 and all(np.isfinite(report["state_mse"]))
