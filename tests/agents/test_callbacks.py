"""The real-env evaluation callback: evaluates once per period, also when a vector env steps n_envs at a time."""

import json

import gymnasium as gym
import numpy as np
from stable_baselines3 import TD3
from stable_baselines3.common.vec_env import DummyVecEnv

from dwm_gym.agents.callbacks import EvalOnRealEnvCallback


def test_online_vector_env_is_evaluated_on_crossing_each_period(tmp_path):
    env = DummyVecEnv([lambda: gym.make("Pendulum-v1")] * 4)  # 4 env steps per call
    agent = TD3("MlpPolicy", env, learning_starts=10, train_freq=1, gradient_steps=1, seed=0, device="cpu")
    log = tmp_path / "evals.jsonl"
    callback = EvalOnRealEnvCallback("Pendulum-v1", eval_freq=30, n_eval_episodes=1, log_path=log)
    agent.learn(100, callback=callback)
    steps = [json.loads(line)["timesteps"] for line in log.read_text().splitlines()]
    assert steps == [32.0, 60.0, 92.0]  # the first call at or past 30, 60 and 90 (never 30 itself: 4 a call)
    assert np.isnan(callback.history[0]["normalized_score"])  # no reference returns for Pendulum
