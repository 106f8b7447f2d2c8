"""The target handover: from the value-expansion target to the one-step TD target on the real transition."""

import numpy as np
import pytest
import torch

from dwm_gym.agents import IQL, TD3BC
from dwm_gym.agents.handover import blend_targets, check_handover, check_handover_updates, handover_weight
from dwm_gym.agents.run_checks import settings_without_effect
from dwm_gym.agents.runs import AgentRunConfig
from dwm_gym.sweep.spec import spec_from_dict
from dwm_gym.value_expansion import OneStepMVEReplayBuffer
from dwm_gym.world_model.bundled import resolve_checkpoint

SMALL = dict(batch_size=32, policy_kwargs=dict(net_arch=[32, 32]), device="cpu", seed=0)


def trained(cls, data, updates: int, model_based: bool = True, **handover):
    kwargs = dict(world_model=str(resolve_checkpoint("hopper", "medium", "onestep")), horizon=3)  # cheaper than a DWM
    buffer = dict(replay_buffer_class=OneStepMVEReplayBuffer, replay_buffer_kwargs=kwargs) if model_based else {}
    agent = cls("MlpPolicy", "Hopper-v5", **buffer, **handover, **SMALL).load_dataset(data)
    if updates:
        agent.learn(updates)
    return agent


def same_weights(a, b) -> bool:
    x, y = a.policy.state_dict(), b.policy.state_dict()
    return all(torch.equal(x[k], y[k]) for k in x)


def test_the_weight_rises_linearly_from_start_to_end():
    assert [handover_weight(u, 10, 20) for u in (0, 10, 15, 20, 30)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert [handover_weight(u, 5, 5) for u in (5, 6)] == [0.0, 1.0]  # a step
    assert handover_weight(10**9, None, None) == 0.0
    a, b = torch.zeros(3), torch.ones(3)
    assert blend_targets(a, b, 0.0) is a and torch.equal(blend_targets(a, b, 0.25), torch.full((3,), 0.25))


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        (10, None, "needs both"),
        (20, 10, "end no earlier than it starts"),
        (-1, 10, "handover_start must be an integer >= 0, got -1"),
        (1.5, 10, "handover_start must be an integer >= 0, got 1.5"),
        (0, float("inf"), "handover_end must be an integer >= 0, got inf"),
    ],
)
def test_a_malformed_handover_is_refused_saying_what_is_expected(start, end, match):
    with pytest.raises(ValueError, match=match):
        check_handover(start, end, None)
    with pytest.raises(ValueError, match=match):
        TD3BC("MlpPolicy", "Hopper-v5", handover_start=start, handover_end=end, device="cpu")


def test_update_counts_given_as_whole_floats_become_integers():
    assert check_handover_updates(1e5, 3e5) == (100_000, 300_000)
    assert isinstance(check_handover_updates(1e5, 3e5)[0], int)


def test_the_blend_weighs_the_one_step_target_by_w_and_the_gap_stays_the_expanded_targets(medium_data):
    agent = trained(TD3BC, medium_data, 2, handover_start=0, handover_end=10)
    batch = agent.replay_buffer.sample(16)
    with torch.no_grad():
        torch.manual_seed(3)
        one_step = agent._one_step_target(batch, smoothing=True)  # drawn first, as in the blend
        expanded, bootstrap, _ = agent._critic_target(batch, 0.0)
        torch.manual_seed(3)
        blended, blended_bootstrap, own = agent._critic_target(batch, 0.25)
    torch.testing.assert_close(blended, 0.75 * expanded + 0.25 * one_step)
    torch.testing.assert_close(blended_bootstrap, 0.75 * bootstrap + 0.25 * (one_step - batch.real_rewards))
    assert torch.equal(own, expanded)  # the target gap is measured on the value-expansion target, not the blend


def test_a_model_free_agent_with_a_handover_is_refused_before_its_first_update(medium_data):
    agent = TD3BC("MlpPolicy", "Hopper-v5", handover_start=0, handover_end=10, **SMALL).load_dataset(medium_data)
    with pytest.raises(ValueError, match="needs a value-expansion replay buffer .*got ReplayBuffer"):
        agent.learn(5)
    assert agent._n_updates == 0


@pytest.mark.parametrize("cls", [TD3BC, IQL])
def test_before_its_start_the_handover_leaves_training_exactly_as_without(cls, medium_data):
    later = trained(cls, medium_data, 20, handover_start=1000, handover_end=2000)
    plain = trained(cls, medium_data, 20)
    assert same_weights(later, plain)


def from_the_same_start(agents, updates: int) -> None:
    """Trains ``agents`` from the first one's weights, each from the same global random state (rows, noise)."""
    for agent in agents[1:]:
        agent.policy.load_state_dict(agents[0].policy.state_dict())
    for agent in agents:
        torch.manual_seed(1)
        np.random.seed(1)
        agent.learn(updates)


@pytest.mark.parametrize("cls", [TD3BC, IQL])
def test_once_handed_over_a_model_based_agent_trains_exactly_as_the_model_free_one(cls, medium_data):
    handed = trained(cls, medium_data, 0, handover_start=0, handover_end=0)
    model_free = trained(cls, medium_data, 0, model_based=False)
    partly = trained(cls, medium_data, 0, handover_start=0, handover_end=40)
    from_the_same_start([model_free, handed, partly], 20)
    assert same_weights(handed, model_free)  # the same rows, the same noise draws, the one-step target alone
    assert not same_weights(partly, model_free)  # halfway, the value-expansion target still counts


def test_a_run_declares_the_handover_and_it_applies_only_with_a_world_model():
    config = AgentRunConfig(dataset="hopper-medium", handover_start=0, handover_end=10)
    assert set(settings_without_effect(config)) == {"handover_start", "handover_end"}
    assert settings_without_effect(AgentRunConfig(dataset="hopper-medium", world_model="onestep", handover_start=0,
                                                  handover_end=10)) == {}  # fmt: skip
    with pytest.raises(ValueError, match="needs both"):
        AgentRunConfig(dataset="hopper-medium", world_model="onestep", handover_start=0)


def test_a_sweep_names_its_handover_trials_apart(tmp_path):
    from dwm_gym.sweep import plan_trials

    base = dict(name="s", datasets=["hopper-medium"], methods=["TD3BC", "OneStep-TD3BC"], seeds=[0])
    trials = plan_trials(spec_from_dict({**base, "handover": [100, 300]}), tmp_path)
    assert [t.name for t in trials] == ["hopper-medium/TD3BC_s0", "hopper-medium/OneStep-TD3BC_ho100-300_s0"]
    assert (trials[0].config.handover_start, trials[1].config.handover_start) == (None, 100)
    with pytest.raises(ValueError, match="handover must be"):
        spec_from_dict({**base, "handover": [100]})


def test_a_saved_agent_keeps_its_handover_and_loads_for_evaluation_without_its_buffer(medium_data, tmp_path):
    from dwm_gym.agents.agent_files import save_agent
    from dwm_gym.agents.saved import load_agent

    agent = trained(TD3BC, medium_data, 2, handover_start=0, handover_end=10)
    loaded, _ = load_agent(save_agent(agent, tmp_path / "model.safetensors"), device="cpu")
    assert (loaded.handover_start, loaded.handover_end) == (0, 10) and same_weights(loaded, agent)
