"""DWM training windows: (s_t, a_t, g_t) -> (r_t, s_{t+1}, r_{t+1}, ..., s_{t+T-1}, r_{t+T-1}).

Termination semantics (docs/paper.md#terminations):

* A window never crosses a truncation (time limit or collection cut): in an episode that was
  cut after ``L`` transitions, windows start at t = 0 .. L - T only.
* After a true termination the window is padded with an absorbing state: the terminal
  next-state s_L repeated, reward 0, ``mask`` 0 and ``terminals`` 1. Windows of a terminated
  episode start at every t = 0 .. L - 1.

The return-to-go is the full-episode discounted return from t to the end of the episode's
data, divided by the task's scale (docs/paper.md#return-to-go: 400 hopper, 550 walker2d, 1200 halfcheetah).

Windows are index views over flat padded arrays (no copy of T states per window);
:meth:`DWMWindows.batch` gathers a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dwm_gym.data.episode import DatasetError
from dwm_gym.data.offline_dataset import OfflineDataset


@dataclass
class WindowBatch:
    """A batch of DWM windows (raw, unnormalized units).

    Attributes:
        states: ``(B, obs_dim)`` s_t.
        actions: ``(B, action_dim)`` a_t.
        rewards: ``(B, T)`` r_t .. r_{t+T-1} (0 after a termination).
        future_states: ``(B, T-1, obs_dim)`` s_{t+1} .. s_{t+T-1} (absorbing after a termination).
        rtg: ``(B,)`` scaled discounted return-to-go g_t.
        masks: ``(B, T)`` 1 where reward h is a real transition, 0 on padding.
        terminals: ``(B, T)`` 1 from the step whose transition terminated the episode onwards.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    future_states: np.ndarray
    rtg: np.ndarray
    masks: np.ndarray
    terminals: np.ndarray

    def __len__(self) -> int:
        return len(self.states)


def discounted_returns_to_go(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """g_t = sum_{t' >= t} gamma^(t'-t) r_t' for one episode (backward recursion, float64)."""
    out = np.empty(len(rewards), dtype=np.float64)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


class DWMWindows:
    """All length-T windows of an :class:`OfflineDataset` (T: the world model's ``segment_length``).

    Args:
        dataset: The data.
        segment_length: Window length T (paper: 8).
        gamma: Discount of the return-to-go (paper: 0.99).
        rtg_scale: Divisor of the return-to-go; defaults to the task's scale.

    Raises:
        DatasetError: If no episode is long enough for a single window.
        ValueError: If ``rtg_scale`` is missing for an unknown task.
    """

    def __init__(
        self,
        dataset: OfflineDataset,
        segment_length: int = 8,
        gamma: float = 0.99,
        rtg_scale: float | None = None,
    ) -> None:
        if segment_length < 1:
            raise ValueError(f"segment_length must be >= 1, got {segment_length}")
        if rtg_scale is None:
            if dataset.task is None:
                raise ValueError(f"no RTG scale known for env {dataset.env_id!r}; pass rtg_scale=")
            rtg_scale = dataset.task.rtg_scale
        self.segment_length, self.gamma, self.rtg_scale = segment_length, gamma, float(rtg_scale)
        pad = segment_length - 1
        states, actions, rewards, masks, terminals, rtg, starts = [], [], [], [], [], [], []
        offset = 0
        for episode in dataset.episodes:
            length = len(episode)
            episode_rtg = discounted_returns_to_go(episode.rewards, gamma) / self.rtg_scale
            if episode.terminated:
                rows = length + pad
                states.append(np.concatenate([episode.observations[:-1], np.repeat(episode.observations[-1:], pad, 0)]))
                actions.append(np.concatenate([episode.actions, np.zeros((pad, dataset.action_dim), np.float32)]))
                rewards.append(np.concatenate([episode.rewards, np.zeros(pad)]))
                masks.append(np.concatenate([np.ones(length), np.zeros(pad)]))
                terminals.append(np.concatenate([np.zeros(length - 1), np.ones(pad + 1)]))
                rtg.append(np.concatenate([episode_rtg, np.zeros(pad)]))
                starts.append(offset + np.arange(length))
            else:
                rows = length
                states.append(episode.observations[:-1])
                actions.append(episode.actions)
                rewards.append(episode.rewards)
                masks.append(np.ones(length))
                terminals.append(np.zeros(length))
                rtg.append(episode_rtg)
                starts.append(offset + np.arange(max(0, length - segment_length + 1)))
            offset += rows
        self.starts = np.concatenate(starts).astype(np.int64)
        if len(self.starts) == 0:
            raise DatasetError(
                f"no window of length {segment_length} fits: every episode is truncated and shorter than "
                f"{segment_length} steps"
            )
        self._states = np.concatenate(states).astype(np.float32)
        self._actions = np.concatenate(actions).astype(np.float32)
        self._rewards = np.concatenate(rewards).astype(np.float32)
        self._masks = np.concatenate(masks).astype(np.float32)
        self._terminals = np.concatenate(terminals).astype(np.float32)
        self._rtg = np.concatenate(rtg).astype(np.float32)

    @property
    def start_rtg(self) -> np.ndarray:
        """``(len(self),)`` the scaled RTG g_t of every window, without gathering the windows."""
        return self._rtg[self.starts]

    def __len__(self) -> int:
        return len(self.starts)

    def batch(self, indices: np.ndarray) -> WindowBatch:
        """Gathers the windows ``indices`` (positions in ``0 .. len(self) - 1``)."""
        start = self.starts[np.asarray(indices)]
        rows = start[:, None] + np.arange(self.segment_length)
        return WindowBatch(
            states=self._states[start],
            actions=self._actions[start],
            rewards=self._rewards[rows],
            future_states=self._states[rows[:, 1:]],
            rtg=self._rtg[start],
            masks=self._masks[rows],
            terminals=self._terminals[rows],
        )

    def action_sequences(self, indices: np.ndarray) -> np.ndarray:
        """The dataset actions a_t .. a_{t+T-1} of windows ``indices`` (``(B, T, action_dim)``, 0 on padding)."""
        rows = self.starts[np.asarray(indices)][:, None] + np.arange(self.segment_length)
        return self._actions[rows]

    def sample(self, batch_size: int, rng: np.random.Generator) -> WindowBatch:
        """A uniformly random batch of windows."""
        return self.batch(rng.integers(0, len(self), size=batch_size))
