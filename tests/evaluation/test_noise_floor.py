"""The behaviour-noise floor: zero for a deterministic policy, zero at s_{t+1}, positive later."""

import numpy as np

from dwm_gym.data import OfflineDataset
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.evaluation.noise_floor import behaviour_noise_floor


class Deterministic:
    def __init__(self, policy) -> None:
        self.policy = policy

    def act(self, obs, rng=None):
        return self.policy.act(obs, deterministic=True)


def test_noise_floor_separates_policy_noise_from_dynamics():
    medium = load_behavior_policy("hopper", "medium")
    rng = np.random.default_rng(0)
    episodes = collect_episodes("Hopper-v5", lambda o: medium.act(o, rng), num_steps=1500)
    data = OfflineDataset(episodes, env_id="Hopper-v5")
    noisy = behaviour_noise_floor(data, medium, num_windows=40)
    assert noisy["state_mse"][0] == 0.0 and noisy["state_mse"][1] < 1e-8  # s_{t+1} only depends on (s_t, a_t)
    assert 0 < noisy["state_mse"][2] < noisy["state_mse"][-1]  # the policy's noise compounds
    assert noisy["windows"] == 40 and len(noisy["reward_mse"]) == 7  # T - 1 transitions, like the models
    exact = behaviour_noise_floor(data, Deterministic(medium), num_windows=40)
    np.testing.assert_allclose(exact["state_mse"], 0.0, atol=1e-10)
