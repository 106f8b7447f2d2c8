"""Diffusion-MVE targets as pure functions of an imagined segment (docs/paper.md#diffusion-mve-target).

Conventions for a segment of horizon H imagined from a dataset pair (s_t, a_t):

* ``rewards[:, h]`` is r̂_{t+h}, for h = 0 .. H-1;
* ``terminated[:, h]`` is True once some transition h' <= h led into a terminal state, i.e. ŝ_{t+h+1}
  (or an earlier state) is terminal (the cumulative flags of :class:`dwm_gym.world_model.Segment`);
* ``values[:, h]`` is a value estimate of ŝ_{t+h+1}.

Reward r̂_{t+h} counts only while ŝ_{t+h} is alive (r̂_t always does: s_t is a real dataset state),
and nothing is bootstrapped from a terminal state:

    y = Σ_{h<H} γ^h alive_h r̂_{t+h} + γ^H (1 - terminated_{H-1}) · bootstrap(ŝ_{t+H}).
"""

from __future__ import annotations

import torch

from dwm_gym.world_model.segment_returns import alive_mask, check_segment_shapes, discounted_reward_sum

__all__ = ["alive_mask", "bootstrap_discount", "discounted_reward_sum", "lambda_return", "mve_target"]


def bootstrap_discount(terminated: torch.Tensor, gamma: float) -> torch.Tensor:
    """γ^H (1 - terminated_{H-1}): the weight of bootstrap(ŝ_{t+H}), 0 once the segment terminated.

    Args:
        terminated: ``(B, H)`` cumulative termination flags.
        gamma: Discount.

    Returns:
        ``(B,)`` weights.
    """
    if terminated.dim() != 2 or terminated.shape[1] < 1:
        raise ValueError(f"expected terminated of shape (B, H) with H >= 1, got {tuple(terminated.shape)}")
    horizon = terminated.shape[1]
    return (gamma**horizon) * (1.0 - terminated[:, -1].float())


def mve_target(
    rewards: torch.Tensor, terminated: torch.Tensor, bootstrap_value: torch.Tensor, gamma: float
) -> torch.Tensor:
    """The vanilla Diffusion-MVE target y = Σ_{h<H} γ^h r̂_{t+h} + γ^H bootstrap(ŝ_{t+H}) (masked).

    Args:
        rewards: ``(B, H)`` imagined rewards.
        terminated: ``(B, H)`` cumulative termination flags.
        bootstrap_value: ``(B,)`` value of ŝ_{t+H} (min twin target Q for TD3BC, V for IQL).
        gamma: Discount.

    Returns:
        ``(B,)`` targets.
    """
    reward_sum = discounted_reward_sum(rewards, terminated, gamma)
    return reward_sum + bootstrap_discount(terminated, gamma).to(rewards.dtype) * bootstrap_value.reshape(-1)


def lambda_return(
    rewards: torch.Tensor, values: torch.Tensor, terminated: torch.Tensor, gamma: float, lam: float = 0.95
) -> torch.Tensor:
    """λ-return over the imagined segment (docs/paper.md#lambda-return, DWM-IQL's default with λ = 0.95).

    Q^λ_{t+H} = V(ŝ_{t+H}) and, for h = H-1 .. 0,
    Q^λ_{t+h} = r̂_{t+h} + γ (1 - terminated_h) [(1 - λ) V(ŝ_{t+h+1}) + λ Q^λ_{t+h+1}].
    λ = 1 gives :func:`mve_target`; λ = 0 gives the one-step target r̂_t + γ V(ŝ_{t+1}).

    Args:
        rewards: ``(B, H)`` imagined rewards r̂_t .. r̂_{t+H-1}.
        values: ``(B, H)`` V(ŝ_{t+1}) .. V(ŝ_{t+H}).
        terminated: ``(B, H)`` cumulative termination flags.
        gamma: Discount.
        lam: λ in [0, 1].

    Returns:
        ``(B,)`` Q^λ_t.
    """
    check_segment_shapes(rewards, terminated)
    if values.shape != rewards.shape:
        raise ValueError(f"expected values of the rewards' shape {tuple(rewards.shape)}, got {tuple(values.shape)}")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    continues = 1.0 - terminated.to(rewards.dtype)
    ret = values[:, -1]
    for h in reversed(range(rewards.shape[1])):
        ret = rewards[:, h] + gamma * continues[:, h] * ((1.0 - lam) * values[:, h] + lam * ret)
    return ret
