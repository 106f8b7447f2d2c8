"""Both offline agents learn hopper-medium-like data: the real-env return ends far above random (~18)."""

import pytest
import torch

from dwm_gym.agents import IQL, TD3BC
from dwm_gym.agents.callbacks import evaluate_agent

RANDOM_RETURN = 18.0  # uniform actions on Hopper-v5 (v5 reference: 15.7)


@pytest.mark.slow
@pytest.mark.parametrize("algo", [TD3BC, IQL])
def test_learns_far_above_random(algo, make_medium_data):
    torch.set_num_threads(1)
    data = make_medium_data(50_000)
    agent = algo("MlpPolicy", "Hopper-v5", device="cpu", seed=0).load_dataset(data)
    agent.learn(5_000)
    result = evaluate_agent(agent, "Hopper-v5", episodes=5, seed=0)
    print(f"{algo.__name__}: return {result['mean_return']:.1f}, normalized {result['normalized_score']:.3f}")
    assert result["mean_return"] > 10 * RANDOM_RETURN, result
