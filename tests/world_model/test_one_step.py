import numpy as np
import pytest
import torch

from dwm_gym.data.normalizers import CDFNormalizer, MinMaxNormalizer
from dwm_gym.world_model.onestep.model import OneStepModel


@pytest.fixture
def model():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sn = MinMaxNormalizer().fit(rng.normal(size=(500, 11)) + 1.25 * (np.arange(11) == 0))
    rn = MinMaxNormalizer().fit(rng.uniform(0, 3, 500))
    return OneStepModel(11, 3, sn, rn, hidden=32, layers=2, env_id="Hopper-v5")


def test_segment_shapes_with_true_actions_and_with_policy(model):
    obs, act = torch.zeros(4, 11), torch.zeros(4, 3)
    seg = model.rollout(obs, act, 7, policy=torch.zeros(4, 6, 3), generator=torch.Generator().manual_seed(0))
    assert seg.states.shape == (4, 7, 11) and seg.rewards.shape == (4, 7) and seg.terminated.shape == (4, 7)
    calls = []
    seg2 = model.rollout(obs, act, 7, policy=lambda s: calls.append(s) or torch.zeros(len(s), 3))
    assert len(calls) == 6 and seg2.states.shape == (4, 7, 11)
    assert model.rollout(obs, act, 1).states.shape == (4, 1, 11)  # one step needs no policy
    with pytest.raises(ValueError, match="needs the actions after a_t"):
        model.rollout(obs, act, 3)
    with pytest.raises(ValueError, match="pass steps="):
        model.rollout(obs, act)
    with pytest.raises(ValueError, match="no sampler settings"):
        model.rollout(obs, act, 1, sampler={"temperature": 0.0})


def test_maximum_likelihood_fits_a_linear_system(model):
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(256, 11, generator=g) * 0.3 + torch.tensor([1.25] + [0.0] * 10)
    act = torch.rand(256, 3, generator=g) * 2 - 1
    next_obs = obs + 0.05 * act.repeat(1, 4)[:, :11]
    reward = 1.0 + act.sum(-1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        first = float(model.loss(obs, act, next_obs, reward))
    for _ in range(300):
        opt.zero_grad()
        model.loss(obs, act, next_obs, reward).backward()
        opt.step()
    with torch.no_grad():
        assert float(model.loss(obs, act, next_obs, reward)) < first - 1.0
    pred, r = model.step(obs[:8], act[:8], torch.Generator().manual_seed(1))
    assert torch.mean((pred - next_obs[:8]) ** 2) < 0.05 and torch.mean((r - reward[:8]) ** 2) < 0.3


def test_a_rollout_under_extreme_actions_stays_finite_and_within_the_data_range(model):
    """A Gaussian step adds its error to the state it starts from: unbounded, far-off actions compound it."""
    with torch.no_grad():  # a model that explodes: steps of 1e3 normalized units and more, noise of 50
        model.mean_net[-1].bias.fill_(1e3)
        model.std_net[-1].bias.fill_(50.0)
    obs, act = torch.zeros(8, 11), torch.full((8, 3), 1.0)
    extreme = torch.full((8, 399, 3), 1e6)  # far outside any action space
    seg = model.rollout(obs, act, 400, policy=extreme, generator=torch.Generator().manual_seed(0))
    states, rewards = seg.states, seg.rewards
    low, high = (
        torch.as_tensor(v, dtype=torch.float32) for v in (model.state_normalizer.low, model.state_normalizer.high)
    )
    assert torch.isfinite(states).all() and torch.isfinite(rewards).all()
    assert ((states >= low) & (states <= high)).all()
    assert ((states == low) | (states == high)).float().mean() > 0.9  # it left the range (unbounded: inf), held there
    r_low, r_high = (
        torch.tensor(v[0], dtype=torch.float32) for v in (model.reward_normalizer.low, model.reward_normalizer.high)
    )
    assert ((rewards >= r_low) & (rewards <= r_high)).all()


def test_the_bound_leaves_in_range_predictions_unchanged(model):
    g = torch.Generator().manual_seed(0)
    obs = torch.randn(64, 11, generator=g) * 0.1 + torch.tensor([1.25] + [0.0] * 10)
    act = torch.rand(64, 3, generator=g) * 2 - 1
    with torch.no_grad():  # the step's own sample, drawn with the same generator, without the bound
        obs_n = model.state_normalizer.normalize(obs)
        mean, std = model._dist(obs_n, act)
        sample = mean + std * torch.randn(mean.shape, generator=torch.Generator().manual_seed(1))
        unbounded = model.state_normalizer.unnormalize(obs_n + sample[:, :11])
        inside = ((obs_n + sample[:, :11]).abs() < 1).all(1)
    states, _ = model.step(obs, act, torch.Generator().manual_seed(1))
    assert inside.sum() > 10  # the comparison covers rows that were inside the range
    assert torch.equal(states[inside], unbounded[inside]) and not torch.equal(states, unbounded)


def test_the_normalizers_must_be_min_max_because_their_range_bounds_the_rollouts():
    states = np.random.default_rng(0).normal(size=(50, 11))
    with pytest.raises(TypeError, match="state normalizer must be a fitted MinMaxNormalizer"):
        OneStepModel(11, 3, CDFNormalizer(11).fit(states), MinMaxNormalizer().fit(np.ones(5)), hidden=8, layers=1)
