"""The bundled hopper-medium models predict real Hopper-v5 transitions (they do more than load)."""

import numpy as np
import pytest
import torch

from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.evaluation.state_edges import data_edges, edge_shares
from dwm_gym.world_model.bundled import resolve_checkpoint
from dwm_gym.world_model.registry import load_world_model


@pytest.fixture(scope="module")
def real_transitions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s, a, s') from real Hopper-v5 under the shipped medium policy (the bundled models' data source)."""
    policy, rng = load_behavior_policy("hopper", "medium"), np.random.default_rng(0)
    episodes = collect_episodes("Hopper-v5", lambda obs: policy.act(obs, rng), num_steps=2000, seed=1)
    obs = np.concatenate([e.observations[:-1] for e in episodes])
    nxt = np.concatenate([e.observations[1:] for e in episodes])
    return obs, np.concatenate([e.actions for e in episodes]), nxt


def _median_z_error(pred: np.ndarray, target: np.ndarray, std: np.ndarray) -> float:
    return float(np.median((((pred - target) / std) ** 2).mean(-1)))


@pytest.mark.parametrize("kind, max_ratio", [("dwm", 0.25), ("onestep", 0.05)])
def test_bundled_model_predicts_the_next_real_state(real_transitions, kind, max_ratio):
    obs, actions, nxt = real_transitions
    model = load_world_model(resolve_checkpoint("hopper", "medium", kind), env="Hopper-v5")
    generator = torch.Generator().manual_seed(0)
    predicted = model.rollout(obs, actions, 1, rtg=0.8, generator=generator).states[:, 0]  # rtg: DWM only
    std = obs.std(0) + 1e-6
    model_error = _median_z_error(predicted.cpu().numpy(), nxt, std)
    copy_error = _median_z_error(obs, nxt, std)  # "nothing moves": what a model that ignores (s, a) scores
    assert model_error < max_ratio * copy_error, (kind, model_error, copy_error)


def _at_extreme_share(normalizer, states: np.ndarray) -> float:
    """Share of rows of ``states`` with a non-tied dimension at the data's single most extreme value."""
    return float(edge_shares(data_edges(normalizer), states)["at_data_extreme"])


def _imagined_next_states(model, obs: np.ndarray, actions: np.ndarray, sampler=None) -> np.ndarray:
    generator = torch.Generator().manual_seed(0)
    return model.rollout(obs, actions, 1, rtg=0.74, generator=generator, sampler=sampler).states[:, 0].numpy()


def test_dwm_never_imagines_the_datas_single_most_extreme_values(real_transitions):
    """The failure behind Diffusion-MVE's divergence with the earlier CDF-state DWMs: sampled values beyond the
    normalized range landed on the data's single most extreme value (several percent of the rows without the
    sampler's tail rule). The bundled DWMs diffuse standardized states: none lands there, with or without the
    rule, and none is more than 2 data std from the real next state in any dimension."""
    obs, actions, nxt = real_transitions
    model = load_world_model(resolve_checkpoint("hopper", "medium", "dwm"), env="Hopper-v5")
    std = obs.std(0) + 1e-6
    for sampler in (None, {"clip_state_tails": False}):
        states = _imagined_next_states(model, obs, actions, sampler)
        assert _at_extreme_share(model.state_normalizer, states) == 0.0, sampler
        assert np.mean((np.abs(states - nxt) / std).max(1) > 2.0) < 0.002, sampler


def test_the_extreme_value_measure_finds_states_pushed_past_the_normalized_range(real_transitions):
    """The measure above can fail: far overshoot maps onto the extremes it looks for, in every row."""
    obs = real_transitions[0][:50]
    normalizer = load_world_model(resolve_checkpoint("hopper", "medium", "dwm"), env="Hopper-v5").state_normalizer
    far = normalizer.unnormalize(np.where(np.arange(obs.shape[1]) % 2 == 0, 1e3, -1e3)[None].repeat(len(obs), 0))
    assert _at_extreme_share(normalizer, far) == 1.0
    assert _at_extreme_share(normalizer, obs) < 0.1
