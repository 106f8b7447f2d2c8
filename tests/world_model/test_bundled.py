"""Checkpoint resolution (explicit path, user cache, bundled, then an error with the train command), and what
every bundled checkpoint must hold. The bundled ones are found in the package, so dropping a model file into
``dwm_gym/world_model/assets/`` extends these tests; EXPECTED_BUNDLED makes a missing one fail."""

import gymnasium as gym
import numpy as np
import pytest

from dwm_gym.data.specs import dataset_id, task_spec
from dwm_gym.world_model.bundled import (
    BUNDLED,
    DWM_TRAIN_OPTIONS,
    CheckpointNotFoundError,
    bundled_models,
    checkpoint_filename,
    resolve_checkpoint,
    user_checkpoint_dir,
)
from dwm_gym.world_model.registry import load_world_model

EXPECTED_BUNDLED = {  # (task, quality, kind) the package ships: add each model here when its file lands
    *(("hopper", q, k) for q in ("medium", "medium-replay", "medium-expert") for k in ("dwm", "onestep")),
    ("walker2d", "medium", "dwm"),
    ("walker2d", "medium", "onestep"),
    ("walker2d", "medium-expert", "dwm"),
    ("walker2d", "medium-expert", "onestep"),
    ("halfcheetah", "medium", "dwm"),
    ("halfcheetah", "medium", "onestep"),
}
NO_SELECTION_RECORD = {("hopper", "medium", "onestep")}  # trained before the held-out selection rule existed
BUNDLED_MODELS = bundled_models()


def test_the_package_bundles_exactly_the_expected_models_and_no_stray_file():
    assert set(BUNDLED_MODELS) == EXPECTED_BUNDLED
    files = {path.name for path in BUNDLED.glob("*.safetensors")}
    assert files == {checkpoint_filename(*model) for model in BUNDLED_MODELS}


def _real_resets(env_id: str, n: int = 200) -> np.ndarray:
    env = gym.make(env_id)
    return np.stack([env.reset(seed=seed)[0] for seed in range(n)])


@pytest.mark.parametrize(("task", "quality", "kind"), BUNDLED_MODELS, ids=["-".join(m) for m in BUNDLED_MODELS])
def test_each_bundled_checkpoint_loads_with_its_data_and_the_real_envs_start_states(task, quality, kind):
    spec = task_spec(task)
    path = resolve_checkpoint(task, quality, kind)
    assert path.parent == BUNDLED
    model = load_world_model(path, env=spec.env_id)
    info = model.info
    assert model.kind == kind and info["dataset_id"] == dataset_id(task, quality)
    assert info["weights_dtype"] == "float16"
    if (task, quality, kind) not in NO_SELECTION_RECORD:
        assert 0 < info["selected_step"] <= info["train_steps"]
        assert np.isfinite(info["selected_held_out_loss"])
    states = model.start_states
    assert states["states"].shape[1] == states["episode_starts"].shape[1] == spec.obs_dim
    assert states["actions"].shape == (len(states["states"]), spec.action_dim)
    real = _real_resets(spec.env_id)
    assert states["episode_starts"].shape[1:] == real.shape[1:] and len(states["episode_starts"]) >= 500
    low, high = real.min(0), real.max(0)
    margin = 0.5 * (high - low)  # the episode starts are the real env's resets: within their spread
    assert np.all(states["episode_starts"] >= low - margin) and np.all(states["episode_starts"] <= high + margin)


def test_the_start_state_check_fails_on_states_from_inside_episodes():
    """The check above can fail: the data's states (not its episode starts) lie outside the reset spread."""
    model = load_world_model(resolve_checkpoint("hopper", "medium", "dwm"))
    real = _real_resets("Hopper-v5")
    low, high = real.min(0), real.max(0)
    margin = 0.5 * (high - low)
    inside = (model.start_states["states"] >= low - margin) & (model.start_states["states"] <= high + margin)
    assert inside.all(axis=1).mean() < 0.5


BUNDLED_DWMS = [m for m in BUNDLED_MODELS if m[2] == "dwm"]


@pytest.mark.parametrize(("task", "quality", "kind"), BUNDLED_DWMS, ids=["-".join(m) for m in BUNDLED_DWMS])
def test_bundled_dwms_follow_the_small_recipe(task, quality, kind):
    from dwm_gym.world_model import preset

    model = load_world_model(resolve_checkpoint(task, quality, kind))
    small = preset("small")
    assert model.config.state_normalization == small.state_normalization == "gaussian"
    assert (model.config.dim, model.config.dim_mults) == (small.dim, small.dim_mults)
    assert model.info["train_steps"] == small.train_steps and model.segment_length == 8
    recipe = {"prediction": small.prediction, **DWM_TRAIN_OPTIONS[task]}  # the options train_command prints
    assert {name: getattr(model.config, name) for name in recipe} == recipe


def test_user_cache_wins_over_bundled_and_explicit_path_wins_over_all(tmp_path):
    cached = user_checkpoint_dir() / "hopper_medium_dwm.safetensors"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert resolve_checkpoint("hopper", "medium", "dwm") == cached
    explicit = tmp_path / "mine.safetensors"
    explicit.write_bytes(b"x")
    assert resolve_checkpoint("hopper", "medium", "dwm", checkpoint=explicit) == explicit
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_checkpoint("hopper", "medium", "dwm", checkpoint=tmp_path / "missing.safetensors")


def test_missing_checkpoint_error_prints_the_training_command():
    with pytest.raises(CheckpointNotFoundError) as err:
        resolve_checkpoint("halfcheetah", "medium-expert", "dwm")
    message = str(err.value)
    assert "dwm-gym dataset make halfcheetah-medium-expert" in message
    assert "--dataset dwm_gym/halfcheetah/medium-expert-v0 --kind dwm --preset small --prediction x0 --out" in message
    assert str(user_checkpoint_dir() / "halfcheetah_medium_expert_dwm.safetensors") in message
