"""Discounted reward sums over an imagined segment, masked after an imagined termination.

Shared by the imagined envs (segment mode) and the Diffusion-MVE targets. ``terminated[:, h]`` is
True once some transition h' <= h led into a terminal state (the cumulative flags of
:class:`~dwm_gym.world_model.base.Segment`); reward r̂_{t+h} counts while ŝ_{t+h} is alive.
"""

from __future__ import annotations

import torch


def check_segment_shapes(rewards: torch.Tensor, terminated: torch.Tensor) -> None:
    """Raises ValueError unless rewards are (B, H >= 1) and terminated has the same shape."""
    if rewards.dim() != 2 or rewards.shape[1] < 1:
        raise ValueError(f"expected rewards of shape (B, H) with H >= 1, got {tuple(rewards.shape)}")
    if terminated.shape != rewards.shape:
        raise ValueError(
            f"expected terminated of the rewards' shape {tuple(rewards.shape)}, got {tuple(terminated.shape)}"
        )


def alive_mask(terminated: torch.Tensor) -> torch.Tensor:
    """``(B, H)`` float mask: 1 where r̂_{t+h} counts (ŝ_{t+h} not terminal), 0 after a termination."""
    alive = torch.ones_like(terminated, dtype=torch.float32)
    alive[:, 1:] = 1.0 - terminated[:, :-1].float()
    return alive


def discounted_reward_sum(rewards: torch.Tensor, terminated: torch.Tensor, gamma: float) -> torch.Tensor:
    """Σ_{h<H} γ^h r̂_{t+h}, rewards after an imagined termination masked out.

    Args:
        rewards: ``(B, H)`` imagined rewards r̂_t .. r̂_{t+H-1}.
        terminated: ``(B, H)`` cumulative termination flags (see the module docstring).
        gamma: Discount.

    Returns:
        ``(B,)`` sums.
    """
    check_segment_shapes(rewards, terminated)
    discounts = gamma ** torch.arange(rewards.shape[1], dtype=rewards.dtype, device=rewards.device)
    return (rewards * alive_mask(terminated).to(rewards.dtype) * discounts).sum(dim=1)
