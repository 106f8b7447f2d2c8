"""``OfflineDataset``: episodes of an offline RL dataset, whatever file they came from."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from dwm_gym.data.episode import DatasetError, Episode
from dwm_gym.data.specs import TaskSpec, task_spec


@dataclass
class OfflineDataset:
    """An offline dataset as a list of episodes, terminations kept apart from truncations.

    Build one with :meth:`from_minari`, :meth:`from_d4rl`, :meth:`from_arrays` or
    :meth:`from_episodes` (all validate the data).

    Attributes:
        episodes: The episodes, in dataset order.
        env_id: Gymnasium id of the environment the data comes from (``None`` if unknown).
        dataset_id: Where the data came from (Minari id or file path).
        metadata: Free-form provenance (policy, seeds, reference scores...).
    """

    episodes: list[Episode]
    env_id: str | None = None
    dataset_id: str | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.episodes:
            raise DatasetError(
                f"dataset {self.dataset_id or ''} has no episodes; nothing to learn from".replace("  ", " ")
            )
        obs_dim, action_dim = self.episodes[0].observations.shape[-1], self.episodes[0].actions.shape[-1]
        for i, episode in enumerate(self.episodes):
            episode.validate(f"episode {i}")
            if episode.observations.shape[-1] != obs_dim or episode.actions.shape[-1] != action_dim:
                raise DatasetError(
                    f"episode {i} has obs/action sizes {episode.observations.shape[-1]}/{episode.actions.shape[-1]} "
                    f"but episode 0 has {obs_dim}/{action_dim}; all episodes must come from the same env"
                )
        task = self.task
        if task is not None and (obs_dim, action_dim) != (task.obs_dim, task.action_dim):
            raise DatasetError(
                f"env_id={self.env_id!r} has obs/action sizes {task.obs_dim}/{task.action_dim} but the data has "
                f"{obs_dim}/{action_dim}: pass the env the data comes from"
            )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_episodes(cls, episodes: list[Episode], **kwargs) -> OfflineDataset:
        """Wraps a list of :class:`Episode` (validated)."""
        return cls(list(episodes), **kwargs)

    @classmethod
    def from_arrays(
        cls,
        observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: np.ndarray,
        terminations: np.ndarray,
        truncations: np.ndarray,
        **kwargs: Any,
    ) -> OfflineDataset:
        """Builds episodes from flat, time-ordered transition arrays (D4RL's layout).

        An episode ends at every termination or truncation flag; rows after the last flag
        form a final episode marked truncated (the data simply stops there). Inside an episode
        ``next_observations[i]`` must equal ``observations[i + 1]`` (checked).

        Args:
            observations: ``(N, obs_dim)`` states s_t.
            actions: ``(N, action_dim)``.
            rewards: ``(N,)``.
            next_observations: ``(N, obs_dim)`` states s_{t+1}.
            terminations: ``(N,)`` true terminations (D4RL ``terminals``).
            truncations: ``(N,)`` cuts (D4RL ``timeouts``).
            **kwargs: ``env_id``, ``dataset_id``, ``metadata``.

        Raises:
            DatasetError: On empty input or arrays of different lengths.
        """
        arrays = {
            "observations": np.asarray(observations),
            "actions": np.asarray(actions),
            "rewards": np.asarray(rewards).reshape(-1),
            "next_observations": np.asarray(next_observations),
            "terminations": np.asarray(terminations).reshape(-1).astype(bool),
            "truncations": np.asarray(truncations).reshape(-1).astype(bool),
        }
        lengths = {name: len(value) for name, value in arrays.items()}
        if len(set(lengths.values())) != 1:
            raise DatasetError(f"flat arrays must all have the same length, got {lengths}")
        if lengths["observations"] == 0:
            raise DatasetError("the arrays are empty; a dataset needs at least one transition")
        for name in ("observations", "actions", "rewards", "next_observations"):
            finite = np.isfinite(arrays[name]).reshape(lengths[name], -1).all(axis=1)
            if not finite.all():
                raise DatasetError(
                    f"{name} contains NaN or inf (first at row {int(np.argmin(finite))}); clean the data first"
                )
        if arrays["actions"].ndim == 1:
            arrays["actions"] = arrays["actions"][:, None]
        obs_shape, next_shape = arrays["observations"].shape[1:], arrays["next_observations"].shape[1:]
        if obs_shape != next_shape:
            raise DatasetError(
                f"next_observations rows have shape {next_shape} but observations rows {obs_shape}: both are "
                "states of the same env and must have the same size"
            )
        ends = np.flatnonzero(arrays["terminations"] | arrays["truncations"]) + 1
        if len(ends) == 0 or ends[-1] != lengths["observations"]:
            ends = np.append(ends, lengths["observations"])
        inner = np.ones(lengths["observations"], bool)
        inner[ends - 1] = False  # rows whose successor starts a new episode
        rows = np.flatnonzero(inner[:-1])
        if len(rows) and not np.allclose(arrays["next_observations"][rows], arrays["observations"][rows + 1]):
            first = int(
                rows[~np.isclose(arrays["next_observations"][rows], arrays["observations"][rows + 1]).all(-1)][0]
            )
            raise DatasetError(
                f"next_observations[{first}] differs from observations[{first + 1}] inside an episode: the arrays "
                "must be time-ordered with a termination or truncation flag at every episode end"
            )
        episodes, start = [], 0
        for end in ends:
            obs = np.concatenate([arrays["observations"][start:end], arrays["next_observations"][end - 1 : end]])
            truncations = arrays["truncations"][start:end].copy()
            terminations = arrays["terminations"][start:end].copy()
            if not (terminations[-1] or truncations[-1]):
                truncations[-1] = True
            episodes.append(
                Episode(obs, arrays["actions"][start:end], arrays["rewards"][start:end], terminations, truncations)
            )
            start = int(end)
        return cls(episodes, **kwargs)

    @classmethod
    def from_minari(cls, dataset_id: str, download: bool = False) -> OfflineDataset:
        """Loads a Minari dataset (local, under ``$MINARI_DATASETS_PATH`` or ``~/.minari/datasets``).

        Args:
            dataset_id: E.g. ``"dwm_gym/hopper/medium-v0"`` or ``"mujoco/hopper/medium-v0"``.
            download: Let Minari download a remote dataset that is not on disk.

        Raises:
            DatasetError: If the id is not on disk, listing the datasets that are.
        """
        from dwm_gym.data.minari_io import load_minari_episodes

        episodes, env_id, metadata = load_minari_episodes(dataset_id, download=download)
        return cls(episodes, env_id=env_id, dataset_id=dataset_id, metadata=metadata)

    @classmethod
    def from_d4rl(cls, path: str | os.PathLike, env_id: str | None = None) -> OfflineDataset:
        """Loads a D4RL-format HDF5 file.

        The file holds ``observations``, ``actions``, ``rewards``, ``next_observations``,
        ``terminals`` and ``timeouts``.

        Args:
            path: The ``.hdf5`` file.
            env_id: Gymnasium id to attach (D4RL files do not store one).
        """
        from dwm_gym.data.d4rl_io import load_d4rl_arrays

        arrays = load_d4rl_arrays(path)
        return cls.from_arrays(**arrays, env_id=env_id, dataset_id=str(path))

    # ------------------------------------------------------------------ views
    @property
    def obs_dim(self) -> int:
        """Size of a state vector."""
        return int(self.episodes[0].observations.shape[-1])

    @property
    def action_dim(self) -> int:
        """Size of an action vector."""
        return int(self.episodes[0].actions.shape[-1])

    @property
    def num_episodes(self) -> int:
        """Number of episodes."""
        return len(self.episodes)

    @property
    def num_transitions(self) -> int:
        """Number of (s, a, r, s') transitions over all episodes."""
        return int(sum(len(e) for e in self.episodes))

    @property
    def task(self) -> TaskSpec | None:
        """The known task of ``env_id`` (for RTG scales, reference scores), or ``None``."""
        if self.env_id is None:
            return None
        try:
            return task_spec(self.env_id)
        except KeyError:
            return None

    def episode_returns(self, finished_only: bool = False) -> np.ndarray:
        """Undiscounted return per episode.

        Args:
            finished_only: Leave out episodes cut by the collection budget rather than ended by
                termination or the env's time limit (``metadata["budget_cut_episodes"]``).
        """
        cut = set(self.metadata.get("budget_cut_episodes", [])) if finished_only else set()
        return np.array([e.total_return for i, e in enumerate(self.episodes) if i not in cut])

    @cached_property
    def transitions(self) -> dict[str, np.ndarray]:
        """All transitions as flat arrays, concatenated over episodes.

        Keys: ``observations``, ``actions``, ``rewards``, ``next_observations``, ``terminations``,
        ``truncations``, ``episode_index``.
        """
        eps = self.episodes
        return {
            "observations": np.concatenate([e.observations[:-1] for e in eps]),
            "actions": np.concatenate([e.actions for e in eps]),
            "rewards": np.concatenate([e.rewards for e in eps]),
            "next_observations": np.concatenate([e.observations[1:] for e in eps]),
            "terminations": np.concatenate([e.terminations for e in eps]),
            "truncations": np.concatenate([e.truncations for e in eps]),
            "episode_index": np.concatenate([np.full(len(e), i) for i, e in enumerate(eps)]),
        }

    def split_indices(self, held_out_fraction: float, rng: np.random.Generator) -> tuple[list[int], list[int]]:
        """The episode indices (train, held-out) of :meth:`split` with the same arguments, each sorted.

        Args:
            held_out_fraction: Fraction of episodes held out, in (0, 1).
            rng: Generator that shuffles the episodes.
        """
        if not 0.0 < held_out_fraction < 1.0 or self.num_episodes < 2:
            raise ValueError(
                f"need 0 < held_out_fraction < 1 and at least 2 episodes, got {held_out_fraction} "
                f"and {self.num_episodes} episodes"
            )
        order = rng.permutation(self.num_episodes)
        n_held = min(self.num_episodes - 1, max(1, round(held_out_fraction * self.num_episodes)))
        return sorted(int(i) for i in order[n_held:]), sorted(int(i) for i in order[:n_held])

    def split(self, held_out_fraction: float, rng: np.random.Generator) -> tuple[OfflineDataset, OfflineDataset]:
        """Splits by whole episodes into (train, held-out).

        Args:
            held_out_fraction: Fraction of episodes held out, in (0, 1).
            rng: Generator that shuffles the episodes.
        """
        train, held = self.split_indices(held_out_fraction, rng)
        return self.subset(train, "train"), self.subset(held, "held-out")

    def subset(self, indices: Sequence[int], tag: str) -> OfflineDataset:
        """The episodes ``indices`` as a dataset ``<id>[<tag>]`` (provenance kept, except episode indices)."""
        metadata = {k: v for k, v in self.metadata.items() if k != "budget_cut_episodes"}  # indices change
        return OfflineDataset([self.episodes[i] for i in indices], self.env_id, f"{self.dataset_id}[{tag}]", metadata)

    def summary(self) -> dict:
        """Size and return statistics, for ``dataset info`` and logs."""
        returns = self.episode_returns()
        return {
            "dataset_id": self.dataset_id,
            "env_id": self.env_id,
            "episodes": self.num_episodes,
            "transitions": self.num_transitions,
            "terminated_episodes": int(sum(e.terminated for e in self.episodes)),
            "mean_return": float(returns.mean()),
            "std_return": float(returns.std()),
            "min_return": float(returns.min()),
            "max_return": float(returns.max()),
            "obs_dim": self.obs_dim,
            "action_dim": self.action_dim,
        }
