"""The behaviour policies shipped in the package: Hopper, Walker2d and HalfCheetah."""

import numpy as np
import pytest

from dwm_gym.data import OfflineDataset, make_dataset
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.shipped import ASSETS, load_behavior_policy, load_replay_stream
from dwm_gym.data.specs import task_spec

TASKS = ["hopper", "walker2d", "halfcheetah"]


@pytest.mark.parametrize("task", TASKS)
def test_shipped_policies_load_and_match_their_records(task):
    env_id = task_spec(task).env_id
    medium, expert = load_behavior_policy(task, "medium"), load_behavior_policy(task, "expert")
    assert medium.info.role == "medium" and expert.info.role == "expert" and medium.info.env_id == env_id
    assert medium.info.train_steps < expert.info.train_steps and medium.info.eval_episodes >= 20
    # D4RL recipe: medium is about a third of the expert
    assert 0.25 < medium.info.mean_return / expert.info.mean_return < 0.45
    for policy in (medium, expert):
        rng = np.random.default_rng(5)
        episodes = collect_episodes(env_id, lambda o, p=policy, g=rng: p.act(o, g), num_episodes=8, num_envs=4, seed=5)
        measured = np.mean([e.total_return for e in episodes])
        # 8 episodes: within 3 standard errors of the recorded mean (and of at least 2 % of it)
        tolerance = max(3 * policy.info.std_return / np.sqrt(8), 0.02 * abs(policy.info.mean_return))
        assert abs(measured - policy.info.mean_return) < tolerance, (policy.info.role, measured)


@pytest.mark.parametrize("task", TASKS)
def test_shipped_replay_stream_ends_at_the_medium_snapshot(task):
    episodes, info = load_replay_stream(ASSETS / f"{task}_medium_replay.npz")
    assert info["until_step"] == load_behavior_policy(task, "medium").info.train_steps
    assert sum(len(e) for e in episodes) == info["transitions"] == info["until_step"]
    for e in episodes[:50]:
        e.validate()


@pytest.mark.parametrize("task", ["walker2d", "halfcheetah"])
def test_small_datasets_of_each_quality_round_trip_through_minari(task):
    env_id = task_spec(task).env_id
    for quality, steps in (("random", 60), ("medium", 60), ("expert", 60), ("medium-replay", 80)):
        made = make_dataset(f"{task}-{quality}", steps=steps, seed=1, num_envs=2, progress=False)
        loaded = OfflineDataset.from_minari(f"dwm_gym/{task}/{quality}-v0")
        assert loaded.env_id == env_id and loaded.num_transitions == made.num_transitions == steps
        np.testing.assert_allclose(loaded.transitions["observations"], made.transitions["observations"], rtol=1e-6)
        np.testing.assert_array_equal(loaded.transitions["actions"], made.transitions["actions"])
    both = make_dataset(f"{task}-medium-expert", steps=40, seed=1, num_envs=2, progress=False)
    assert both.num_transitions == 80 and [p["part"] for p in both.metadata["parts"]] == ["medium", "expert"]
