"""DiffusionImaginedEnv: checkers, determinism, segment semantics, termination, actions, rendering."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import dwm_gym  # noqa: F401  (registers the ids)
from dwm_gym.data.specs import QUALITIES, TASKS, dataset_id
from dwm_gym.envs import DiffusionImaginedEnv
from dwm_gym.envs.registration import env_id
from dwm_gym.world_model.bundled import CheckpointNotFoundError, bundled_models

BUNDLED = bundled_models()  # (task, quality, kind) of the package's checkpoints (tests/world_model/test_bundled.py)


@pytest.mark.parametrize(("task", "quality", "kind"), BUNDLED, ids=["-".join(m) for m in BUNDLED])
def test_every_bundled_env_passes_gymnasium_and_sb3_checkers(task, quality, kind):
    env = gym.make(env_id(task, quality), kind=kind, device="cpu")
    gym_check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env, warn=True)
    assert env.observation_space == gym.make(TASKS[task].env_id).observation_space
    assert env.action_space == gym.make(TASKS[task].env_id).action_space


def test_a_segment_env_passes_the_checkers():
    env = DiffusionImaginedEnv(task="hopper", quality="medium", device="cpu", horizon=5)
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(env, warn=True)


def rollout(env, seed, steps=30):
    obs, _ = env.reset(seed=seed)
    action_rng = np.random.default_rng(123)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(
            action_rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        )
        trace.append(np.append(obs, reward))
        if terminated or truncated:
            break
    return trace


@pytest.mark.parametrize("kind", ["dwm", "onestep"])
@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("quality", QUALITIES)
def test_every_registered_id_is_deterministic_or_names_the_training_command(task, quality, kind):
    name = env_id(task, quality)
    if (task, quality, kind) not in BUNDLED:
        command = f"dwm-gym dataset make {task}-{quality} && dwm-gym world-model train --dataset "
        with pytest.raises(CheckpointNotFoundError, match=f"{command}{dataset_id(task, quality)} --kind {kind}"):
            gym.make(name, kind=kind)
        return
    env = gym.make(name, kind=kind, device="cpu")
    first, second, other = rollout(env, 7, steps=10), rollout(env, 7, steps=10), rollout(env, 8, steps=10)
    assert len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], other[0]) or not np.array_equal(first[-1], other[-1])


def test_unknown_id_suggests_the_right_one():
    with pytest.raises(gym.error.NameNotFound, match="Did you mean: `DWM-hopper-medium`"):
        gym.make("DWM-hoper-medium-v0")


def test_segment_mode_discounts_rewards_and_returns_the_h_th_state(scripted_dwm):
    env = DiffusionImaginedEnv(model=scripted_dwm, horizon=3, gamma=0.9)
    obs, _ = env.reset(seed=0)
    next_obs, reward, terminated, truncated, info = env.step(np.zeros(3))
    assert reward == pytest.approx(1 + 0.9 * 2 + 0.81 * 3)
    assert next_obs[5] == pytest.approx(obs[5] + 3) and not terminated and not truncated
    assert info["discount"] == pytest.approx(0.9**3)
    assert info["segment"]["states"].shape == (3, 11) and list(info["segment"]["rewards"]) == [1, 2, 3]


def test_imagined_termination_masks_later_rewards_and_stops_at_the_terminal_state(scripted_dwm, healthy):
    scripted_dwm.dz = -0.3  # z: 1.25 -> 0.95 -> 0.65 (unhealthy) at the 2nd transition
    env = DiffusionImaginedEnv(model=scripted_dwm, horizon=5, gamma=1.0)
    env.reset(seed=0)
    next_obs, reward, terminated, _, _ = env.step(np.zeros(3))
    assert terminated and reward == pytest.approx(1 + 2)
    assert next_obs[0] == pytest.approx(healthy[0] - 0.6, abs=1e-5)


def test_one_step_mode_on_unhealthy_start_terminates_like_the_real_hopper(healthy):
    env = DiffusionImaginedEnv(task="hopper", quality="medium", kind="onestep", device="cpu")
    low = healthy.copy()
    low[0] = 0.5  # torso below the healthy z range
    env.reset(seed=0, options={"state": low})
    assert env.step(np.zeros(3))[2]
    real = gym.make("Hopper-v5").unwrapped
    real.reset(seed=0)
    real.set_state(np.concatenate([[0.0], low[:5]]), low[5:])
    assert real.step(np.zeros(3))[2]


def test_bad_actions_raise_and_out_of_bounds_actions_are_clipped_with_one_warning(scripted_dwm):
    env = DiffusionImaginedEnv(model=scripted_dwm)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"expected an action of shape \(3,\)"):
        env.step(np.zeros(4))
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(np.array([0.0, np.nan, 0.0]))
    with pytest.warns(UserWarning, match="clipped"):
        env.step(np.array([5.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="start state mode"):
        env.reset(options={"start_states": "nowhere"})


def test_start_state_modes(scripted_dwm, healthy):
    env = DiffusionImaginedEnv(model=scripted_dwm)
    assert np.array_equal(env.reset(seed=0)[0], healthy)
    from_dataset = env.reset(seed=0, options={"start_states": "dataset"})[0]
    assert any(np.allclose(from_dataset, s) for s in scripted_dwm.start_states["states"])
    real_start = env.reset(seed=0, options={"start_states": "env"})[0]
    assert abs(real_start[0] - 1.25) <= 5e-3 and not np.array_equal(real_start, healthy)


def test_render_draws_the_imagined_state(scripted_dwm, healthy):
    env = DiffusionImaginedEnv(model=scripted_dwm, render_mode="rgb_array", width=96, height=96)
    env.reset(seed=0)
    upright = env.render()
    low = healthy.copy()
    low[1] = 0.8  # torso tilted
    env.reset(options={"state": low})
    tilted = env.render()
    assert upright.shape == (96, 96, 3) and upright.dtype == np.uint8
    assert np.abs(upright.astype(int) - tilted.astype(int)).mean() > 1.0


@pytest.mark.slow  # tens of seconds: kept out of the default suite (run with -m slow)
def test_gym_make_and_a_thousand_random_steps_offline_on_cpu():
    env = gym.make("DWM-hopper-medium-v0", device="cpu")
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    episodes, rewards = 0, []
    for _ in range(1000):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        rewards.append(reward)
        assert env.observation_space.contains(obs)
        if terminated or truncated:
            episodes += 1
            obs, _ = env.reset()
    assert np.all(np.isfinite(rewards)) and -1.0 < np.mean(rewards) < 5.0


def test_settings_are_shared_and_validated(scripted_dwm):
    with pytest.raises(TypeError, match=r"unknown keyword arguments \['segment_lenght'\]; accepted: checkpoint"):
        DiffusionImaginedEnv(model=scripted_dwm, segment_lenght=3)
    with pytest.raises(TypeError, match=r"unknown keyword arguments \['segment_length'\]; accepted: .*horizon"):
        DiffusionImaginedEnv(model=scripted_dwm, segment_length=3)  # the imagined env's H is horizon=
    with pytest.raises(ValueError, match=r"unknown sampler settings \['guidance'\]"):
        DiffusionImaginedEnv(model=scripted_dwm, sampler={"guidance": 1.0})
    with pytest.raises(ValueError, match=r"horizon must be an integer in 1..7"):
        DiffusionImaginedEnv(model=scripted_dwm, horizon=8)
