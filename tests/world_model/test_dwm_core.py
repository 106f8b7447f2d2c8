"""The DWM core: schedule, respacing, shapes, conditioning, determinism, learning."""

import numpy as np
import pytest
import torch

from dwm_gym.data.normalizers import MinMaxNormalizer
from dwm_gym.world_model import DiffusionWorldModel, preset
from dwm_gym.world_model.dwm.diffusion import cosine_alphas_cumprod, respaced_timesteps
from dwm_gym.world_model.termination import hopper_v5_unhealthy

OBS, ACT = 11, 3


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    states = rng.normal(size=(2000, OBS)) + np.array([1.2] + [0.0] * (OBS - 1))
    config = preset("small", dim=8, dim_mults=(1, 2))
    sn = config.new_state_normalizer().fit(states)
    rn = MinMaxNormalizer().fit(rng.uniform(0, 3, 2000))
    return DiffusionWorldModel(config, OBS, ACT, sn, rn, env_id="Hopper-v5")


def test_schedule_and_respacing():
    ab = cosine_alphas_cumprod(5)
    assert ab.shape == (5,) and np.all(np.diff(ab) < 0) and 0 < ab[-1] < ab[0] < 1
    assert respaced_timesteps(5, 3) == [0, 2, 4]
    assert respaced_timesteps(5, 5) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        respaced_timesteps(5, 6)


def test_rollout_shapes_units_and_conditioning(tiny_model):
    rng = np.random.default_rng(1)
    obs, act = rng.normal(size=(5, OBS)) + 1.2 * (np.arange(OBS) == 0), rng.uniform(-1, 1, (5, ACT))
    seg = tiny_model.rollout(obs, act, rtg=0.7, generator=torch.Generator().manual_seed(0))
    assert seg.states.shape == (5, 7, OBS) and seg.rewards.shape == (5, 7) and seg.terminated.shape == (5, 7)
    short = tiny_model.rollout(obs, act, 3, rtg=0.7, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(short.states, seg.states[:, :3], rtol=0, atol=0)  # a prefix of the same sample
    with pytest.raises(ValueError, match=r"<= 7 \(T - 1, T = 8\)"):
        tiny_model.rollout(obs, act, 8, rtg=0.7)
    # raw units: rewards inside the reward normalizer's range
    assert seg.rewards.min() >= 0 - 1e-4 and seg.rewards.max() <= 3 + 1e-4
    x = tiny_model.sample_sequence(obs, act, 0.7, generator=torch.Generator().manual_seed(0))
    condition = torch.cat(
        [
            tiny_model.state_normalizer.normalize(torch.as_tensor(obs, dtype=torch.float32)),
            torch.as_tensor(act, dtype=torch.float32),
        ],
        dim=-1,
    )
    torch.testing.assert_close(x[:, 0, : OBS + ACT], condition, rtol=0, atol=0)
    assert torch.all(x[:, 1:, OBS : OBS + ACT] == 0)
    with pytest.raises(ValueError, match=r"obs \(B, 11\)"):
        tiny_model.rollout(np.zeros((2, 5)), np.zeros((2, ACT)), rtg=0.5)


def test_same_generator_same_sample(tiny_model):
    obs, act = np.ones((3, OBS)), np.zeros((3, ACT))
    a = tiny_model.rollout(obs, act, rtg=0.5, generator=torch.Generator().manual_seed(7))
    b = tiny_model.rollout(obs, act, rtg=0.5, generator=torch.Generator().manual_seed(7))
    c = tiny_model.rollout(obs, act, rtg=0.5, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(a.states, b.states, rtol=0, atol=0)
    assert not torch.allclose(a.states, c.states)


def test_tiny_model_overfits_one_batch(tiny_model):
    torch.manual_seed(0)
    model = DiffusionWorldModel(
        preset("small", dim=32, dim_mults=(1, 2)), OBS, ACT, tiny_model.state_normalizer, tiny_model.reward_normalizer
    )
    g = torch.Generator().manual_seed(0)
    b = 16
    states, actions = torch.randn(b, OBS, generator=g), torch.rand(b, ACT, generator=g) * 2 - 1
    future, rewards, rtg = torch.randn(b, 7, OBS, generator=g), torch.rand(b, 8, generator=g) * 3, torch.rand(b)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    eval_gen = lambda: torch.Generator().manual_seed(123)  # noqa: E731
    with torch.no_grad():
        before = float(model.loss(states, actions, future, rewards, rtg, eval_gen()))
    for _ in range(300):
        opt.zero_grad()
        model.loss(states, actions, future, rewards, rtg, g).backward()
        opt.step()
    with torch.no_grad():
        after = float(model.loss(states, actions, future, rewards, rtg, eval_gen()))
    assert after < 0.6 * before, (before, after)


class _EchoNoise(torch.nn.Module):
    """A denoiser that returns the exact training noise on generated slots and garbage on imposed ones."""

    def __init__(self, noise: torch.Tensor, mask: torch.Tensor) -> None:
        super().__init__()
        self.noise, self.mask = noise, mask

    def forward(self, x, k, rtg, actions, keep):
        return self.noise * self.mask + 100.0 * (1 - self.mask)


def test_loss_covers_exactly_the_generated_slots(tiny_model):
    # the mask's zeros are the slots the sampler overwrites (row 0's s_t, a_t; later rows' action slots)
    x = torch.full((2, 8, tiny_model.row_dim), 5.0)
    imposed = tiny_model._impose(x, torch.zeros(2, OBS + ACT)) != x
    mask = tiny_model.generated_slots
    assert torch.equal(mask.bool(), ~imposed[0]) and torch.equal(imposed[0], imposed[1])
    assert mask[0, -1] == 1 and mask[1:, :OBS].all() and not mask[1:, OBS : OBS + ACT].any()
    # a denoiser that knows the noise everywhere the sampler generates has zero loss, whatever it says elsewhere
    b, seed = 4, 11
    replay = torch.Generator().manual_seed(seed)
    torch.randint(0, tiny_model.config.diffusion_steps, (b,), generator=replay)  # k, drawn first by loss()
    noise = torch.randn((b, 8, tiny_model.row_dim), generator=replay)
    tiny_model.net = _EchoNoise(noise, mask)
    states, actions = torch.randn(b, OBS), torch.rand(b, ACT) * 2 - 1
    future, rewards, rtg = torch.randn(b, 7, OBS), torch.rand(b, 8) * 3, torch.rand(b)
    loss = tiny_model.loss(states, actions, future, rewards, rtg, torch.Generator().manual_seed(seed))
    assert float(loss) == 0.0


def test_terminated_is_cumulative_from_hopper_rule(tiny_model):
    healthy = torch.zeros(OBS)
    healthy[0] = 1.25
    fallen = healthy.clone()
    fallen[0] = 0.5
    assert not hopper_v5_unhealthy(healthy) and hopper_v5_unhealthy(fallen)
    states = torch.stack([healthy, healthy, fallen, healthy, healthy, healthy, healthy])[None]
    terminated = tiny_model.terminated(states)
    assert terminated.tolist() == [[False, False, True, True, True, True, True]]  # one flag per state


def test_bf16_sampler_stays_close_to_fp32_and_returns_fp32():
    from dwm_gym.world_model import load_world_model
    from dwm_gym.world_model.bundled import resolve_checkpoint

    model = load_world_model(resolve_checkpoint("hopper", "medium", "dwm"))  # trained weights
    obs = model.start_states["states"][:128]
    act = np.random.default_rng(2).uniform(-1, 1, (128, ACT))
    fp32 = model.sample_sequence(obs, act, 0.8, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(0)
    bf16 = model.sample_sequence(obs, act, 0.8, generator=generator, sampler={"precision": "bf16"})
    assert bf16.dtype == torch.float32
    gap = (bf16 - fp32)[:, 1:, :OBS].abs()  # imagined states, normalized units
    assert 0 < gap.mean() < 0.03  # bf16 really ran, and stayed close
    with pytest.raises(ValueError, match="precision must be"):
        model.rollout(obs, act, rtg=0.8, sampler={"precision": "fp16"})
    with pytest.raises(ValueError, match=r"unknown sampler settings \['guidance'\]"):
        model.rollout(obs, act, rtg=0.8, sampler={"guidance": 1.0})


@pytest.mark.slow
def test_compiled_sampler_matches_eager_and_leaves_the_state_dict_alone(tiny_model):
    rng = np.random.default_rng(3)
    obs, act = rng.normal(size=(8, OBS)) + 1.2 * (np.arange(OBS) == 0), rng.uniform(-1, 1, (8, ACT))
    keys = set(tiny_model.state_dict())
    eager = tiny_model.sample_sequence(obs, act, 0.7, generator=torch.Generator().manual_seed(0))
    compiled = tiny_model.compile_sampler().sample_sequence(obs, act, 0.7, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(compiled, eager, atol=1e-3, rtol=1e-3)  # fused kernels reorder float sums
    assert set(tiny_model.state_dict()) == keys
