"""Gaussian diffusion pieces: the cosine schedule, forward noising, respaced DDPM posterior, prediction targets.

Follows Decision Diffuser's ``GaussianDiffusion`` (cosine schedule with s = 0.008, betas clipped at
0.999, clipped x̂0) and IDDPM respacing (docs/paper.md#sampling): sampling runs the DDPM
posterior only at N of the K training steps, with β̃_i = 1 - ᾱ_{τ_i} / ᾱ_{τ_{i-1}}.

The network predicts one of three equivalent targets (``Prediction``): the noise ε (the paper's and
DD's), the clean sequence x0 (Diffuser's locomotion setting), or the velocity v = √ᾱ ε - √(1-ᾱ) x0
(Salimans & Ho, 2022). They differ in how an error of the network reaches x̂0: through ε it is
multiplied by √(1-ᾱ)/√ᾱ, about 100 at the noisiest of K = 5 cosine levels; through x0 by 1; through
v by √(1-ᾱ) ≤ 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch


def cosine_alphas_cumprod(num_steps: int, s: float = 0.008) -> np.ndarray:
    """ᾱ_k for k = 1..K of DD's ``cosine_beta_schedule`` (float64)."""
    steps = num_steps + 1
    x = np.linspace(0, steps, steps)
    alphas_cumprod = np.cos(((x / steps) + s) / (1 + s) * np.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = np.clip(1 - alphas_cumprod[1:] / alphas_cumprod[:-1], 0, 0.999)
    return np.cumprod(1.0 - betas)


def respaced_timesteps(num_train_steps: int, num_sample_steps: int) -> list[int]:
    """N step indices (0-based) equally spaced over 0..K-1, the last one K-1 (IDDPM ``space_timesteps``)."""
    if not 1 <= num_sample_steps <= num_train_steps:
        raise ValueError(f"sampling steps must be in 1..{num_train_steps}, got {num_sample_steps}")
    if num_sample_steps == 1:
        return [num_train_steps - 1]
    stride = (num_train_steps - 1) / (num_sample_steps - 1)
    return [round(i * stride) for i in range(num_sample_steps)]


Prediction = Literal["epsilon", "x0", "v"]
PREDICTIONS: tuple[Prediction, ...] = get_args(Prediction)


@dataclass
class PosteriorTable:
    """Per sampling step i (ascending), the coefficients of q(x_{i-1} | x_i, x̂0) in the respaced chain."""

    timesteps: torch.Tensor  # original training step index fed to the network
    sqrt_ab: torch.Tensor
    sqrt_one_minus_ab: torch.Tensor
    sqrt_recip_ab: torch.Tensor
    sqrt_recipm1_ab: torch.Tensor
    coef_x0: torch.Tensor
    coef_xt: torch.Tensor
    std: torch.Tensor

    @classmethod
    def build(cls, alphas_cumprod: np.ndarray, timesteps: list[int]) -> PosteriorTable:
        """The table of the chain respaced to ``timesteps`` (ascending) of the training schedule ``alphas_cumprod``."""
        ab = alphas_cumprod[timesteps]
        ab_prev = np.concatenate([[1.0], ab[:-1]])
        betas = 1.0 - ab / ab_prev
        variance = betas * (1.0 - ab_prev) / (1.0 - ab)
        as_t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
        return cls(
            timesteps=torch.tensor(timesteps, dtype=torch.long),
            sqrt_ab=as_t(np.sqrt(ab)),
            sqrt_one_minus_ab=as_t(np.sqrt(1.0 - ab)),
            sqrt_recip_ab=as_t(np.sqrt(1.0 / ab)),
            sqrt_recipm1_ab=as_t(np.sqrt(1.0 / ab - 1.0)),
            coef_x0=as_t(betas * np.sqrt(ab_prev) / (1.0 - ab)),
            coef_xt=as_t((1.0 - ab_prev) * np.sqrt(1.0 - betas) / (1.0 - ab)),
            std=as_t(np.sqrt(np.maximum(variance, 1e-20))),
        )

    def x0_hat(self, prediction: Prediction, i: int, x: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """x̂0 at sampling step ``i`` from the network's ``output`` at ``x`` (see :func:`x0_and_noise`)."""
        if prediction == "epsilon":
            return self.sqrt_recip_ab[i] * x - self.sqrt_recipm1_ab[i] * output
        if prediction == "x0":
            return output
        return self.sqrt_ab[i] * x - self.sqrt_one_minus_ab[i] * output

    def to(self, device: torch.device) -> PosteriorTable:
        """A copy with every tensor on ``device``."""
        return PosteriorTable(**{k: v.to(device) for k, v in self.__dict__.items()})


def q_sample(x0: torch.Tensor, k: torch.Tensor, noise: torch.Tensor, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """x_k = √ᾱ_k x0 + √(1-ᾱ_k) ε."""
    ab = alphas_cumprod[k].view(-1, *([1] * (x0.dim() - 1)))
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def _broadcast(alpha_bar: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return alpha_bar.reshape(-1, *([1] * (like.dim() - 1))) if alpha_bar.dim() else alpha_bar


def prediction_target(
    prediction: Prediction, x0: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    """What the network is trained to output for x_k = √ᾱ x0 + √(1-ᾱ) ε (``alpha_bar``: ᾱ_k, per row or scalar)."""
    if prediction == "epsilon":
        return noise
    if prediction == "x0":
        return x0
    ab = _broadcast(alpha_bar, x0)
    return ab.sqrt() * noise - (1 - ab).sqrt() * x0


def x0_and_noise(
    prediction: Prediction, output: torch.Tensor, xk: torch.Tensor, alpha_bar: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x̂0, ε̂) implied by the network's ``output`` at x_k (``alpha_bar``: ᾱ_k, per row or scalar)."""
    ab = _broadcast(alpha_bar, xk)
    sqrt_ab, sqrt_1m = ab.sqrt(), (1 - ab).sqrt()
    if prediction == "epsilon":
        return (xk - sqrt_1m * output) / sqrt_ab, output
    if prediction == "x0":
        return output, (xk - sqrt_ab * output) / sqrt_1m
    return sqrt_ab * xk - sqrt_1m * output, sqrt_1m * xk + sqrt_ab * output
