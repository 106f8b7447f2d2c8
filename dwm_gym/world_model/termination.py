"""Termination rules of the Gymnasium v5 locomotion envs, on observations (implemented once).

Hopper-v5 and Walker2d-v5 observations are ``qpos[1:]`` followed by ``clip(qvel, -10, 10)``,
so the torso height is ``obs[0]`` and its angle ``obs[1]``. HalfCheetah never terminates.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def hopper_v5_unhealthy(obs: torch.Tensor) -> torch.Tensor:
    """Hopper-v5 ``not is_healthy``: |state[1:]| < 100, z > 0.7, |angle| < 0.2 (default ranges)."""
    z, angle = obs[..., 0], obs[..., 1]
    healthy_state = ((obs[..., 1:] > -100.0) & (obs[..., 1:] < 100.0)).all(dim=-1)
    return ~(healthy_state & (z > 0.7) & (angle > -0.2) & (angle < 0.2))


def walker2d_v5_unhealthy(obs: torch.Tensor) -> torch.Tensor:
    """Walker2d-v5 ``not is_healthy``: 0.8 < z < 2.0 and -1 < angle < 1 (default ranges)."""
    z, angle = obs[..., 0], obs[..., 1]
    return ~((z > 0.8) & (z < 2.0) & (angle > -1.0) & (angle < 1.0))


def never_terminates(obs: torch.Tensor) -> torch.Tensor:
    """HalfCheetah: no termination."""
    return torch.zeros(obs.shape[:-1], dtype=torch.bool, device=obs.device)


TERMINATION_RULES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "Hopper-v5": hopper_v5_unhealthy,
    "Walker2d-v5": walker2d_v5_unhealthy,
    "HalfCheetah-v5": never_terminates,
}


def termination_rule(env_id: str | None) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The rule for ``env_id``, or ``None`` for envs without a known rule."""
    return TERMINATION_RULES.get(env_id) if env_id else None


def segment_terminated(env_id: str | None, states: torch.Tensor) -> torch.Tensor:
    """Cumulative termination flags ``(B, T)`` of a segment with states ``(B, T-1, obs)`` = ŝ_{t+1..t+T-1}.

    Column h is True once some transition h' <= h led into an unhealthy state; the last column
    repeats the one before (ŝ_{t+T} is not generated). All False for envs without a rule.
    """
    batch, steps = states.shape[:2]
    rule = termination_rule(env_id)
    if rule is None:
        return torch.zeros(batch, steps + 1, dtype=torch.bool, device=states.device)
    per_step = rule(states)
    per_step = torch.cat([per_step, per_step[:, -1:]], dim=1)
    return torch.cummax(per_step.int(), dim=1).values.bool()
