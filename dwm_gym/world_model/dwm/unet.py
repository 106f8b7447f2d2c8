"""Temporal U-Net noise predictor (Janner et al. 2022; Decision Diffuser's ``TemporalUnet``).

Residual temporal blocks of two Conv1d + GroupNorm + Mish; the conditioning vector is the
concatenation of the diffusion-step, RTG and action embeddings (docs/paper.md#network) and enters every
block through a Mish + Linear projection added after the first convolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import cast

import torch
from torch import nn

# one U-Net level: two residual blocks and a down- or up-sampling layer (an nn.ModuleList of three)
Stage = tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor], Callable[..., torch.Tensor]]


class SinusoidalPosEmb(nn.Module):
    """Sinusoidal embedding of the diffusion step."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, k: torch.Tensor) -> torch.Tensor:
        """``(B, dim)`` sin/cos features of the ``(B,)`` diffusion steps ``k``."""
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=k.device, dtype=torch.float32) * (-math.log(10000) / (half - 1)))
        args = k.float()[:, None] * freqs[None]
        return torch.cat([args.sin(), args.cos()], dim=-1)


class Conv1dBlock(nn.Module):
    """Conv1d -> GroupNorm -> Mish."""

    def __init__(self, inp: int, out: int, kernel_size: int, groups: int = 8) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv1d(inp, out, kernel_size, padding=kernel_size // 2), nn.GroupNorm(groups, out), nn.Mish()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, inp, T)`` -> ``(B, out, T)``."""
        return self.block(x)


class ResidualTemporalBlock(nn.Module):
    """Two conv blocks, the conditioning added after the first, and a residual connection."""

    def __init__(self, inp: int, out: int, embed_dim: int, kernel_size: int) -> None:
        super().__init__()
        self.first = Conv1dBlock(inp, out, kernel_size)
        self.second = Conv1dBlock(out, out, kernel_size)
        self.cond = nn.Sequential(nn.Mish(), nn.Linear(embed_dim, out))
        self.residual = nn.Conv1d(inp, out, 1) if inp != out else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """``(B, inp, T)`` features and ``(B, embed_dim)`` conditioning -> ``(B, out, T)``."""
        h = self.first(x) + self.cond(cond)[:, :, None]
        return self.second(h) + self.residual(x)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.Mish())
    return nn.Sequential(*layers)


class TemporalUnet(nn.Module):
    """ε-predictor over ``(B, T, row_dim)`` sequences.

    Args:
        segment_length: T (must be divisible by 2^(len(dim_mults) - 1)).
        row_dim: Size of one row (state + action + reward slots).
        action_dim: Size of a_t (embedded by a 3-layer MLP).
        dim: Base channels (paper/DD: 128).
        dim_mults: Channel multipliers per resolution (DD: (1, 4, 8)).
        kernel_size: Temporal kernel (5).
    """

    def __init__(
        self,
        segment_length: int,
        row_dim: int,
        action_dim: int,
        dim: int = 128,
        dim_mults: tuple[int, ...] = (1, 4, 8),
        kernel_size: int = 5,
    ) -> None:
        super().__init__()
        if segment_length % (2 ** (len(dim_mults) - 1)):
            raise ValueError(
                f"segment length {segment_length} must be divisible by {2 ** (len(dim_mults) - 1)} "
                f"for dim_mults {dim_mults}"
            )
        dims = [row_dim, *[dim * m for m in dim_mults]]
        in_out = list(zip(dims[:-1], dims[1:]))
        self.time_mlp = nn.Sequential(
            SinusoidalPosEmb(dim), nn.Linear(dim, dim * 4), nn.Mish(), nn.Linear(dim * 4, dim)
        )
        self.rtg_mlp = _mlp([1, dim, dim * 4, dim])
        self.action_mlp = _mlp([action_dim, dim, dim * 4, dim])
        embed = 3 * dim
        self.downs = nn.ModuleList()
        for i, (d_in, d_out) in enumerate(in_out):
            last = i == len(in_out) - 1
            self.downs.append(
                nn.ModuleList(
                    [
                        ResidualTemporalBlock(d_in, d_out, embed, kernel_size),
                        ResidualTemporalBlock(d_out, d_out, embed, kernel_size),
                        nn.Conv1d(d_out, d_out, 3, 2, 1) if not last else nn.Identity(),
                    ]
                )
            )
        self.mid1 = ResidualTemporalBlock(dims[-1], dims[-1], embed, kernel_size)
        self.mid2 = ResidualTemporalBlock(dims[-1], dims[-1], embed, kernel_size)
        self.ups = nn.ModuleList()
        for d_in, d_out in reversed(in_out[1:]):
            self.ups.append(
                nn.ModuleList(
                    [
                        ResidualTemporalBlock(d_out * 2, d_in, embed, kernel_size),
                        ResidualTemporalBlock(d_in, d_in, embed, kernel_size),
                        nn.ConvTranspose1d(d_in, d_in, 4, 2, 1),
                    ]
                )
            )
        self.final = nn.Sequential(Conv1dBlock(dim, dim, kernel_size), nn.Conv1d(dim, row_dim, 1))

    def forward(
        self, x: torch.Tensor, k: torch.Tensor, rtg: torch.Tensor, action: torch.Tensor, rtg_keep: torch.Tensor
    ) -> torch.Tensor:
        """Predicts ε.

        Args:
            x: Noisy sequence ``(B, T, row_dim)``.
            k: Diffusion steps ``(B,)``.
            rtg: Scaled return-to-go ``(B, 1)``.
            action: a_t ``(B, action_dim)`` (normalized).
            rtg_keep: ``(B, 1)`` 1 to condition on the RTG, 0 for the unconditional model (CFG).
        """
        cond = torch.cat([self.time_mlp(k), self.rtg_mlp(rtg) * rtg_keep, self.action_mlp(action)], dim=-1)
        h = x.transpose(1, 2)
        skips = []
        for block1, block2, down in cast(Iterable[Stage], self.downs):
            h = block2(block1(h, cond), cond)
            skips.append(h)
            h = down(h)
        h = self.mid2(self.mid1(h, cond), cond)
        for block1, block2, up in cast(Iterable[Stage], self.ups):
            h = torch.cat([h, skips.pop()], dim=1)
            h = up(block2(block1(h, cond), cond))
        return self.final(h).transpose(1, 2)
