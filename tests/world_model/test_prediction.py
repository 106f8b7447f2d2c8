"""The DWM's prediction targets (ε, x0, v): conversions, loss, sampler, checkpoints."""

from pathlib import Path

import numpy as np
import pytest
import torch

from dwm_gym.data.normalizers import MinMaxNormalizer
from dwm_gym.evaluation.run_records import read_records
from dwm_gym.world_model import DiffusionWorldModel, preset
from dwm_gym.world_model.bundled import resolve_checkpoint
from dwm_gym.world_model.checkpoint import save_world_model
from dwm_gym.world_model.dwm.diffusion import (
    PREDICTIONS,
    PosteriorTable,
    cosine_alphas_cumprod,
    prediction_target,
    respaced_timesteps,
    x0_and_noise,
)
from dwm_gym.world_model.registry import load_world_model

OBS, ACT = 11, 3


def tiny(prediction: str) -> DiffusionWorldModel:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    config = preset("small", dim=8, dim_mults=(1, 2), prediction=prediction)
    sn = config.new_state_normalizer().fit(rng.normal(size=(2000, OBS)))
    rn = MinMaxNormalizer().fit(rng.uniform(0, 3, 2000))
    return DiffusionWorldModel(config, OBS, ACT, sn, rn, env_id="Hopper-v5")


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_target_and_inverse_round_trip_at_every_level(prediction):
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(5, 8, 4, generator=g), torch.randn(5, 8, 4, generator=g)
    alpha_bar = torch.tensor(cosine_alphas_cumprod(5), dtype=torch.float32)
    k = torch.tensor([0, 1, 2, 3, 4])
    ab = alpha_bar[k].view(-1, 1, 1)
    xk = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    target = prediction_target(prediction, x0, noise, alpha_bar[k])
    x0_hat, noise_hat = x0_and_noise(prediction, target, xk, alpha_bar[k])
    torch.testing.assert_close(x0_hat, x0, atol=2e-3, rtol=0)  # ε: 100-fold rounding at ᾱ ≈ 1e-4
    torch.testing.assert_close(noise_hat, noise, atol=1e-4, rtol=0)
    table = PosteriorTable.build(cosine_alphas_cumprod(5), respaced_timesteps(5, 5))
    for i in range(5):
        torch.testing.assert_close(table.x0_hat(prediction, i, xk[i], target[i]), x0[i], atol=2e-3, rtol=0)


def test_targets_differ_between_predictions():
    x0, noise = torch.ones(2, 3), torch.zeros(2, 3)
    ab = torch.tensor([0.5, 0.5])
    outputs = [prediction_target(p, x0, noise, ab) for p in PREDICTIONS]
    assert not torch.equal(outputs[0], outputs[1]) and not torch.equal(outputs[1], outputs[2])
    torch.testing.assert_close(outputs[2], -(0.5**0.5) * x0)  # v = √ᾱ ε - √(1-ᾱ) x0 with ε = 0


class _Fixed(torch.nn.Module):
    """A denoiser that answers ``output`` whatever it is asked."""

    def __init__(self, output: torch.Tensor) -> None:
        super().__init__()
        self.output = output

    def forward(self, *args):
        return self.output


class _Oracle(torch.nn.Module):
    """A denoiser that knows the clean sequence C and answers in the model's prediction target."""

    def __init__(self, clean: torch.Tensor, alpha_bar: torch.Tensor, prediction: str) -> None:
        super().__init__()
        self.clean, self.alpha_bar, self.prediction = clean, alpha_bar, prediction

    def forward(self, x, k, rtg, actions, keep):
        ab = self.alpha_bar[k].view(-1, 1, 1)
        clean = self.clean.expand_as(x)
        noise = (x - ab.sqrt() * clean) / (1 - ab).sqrt()
        return prediction_target(self.prediction, clean, noise, self.alpha_bar[k])


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_sampler_returns_what_an_exact_denoiser_knows(prediction):
    model = tiny(prediction)
    obs, act = np.zeros((3, OBS)), np.zeros((3, ACT))
    clean = (0.5 * torch.randn(1, 8, model.row_dim, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    model.net = _Oracle(clean, model.alphas_cumprod, prediction)
    x = model.sample_sequence(obs, act, 0.5, torch.Generator().manual_seed(0), {"clip_denoised": False})
    generated = model.generated_slots.bool()
    torch.testing.assert_close(x[:, generated], clean.expand(3, -1, -1)[:, generated], atol=1e-3, rtol=0)


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_loss_is_zero_for_the_exact_target_only(prediction):
    model = tiny(prediction)
    b, seed = 4, 3
    g = torch.Generator().manual_seed(9)
    states, actions = torch.randn(b, OBS, generator=g), torch.rand(b, ACT, generator=g) * 2 - 1
    future, rewards, rtg = torch.randn(b, 7, OBS, generator=g), torch.rand(b, 8, generator=g) * 3, torch.rand(b)
    x0 = model.build_x0(states, actions, future, rewards)
    replay = torch.Generator().manual_seed(seed)
    k = torch.randint(0, model.config.diffusion_steps, (b,), generator=replay)  # the draws loss() makes, in order
    noise = torch.randn(x0.shape, generator=replay)
    target = prediction_target(prediction, x0, noise, model.alphas_cumprod[k])
    model.net = _Fixed(target)
    assert float(model.loss(states, actions, future, rewards, rtg, torch.Generator().manual_seed(seed))) < 1e-10
    other = "x0" if prediction != "x0" else "epsilon"
    wrong = prediction_target(other, x0, noise, model.alphas_cumprod[k])
    model.net = _Fixed(wrong)
    assert float(model.loss(states, actions, future, rewards, rtg, torch.Generator().manual_seed(seed))) > 0.1


def test_unknown_prediction_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="prediction.*epsilon.*x0.*v"):
        preset("small", prediction="score")


def test_prediction_survives_a_checkpoint(tmp_path):
    model = tiny("v")
    path = save_world_model(model, tmp_path / "v.safetensors", dataset_id="dwm_gym/hopper/medium-v0", train_steps=1)
    loaded = load_world_model(path, env="Hopper-v5")
    assert loaded.config.prediction == "v"
    obs, act = np.full((2, OBS), 0.2), np.zeros((2, ACT))
    a = model.rollout(obs, act, rtg=0.6, generator=torch.Generator().manual_seed(1))
    b = loaded.rollout(obs, act, rtg=0.6, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a.states, b.states)


def test_a_model_at_the_papers_prediction_keeps_the_digest_older_versions_gave_it():
    """The setting is stored and hashed only when it is not ε, so committed records and caches still match."""
    from dwm_gym.value_expansion.cache import model_digest

    eps, x0 = tiny("epsilon"), tiny("x0")
    assert "prediction" not in eps.config_dict() and x0.config_dict()["prediction"] == "x0"
    assert model_digest(eps) != model_digest(x0)  # same weights and normalizers (same seed), another target
    bundled = load_world_model(resolve_checkpoint("hopper", "medium", "dwm"))
    records = read_records(Path(__file__).parents[2] / "benchmarks/results/records/hopper-medium.jsonl")
    recorded = {r.world_model_digest for r in records if r.name.startswith("DWM-") and "_" not in r.name[4:-3]}
    assert recorded == {model_digest(bundled)}
