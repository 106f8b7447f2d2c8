"""Checkpoint resolution: explicit path, user cache, bundled, then an error with the train command."""

import numpy as np
import pytest

from dwm_gym.world_model.bundled import CheckpointNotFoundError, resolve_checkpoint, user_checkpoint_dir
from dwm_gym.world_model.checkpoint import load_world_model


def test_bundled_hopper_medium_checkpoints_load_with_reference_states():
    for kind in ("dwm", "onestep"):
        path = resolve_checkpoint("hopper", "medium", kind)
        assert path.parent.name == "assets"
        model = load_world_model(path, env="Hopper-v5")
        starts = model.start_states["episode_starts"]
        assert starts.shape[1] == 11 and len(starts) >= 1000
        assert np.all(np.abs(starts[:, 0] - 1.25) < 0.01)  # Hopper-v5 resets at z = 1.25 +- 0.005


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
