"""D4RL-recipe generation written with Minari, and the Minari round trip."""

import json

import numpy as np
import pytest
import torch

from dwm_gym.data import DatasetError, OfflineDataset, make_dataset
from dwm_gym.data.behavior import shipped
from dwm_gym.data.behavior.actor import ActorInfo, TanhGaussianActor, save_actor
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.shipped import save_replay_stream, user_behavior_dir
from dwm_gym.data.minari_io import datasets_root, list_local_datasets


@pytest.fixture
def hopper_policies():
    """Small random-weight hopper actors and a replay stream in $DWM_GYM_HOME/behavior."""
    torch.manual_seed(0)
    for role, ret in (("medium", 300.0), ("expert", 900.0)):
        actor = TanhGaussianActor(11, 3, [16])
        info = ActorInfo("Hopper-v5", 11, 3, [16], 1000, 0, ret, 10.0, 5, role=role)
        save_actor(actor, info, user_behavior_dir() / f"hopper_{role}.safetensors")
    rng = np.random.default_rng(1)
    stream = collect_episodes("Hopper-v5", lambda o: rng.uniform(-1, 1, (len(o), 3)), num_steps=120, num_envs=1)
    save_replay_stream(stream, user_behavior_dir() / "hopper_medium_replay.npz", {"until_step": 120})
    return stream


@pytest.fixture
def no_shipped_policies(tmp_path, monkeypatch):
    """The package's shipped behaviour files hidden: every task is one without policies."""
    empty = tmp_path / "no_assets"
    empty.mkdir()
    monkeypatch.setattr(shipped, "ASSETS", empty)


def test_random_dataset_minari_round_trip():
    made = make_dataset("hopper-random", steps=300, seed=3, num_envs=4, progress=False)
    assert made.num_transitions == 300
    assert "dwm_gym/hopper/random-v0" in list_local_datasets()
    loaded = OfflineDataset.from_minari("dwm_gym/hopper/random-v0")
    assert loaded.env_id == "Hopper-v5"
    assert loaded.num_transitions == 300 and loaded.num_episodes == made.num_episodes
    for a, b in zip(made.episodes, loaded.episodes):
        np.testing.assert_allclose(a.observations, b.observations)
        np.testing.assert_allclose(a.actions, b.actions)
        np.testing.assert_array_equal(a.terminations, b.terminations)
        np.testing.assert_array_equal(a.truncations, b.truncations)
    # hopper under random actions falls: true terminations are kept apart from budget cuts
    assert sum(e.terminated for e in loaded.episodes) > 0
    cut = loaded.metadata["budget_cut_episodes"]
    assert all(not loaded.episodes[i].terminated for i in cut)
    assert loaded.metadata["ref_min_score"] in (pytest.approx(15.669), pytest.approx(-20.272305))
    assert loaded.metadata["quality"] == "random" and loaded.metadata["seed"] == 3
    # nothing half-written is left next to the dataset
    assert not [p for p in datasets_root().rglob(".staging-*")]


def test_same_seed_same_dataset():
    a = make_dataset("hopper-random", steps=100, seed=7, num_envs=2, progress=False)
    b = make_dataset("hopper-random", steps=100, seed=7, num_envs=2, progress=False, overwrite=True)
    np.testing.assert_array_equal(a.transitions["actions"], b.transitions["actions"])
    np.testing.assert_array_equal(a.transitions["observations"], b.transitions["observations"])


def test_existing_dataset_is_not_overwritten_by_accident():
    make_dataset("hopper-random", steps=50, progress=False)
    with pytest.raises(FileExistsError, match="--force"):
        make_dataset("hopper-random", steps=50, progress=False)


def test_medium_uses_the_behaviour_policy_and_records_provenance(hopper_policies):
    data = make_dataset("hopper-medium", steps=200, num_envs=3, progress=False)
    part = data.metadata["parts"][0]
    assert part["policy_mean_return"] == 300.0 and part["policy"].startswith("hopper_medium")
    loaded = OfflineDataset.from_minari("dwm_gym/hopper/medium-v0")
    assert loaded.metadata["parts"][0]["policy_mean_return"] == 300.0
    assert np.abs(loaded.transitions["actions"]).max() <= 1.0


def test_medium_replay_and_medium_expert(hopper_policies):
    replay = make_dataset("hopper-medium-replay", progress=False)
    assert replay.num_transitions == 120
    np.testing.assert_allclose(replay.episodes[0].observations, hopper_policies[0].observations, rtol=1e-6)
    # the stream ends where SAC was stopped: its last episode is a cut, not a time limit
    assert replay.metadata["budget_cut_episodes"] == [replay.num_episodes - 1]
    short = make_dataset("hopper-medium-replay", steps=50, progress=False, overwrite=True)
    assert short.num_transitions == 50 and short.episodes[-1].truncations[-1]
    assert short.metadata["budget_cut_episodes"] == [short.num_episodes - 1]
    both = make_dataset("hopper-medium-expert", steps=100, progress=False)
    assert both.num_transitions == 200
    assert [p["part"] for p in both.metadata["parts"]] == ["medium", "expert"]


def test_missing_policy_without_training_is_a_clear_error(no_shipped_policies):
    with pytest.raises(FileNotFoundError, match="dataset make walker2d-medium"):
        make_dataset("walker2d-medium", steps=10, progress=False, train_missing_policies=False)


def test_unknown_names_and_ids():
    with pytest.raises(ValueError, match="hopper-medium-replay"):
        make_dataset("hopper-mediocre", steps=10)
    make_dataset("hopper-random", steps=20, progress=False)
    with pytest.raises(DatasetError, match="Local datasets: dwm_gym/hopper/random-v0"):
        OfflineDataset.from_minari("dwm_gym/hopper/expert-v0")


def test_provenance_file_is_json():
    make_dataset("hopper-random", steps=20, progress=False)
    record = json.loads((datasets_root() / "dwm_gym/hopper/random-v0/dwm_gym_provenance.json").read_text())
    assert record["transitions"] == 20 and record["env_id"] == "Hopper-v5"
    assert "mujoco" in record["versions"]


@pytest.mark.slow  # tens of seconds: kept out of the default suite (run with -m slow)
def test_missing_policy_is_trained_then_used(no_shipped_policies):
    """The walker2d pipeline end to end with a tiny SAC budget: train, export, generate."""
    data = make_dataset("walker2d-medium", steps=100, num_envs=2, progress=False, policy_training_steps=400)
    assert data.num_transitions == 100 and data.env_id == "Walker2d-v5"
    assert (user_behavior_dir() / "walker2d_medium.safetensors").is_file()
    assert (user_behavior_dir() / "walker2d_medium_replay.npz").is_file()
    # the trained expert now defines the v5 reference of walker2d
    assert data.metadata["ref_scores"]["source"].startswith("v5")
