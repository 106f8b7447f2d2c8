"""The pessimistic mode of the imagined envs: an uncertainty signal in info, and an optional halt."""

import gymnasium as gym
import numpy as np
import pytest

import dwm_gym  # noqa: F401


def make(**pessimism):
    return gym.make("DWM-hopper-medium-v0", kind="onestep", device="cpu", pessimism=pessimism or {})


def test_uncertainty_is_reported_and_only_halts_above_the_threshold():
    env = make(signal="disagreement", samples=4)
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(np.zeros(3))
    assert info["uncertainty"] > 0 and not info["halted"] and not terminated
    strict = make(signal="disagreement", samples=4, threshold=0.0, penalty=-7.0)
    strict.reset(seed=0)
    _, reward, terminated, _, info = strict.step(np.zeros(3))
    assert info["halted"] and terminated and reward == -7.0
    plain = gym.make("DWM-hopper-medium-v0", kind="onestep", device="cpu")
    plain.reset(seed=0)
    assert "uncertainty" not in plain.step(np.zeros(3))[4]  # off by default


def test_support_distance_grows_with_the_distance_from_the_data():
    env = make(signal="support")
    data_state = env.unwrapped.model.start_states["states"][0]
    env.reset(seed=0, options={"state": data_state})
    near = env.step(np.zeros(3))[4]["uncertainty"]
    far_state = data_state.copy()
    far_state[5] += 50 * env.unwrapped.model.start_states["states"][:, 5].std()
    with pytest.warns(UserWarning, match="far outside"):
        env.reset(seed=0, options={"state": far_state})
    far = env.step(np.zeros(3))[4]["uncertainty"]
    assert far > 5 * near, (near, far)


def test_vector_env_reports_per_sub_env_and_bad_settings_are_refused():
    venv = gym.make_vec(
        "DWM-hopper-medium-v0", 3, vectorization_mode="vector_entry_point", kind="onestep", pessimism={"samples": 3}
    )
    venv.reset(seed=0)
    info = venv.step(np.zeros((3, 3)))[4]
    assert info["uncertainty"].shape == (3,) and info["halted"].dtype == bool
    with pytest.raises(TypeError, match=r"unknown keys \['treshold'\]"):
        make(treshold=1.0)
    with pytest.raises(ValueError, match="disagreement needs samples >= 2"):
        make(samples=1)
    with pytest.raises(ValueError, match="signal must be one of"):
        make(signal="ensemble")


def test_pair_support_flags_actions_the_data_never_took_in_such_states():
    env = gym.make(
        "DWM-hopper-medium-v0", kind="onestep", device="cpu", pessimism={"signal": "pair_support", "threshold": "auto"}
    )
    sample = env.unwrapped.model.start_states
    state, action = sample["states"][0], sample["actions"][0]
    env.reset(seed=0, options={"state": state})
    info = env.step(action)[4]  # the data's own pair: distance 0
    assert info["uncertainty"] < 0.5 and not info["halted"]
    env.reset(seed=0, options={"state": state})
    far = -np.sign(action) + (action == 0)  # the opposite corner of the action box
    _, _, terminated, _, info = env.step(far.astype(np.float32))
    threshold = env.unwrapped.imagination.threshold
    assert 1.5 < threshold < 5 and info["uncertainty"] > threshold and info["halted"] and terminated


def test_pair_support_needs_the_data_actions_and_auto_needs_a_support_signal():
    from dwm_gym.world_model import load_world_model
    from dwm_gym.world_model.bundled import BUNDLED

    model = load_world_model(BUNDLED / "hopper_medium_onestep.safetensors")
    del model.start_states["actions"]
    with pytest.raises(ValueError, match="world-model export CHECKPOINT OUT --data"):
        gym.make("DWM-hopper-medium-v0", model=model, pessimism={"signal": "pair_support"})
    with pytest.raises(ValueError, match='threshold="auto" needs signal'):
        make(signal="disagreement", threshold="auto")
