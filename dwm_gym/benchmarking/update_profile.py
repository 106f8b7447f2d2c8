"""Where the time of an agent's gradient update goes: wall time split into named phases, without changing the update.

:class:`PhaseTimer` wraps the callables an update goes through (the buffer's ``sample``, each network's
``forward``, ``Tensor.backward``, the optimizers' ``step``...) with timers, for the duration of a ``with`` block.
Phases nest: a phase's time excludes the phases inside it (the actor's forward inside a one-step rollout counts as
actor forward, not as sampling), so the phases and ``other`` (whatever no wrapped callable covers: the loss
arithmetic, target noise, Python glue) add up to the wall time.

    timer = PhaseTimer()
    with timer.watch(update_phases(agent)):
        agent.learn(2000)
    timer.table(updates=2000)  # [(phase, ms per update, share), ...]
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch as th

#: (owner, attribute name, phase) of one wrapped callable
Target = tuple[Any, str, str]


class PhaseTimer:
    """Accumulates exclusive wall time per phase (see the module docstring)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.wall = 0.0
        self._stack: list[list[float]] = []  # [start, time spent in nested phases]

    def _timed(self, function: Callable, phase: str) -> Callable:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self._stack.append([time.perf_counter(), 0.0])
            try:
                return function(*args, **kwargs)
            finally:
                start, nested = self._stack.pop()
                spent = time.perf_counter() - start
                self.totals[phase] = self.totals.get(phase, 0.0) + spent - nested
                if self._stack:
                    self._stack[-1][1] += spent

        return wrapped

    @contextlib.contextmanager
    def watch(self, targets: list[Target]) -> Iterator[PhaseTimer]:
        """Wraps every ``(owner, name, phase)`` target while the block runs, and adds the block's wall time."""
        originals = []
        try:
            for owner, name, phase in targets:
                original = owner.__dict__.get(name) if not isinstance(owner, type) else vars(owner).get(name)
                originals.append((owner, name, original))
                setattr(owner, name, self._timed(getattr(owner, name), phase))
            start = time.perf_counter()
            yield self
            self.wall += time.perf_counter() - start
        finally:
            for owner, name, original in reversed(originals):
                if original is None:
                    delattr(owner, name)  # an instance attribute shadowing its class's method
                else:
                    setattr(owner, name, original)

    def table(self, updates: int) -> list[tuple[str, float, float]]:
        """``(phase, ms per update, share of the wall time)``, largest first, ``other`` last."""
        rows = sorted(((k, v) for k, v in self.totals.items()), key=lambda kv: -kv[1])
        other = self.wall - sum(self.totals.values())
        return [(k, 1e3 * v / updates, v / self.wall) for k, v in [*rows, ("other", other)]]


def update_phases(agent: Any) -> list[Target]:
    """The phases of a ``TD3BC`` / ``IQL`` update (and of an MVE buffer's sampling) as :class:`PhaseTimer` targets."""
    from dwm_gym.agents import td3bc
    from dwm_gym.value_expansion import MVEReplayBuffer

    buffer, policy = agent.replay_buffer, agent.policy
    targets: list[Target] = [
        (buffer, "sample", "sampling: indexing, numpy -> torch"),
        (agent, "sample_batch", "sampling: indexing, numpy -> torch"),
        (th.Tensor, "backward", "backward"),
        (agent.critic_monitor, "add", "critic statistics (CriticMonitor)"),
        (type(agent.logger), "record", "SB3 logger"),
        (policy, "set_training_mode", "set_training_mode"),
        (agent, "_update_learning_rate", "learning-rate schedule"),
    ]
    if isinstance(buffer, MVEReplayBuffer):
        targets += [
            (buffer, "imagine_rows", "imagination: cache gather / model rollout"),
            (buffer, "assemble", "MVE target assembly"),
            (buffer._stats, "accumulate", "imagination statistics"),
        ]
    networks = {"critic": "critic", "critic_target": "critic", "actor": "actor", "actor_target": "actor"}
    networks["value"] = "value"
    for name, kind in networks.items():
        module = getattr(policy, name, None)
        if isinstance(module, th.nn.Module):
            targets.append((module, "forward", f"{kind} forward"))
            optimizer = getattr(module, "optimizer", None)
            if optimizer is not None and name in ("critic", "actor", "value"):
                targets += [(optimizer, "step", "optimizer step"), (optimizer, "zero_grad", "zero_grad")]
    if isinstance(agent, td3bc.TD3BC):
        targets.append((td3bc, "update_targets", "target (Polyak) update"))
    else:
        from dwm_gym.agents import iql

        targets.append((iql, "polyak", "target (Polyak) update"))
    return targets
