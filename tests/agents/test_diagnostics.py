"""The critic monitor: logged statistics, and the divergence it reports (and must not report)."""

import json

import numpy as np
import pytest
import torch

from dwm_gym.agents.diagnostics import CriticMonitor


class RecordingLogger:
    def __init__(self):
        self.values = {}

    def record(self, key, value):
        self.values[key] = value


def feed(monitor, updates, loss, q_scale=1.0, every=1000):
    logger = RecordingLogger()
    for step in range(1, updates + 1):
        q = torch.full((4, 1), q_scale)
        monitor.add(loss(step), q, q + 1.0, 0.5 * (q + 1.0))
        if step % every == 0:
            monitor.record(logger, step, {"outside_support": 0.01})
    return logger


def test_window_statistics_are_logged_with_the_buffer_diagnostics():
    monitor = CriticMonitor()
    logger = RecordingLogger()
    monitor.add(2.0, torch.tensor([[1.0], [3.0]]), torch.tensor([[2.0], [6.0]]), torch.tensor([[1.0], [1.0]]))
    monitor.add(4.0, torch.tensor([[5.0], [5.0]]), torch.tensor([[4.0], [4.0]]), torch.tensor([[3.0], [3.0]]))
    monitor.record(logger, 2, {"outside_support": 0.25})
    v = logger.values
    assert v["train/critic_loss"] == pytest.approx(3.0)
    assert v["train/q_mean"] == pytest.approx(3.5) and v["train/q_max"] == 5.0
    assert v["train/target_mean"] == pytest.approx(4.0) and v["train/target_max"] == 6.0
    assert v["train/bootstrap_share"] == pytest.approx(2.0 / 4.0)
    assert v["imagined/outside_support"] == 0.25
    assert monitor.history == [(2, 3.0, 5.0, 4.0, None)]  # no value expansion: no target gap
    window = monitor.history[0]
    assert (window.updates, window.loss, window.max_q, window.mean_abs_target) == (2, 3.0, 5.0, 4.0)
    assert json.loads(json.dumps(monitor.history)) == [[2, 3.0, 5.0, 4.0, None]]  # agent.json keeps the plain row
    monitor.record(logger, 3)  # an empty window writes nothing
    assert len(monitor.history) == 1


def test_flat_and_slowly_growing_losses_are_not_divergence():
    monitor = CriticMonitor()
    feed(monitor, 20_000, lambda step: 0.5 + step / 20_000)  # 3x growth, like a sound TD3BC critic
    assert monitor.divergence() is None


def test_a_loss_growing_by_orders_of_magnitude_is_reported():
    monitor = CriticMonitor()
    feed(monitor, 20_000, lambda step: 0.5 * np.exp(step / 2_000))
    message = monitor.divergence()
    assert message is not None and "critic loss" in message and "first 2000 updates" in message


def feed_growing_targets(monitor, updates, loss, target_scale, every=1000):
    logger = RecordingLogger()
    for step in range(1, updates + 1):
        target = torch.full((4, 1), target_scale(step))
        monitor.add(loss(step), target - 1.0, target, 0.9 * target)
        if step % every == 0:
            monitor.record(logger, step)


def test_loss_growing_with_its_targets_is_not_divergence():
    """Model-free TD3BC on hopper-medium-replay: Q starts at 0, loss 0.8 -> 22 while mean|y| 8 -> 158."""
    monitor = CriticMonitor()
    feed_growing_targets(monitor, 50_000, lambda step: 0.8 + 21.2 * step / 50_000, lambda step: 8 + 150 * step / 50_000)
    assert monitor.divergence() is None


def test_loss_outgrowing_its_targets_is_reported():
    monitor = CriticMonitor()  # targets grow 3x (9x in squared error), the loss 1000x
    feed_growing_targets(monitor, 20_000, lambda step: 0.8 * np.exp(step / 2_900), lambda step: 8 + 16 * step / 20_000)
    message = monitor.divergence()
    assert message is not None and "explained by the targets' growth" in message


def test_q_above_the_return_bound_is_reported():
    monitor = CriticMonitor()
    monitor.set_q_bound(max_abs_reward=3.0, gamma=0.99)  # bound 300
    feed(monitor, 3000, lambda step: 1.0, q_scale=250.0)
    assert monitor.divergence() is None
    feed(monitor, 1000, lambda step: 1.0, q_scale=400.0)
    assert "exceeds the largest discounted return" in monitor.divergence()


def test_agents_warn_once_when_the_critic_diverges(tmp_path):
    from stable_baselines3.common.logger import configure

    from dwm_gym.agents import TD3BC
    from dwm_gym.agents.offline import CriticDivergenceWarning

    agent = TD3BC("MlpPolicy", "Hopper-v5", device="cpu", policy_kwargs=dict(net_arch=[8]))
    agent.set_logger(configure(str(tmp_path), ["csv"]))
    for step in range(1, 2001):
        agent.critic_monitor.add(1.0, torch.ones(2, 1), torch.ones(2, 1), None)
        if step % 1000 == 0:
            agent.num_timesteps = step
            agent.record_critic_diagnostics()
    assert agent.divergence is None
    agent.critic_monitor.add(500.0, torch.ones(2, 1), torch.ones(2, 1), None)
    agent.num_timesteps = 3000
    with pytest.warns(CriticDivergenceWarning, match="500x its median"):
        agent.record_critic_diagnostics()
    assert "critic loss 500" in agent.divergence
    agent.critic_monitor.add(900.0, torch.ones(2, 1), torch.ones(2, 1), None)
    agent.num_timesteps = 4000
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        agent.record_critic_diagnostics()
    assert "critic loss 500" in agent.divergence
