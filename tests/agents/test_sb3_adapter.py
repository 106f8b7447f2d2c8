"""The one re-implementation of SB3's private learn setup is pinned to the SB3 source it mirrors."""

import pytest

from dwm_gym.agents.sb3_adapter import MIRRORED_SOURCES, source_digest


@pytest.mark.parametrize("name", sorted(MIRRORED_SOURCES))
def test_sb3_learn_setup_is_the_one_setup_offline_learn_mirrors(name):
    assert source_digest(name) == MIRRORED_SOURCES[name], (
        f"Stable-Baselines3 changed {name}: compare it with setup_offline_learn in dwm_gym/agents/sb3_adapter.py, "
        "carry the change over (minus the env reset), then record the new digest in MIRRORED_SOURCES"
    )


def test_the_digest_sees_a_changed_source(monkeypatch):
    from stable_baselines3.common.base_class import BaseAlgorithm

    def _setup_learn(self, total_timesteps, callback=None):  # a stand-in for a future SB3 version
        return total_timesteps, callback

    monkeypatch.setattr(BaseAlgorithm, "_setup_learn", _setup_learn)
    assert source_digest("BaseAlgorithm._setup_learn") != MIRRORED_SOURCES["BaseAlgorithm._setup_learn"]
