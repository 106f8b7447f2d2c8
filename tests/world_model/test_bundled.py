"""Checkpoint resolution: explicit path, user cache, bundled, then an error with the train command."""

import numpy as np
import pytest

from dwm_gym.world_model.bundled import CheckpointNotFoundError, resolve_checkpoint, user_checkpoint_dir
from dwm_gym.world_model.registry import load_world_model

HOPPER_QUALITIES = ["medium", "medium-replay", "medium-expert"]


@pytest.mark.parametrize("quality", HOPPER_QUALITIES)
def test_bundled_hopper_checkpoints_load_with_reference_states(quality):
    for kind in ("dwm", "onestep"):
        path = resolve_checkpoint("hopper", quality, kind)
        assert path.parent.name == "assets"
        model = load_world_model(path, env="Hopper-v5")
        assert model.info["dataset_id"] == f"dwm_gym/hopper/{quality}-v0" and model.kind == kind
        starts = model.start_states["episode_starts"]
        assert starts.shape[1] == 11 and len(starts) >= 1000
        assert np.all(np.abs(starts[:, 0] - 1.25) < 0.01)  # Hopper-v5 resets at z = 1.25 +- 0.005


@pytest.mark.parametrize("quality", ["medium-replay", "medium-expert"])
def test_new_bundled_models_were_selected_by_held_out_loss_and_ship_in_half_precision(quality):
    for kind in ("dwm", "onestep"):
        info = load_world_model(resolve_checkpoint("hopper", quality, kind)).info
        assert info["weights_dtype"] == "float16"
        assert 0 < info["selected_step"] == info["train_steps"] <= 60_000
        assert np.isfinite(info["selected_held_out_loss"])


@pytest.mark.parametrize("quality", HOPPER_QUALITIES)
def test_bundled_dwms_follow_the_small_recipe(quality):
    from dwm_gym.world_model import preset

    model = load_world_model(resolve_checkpoint("hopper", quality, "dwm"))
    small = preset("small")
    assert model.config.state_normalization == small.state_normalization == "gaussian"
    assert (model.config.dim, model.config.dim_mults) == (small.dim, small.dim_mults)
    assert model.info["weights_dtype"] == "float16" and model.info["selected_step"] == small.train_steps


@pytest.mark.parametrize("quality", HOPPER_QUALITIES)
def test_every_hopper_env_id_makes_and_steps_offline_with_both_kinds(quality):
    import gymnasium as gym

    import dwm_gym  # noqa: F401

    for kind in ("dwm", "onestep"):
        env = gym.make(f"DWM-hopper-{quality}-v0", kind=kind, device="cpu")
        obs, _ = env.reset(seed=0)
        assert env.unwrapped.model.info["dataset_id"] == f"dwm_gym/hopper/{quality}-v0"
        for _ in range(3):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            assert env.observation_space.contains(obs) and np.isfinite(reward)
            if terminated or truncated:
                obs, _ = env.reset()


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
        resolve_checkpoint("walker2d", "medium-expert", "dwm")
    message = str(err.value)
    assert "dwm-gym dataset make walker2d-medium-expert" in message
    assert "--dataset dwm_gym/walker2d/medium-expert-v0 --kind dwm" in message
    assert str(user_checkpoint_dir() / "walker2d_medium_expert_dwm.safetensors") in message
