"""``DiffusionMVEReplayBuffer``: SB3 replay buffer whose batches carry the Diffusion-MVE target.

    model = TD3("MlpPolicy", env, replay_buffer_class=DiffusionMVEReplayBuffer,
                replay_buffer_kwargs=dict(world_model="hopper_medium_dwm.safetensors", horizon=5, rtg=0.8))

Segments are imagined from the dataset pair (s_t, a_t) and the RTG target g (docs/paper.md#diffusion-mve-target): the
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
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

from dwm_gym.utils.run_lock import hold_lock
from dwm_gym.value_expansion.base_buffer import MVEReplayBuffer
from dwm_gym.value_expansion.cache import ImaginationCache, array_digest, model_digest
from dwm_gym.value_expansion.cache_file import check_cache_target, fill_estimate
from dwm_gym.world_model import WorldModel

logger = logging.getLogger(__name__)


class DiffusionMVEReplayBuffer(MVEReplayBuffer):
    """Replay buffer that imagines H steps with a Diffusion World Model (see the module docstring).

    Takes the arguments of :class:`~dwm_gym.value_expansion.base_buffer.MVEReplayBuffer` (SB3's
    ``ReplayBuffer`` ones, ``world_model``, ``horizon`` in 0 .. T-1, ``gamma``, ``world_model_device``,
    ``return_segments``, ``seed``), plus:

    Args:
        *args: SB3's positional ``ReplayBuffer`` arguments (``buffer_size``, ``observation_space``...).
        rtg: Scaled return-to-go target g; default: the median RTG of the DWM's training data
            (the model's ``default_rtg``).
        sampler: Sampler settings of the DWM for this buffer (a ``SamplerConfig`` or overrides such as
            ``{"clip_state_tails": False}``); default: the checkpoint's.
        cache: Use the imagination cache (default) instead of fresh sampling per minibatch.
        cache_samples: M, segments kept per transition.
        cache_refresh_every: Re-imagine the whole cache once every this many ``sample()`` calls,
            a slice per call (None: never).
        cache_batch_size: Segments per world-model call when filling the cache.
        cache_file: A safetensors file the filled cache is saved to and loaded from, so runs on the
            same data, model, RTG, H and M share one cache (:meth:`prepare_cache`). Such a cache
            keeps all H states, so it serves λ-returns too. While it fills, the rows done so far are saved
            to ``<cache_file>.partial`` every ``cache_checkpoint_s`` seconds, and an interrupted fill
            resumes from there with the same segments an uninterrupted one would have made.
        cache_checkpoint_s: Seconds between those partial saves.
        **kwargs: The other arguments of ``MVEReplayBuffer``.
    """

    def __init__(
        self,
        *args: Any,
        rtg: float | None = None,
        sampler: Any = None,
        cache: bool = True,
        cache_samples: int = 1,
        cache_refresh_every: int | None = None,
        cache_batch_size: int = 2048,
        cache_file: str | os.PathLike | None = None,
        cache_checkpoint_s: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sampler = self.model.sampler_settings(sampler)
        self.rtg = self.model.resolve_rtg(rtg)
        if cache_refresh_every is not None and cache_refresh_every < 1:
            raise ValueError(f"cache_refresh_every must be >= 1 or None, got {cache_refresh_every}")
        self.use_cache, self.cache_samples = bool(cache), int(cache_samples)
        self.cache_refresh_every, self.cache_batch_size = cache_refresh_every, int(cache_batch_size)
        self._cache: ImaginationCache | None = None
        self.cache_file = None if cache_file is None else str(cache_file)
        if not cache_checkpoint_s >= 0:
            raise ValueError(
                f"cache_checkpoint_s must be seconds >= 0 (0: after every chunk), got {cache_checkpoint_s}"
            )
        self.cache_checkpoint_s = float(cache_checkpoint_s)
        self._refresh_cursor, self._np_rng = 0, np.random.default_rng(self.seed)
        if self.use_cache and self.cache_samples < 1:
            raise ValueError(f"cache_samples must be >= 1, got {cache_samples}")

    def check_model(self, model: WorldModel) -> None:
        """The segments must not depend on the policy (that is what makes them cacheable)."""
        super().check_model(model)
        if model.needs_policy:
            raise ValueError(
                f"DiffusionMVEReplayBuffer imagines from (s_t, a_t) alone, but a {model.kind!r} world model needs "
                "a policy for the steps after a_t: use OneStepMVEReplayBuffer for it"
            )

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
            seg = self.model.rollout(
                obs_t[start:stop],
                act_t[start:stop],
                self.horizon,
                rtg=self.rtg,
                generator=self.generator,
                sampler=self.sampler,
            )
            parts.append((seg.states, seg.rewards, seg.terminated))
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
        """What a shared cache file must have been made for.

        That is the content of the data (SHA-256 of the stored states and actions, so a reordered or
        edited dataset differs), the world model (SHA-256 of its kind, settings, weights and normalizers:
        what imagines, so re-exporting a checkpoint with another data sample or header keeps its caches),
        the RTG, γ and sampler settings.
        """
        size = self.size()
        model_hash = model_digest(self.model)
        return {
            "rows": size * self.n_envs,
            "data_sha256": array_digest(self.observations[:size], self.actions[:size]),
            "world_model_sha256": model_hash,
            "rtg": self.rtg,
            "gamma": self.gamma,
            "sampler": dataclasses.asdict(self.sampler) if self.sampler is not None else None,
        }

    def prepare(self, progress: bool = False) -> dict[str, float]:
        """With a ``cache_file``: loads or fills the shared cache (:meth:`prepare_cache`); else nothing.

        Without one, segments are imagined lazily, the first time a row is sampled.
        """
        stored = np.arange(self.size() * self.n_envs)
        if self.horizon and self.use_cache and self.cache_file and len(self.cache.missing(stored)):
            return self.prepare_cache(progress=progress)
        return {}

    def prepare_cache(self, progress: bool = False) -> dict[str, float]:
        """Loads the cache from ``cache_file`` when it matches, else fills it (and saves it there).

        Returns:
            ``fill_cache`` metrics, or ``{"loaded": 1.0}`` when it came from the file.
        """
        if not self.cache_file:
            return self.fill_cache(progress=progress)
        check_cache_target(self.cache_file)  # only a cache is ever replaced
        identity = self.cache_identity()
        # a finished cache file is written whole (atomically): readers need no lock, so trials that start
        # together all load it; only a fill takes the lock
        if self.cache.load(self.cache_file, identity):
            logger.info("imagination cache loaded from %s", self.cache_file)
            return {"loaded": 1.0}
        with hold_lock(f"{self.cache_file}.lock", f"the cache file {self.cache_file}"):  # one writer
            return self._load_or_fill(progress, identity)

    def _load_or_fill(self, progress: bool, identity: dict) -> dict[str, float]:
        if self.cache_file is None:
            raise ValueError("no cache_file: the imagination cache has no file to load or fill")
        partial = f"{self.cache_file}.partial"
        if self.cache.load(self.cache_file, identity):  # filled by another process while this one waited
            logger.info("imagination cache loaded from %s", self.cache_file)
            return {"loaded": 1.0}
        state = self.cache.load_partial(partial, identity)
        if state is not None:
            self.generator.set_state(state)
            logger.info("imagination cache: resuming %s (%d rows done)", partial, self.cache.filled.sum())
        metrics = self.fill_cache(progress=progress, checkpoint=(partial, identity))
        self.cache.save(self.cache_file, identity)
        Path(partial).unlink(missing_ok=True)
        return metrics

    def fill_cache(self, progress: bool = False, checkpoint: tuple[str, dict] | None = None) -> dict[str, float]:
        """Imagines every stored row not cached yet, in batches (instead of lazily at sampling).

        Args:
            progress: Show a tqdm progress bar.
            checkpoint: ``(file, cache identity)`` to save the progress to every ``cache_checkpoint_s``
                (:meth:`prepare_cache` passes it and resumes from it); None: no partial saves.

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
        saved = start
        for begin in range(0, len(rows), chunk):
            part = rows[begin : begin + chunk]
            self._fill_rows(part)
            estimate = fill_estimate(len(part), len(rows), time.perf_counter() - start, self.cache_samples)
            if begin == 0 and estimate:  # a fill of days is said at once, not found out from a progress bar
                logger.warning(estimate)
            if bar is not None:
                bar.update(len(part))
            if checkpoint and begin + chunk < len(rows) and time.perf_counter() - saved >= self.cache_checkpoint_s:
                self.cache.save_partial(*checkpoint, self.generator.get_state())
                saved = time.perf_counter()
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

    def _refresh(self, every: int) -> None:
        """Re-imagines the next ``1 / every`` of the stored rows (all of them once every ``every`` calls)."""
        stored = self.size() * self.n_envs
        if not stored:
            return
        count = min(stored, math.ceil(stored / every))
        rows = (self._refresh_cursor + np.arange(count)) % stored
        self._refresh_cursor = int((self._refresh_cursor + count) % stored)
        self._fill_rows(rows[self.cache.filled[rows]])  # rows never sampled stay lazy

    def imagine_rows(self, rows: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> tuple[th.Tensor, ...]:
        """Segments for ``rows``: imagined afresh without a cache, else one of the M cached per row, at random.

        Rows not cached yet are imagined first; with ``cache_refresh_every``, a slice of the cache is
        re-imagined on every call.
        """
        if not self.use_cache:
            return self.imagine(obs, actions)
        missing = self.cache.missing(rows)
        if len(missing):
            self._fill_rows(missing)
        which = self._np_rng.integers(0, self.cache_samples, size=len(rows))
        segments = self.cache.gather(rows, which)
        if self.cache_refresh_every is not None:
            self._refresh(self.cache_refresh_every)
        return segments

    # ------------------------------------------------------------------ data changes
    def add(self, obs, next_obs, action, reward, done, infos) -> None:
        """SB3's ``add``, after invalidating the cached segments of the position it (over)writes."""
        if self._cache is not None:
            self._cache.invalidate(np.arange(self.pos * self.n_envs, (self.pos + 1) * self.n_envs))
        super().add(obs, next_obs, action, reward, done, infos)

    def on_data_loaded(self) -> None:
        """Called after the arrays were rewritten in bulk (offline data): forgets cached segments."""
        super().on_data_loaded()
        if self._cache is not None:
            self._cache.invalidate()

    def reset(self) -> None:
        """SB3's ``reset`` (empties the buffer), then forgets the data support and cached segments."""
        super().reset()
        self.on_data_loaded()

    def __getstate__(self) -> dict:
        """Pickles without the cache (recomputable, possibly large)."""
        state = super().__getstate__()
        state["_cache"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        """Restores a pickled buffer, also one pickled before the sampler settings were stored."""
        super().__setstate__(state)
        if "sampler" not in state:
            self.sampler = self.model.sampler_settings(None)
