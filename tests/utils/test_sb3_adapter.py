"""The one re-implementation of SB3's private learn setup is pinned to the SB3 source it mirrors."""

import pytest

from dwm_gym.utils.sb3_adapter import MIRRORED_SOURCES, source_digest


@pytest.mark.parametrize("name", sorted(MIRRORED_SOURCES))
def test_sb3_learn_setup_is_the_one_setup_offline_learn_mirrors(name):
    assert source_digest(name) == MIRRORED_SOURCES[name], (
        f"Stable-Baselines3 changed {name}: compare it with setup_offline_learn in dwm_gym/utils/sb3_adapter.py, "
        "carry the change over (minus the env reset), then record the new digest in MIRRORED_SOURCES"
    )


def test_the_digest_sees_a_changed_source(monkeypatch):
    from stable_baselines3.common.base_class import BaseAlgorithm

    def _setup_learn(self, total_timesteps, callback=None):  # a stand-in for a future SB3 version
        return total_timesteps, callback

    monkeypatch.setattr(BaseAlgorithm, "_setup_learn", _setup_learn)
    assert source_digest("BaseAlgorithm._setup_learn") != MIRRORED_SOURCES["BaseAlgorithm._setup_learn"]


def test_the_private_members_the_adapter_wraps_still_exist():
    import inspect

    from stable_baselines3 import SAC, TD3
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

    from dwm_gym.utils.sb3_adapter import last_observation, predict_actions

    for policy in (TD3.policy_aliases["MlpPolicy"], SAC.policy_aliases["MlpPolicy"]):
        assert "_predict" in vars(policy), f"{policy.__name__} no longer defines _predict: see predict_actions"
    assert "self._last_obs = new_obs" in inspect.getsource(OffPolicyAlgorithm._store_transition), "see last_observation"
    agent = TD3("MlpPolicy", "Pendulum-v1", learning_starts=100, device="cpu")
    obs = agent.policy.obs_to_tensor(agent.env.reset())[0]
    actions = predict_actions(agent.policy, obs)
    assert actions.shape == (1, 1) and actions.abs().max() <= 1.0
    with pytest.raises(RuntimeError, match="not started collecting"):
        last_observation(agent)
    agent.learn(1)  # one env step, no update
    assert last_observation(agent).shape == (1, 3)
