"""``ImaginationCache``: M imagined segments per dataset transition, computed once (and refreshed).

Diffusion-MVE segments depend only on (s_t, a_t, g), never on the policy being trained, so they can
be sampled ahead of time in large batches instead of once per minibatch. The cache stores, for every
buffer row, M samples of the first H imagined rewards and termination flags and either all H states
(when λ-returns need them) or only ŝ_{t+H}. A minibatch then draws one of the M samples per row.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch as th
from safetensors import safe_open
from safetensors.torch import save_file

from dwm_gym.utils.atomic import atomic_write
from dwm_gym.world_model.base import WorldModel

logger = logging.getLogger(__name__)


def array_digest(*arrays: np.ndarray) -> str:
    """SHA-256 of the arrays' shapes, dtypes and bytes (in order): equal only for equal content."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data.cast("B"))
    return digest.hexdigest()


def model_digest(model: WorldModel) -> str:
    """SHA-256 of a model's kind, settings, env id, weights and normalizers, for models not read from a file."""
    state = {f"model.{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    for name, normalizer in (("state", model.state_normalizer), ("reward", model.reward_normalizer)):
        state.update({f"{name}.{k}": np.asarray(v) for k, v in normalizer.state_dict().items()})
    digest = hashlib.sha256(json.dumps([model.kind, model.config_dict(), model.env_id], sort_keys=True).encode())
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(array_digest(state[name]).encode())
    return digest.hexdigest()


class ImaginationCache:
    """Per-row storage of imagined segments, allocated on first use.

    Args:
        rows: Number of buffer rows (``buffer_size * n_envs``).
        samples: M, imagined segments kept per row.
        horizon: H.
        obs_dim: State size.
        all_states: Keep all H states (for λ-returns) instead of only ŝ_{t+H}.
        device: Where the tensors live (the buffer's device, so gathering needs no copy).
    """

    def __init__(
        self, rows: int, samples: int, horizon: int, obs_dim: int, all_states: bool, device: th.device
    ) -> None:
        if samples < 1:
            raise ValueError(f"cache_samples must be >= 1, got {samples}")
        self.rows, self.samples, self.horizon, self.obs_dim = rows, samples, horizon, obs_dim
        self.all_states, self.device = all_states, device
        self.states: th.Tensor | None = None
        self.rewards: th.Tensor | None = None
        self.terminated: th.Tensor | None = None
        self.filled = np.zeros(rows, dtype=bool)
        self.segments_imagined = 0

    def _allocate(self) -> None:
        kept = self.horizon if self.all_states else 1
        self.states = th.zeros(self.rows, self.samples, kept, self.obs_dim, device=self.device)
        self.rewards = th.zeros(self.rows, self.samples, self.horizon, device=self.device)
        self.terminated = th.zeros(self.rows, self.samples, self.horizon, dtype=th.bool, device=self.device)

    @property
    def nbytes(self) -> int:
        """Memory the cache takes (or will take) in bytes."""
        kept = self.horizon if self.all_states else 1
        return self.rows * self.samples * (4 * kept * self.obs_dim + 5 * self.horizon)

    def missing(self, rows: np.ndarray) -> np.ndarray:
        """The distinct rows among ``rows`` that are not cached yet."""
        rows = np.unique(rows)
        return rows[~self.filled[rows]]

    def invalidate(self, rows: np.ndarray | slice | None = None) -> None:
        """Marks ``rows`` (all when None) as needing imagination again."""
        self.filled[slice(None) if rows is None else rows] = False

    def store(self, rows: np.ndarray, states: th.Tensor, rewards: th.Tensor, terminated: th.Tensor) -> None:
        """Stores imagined segments of ``rows`` and marks them filled.

        Shapes: ``states (n*M, H, obs)``, ``rewards``/``terminated (n*M, H)``, the M samples of a row
        consecutive.
        """
        stored_states, stored_rewards, stored_terminated = self._arrays()
        n, m = len(rows), self.samples
        if states.shape[0] != n * m:
            raise ValueError(f"expected {n * m} segments ({n} rows x {m} samples), got {states.shape[0]}")
        if not self.all_states:
            states = states[:, -1:]
        idx = th.as_tensor(rows, device=self.device)
        stored_states[idx] = states.to(self.device, th.float32).reshape(n, m, *states.shape[1:])
        stored_rewards[idx] = rewards.to(self.device, th.float32).reshape(n, m, self.horizon)
        stored_terminated[idx] = terminated.to(self.device).reshape(n, m, self.horizon)
        self.filled[rows] = True
        self.segments_imagined += n * m

    def _arrays(self) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """The stored states, rewards and terminations, allocated on first use."""
        if self.states is None or self.rewards is None or self.terminated is None:
            self._allocate()
        assert self.states is not None and self.rewards is not None and self.terminated is not None
        return self.states, self.rewards, self.terminated

    def _tensors(self) -> dict[str, th.Tensor]:
        states, rewards, terminated = self._arrays()
        return {
            "states": states.cpu().contiguous(),
            "rewards": rewards.cpu().contiguous(),
            "terminated": terminated.cpu().to(th.uint8).contiguous(),
        }

    def _info(self, meta: dict) -> dict:
        return {**meta, "all_states": self.all_states, "samples": self.samples, "horizon": self.horizon}

    def save(self, path: str | Path, meta: dict) -> Path:
        """Writes the cache (all rows must be filled) with ``meta`` to a safetensors file, atomically."""
        if self.states is None or not self.filled.all():
            raise ValueError("only a completely filled cache can be saved; call fill_cache() first")
        tensors, info = self._tensors(), self._info(meta)
        return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"dwm_gym_cache": json.dumps(info)}))

    def save_partial(self, path: str | Path, meta: dict, generator_state: th.Tensor) -> Path:
        """Writes the rows filled so far, which rows they are and the generator's state, atomically.

        :meth:`load_partial` then resumes an interrupted fill where it stopped: ``generator_state`` is the state
        of the generator that will imagine the next rows.
        """
        if self.states is None:
            raise ValueError("nothing is filled yet; a partial cache needs at least one stored row")
        tensors = {
            **self._tensors(),
            "filled": th.from_numpy(self.filled.astype(np.uint8)),
            "generator_state": generator_state.cpu().contiguous(),
        }
        info = {**self._info(meta), "partial": True}
        return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"dwm_gym_cache": json.dumps(info)}))

    def load_partial(self, path: str | Path, meta: dict) -> th.Tensor | None:
        """Restores the rows a :meth:`save_partial` file holds, if it was made for the same ``meta`` and layout.

        Returns:
            The generator state to continue the fill with, or None (cache untouched) when the file is missing,
            unreadable or was made for other settings.
        """
        path = Path(path)
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="pt") as handle:
                info = json.loads((handle.metadata() or {}).get("dwm_gym_cache", "{}"))
                if info != json.loads(json.dumps({**self._info(meta), "partial": True})):
                    logger.warning("partial imagination cache %s was made for other settings; ignored", path)
                    return None
                tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (safe_open is no dict)
        except Exception as exc:  # safetensors raises several types on truncated or corrupt files
            logger.warning("partial imagination cache %s is unreadable (%s); ignored", path, exc)
            return None
        if tensors["states"].shape[0] != self.rows:
            return None
        self.states, self.rewards = tensors["states"].to(self.device), tensors["rewards"].to(self.device)
        self.terminated = tensors["terminated"].bool().to(self.device)
        self.filled[:] = tensors["filled"].numpy().astype(bool)
        return tensors["generator_state"]

    def load(self, path: str | Path, meta: dict) -> bool:
        """Fills the cache from a file written by :meth:`save` for the same ``meta``.

        A file made for a longer horizon with all states kept serves a shorter one: a segment's first
        H steps do not depend on how many steps were asked for (the DWM samples the whole segment), so
        its first H rewards, flags and states are exactly an H-step segment. One file per RTG then
        serves a whole sweep over H.

        Returns:
            False (cache untouched) when the file is missing, unreadable, or was made for other data,
            model, RTG, sample count or state layout, or for a shorter horizon.
        """
        path = Path(path)
        if not path.is_file():
            return False
        try:
            with safe_open(str(path), framework="pt") as handle:
                info = json.loads((handle.metadata() or {}).get("dwm_gym_cache", "{}"))
                expected = self._info(meta)
                expected = json.loads(json.dumps(expected))  # as stored: tuples become lists
                stored_horizon = info.get("horizon", 0)
                longer = stored_horizon > self.horizon and info.get("all_states")
                same = {k: v for k, v in info.items() if k not in ("horizon", "all_states")} == {
                    k: v for k, v in expected.items() if k not in ("horizon", "all_states")
                }
                if not (info == expected or (same and longer)):
                    logger.warning("imagination cache %s was made for other settings; it will be rebuilt", path)
                    return False
                states, rewards = handle.get_tensor("states"), handle.get_tensor("rewards")
                terminated = handle.get_tensor("terminated").bool()
                if longer:  # the first H steps of longer segments
                    h = self.horizon
                    states = states[:, :, :h] if self.all_states else states[:, :, h - 1 : h]
                    rewards, terminated = rewards[..., :h].contiguous(), terminated[..., :h].contiguous()
                    states = states.contiguous()
        except Exception as exc:  # safetensors raises several types on truncated or corrupt files
            logger.warning("imagination cache %s is unreadable (%s); it will be rebuilt", path, exc)
            return False
        if states.shape[0] != self.rows:
            return False
        self.states, self.rewards = states.to(self.device), rewards.to(self.device)
        self.terminated = terminated.to(self.device)
        self.filled[:] = True
        return True

    def gather(self, rows: np.ndarray, which: np.ndarray) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        """Sample ``which[i]`` of row ``rows[i]``: ``states (B, kept, obs)``, ``rewards``, ``terminated (B, H)``.

        ``kept`` is H with ``all_states``, else 1 (ŝ_{t+H} only).
        """
        if not self.filled[rows].all():
            raise RuntimeError("gather() on rows that are not cached; imagine them first")
        r, w = th.as_tensor(rows, device=self.device), th.as_tensor(which, device=self.device)
        states, rewards, terminated = self._arrays()
        return states[r, w], rewards[r, w], terminated[r, w]
