"""IQL: expectile V, AWR actor, V bootstrap (DWM-IQL) and the λ-return over imagined segments."""

import numpy as np
import pytest
import torch

import dwm_gym.agents.iql as iql_module
from dwm_gym.agents import IQL
from dwm_gym.agents.iql import buffer_episode_returns, expectile_loss
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer
from dwm_gym.world_model.bundled import resolve_checkpoint

SMALL = dict(batch_size=32, policy_kwargs=dict(net_arch=[32, 32]), device="cpu", seed=0)


def test_learns_offline_saves_and_loads(medium_data, untouchable_env, tmp_path):
    agent = IQL("MlpPolicy", untouchable_env, **SMALL).load_dataset(medium_data)
    agent.learn(30)
    returns = medium_data.episode_returns()
    np.testing.assert_allclose(buffer_episode_returns(agent.replay_buffer), returns, rtol=1e-5)
    assert agent.reward_scale == pytest.approx(1000.0 / (returns.max() - returns.min()), rel=1e-5)
    agent.save(tmp_path / "iql.safetensors")
    loaded = IQL.load(tmp_path / "iql.safetensors", env="Hopper-v5", device="cpu")
    obs = medium_data.transitions["observations"][:4]
    np.testing.assert_allclose(loaded.predict(obs, deterministic=True)[0], agent.predict(obs, deterministic=True)[0])
    assert loaded.reward_scale == agent.reward_scale and loaded.expectile == 0.7 and loaded.beta == 3.0
    actions, _ = loaded.predict(obs, deterministic=False)
    assert actions.shape == (4, 3) and np.all(np.abs(actions) <= 1)


def test_expectile_loss_hand_computed_and_minimized_by_the_expectile():
    # weights 0.7 above, 0.3 below: (0.7·2² + 0.3·1²) / 2
    assert float(expectile_loss(torch.tensor([2.0, -1.0]), 0.7)) == pytest.approx(1.55)
    # the 0.7-expectile of {0, 1} solves 0.7 (1 - v) = 0.3 v → v = 0.7 (the mean would be 0.5)
    v = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.SGD([v], lr=0.5)
    for _ in range(200):
        optimizer.zero_grad()
        expectile_loss(torch.tensor([0.0, 1.0]) - v, 0.7).backward()
        optimizer.step()
    assert float(v.detach()) == pytest.approx(0.7, abs=1e-4)


@pytest.mark.parametrize("td_lambda", [0.95, 1.0])
def test_dwm_iql_uses_the_lambda_return_over_imagined_states(medium_data, monkeypatch, td_lambda):
    calls = []
    original = iql_module.lambda_return
    monkeypatch.setattr(iql_module, "lambda_return", lambda *a, **k: calls.append(a[1].shape) or original(*a, **k))
    kwargs = dict(world_model=str(resolve_checkpoint("hopper", "medium", "dwm")), horizon=3)
    agent = IQL(
        "MlpPolicy",
        "Hopper-v5",
        td_lambda=td_lambda,
        replay_buffer_class=DiffusionMVEReplayBuffer,
        replay_buffer_kwargs=kwargs,
        **SMALL,
    )
    agent.load_dataset(medium_data).learn(3)
    assert agent.replay_buffer.return_segments == (td_lambda < 1)
    assert calls == ([(32, 3)] * 3 if td_lambda < 1 else [])


def test_segments_are_requested_at_construction_and_a_contradiction_is_an_error():
    from dwm_gym.agents.iql import segment_request

    assert segment_request(DiffusionMVEReplayBuffer, {"horizon": 3}, 0.95) == {"horizon": 3, "return_segments": True}
    assert segment_request(DiffusionMVEReplayBuffer, {"horizon": 3}, 1.0) == {"horizon": 3}
    assert segment_request(None, None, 0.95) is None  # model-free: SB3's plain buffer
    with pytest.raises(ValueError, match="td_lambda < 1 needs the imagined segments"):
        segment_request(DiffusionMVEReplayBuffer, {"return_segments": False}, 0.5)


def test_loading_an_agent_requests_the_segments_again(medium_data, tmp_path):
    """SB3's load rebuilds the buffer from the saved kwargs: the λ-return must still get its segments."""
    kwargs = dict(world_model=str(resolve_checkpoint("hopper", "medium", "dwm")), horizon=2)
    agent = IQL(
        "MlpPolicy",
        "Hopper-v5",
        td_lambda=1.0,
        replay_buffer_class=DiffusionMVEReplayBuffer,
        replay_buffer_kwargs=kwargs,
        **SMALL,
    )
    agent.save(tmp_path / "agent.safetensors")
    loaded = IQL.load(tmp_path / "agent.safetensors", env="Hopper-v5", td_lambda=0.9)
    assert loaded.replay_buffer.return_segments
