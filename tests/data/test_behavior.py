"""Behaviour policies: actor files, batched collection, the SAC pipeline that makes the shipped policies."""

import json

import numpy as np
import pytest
import torch

from dwm_gym.data.behavior.actor import ActorInfo, TanhGaussianActor, load_actor, save_actor
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.export import export_behavior, replay_until, select_snapshots
from dwm_gym.data.behavior.sac_training import SACTrainingConfig, list_snapshots, train_behavior_sac
from dwm_gym.data.behavior.shipped import load_replay_stream


def test_actor_round_trip_and_corrupt_file(tmp_path):
    torch.manual_seed(0)
    actor = TanhGaussianActor(11, 3, [32, 32])
    info = ActorInfo("Hopper-v5", 11, 3, [32, 32], 100, 0, 12.5, 1.0, 5, role="medium")
    path = save_actor(actor, info, tmp_path / "a.safetensors")
    policy = load_actor(path)
    assert policy.info.mean_return == 12.5 and policy.info.role == "medium"
    obs = np.random.default_rng(0).normal(size=(4, 11))
    with torch.no_grad():
        expected = torch.tanh(actor(torch.as_tensor(obs, dtype=torch.float32))[0]).numpy()
    np.testing.assert_allclose(policy.act(obs, deterministic=True), expected, rtol=1e-5, atol=1e-6)
    a = policy.act(obs, np.random.default_rng(1))
    b = policy.act(obs, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, expected) and np.abs(a).max() <= 1
    with pytest.raises(ValueError, match="11 values"):
        policy.act(np.zeros(5), deterministic=True)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable behaviour-actor file"):
        load_actor(path)


def test_collect_respects_budgets():
    rng = np.random.default_rng(0)
    policy = lambda o: rng.uniform(-1, 1, (len(o), 3))  # noqa: E731
    for num_envs in (1, 3, 16):
        episodes = collect_episodes("Hopper-v5", policy, num_steps=150, num_envs=num_envs)
        assert sum(len(e) for e in episodes) == 150
        for e in episodes:
            e.validate()
    episodes = collect_episodes("Hopper-v5", policy, num_episodes=5, num_envs=8)
    assert len(episodes) == 5 and all(e.terminations[-1] or e.truncations[-1] for e in episodes)
    with pytest.raises(ValueError, match="exactly one"):
        collect_episodes("Hopper-v5", policy, num_steps=5, num_episodes=5)


def test_select_snapshots_picks_a_third_of_expert():
    snaps = [{"train_steps": s, "mean_return": r} for s, r in [(1, 10), (2, 400), (3, 1100), (4, 3000), (5, 2900)]]
    medium, expert = select_snapshots(snaps)
    assert expert["train_steps"] == 4 and medium["train_steps"] == 3


def test_sac_pipeline_records_resumes_and_exports(tmp_path):
    run = tmp_path / "run"
    config = SACTrainingConfig(
        total_steps=600,
        eval_every=200,
        checkpoint_every=400,
        learning_starts=100,
        eval_episodes=2,
        hidden_sizes=(32, 32),
    )
    train_behavior_sac(config, run, progress_bar=False)
    config.total_steps = 800
    train_behavior_sac(config, run, resume=True, progress_bar=False)
    snaps = list_snapshots(run)
    assert [s["train_steps"] for s in snaps] == [200, 400, 600, 800]
    summary = export_behavior(run, "hopper", tmp_path / "out", eval_episodes=2)
    medium_step = summary["medium"]["train_steps"]
    episodes, info = load_replay_stream(tmp_path / "out" / "hopper_medium_replay.npz")
    # the replay stream is every transition SAC saw up to the medium snapshot, in order
    assert sum(len(e) for e in episodes) == medium_step == info["until_step"]
    for e in episodes:
        e.validate()
    assert load_actor(tmp_path / "out" / "hopper_expert.safetensors").info.role == "expert"
    curve = json.loads((tmp_path / "out" / "hopper_sac_curve.json").read_text())
    assert [row["train_steps"] for row in curve["snapshots"]] == [200, 400, 600, 800]
    assert [row["mean_return"] for row in curve["snapshots"]] == [s["mean_return"] for s in snaps]
    # wall time is the run's, across the resume: it never goes back
    walls = [row["wall_s"] for row in curve["snapshots"]]
    assert walls == sorted(walls) and walls[-1] > walls[2] > 0
    # the whole stream, across the resume (where SB3 resets the env), is a valid dataset
    whole = replay_until(run, 800, "Hopper-v5")
    assert whole.num_transitions == 800
