"""DWM configuration and presets (PAPER.md 1.2-1.4); every preset is a dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass
class DWMConfig:
    """Architecture, training and sampling settings of a :class:`DiffusionWorldModel`.

    Attributes:
        horizon: Sequence length T (paper: 8).
        dim: Base channels of the temporal U-Net (paper/DD: 128).
        dim_mults: Channel multipliers per U-Net resolution (DD: (1, 4, 8)).
        kernel_size: Temporal convolution kernel (5).
        diffusion_steps: Training diffusion steps K (5).
        sampling_steps: Respaced sampling steps N (3).
        condition_dropout: Probability of dropping the RTG during training (0.25).
        guidance_weight: Classifier-free guidance ω (1.2).
        start_noise_scale: x_K ~ scale · N(0, I) (0.5).
        temperature: Scale of the posterior noise (0.5).
        clip_denoised: Clip x̂0 to [-1, 1] (DD: True).
        clip_state_tails: Map sampled states back to raw units only within the data's inner
            quantile range (0.1 % to 99.9 %), not out to its single most extreme values: see
            ``CDFNormalizer.unnormalize`` and docs/concepts.md ("Why Diffusion-MVE diverged").
            False reproduces the plain CDF inverse of Diffuser / the paper.
        precision: Sampler arithmetic: ``"auto"`` (bf16 autocast on CUDA, fp32 elsewhere),
            ``"bf16"`` (autocast on any device) or ``"fp32"``. Training always runs in fp32.
        gamma: Discount of the return-to-go (0.99).
        learning_rate: Adam learning rate (1e-4).
        batch_size: Training batch (64).
        train_steps: Training iterations (paper: 2M).
        ema_decay: EMA β (0.995).
        ema_every: EMA update period in iterations (10).
    """

    horizon: int = 8
    dim: int = 128
    dim_mults: tuple[int, ...] = (1, 4, 8)
    kernel_size: int = 5
    diffusion_steps: int = 5
    sampling_steps: int = 3
    condition_dropout: float = 0.25
    guidance_weight: float = 1.2
    start_noise_scale: float = 0.5
    temperature: float = 0.5
    clip_denoised: bool = True
    clip_state_tails: bool = True
    precision: str = "auto"
    gamma: float = 0.99
    learning_rate: float = 1e-4
    batch_size: int = 64
    train_steps: int = 2_000_000
    ema_decay: float = 0.995
    ema_every: int = 10
    extra: dict = field(default_factory=dict)


PRESETS: dict[str, DWMConfig] = {
    "paper": DWMConfig(),
    # same algorithm, narrower U-Net and fewer iterations: trains on 2 CPU cores in about an hour
    "small": DWMConfig(dim=32, dim_mults=(1, 2, 4), batch_size=256, learning_rate=3e-4, train_steps=60_000),
}


def preset(name: str, **overrides) -> DWMConfig:
    """A copy of preset ``name`` with ``overrides`` applied.

    Raises:
        KeyError: Listing the presets.
    """
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)
