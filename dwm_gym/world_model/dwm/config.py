"""DWM settings: the model's (:class:`DWMConfig`, with presets) and the sampler's (:class:`SamplerConfig`).

The two are apart because sampler settings can change per call (``rollout(..., sampler=...)``, the
envs' and buffers' ``sampler=``) without touching the trained network, while the model settings
fix the network and its training. See docs/paper.md for the paper's values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar, Literal, get_args

from dwm_gym.data.gaussian_normalizer import GaussianNormalizer
from dwm_gym.data.normalizers import CDFNormalizer
from dwm_gym.utils.validation import choice, finite, non_negative
from dwm_gym.world_model.dwm.diffusion import PREDICTIONS, Prediction

Precision = Literal["auto", "bf16", "fp32"]


@dataclass(frozen=True)
class SamplerConfig:
    """How a :class:`DiffusionWorldModel` samples (changeable per call, no retraining).

    Attributes:
        guidance_weight: Classifier-free guidance ω (1.2).
        start_noise_scale: x_K ~ scale · N(0, I) (0.5).
        temperature: Scale of the posterior noise (0.5).
        clip_denoised: Clip x̂0 to [-1, 1] (as Diffuser: True).
        clip_state_tails: Map sampled states back to raw units only within the data's inner
            quantile range (0.1 % to 99.9 %), not out to its single most extreme values: see
            ``CDFNormalizer.unnormalize`` and docs/concepts.md ("Why Diffusion-MVE diverged").
            False reproduces the plain CDF inverse of Diffuser / the paper.
        precision: Sampler arithmetic: ``"auto"`` (bf16 autocast on CUDA, fp32 elsewhere),
            ``"bf16"`` (autocast on any device) or ``"fp32"``. Training always runs in fp32.
    """

    guidance_weight: float = 1.2
    start_noise_scale: float = 0.5
    temperature: float = 0.5
    clip_denoised: bool = True
    clip_state_tails: bool = True
    precision: Precision = "auto"

    def __post_init__(self) -> None:
        choice("precision", self.precision, get_args(Precision))
        finite("guidance_weight", self.guidance_weight)  # frozen: checked, not converted
        non_negative("start_noise_scale", self.start_noise_scale)
        non_negative("temperature", self.temperature)


# DWMConfig.state_normalization -> the state normalizer class it trains and loads with
StateNormalization = Literal["cdf", "gaussian"]
STATE_NORMALIZERS: dict[StateNormalization, type[CDFNormalizer] | type[GaussianNormalizer]] = {
    "cdf": CDFNormalizer,
    "gaussian": GaussianNormalizer,
}


@dataclass
class DWMConfig:
    """Architecture and training settings of a :class:`DiffusionWorldModel` (sampling: :class:`SamplerConfig`).

    Attributes:
        segment_length: Sequence length T (paper: 8): s_t, a_t and T - 1 future states, T rewards.
        dim: Base channels of the temporal U-Net (paper/DD: 128).
        dim_mults: Channel multipliers per U-Net resolution (DD: (1, 4, 8)).
        kernel_size: Temporal convolution kernel (5).
        diffusion_steps: Training diffusion steps K (5).
        sampling_steps: Respaced sampling steps N (3).
        condition_dropout: Probability of dropping the RTG during training (0.25).
        gamma: Discount of the return-to-go (0.99).
        learning_rate: Adam learning rate (1e-4).
        batch_size: Training batch (64).
        train_steps: Training iterations (paper: 2M).
        ema_decay: EMA β (0.995).
        ema_every: EMA update period in iterations (10).
        state_normalization: How states are normalized for diffusion: ``"cdf"`` (the paper's, after
            Diffuser: every dimension uniform on [-1, 1]) or ``"gaussian"`` (per-dimension mean and
            std: one error scale everywhere; docs/world_model.md, "State normalization").
        prediction: What the denoiser outputs: ``"epsilon"`` (the paper's: the noise), ``"x0"`` (the
            clean sequence) or ``"v"`` (√ᾱ ε - √(1-ᾱ) x0). With ε, an error of the network reaches
            the sampled sequence multiplied by up to √(1-ᾱ)/√ᾱ ≈ 100 at the noisiest level
            (docs/world_model.md, "Prediction target").
    """

    kind: ClassVar[str] = "dwm"
    segment_length: int = 8
    dim: int = 128
    dim_mults: tuple[int, ...] = (1, 4, 8)
    kernel_size: int = 5
    diffusion_steps: int = 5
    sampling_steps: int = 3
    condition_dropout: float = 0.25
    gamma: float = 0.99
    learning_rate: float = 1e-4
    batch_size: int = 64
    train_steps: int = 2_000_000
    ema_decay: float = 0.995
    ema_every: int = 10
    state_normalization: StateNormalization = "cdf"
    prediction: Prediction = "epsilon"

    def __post_init__(self) -> None:
        choice("state_normalization", self.state_normalization, STATE_NORMALIZERS)
        choice("prediction", self.prediction, PREDICTIONS)

    def new_state_normalizer(self) -> CDFNormalizer | GaussianNormalizer:
        """An unfitted normalizer of the kind ``state_normalization`` names (fit it on the training states)."""
        return STATE_NORMALIZERS[self.state_normalization]()


# settings added after checkpoints were shipped, with the value every older checkpoint implies; stored (and hashed
# into a model's digest) only when they differ from it, so older models keep their files' meaning and their digests
IMPLIED_BY_OLDER_CHECKPOINTS: dict[str, Any] = {"prediction": "epsilon"}


def stored_config(config: DWMConfig) -> dict[str, Any]:
    """``config`` as JSON-able values, without the settings at the value older checkpoints imply."""
    values = asdict(config)
    return {k: v for k, v in values.items() if IMPLIED_BY_OLDER_CHECKPOINTS.get(k, object()) != v}


# keys of checkpoints written before the sampler settings had their own dataclass
_LEGACY_SAMPLER_KEYS = {f.name for f in fields(SamplerConfig)}


def split_stored_config(stored: dict[str, Any]) -> tuple[DWMConfig, dict[str, Any]]:
    """A checkpoint header's ``config`` as :class:`DWMConfig`, plus sampler settings found in it.

    Handles the layout of older checkpoints: sampler settings inside ``config``, T named
    ``horizon``, an unused ``extra`` field.
    """
    config = dict(stored)
    sampler = {key: config.pop(key) for key in list(config) if key in _LEGACY_SAMPLER_KEYS}
    config.pop("extra", None)
    if "horizon" in config:
        config["segment_length"] = config.pop("horizon")
    if "dim_mults" in config:
        config["dim_mults"] = tuple(config["dim_mults"])
    return DWMConfig(**config), sampler


PRESETS: dict[str, DWMConfig] = {
    "paper": DWMConfig(),
    # same algorithm, narrower U-Net and fewer iterations: trains on 2 CPU cores in about an hour; states
    # standardized, not CDF-mapped: 5-25x smaller first-step error on the three hopper datasets and no pile-up
    # at the data's extremes (docs/world_model.md, "State normalization")
    "small": DWMConfig(
        dim=32,
        dim_mults=(1, 2, 4),
        batch_size=256,
        learning_rate=3e-4,
        train_steps=60_000,
        state_normalization="gaussian",
    ),
}


def preset(name: str, **overrides: Any) -> DWMConfig:
    """A copy of preset ``name`` with ``overrides`` applied.

    Raises:
        KeyError: Listing the presets.
    """
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)
