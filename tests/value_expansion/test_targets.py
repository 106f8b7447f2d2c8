"""Diffusion-MVE targets against hand-computed values."""

import pytest
import torch

from dwm_gym.value_expansion.targets import (
    alive_mask,
    bootstrap_discount,
    discounted_reward_sum,
    lambda_return,
    mve_target,
)

REWARDS = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
# row 1: ŝ_{t+2} is terminal (flag from h=1 on); row 2: ŝ_{t+1} is terminal
TERMINATED = torch.tensor([[False, False, False], [False, True, True], [True, True, True]])


def test_discounted_sum_masks_rewards_after_termination():
    # γ = 0.5: row 0: 1 + 0.5·2 + 0.25·3; row 1: 1 + 0.5·2 (r̂_{t+2} leaves a terminal state); row 2: r̂_t only
    assert alive_mask(TERMINATED).tolist() == [[1, 1, 1], [1, 1, 0], [1, 0, 0]]
    torch.testing.assert_close(discounted_reward_sum(REWARDS, TERMINATED, 0.5), torch.tensor([2.75, 2.0, 4.0]))
    torch.testing.assert_close(bootstrap_discount(TERMINATED, 0.5), torch.tensor([0.125, 0.0, 0.0]))
    values = torch.tensor([10.0, 10.0, 10.0])
    torch.testing.assert_close(mve_target(REWARDS, TERMINATED, values, 0.5), torch.tensor([4.0, 2.0, 4.0]))


def test_lambda_return_hand_computed():
    rewards, values = torch.tensor([[1.0, 2.0]]), torch.tensor([[10.0, 20.0]])
    alive = torch.zeros(1, 2, dtype=torch.bool)
    # Q2 = 20; Q1 = 2 + 0.5(0.5·20 + 0.5·20) = 12; Q0 = 1 + 0.5(0.5·10 + 0.5·12) = 6.5
    torch.testing.assert_close(lambda_return(rewards, values, alive, 0.5, 0.5), torch.tensor([6.5]))
    # terminal after the first transition: nothing is bootstrapped
    done = torch.tensor([[True, True]])
    torch.testing.assert_close(lambda_return(rewards, values, done, 0.5, 0.5), torch.tensor([1.0]))


def test_lambda_extremes_are_mve_and_one_step():
    g = torch.Generator().manual_seed(0)
    rewards, values = torch.randn(64, 5, generator=g), torch.randn(64, 5, generator=g)
    terminated = torch.cummax((torch.rand(64, 5, generator=g) < 0.15).int(), dim=1).values.bool()
    vanilla = mve_target(rewards, terminated, values[:, -1], 0.99)
    torch.testing.assert_close(lambda_return(rewards, values, terminated, 0.99, 1.0), vanilla)
    one_step = rewards[:, 0] + 0.99 * (~terminated[:, 0]).float() * values[:, 0]
    torch.testing.assert_close(lambda_return(rewards, values, terminated, 0.99, 0.0), one_step)
    mixed = lambda_return(rewards, values, terminated, 0.99, 0.95)
    assert not torch.allclose(mixed, vanilla)


def test_shape_errors_say_what_was_expected():
    with pytest.raises(ValueError, match=r"\(B, H\)"):
        discounted_reward_sum(torch.zeros(3), torch.zeros(3, dtype=torch.bool), 0.99)
    with pytest.raises(ValueError, match="terminated of the rewards' shape"):
        discounted_reward_sum(torch.zeros(2, 3), torch.zeros(2, 2, dtype=torch.bool), 0.99)
    with pytest.raises(ValueError, match="lam"):
        lambda_return(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.bool), 0.99, 1.5)
