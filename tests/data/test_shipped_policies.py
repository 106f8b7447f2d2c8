"""The Hopper behaviour policies shipped in the package."""

import numpy as np

from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.shipped import ASSETS, load_behavior_policy, load_replay_stream


def test_shipped_hopper_policies_load_and_match_their_records():
    medium, expert = load_behavior_policy("hopper", "medium"), load_behavior_policy("hopper", "expert")
    assert medium.info.role == "medium" and expert.info.role == "expert"
    assert medium.info.train_steps < expert.info.train_steps
    # D4RL recipe: medium is about a third of the expert
    assert 0.25 < medium.info.mean_return / expert.info.mean_return < 0.45
    rng = np.random.default_rng(5)
    episodes = collect_episodes("Hopper-v5", lambda o: medium.act(o, rng), num_episodes=8, seed=5)
    measured = np.mean([e.total_return for e in episodes])
    # 8 episodes: within 3 standard errors of the recorded 50-episode mean
    assert abs(measured - medium.info.mean_return) < 3 * medium.info.std_return / np.sqrt(8)


def test_shipped_replay_stream_ends_at_the_medium_snapshot():
    episodes, info = load_replay_stream(ASSETS / "hopper_medium_replay.npz")
    assert info["until_step"] == load_behavior_policy("hopper", "medium").info.train_steps
    assert sum(len(e) for e in episodes) == info["transitions"] == info["until_step"]
    for e in episodes[:50]:
        e.validate()
