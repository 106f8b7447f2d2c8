"""The plumbing of a gradient update without its per-call overhead, computing exactly what SB3's own does.

On one CPU core a TD3+BC update of 256x256 networks at batch 128 costs a few milliseconds, so what surrounds the
arithmetic counts (docs/benchmarks.md, "Update speed"):

* :class:`TransitionTable` samples a plain SB3 ``ReplayBuffer`` with SB3's own index draws (``np.random``, in
  SB3's order) but gathers the rows from torch views of the buffer's arrays: no numpy fancy indexing and no
  five ``numpy -> torch`` copies per batch. The batch is the one ``ReplayBuffer.sample`` returns, bit for bit.
* :func:`polyak` is SB3's ``polyak_update`` (``target *= 1 - tau; target += tau * param``) as two ``torch._foreach``
  calls over all tensors: the same two roundings per element, bit for bit.
* :data:`OPTIMIZER_DEFAULTS` asks Adam for its multi-tensor (``foreach``) implementation, which on CPU is otherwise
  the per-tensor loop; PyTorch's foreach Adam computes the same values as its per-tensor loop.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch as th
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples

#: Adam settings of the agents' optimizers (``policy_kwargs["optimizer_kwargs"]`` given by the user win)
OPTIMIZER_DEFAULTS: dict[str, bool] = {"foreach": True}


class TransitionTable:
    """A plain SB3 ``ReplayBuffer``'s arrays as torch views, sampled like ``ReplayBuffer.sample`` (see module doc).

    The views share memory with the buffer, so rows added or rewritten in place are seen at once.

    Args:
        buffer: The buffer; see :meth:`supports`.
    """

    def __init__(self, buffer: ReplayBuffer) -> None:
        if not self.supports(buffer):
            raise ValueError(
                f"TransitionTable reads a plain SB3 ReplayBuffer without optimize_memory_usage, got "
                f"{type(buffer).__name__}; sample such a buffer with buffer.sample(...)"
            )
        self.buffer = buffer
        self._arrays = self._held(buffer)
        rows = buffer.buffer_size * buffer.n_envs
        flat = lambda array: th.from_numpy(array.reshape(rows, *array.shape[2:]))  # noqa: E731 (views, no copy)
        self.observations, self.actions = flat(buffer.observations), flat(buffer.actions)
        self.next_observations, self.rewards = flat(buffer.next_observations), flat(buffer.rewards)
        self.dones, self.timeouts = flat(buffer.dones), flat(buffer.timeouts)

    @staticmethod
    def supports(buffer: ReplayBuffer | None) -> bool:
        """True for an SB3 ``ReplayBuffer`` itself (not a subclass: those sample their own way), arrays in memory."""
        return type(buffer) is ReplayBuffer and not buffer.optimize_memory_usage

    def reads(self, buffer: ReplayBuffer | None) -> bool:
        """True while ``buffer`` is the buffer this table views and still holds the same arrays."""
        if buffer is not self.buffer:
            return False
        return all(a is b for a, b in zip(self._held(buffer), self._arrays))

    @staticmethod
    def _held(buffer: ReplayBuffer) -> tuple[np.ndarray, ...]:
        return (
            buffer.observations,
            buffer.actions,
            buffer.next_observations,
            buffer.rewards,
            buffer.dones,
            buffer.timeouts,
        )

    def sample(self, batch_size: int, device: th.device) -> ReplayBufferSamples:
        """``ReplayBuffer.sample(batch_size)``: the same draws from ``np.random`` and the same tensors."""
        buffer = self.buffer
        upper_bound = buffer.buffer_size if buffer.full else buffer.pos
        batch_inds = np.random.randint(0, upper_bound, size=batch_size)
        env_indices = np.random.randint(0, high=buffer.n_envs, size=(batch_size,))
        rows = th.from_numpy(batch_inds * buffer.n_envs + env_indices)
        dones = self.dones.index_select(0, rows) * (1 - self.timeouts.index_select(0, rows))
        batch = (
            self.observations.index_select(0, rows),
            self.actions.index_select(0, rows),
            self.next_observations.index_select(0, rows),
            dones.reshape(-1, 1),
            self.rewards.index_select(0, rows).reshape(-1, 1),
        )
        return ReplayBufferSamples(*(tensor.to(device) for tensor in batch))


def polyak(params: Iterable[th.Tensor], targets: Iterable[th.Tensor], tau: float) -> None:
    """SB3's ``polyak_update(params, targets, tau)`` in two multi-tensor calls (the same values, bit for bit)."""
    params, targets = list(params), list(targets)
    if len(params) != len(targets):
        raise ValueError(f"polyak: {len(params)} parameters but {len(targets)} target parameters")
    if not params:
        return
    with th.no_grad():
        target_data = [target.data for target in targets]
        th._foreach_mul_(target_data, 1 - tau)
        th._foreach_add_(target_data, [param.data for param in params], alpha=tau)


def optimizer_kwargs(policy_kwargs: dict) -> dict:
    """``policy_kwargs["optimizer_kwargs"]`` on top of :data:`OPTIMIZER_DEFAULTS` (the user's settings win).

    A user's ``fused=True`` (PyTorch's single-kernel Adam) replaces the foreach default, which torch refuses beside it.
    """
    given = dict(policy_kwargs.get("optimizer_kwargs") or {})
    return given if given.get("fused") else {**OPTIMIZER_DEFAULTS, **given}
