"""OneStepMVEReplayBuffer: on-policy rollouts with the bound actor."""

import numpy as np
import pytest
import torch

from dwm_gym.value_expansion import OneStepMVEReplayBuffer, buffer_from_dataset, discounted_reward_sum


def test_needs_a_policy_and_calls_it_for_every_step_after_the_first(dataset, onestep_path):
    buffer = buffer_from_dataset(dataset, OneStepMVEReplayBuffer, device="cpu", world_model=onestep_path, horizon=4)
    with pytest.raises(RuntimeError, match="BindPolicyCallback"):
        buffer.sample(8)
    calls = []

    def policy(states):
        calls.append(states.shape)
        return torch.zeros(len(states), 3)

    buffer.bind_policy(policy)
    batch = buffer.sample(8)
    assert calls == [(8, 11)] * 3  # a_t from the data, then π for ŝ_{t+1..t+3}
    assert batch.next_observations.shape == (8, 11) and torch.allclose(batch.discounts, torch.full((8, 1), 0.99**4))


def test_rollout_matches_stepping_the_model_by_hand(dataset, onestep_path):
    buffer = buffer_from_dataset(
        dataset, OneStepMVEReplayBuffer, device="cpu", world_model=onestep_path, horizon=3, seed=3
    )
    buffer.bind_policy(lambda s: torch.full((len(s), 3), 0.5))
    obs, act = dataset.transitions["observations"][:5], dataset.transitions["actions"][:5]
    states, rewards, terminated = buffer.imagine(obs, act)
    g = torch.Generator().manual_seed(3)
    s, a, expected = torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(act, dtype=torch.float32), []
    for _ in range(3):
        s, r = buffer.model.step(s, a, g)
        expected.append(r)
        a = torch.full((5, 3), 0.5)
    torch.testing.assert_close(rewards, torch.stack(expected, 1))
    torch.testing.assert_close(states[:, -1], s)
    assert terminated.shape == (5, 3)
    np.random.seed(0)
    batch = buffer.sample(4)
    assert batch.rewards.shape == (4, 1) and torch.isfinite(batch.rewards).all()
    assert discounted_reward_sum(rewards, terminated, 0.99).shape == (5,)
