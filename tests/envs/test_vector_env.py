"""DiffusionImaginedVectorEnv: make_vec, NEXT_STEP autoreset, truncation, checkers, SB3 adapter."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import TD3
from stable_baselines3.common.vec_env import VecEnv

import dwm_gym  # noqa: F401
from dwm_gym.envs import DiffusionImaginedVectorEnv, SB3ImaginedVecEnv


def test_make_vec_builds_the_batched_env_and_one_sampler_call_per_step(scripted_dwm):
    venv = gym.make_vec("DWM-hopper-medium-v0", num_envs=4, vectorization_mode="vector_entry_point", device="cpu")
    assert isinstance(venv, DiffusionImaginedVectorEnv) and venv.max_episode_steps == 1000
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (4, 11) and obs.dtype == np.float64
    obs, rewards, terminated, truncated, info = venv.step(venv.action_space.sample())
    assert rewards.shape == (4,) and terminated.dtype == bool and info["discount"].shape == (4,)
    scripted = DiffusionImaginedVectorEnv(16, model=scripted_dwm)
    scripted.reset(seed=0)
    for _ in range(3):
        scripted.step(np.zeros((16, 3)))
    assert scripted_dwm.calls == 3


def test_same_seed_same_batch_rollout():
    def run(seed):
        venv = DiffusionImaginedVectorEnv(3, task="hopper", quality="medium", device="cpu")
        obs, _ = venv.reset(seed=seed)
        acts = np.random.default_rng(0).uniform(-1, 1, (10, 3, 3))
        return np.concatenate([obs] + [venv.step(a)[0] for a in acts])

    assert np.array_equal(run(3), run(3)) and not np.array_equal(run(3), run(4))


def test_next_step_autoreset_after_termination(scripted_dwm, healthy):
    scripted_dwm.dz = -0.6  # the first transition leads to z = 0.65: terminated
    venv = DiffusionImaginedVectorEnv(2, model=scripted_dwm)
    venv.reset(seed=0)
    obs, rewards, terminated, truncated, _ = venv.step(np.zeros((2, 3)))
    assert terminated.all() and not truncated.any() and np.allclose(rewards, 1.0)
    obs, rewards, terminated, truncated, _ = venv.step(np.zeros((2, 3)))  # reset step: action ignored
    assert np.allclose(obs, healthy) and np.all(rewards == 0) and not terminated.any() and not truncated.any()


def test_truncation_only_by_max_episode_steps(scripted_dwm):
    venv = DiffusionImaginedVectorEnv(2, max_episode_steps=3, model=scripted_dwm)
    venv.reset(seed=0)
    flags = [venv.step(np.zeros((2, 3)))[3].copy() for _ in range(4)]
    assert [f.all() for f in flags] == [False, False, True, False]


def test_vector_env_rejects_bad_actions_and_masks(scripted_dwm):
    venv = DiffusionImaginedVectorEnv(2, model=scripted_dwm)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=r"expected an action of shape \(2, 3\)"):
        venv.step(np.zeros(3))
    with pytest.raises(ValueError, match="reset_mask"):
        venv.reset(options={"reset_mask": np.ones(3, dtype=bool)})


def test_sb3_adapter_resets_in_the_same_step_and_trains_stock_td3(scripted_dwm, healthy):
    scripted_dwm.dz = -0.6
    venv = SB3ImaginedVecEnv(DiffusionImaginedVectorEnv(2, model=scripted_dwm))
    assert isinstance(venv, VecEnv)
    venv.seed(0)
    venv.reset()
    venv.step_async(np.zeros((2, 3)))
    obs, rewards, dones, infos = venv.step_wait()
    assert dones.all() and np.allclose(obs, healthy)
    assert infos[0]["terminal_observation"][0] == pytest.approx(0.65, abs=1e-5)
    assert infos[0]["TimeLimit.truncated"] is False
    real = SB3ImaginedVecEnv(DiffusionImaginedVectorEnv(4, max_episode_steps=50, task="hopper", quality="medium"))
    model = TD3("MlpPolicy", real, learning_starts=64, train_freq=8, gradient_steps=2, seed=0)
    model.learn(200)
    assert model.num_timesteps >= 200 and model.replay_buffer.size() > 0


def test_explicit_start_states(scripted_dwm, healthy):
    venv = DiffusionImaginedVectorEnv(2, model=scripted_dwm)
    starts = np.stack([healthy, healthy + 0.01])
    obs, _ = venv.reset(seed=0, options={"states": starts})
    assert np.allclose(obs, starts, atol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(2, 11\)"):
        venv.reset(options={"states": starts[:1]})
