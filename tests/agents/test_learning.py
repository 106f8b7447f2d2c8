"""Both offline agents learn hopper-medium-like data: the real-env return ends far above random (~18)."""

import pytest
import torch

from dwm_gym.agents import IQL, TD3BC
from dwm_gym.evaluation.policy_eval import evaluate_agent

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


@pytest.mark.slow
def test_dwm_td3bc_critic_stays_bounded(make_medium_data):
    """Diffusion-MVE at the library's defaults (H = 5, median RTG, clipped tails) with the bundled DWM:
    the critic loss of the second half stays within 20x of its early median, and no divergence is
    reported. With the plain CDF inverse the loss ratio on the demo's data was 168-1,240 at the median
    RTG (docs/benchmarks.md, single changes). At H = 1 this criterion is not met even with clipped
    tails (ratio 36 here, loss 0.63 -> 13.7 with no Q blow-up): see docs/concepts.md, 'Why
    Diffusion-MVE diverged'."""
    import numpy as np
    from stable_baselines3.common.logger import configure

    from dwm_gym.render.curves import read_learning_curve
    from dwm_gym.value_expansion import DiffusionMVEReplayBuffer
    from dwm_gym.world_model.bundled import resolve_checkpoint

    torch.set_num_threads(1)
    data = make_medium_data(50_000)
    kwargs = dict(world_model=str(resolve_checkpoint("hopper", "medium", "dwm")))  # the defaults: H = 5
    agent = TD3BC(
        "MlpPolicy",
        "Hopper-v5",
        device="cpu",
        seed=0,
        replay_buffer_class=DiffusionMVEReplayBuffer,
        replay_buffer_kwargs=kwargs,
    ).load_dataset(data)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        agent.set_logger(configure(folder, ["csv"]))
        agent.learn(15_000)
        curve = read_learning_curve(folder)
    steps, losses = np.array(curve.loss_updates), np.array(curve.critic_loss)
    ratio = losses[steps > 7_500].max() / np.median(losses[steps <= 2_000])
    print(f"critic loss ratio {ratio:.2f}, max Q {agent.critic_monitor.history[-1][2]:.1f}")
    assert ratio <= 20 and agent.divergence is None, (ratio, agent.divergence)
