"""Handing the critic target over from value expansion to the one-step TD target (an option; off by default).

A value-expansion target sums H imagined rewards before it bootstraps. A DWM imagines them along the data's
behaviour, so that part of the target stays tied to the behaviour policy's value while the learned policy may
outgrow it. With a handover the critic regresses on

    y = (1 - w) · y_MVE + w · y_TD,    y_TD = r_t + γ (1 - d_t) · bootstrap(s_{t+1})

on the batch's real transition, where w rises linearly from 0 at ``start`` updates to 1 at ``end`` updates:
value expansion while the critic is young, the one-step target once it has learned. Without a handover (the
default) the target is the paper's value-expansion target throughout.
"""

from __future__ import annotations

import torch as th
from stable_baselines3.common.buffers import ReplayBuffer

from dwm_gym.utils.validation import integer
from dwm_gym.value_expansion import MVEReplayBuffer


def check_handover(start: int | None, end: int | None, buffer: ReplayBuffer | None) -> None:
    """Raises ValueError unless the handover is off (both None) or well formed for this agent.

    Well formed: whole update counts with 0 <= start <= end, on an agent whose replay ``buffer`` expands the value
    (a model-free agent's target is the one-step target already).
    """
    check_handover_updates(start, end)
    if start is None:
        return
    if not isinstance(buffer, MVEReplayBuffer):
        name = type(buffer).__name__
        raise ValueError(
            f"a target handover needs a value-expansion replay buffer (an MVEReplayBuffer), got {name}: a model-free "
            "agent's target is the one-step TD target already; drop handover_start/handover_end or add a world model"
        )


def check_handover_updates(start: int | None, end: int | None) -> tuple[int | None, int | None]:
    """``(start, end)`` as update counts, or ``(None, None)`` without a handover.

    Raises:
        ValueError: Unless both are None, or both whole numbers with 0 <= start <= end.
    """
    if start is None and end is None:
        return None, None
    if start is None or end is None:
        raise ValueError(
            f"a target handover needs both handover_start and handover_end (got {start!r} and {end!r}): give both "
            "update counts, or neither for the value-expansion target throughout"
        )
    start, end = integer("handover_start", start, minimum=0), integer("handover_end", end, minimum=0)
    if start > end:
        raise ValueError(f"the handover must end no earlier than it starts, got start={start}, end={end}")
    return start, end


def handover_weight(update: int, start: int | None, end: int | None) -> float:
    """w, the one-step target's share of the critic target at ``update`` (0 without a handover).

    0 up to ``start``, then linear to 1 at ``end`` (a step at ``start`` when ``end == start``), 1 after.
    """
    if start is None or end is None or update <= start:
        return 0.0
    if update >= end:
        return 1.0
    return (update - start) / (end - start)


def blend_targets(expanded: th.Tensor, one_step: th.Tensor, weight: float) -> th.Tensor:
    """``(1 - weight) · expanded + weight · one_step`` (``expanded`` itself, untouched, at weight 0)."""
    if weight == 0.0:
        return expanded
    return th.lerp(expanded, one_step, weight)
