"""``DiffusionMVEReplayBuffer``: SB3 replay buffer whose batches carry the Diffusion-MVE target.

    model = TD3("MlpPolicy", env, replay_buffer_class=DiffusionMVEReplayBuffer,
                replay_buffer_kwargs=dict(world_model="hopper_medium_dwm.safetensors", horizon=5, rtg=0.8))

Segments are imagined from the dataset pair (s_t, a_t) and the RTG target g (PAPER.md 2.1): the
conditioning action is the data's a_t, so imagination does not depend on the policy. As the paper
says, the model's r̂_t and ŝ_{t+1} are used even for H = 1 (not the dataset's r_t, s_{t+1}).

Two modes: ``cache=True`` (default) keeps M = ``cache_samples`` segments per transition, imagined in
batches of ``cache_batch_size`` the first time a row is sampled (or all at once with
:meth:`~DiffusionMVEReplayBuffer.fill_cache`) and optionally refreshed; ``cache=False`` imagines
fresh segments for every minibatch, as in the paper.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time

import numpy as np
import torch as th
from gymnasium import spaces

from dwm_gym.value_expansion.base_buffer import MVEReplayBuffer
from dwm_gym.value_expansion.cache import ImaginationCache
from dwm_gym.world_model import DiffusionWorldModel
from dwm_gym.world_model.rtg import default_rtg

logger = logging.getLogger(__name__)


class DiffusionMVEReplayBuffer(MVEReplayBuffer):
    """Replay buffer that imagines H steps with a Diffusion World Model (see the module docstring).

    Args:
        buffer_size: Capacity (transitions), passed by the algorithm as for SB3's ``ReplayBuffer``.
        observation_space: A 1-D ``Box``.
        action_space: A ``Box``.
        device: Torch device of the returned batches.
        n_envs: Parallel envs (1 for offline data).
        optimize_memory_usage: Not supported (must be False).
        handle_timeout_termination: As in SB3.
        world_model: DWM checkpoint path (or a loaded :class:`DiffusionWorldModel`).
        horizon: H in 0 .. T-1 (paper sweep: 1, 3, 5, 7). 0 returns SB3's plain batch.
        rtg: Scaled return-to-go target g; default: the median RTG of the DWM's training data
            (:func:`dwm_gym.world_model.rtg.default_rtg`).
        gamma: Discount γ (must equal the algorithm's).
        cache: Use the imagination cache (default) instead of fresh sampling per minibatch.
        cache_samples: M, segments kept per transition.
        cache_refresh_every: Re-imagine the whole cache once every this many ``sample()`` calls,
            a slice per call (None: never).
        cache_batch_size: Segments per world-model call when filling the cache.
        world_model_device: Where the DWM runs (default: the buffer's device).
        return_segments: Also return all H imagined states/rewards/flags (λ-returns need them).
        seed: Seed of the imagination generator (default: drawn from ``np.random``).
        cache_file: A safetensors file the filled cache is saved to and loaded from, so runs on the
            same data, model, RTG, H and M share one cache (:meth:`prepare_cache`). Such a cache
            keeps all H states, so it serves λ-returns too.
    """

    model_class = DiffusionWorldModel

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        *,
        world_model: str | os.PathLike | DiffusionWorldModel,
        horizon: int = 5,
        rtg: float | None = None,
        gamma: float = 0.99,
        cache: bool = True,
        cache_samples: int = 1,
        cache_refresh_every: int | None = None,
        cache_batch_size: int = 2048,
        world_model_device: str | th.device | None = None,
        return_segments: bool = False,
        seed: int | None = None,
        cache_file: str | os.PathLike | None = None,
    ) -> None:
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device,
            n_envs,
            optimize_memory_usage,
            handle_timeout_termination,
            world_model=world_model,
            horizon=horizon,
            gamma=gamma,
            world_model_device=world_model_device,
            return_segments=return_segments,
            seed=seed,
        )
        info = getattr(self.model, "checkpoint_info", None) or {}
        self.rtg = default_rtg(info, rtg)
        if cache_refresh_every is not None and cache_refresh_every < 1:
            raise ValueError(f"cache_refresh_every must be >= 1 or None, got {cache_refresh_every}")
        self.use_cache, self.cache_samples = bool(cache), int(cache_samples)
        self.cache_refresh_every, self.cache_batch_size = cache_refresh_every, int(cache_batch_size)
        self._cache: ImaginationCache | None = None
        self.cache_file = None if cache_file is None else str(cache_file)
        self._refresh_cursor, self._np_rng = 0, np.random.default_rng(self.seed)
        if self.use_cache and self.cache_samples < 1:
            raise ValueError(f"cache_samples must be >= 1, got {cache_samples}")

    # ------------------------------------------------------------------ imagination
    def imagine(self, obs: np.ndarray, actions: np.ndarray, samples: int = 1) -> tuple[th.Tensor, ...]:
        """``samples`` segments per pair, cut to H: ``states (B*samples, H, obs)``, ``rewards``, ``terminated``.

        Rows of one pair are consecutive. Calls the DWM in chunks of ``cache_batch_size``.
        """
        obs_t = th.as_tensor(obs, dtype=th.float32, device=self.model.device)
        act_t = self.to_env_actions(actions)
        if samples > 1:
            obs_t, act_t = obs_t.repeat_interleave(samples, 0), act_t.repeat_interleave(samples, 0)
        parts = []
        for start in range(0, len(obs_t), self.cache_batch_size):
            stop = start + self.cache_batch_size
            seg = self.model.imagine(obs_t[start:stop], act_t[start:stop], self.rtg, generator=self.generator)
            h = self.horizon
            parts.append((seg.states[:, :h], seg.rewards[:, :h], seg.terminated[:, :h]))
        return tuple(th.cat(p) for p in zip(*parts))

    @property
    def cache(self) -> ImaginationCache:
        """The imagination cache (created on first use)."""
        all_states = self.return_segments or self.cache_file is not None
        if self._cache is None or self._cache.all_states != all_states:
            self._cache = ImaginationCache(
                self.buffer_size * self.n_envs,
                self.cache_samples,
                self.horizon,
                self.obs_shape[0],
                all_states=all_states,
                device=self.device,
            )
        return self._cache

    def _rows_data(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index, env = rows // self.n_envs, rows % self.n_envs
        return self.observations[index, env], self.actions[index, env]

    def _fill_rows(self, rows: np.ndarray) -> None:
        chunk = max(1, self.cache_batch_size // self.cache_samples)
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            obs, actions = self._rows_data(part)
            self.cache.store(part, *self.imagine(obs, actions, self.cache_samples))

    def cache_identity(self) -> dict:
        """What a shared cache file must have been made for: data, world model, RTG, γ."""
        rows = self.size() * self.n_envs
        observations, actions = self.observations[: self.size()], self.actions[: self.size()]
        return {
            "rows": rows,
            "data_checksum": float(np.float64(observations).sum() + 3.0 * np.float64(actions).sum()),
            "world_model": str(self.world_model_path),
            "world_model_bytes": os.path.getsize(self.world_model_path) if self.world_model_path else None,
            "rtg": self.rtg,
            "gamma": self.gamma,
            "sampler": {key: value for key, value in dataclasses.asdict(self.model.config).items() if key != "extra"},
        }

    def prepare_cache(self, progress: bool = False) -> dict[str, float]:
        """Loads the cache from ``cache_file`` when it matches, else fills it (and saves it there).

        Returns:
            ``fill_cache`` metrics, or ``{"loaded": 1.0}`` when it came from the file.
        """
        if self.cache_file and self.cache.load(self.cache_file, self.cache_identity()):
            logger.info("imagination cache loaded from %s", self.cache_file)
            return {"loaded": 1.0}
        metrics = self.fill_cache(progress=progress)
        if self.cache_file:
            self.cache.save(self.cache_file, self.cache_identity())
        return metrics

    def fill_cache(self, progress: bool = False) -> dict[str, float]:
        """Imagines every stored row not cached yet, in batches (instead of lazily at sampling).

        Args:
            progress: Show a tqdm progress bar.

        Returns:
            Metrics: ``segments`` imagined, ``seconds``, ``segments_per_s``, ``cache_mb``.
        """
        if not self.use_cache:
            raise ValueError("fill_cache() needs cache=True")
        rows = self.cache.missing(np.arange(self.size() * self.n_envs))
        start, chunk = time.perf_counter(), max(1, 16 * self.cache_batch_size // self.cache_samples)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(rows), desc="imagination cache", unit="transition")
        for begin in range(0, len(rows), chunk):
            self._fill_rows(rows[begin : begin + chunk])
            if bar is not None:
                bar.update(len(rows[begin : begin + chunk]))
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - start
        segments = len(rows) * self.cache_samples
        logger.info("imagination cache: %d segments in %.1f s", segments, seconds)
        return {
            "segments": float(segments),
            "seconds": seconds,
            "segments_per_s": segments / max(seconds, 1e-9),
            "cache_mb": self.cache.nbytes / 2**20,
        }

    def _refresh(self) -> None:
        stored = self.size() * self.n_envs
        if not stored:
            return
        count = min(stored, math.ceil(stored / self.cache_refresh_every))
        rows = (self._refresh_cursor + np.arange(count)) % stored
        self._refresh_cursor = int((self._refresh_cursor + count) % stored)
        self._fill_rows(rows[self.cache.filled[rows]])  # rows never sampled stay lazy

    def imagine_rows(self, rows: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> tuple[th.Tensor, ...]:
        if not self.use_cache:
            return self.imagine(obs, actions)
        missing = self.cache.missing(rows)
        if len(missing):
            self._fill_rows(missing)
        which = self._np_rng.integers(0, self.cache_samples, size=len(rows))
        segments = self.cache.gather(rows, which)
        if self.cache_refresh_every is not None:
            self._refresh()
        return segments

    # ------------------------------------------------------------------ data changes
    def add(self, obs, next_obs, action, reward, done, infos) -> None:
        if self._cache is not None:
            self._cache.invalidate(np.arange(self.pos * self.n_envs, (self.pos + 1) * self.n_envs))
        super().add(obs, next_obs, action, reward, done, infos)

    def on_data_loaded(self) -> None:
        """Called after the arrays were rewritten in bulk (offline data): forgets cached segments."""
        super().on_data_loaded()
        if self._cache is not None:
            self._cache.invalidate()

    def reset(self) -> None:
        super().reset()
        self.on_data_loaded()

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_cache"] = None  # recomputable, possibly large
        return state
