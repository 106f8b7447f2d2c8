"""The imagined envs only ever return finite observations and rewards, within the data's range."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import dwm_gym  # noqa: F401  (registers the ids)
from dwm_gym.envs import DiffusionImaginedEnv
from dwm_gym.world_model import Segment


@pytest.mark.parametrize("seed", [0, 1])
def test_the_halfcheetah_one_step_env_stays_finite_and_in_range_under_random_actions(seed):
    """HalfCheetah never terminates: unbounded, this model's steps compounded to 1e16 by step 100 and inf later."""
    env = gym.make("DWM-halfcheetah-medium-v0", kind="onestep", device="cpu", max_episode_steps=250)
    model = env.unwrapped.model
    low, high = model.state_normalizer.low, model.state_normalizer.high
    r_low, r_high = model.reward_normalizer.low[0], model.reward_normalizer.high[0]
    env.action_space.seed(seed)
    env.reset(seed=seed)
    for _ in range(250):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert np.all(np.isfinite(obs)) and np.isfinite(reward)
        assert np.all(obs >= low.astype(np.float32)) and np.all(obs <= high.astype(np.float32))
        assert r_low - 1e-4 <= reward <= r_high + 1e-4
        assert not terminated
    assert truncated  # the time limit, the only end of a HalfCheetah episode


def _nan_model(scripted_dwm, at_step: int):
    """``scripted_dwm`` whose rollout returns a NaN state from its ``at_step``-th call on (a broken checkpoint)."""
    original = scripted_dwm.rollout

    def rollout(obs, action, steps=None, **kwargs) -> Segment:
        seg = original(obs, action, steps, **kwargs)
        if scripted_dwm.calls >= at_step:
            seg.states[-1, -1, 3] = torch.nan
        return seg

    scripted_dwm.rollout = rollout
    return scripted_dwm


def test_a_model_that_imagines_nan_raises_instead_of_handing_it_to_the_agent(scripted_dwm, healthy):
    env = DiffusionImaginedEnv(model=_nan_model(scripted_dwm, 2))
    env.reset(seed=0, options={"state": healthy})
    env.step(np.zeros(3, dtype=np.float32))
    with pytest.raises(FloatingPointError, match=r"'dwm' world model imagined a non-finite state or reward \(row 0"):
        env.step(np.zeros(3, dtype=np.float32))


def test_the_vector_env_names_the_sub_env_whose_state_became_nan(scripted_dwm):
    env = gym.make_vec(
        "DWM-hopper-medium-v0", num_envs=3, vectorization_mode="vector_entry_point", model=_nan_model(scripted_dwm, 1)
    )
    env.reset(seed=0)
    with pytest.raises(FloatingPointError, match=r"\(row 2 of 3\)"):
        env.step(np.zeros((3, 3), dtype=np.float32))
