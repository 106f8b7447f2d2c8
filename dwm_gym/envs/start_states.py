"""Where imagined episodes start: dataset episode starts, any dataset state, or the real env's reset.

The dataset states travel inside the checkpoint (the model's ``start_states``), so the envs work
without the dataset on disk; for older checkpoints without them the dataset is loaded from Minari.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import gymnasium as gym
import numpy as np
import torch

from dwm_gym.world_model.base import WorldModel
from dwm_gym.world_model.termination import termination_rule

START_MODES = ("episode_starts", "dataset", "env")


class StartStateWarning(UserWarning):
    """A start state given in ``reset(options=...)`` lies far outside the states the model was trained on."""


def check_reset_options(options: dict | None, accepted: tuple[str, ...], owner: str) -> dict:
    """``options`` (``{}`` for None), after refusing keys the env does not read.

    Raises:
        ValueError: On unknown keys, listing the accepted ones.
    """
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(
            f"{owner}.reset(options=...) takes a dict, e.g. options={{'state': obs}}, got {type(options).__name__}"
        )
    options = dict(options or {})
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"{owner}.reset() got unknown options {unknown}; accepted: {', '.join(accepted)}")
    return options


class StartStates:
    """Draws start states for a world model's env.

    Args:
        model: A loaded world model (its ``start_states``, ``info`` and ``env_id`` are read).
        mode: ``"episode_starts"`` (default), ``"dataset"`` (any dataset state) or ``"env"``
            (the real env's own reset distribution).

    Raises:
        ValueError: On an unknown mode.
    """

    def __init__(self, model: WorldModel, mode: str = "episode_starts") -> None:
        self.check_mode(mode)
        self.model, self.mode = model, mode
        self._pools: dict[str, np.ndarray] = {}
        self._real_env: gym.Env | None = None

    @staticmethod
    def check_mode(mode: str) -> None:
        """Raises ValueError unless ``mode`` is one of :data:`START_MODES`."""
        if not isinstance(mode, str):
            raise ValueError(
                f"start_states is a mode name, one of {START_MODES}, got a {type(mode).__name__}; to start from "
                "states of your own pass reset(options={'state': s}) (vector env: options={'states': ...})"
            )
        if mode not in START_MODES:
            raise ValueError(f"start state mode must be one of {START_MODES}, got {mode!r}")

    def check_given(self, states: np.ndarray, margin: float = 1.0) -> None:
        """Warns (:class:`StartStateWarning`) for given start states that are unhealthy or far from the data.

        Unhealthy: the real env's termination rule holds in the state already (the real episode would have
        ended). Far: outside the range of the state sample the checkpoint carries, widened by ``margin`` times
        its width on each side; what the model imagines from there is extrapolation.
        """
        rule = termination_rule(self.model.env_id)
        if rule is not None and bool(rule(torch.as_tensor(states, dtype=torch.float32)).any()):
            warnings.warn(
                StartStateWarning(
                    f"the given start state is already unhealthy for {self.model.env_id} (its real episode would have "
                    "ended there): imagined steps from it describe no state the real env reaches"
                ),
                stacklevel=4,
            )
        sample = self.model.start_states.get("states")
        if sample is None or not len(sample):
            return
        low, high = sample.min(0), sample.max(0)
        width = np.maximum(high - low, 1e-6)
        outside = (states < low - margin * width) | (states > high + margin * width)
        if outside.any():
            dims = sorted(set(np.flatnonzero(outside.any(0)).tolist()))
            warnings.warn(
                StartStateWarning(
                    f"start state dimension(s) {dims} lie far outside the range of the model's training states "
                    f"(more than {margin:g} range width beyond it): the imagined episode is extrapolation"
                ),
                stacklevel=4,
            )

    def pool(self, mode: str) -> np.ndarray:
        """The candidate states for a dataset ``mode`` (loaded once)."""
        if mode not in self._pools:
            stored = self.model.start_states.get("episode_starts" if mode == "episode_starts" else "states")
            self._pools[mode] = stored if stored is not None and len(stored) else self._from_dataset(mode)
        return self._pools[mode]

    def _from_dataset(self, mode: str) -> np.ndarray:
        from dwm_gym.data.offline_dataset import OfflineDataset

        dataset_id = self.model.info.get("dataset_id")
        if not dataset_id:
            raise ValueError(
                "this checkpoint carries no start states and names no dataset: use start_states='env' or pass "
                "options={'state': ...} to reset()"
            )
        dataset = OfflineDataset.from_minari(dataset_id)
        if mode == "episode_starts":
            return np.stack([e.observations[0] for e in dataset.episodes])
        return dataset.transitions["observations"]

    def sample(self, rng: np.random.Generator, count: int, mode: str | None = None) -> np.ndarray:
        """``count`` start states ``(count, obs_dim)`` drawn with ``rng``."""
        mode = mode or self.mode
        self.check_mode(mode)
        if mode == "env":
            if self._real_env is None:
                if self.model.env_id is None:
                    raise ValueError("start_states='env' needs a world model that names its env (env_id)")
                self._real_env = gym.make(self.model.env_id)
            real_env = self._real_env
            seeds = rng.integers(0, 2**31 - 1, size=count)
            return np.stack([real_env.reset(seed=int(s))[0] for s in seeds])
        pool = self.pool(mode)
        return pool[rng.integers(0, len(pool), size=count)]

    def close(self) -> None:
        """Closes the real env made for ``start_states="env"``, if one was made."""
        if self._real_env is not None:
            self._real_env.close()
            self._real_env = None
