"""World-model error against real trajectories, per step of the horizon (docs/paper.md#model-error-protocol).

From held-out windows (s_t, a_t, ..., s_{t+T-1}) that lie inside an episode (no padding):

* the DWM is conditioned on s_t, the true a_t and the window's own RTG;
* the one-step model is rolled out from s_t with the true actions a_t .. a_{t+T-2}, or, given
  the data's behaviour policy, with a_t then actions that policy samples in the imagined states
  (the same information as the DWM's, and how model-based value expansion uses the model).

Every model goes through the same call, ``model.rollout(s_t, a_t, T - 1, rtg=..., policy=...)``:
the T - 1 transitions of a window. Errors are mean squared errors per step; states are compared
after z-scoring every dimension with the data's mean and std (so dimensions of different scales
weigh alike), rewards in raw units. State step 1 is s_t itself (error 0 by construction), as in the
paper's table, so there are T state steps and T - 1 reward steps (r_t .. r_{t+T-2}).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from dwm_gym.data.behavior.actor import BehaviorPolicy
from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.data.windows import DWMWindows
from dwm_gym.world_model.base import WorldModel


class FewerWindowsWarning(UserWarning):
    """The data holds fewer evaluation windows than were asked for; all of them are used."""


def evaluation_windows(
    dataset: OfflineDataset, segment_length: int, num_windows: int, seed: int
) -> tuple[DWMWindows, np.ndarray]:
    """The windows every error measure uses: ``num_windows`` drawn among those fully inside an episode.

    Returns:
        The windows and the chosen indices.
    """
    windows = DWMWindows(dataset, segment_length, rtg_scale=dataset.task.rtg_scale if dataset.task else 1.0)
    full = np.flatnonzero(windows.batch(np.arange(len(windows))).masks.min(axis=1) > 0)
    if len(full) == 0:
        raise ValueError(f"no window of length {segment_length} lies fully inside an episode of {dataset.dataset_id}")
    if num_windows > len(full):  # said, so a report is never read as measured on more windows than it was
        warnings.warn(
            f"{num_windows} windows asked, but {dataset.dataset_id} holds only {len(full)} windows of length "
            f"{segment_length} inside an episode: all {len(full)} are used",
            FewerWindowsWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    return windows, rng.choice(full, size=min(num_windows, len(full)), replace=False)


def state_scale(dataset: OfflineDataset) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std of the dataset's states (the z-scoring of the state errors)."""
    states = dataset.transitions["observations"]
    return states.mean(0), states.std(0) + 1e-6


def model_error_by_horizon(
    model: WorldModel,
    dataset: OfflineDataset,
    num_windows: int = 500,
    segment_length: int = 8,
    rtg: float | None = None,
    seed: int = 0,
    batch_size: int = 256,
    behaviour_policy: BehaviorPolicy | None = None,
) -> dict:
    """Per-step state and reward MSE of ``model`` on windows of ``dataset``.

    Args:
        model: Any world model.
        dataset: Held-out data.
        num_windows: Windows drawn (without replacement) among those fully inside an episode.
        segment_length: T, the window length (at most the model's own T).
        rtg: RTG target of RTG-conditioned models; ``None`` uses each window's own RTG.
        seed: Seed of the window choice and of the model's sampling.
        batch_size: Windows per model call.
        behaviour_policy: For models that need a policy: roll out with actions this policy
            samples after a_t instead of the window's true actions. Ignored by the others.

    Returns:
        ``{"state_mse": [T], "state_median": [T], "reward_mse": [T - 1], "mean_state_mse", "mean_reward_mse",
        "windows"}``.
    """
    if model.segment_length is not None and segment_length > model.segment_length:
        raise ValueError(f"segment_length {segment_length} is longer than the model's T = {model.segment_length}")
    windows, idx = evaluation_windows(dataset, segment_length, num_windows, seed)
    mean, std = state_scale(dataset)
    generator = torch.Generator(device=model.device).manual_seed(seed)
    policy = _sampled_actions(behaviour_policy, model.device, seed) if behaviour_policy else None
    state_err, reward_err = [], []
    for start in range(0, len(idx), batch_size):
        chunk = idx[start : start + batch_size]
        batch = windows.batch(chunk)
        actions = policy if policy is not None else windows.action_sequences(chunk)[:, 1:-1]
        target = batch.rtg if rtg is None else np.full(len(chunk), rtg, np.float32)
        seg = model.rollout(
            batch.states, batch.actions, segment_length - 1, rtg=target, policy=actions, generator=generator
        )
        pred = seg.states.cpu().numpy()
        err = (((pred - mean) / std - (batch.future_states - mean) / std) ** 2).mean(-1)
        state_err.append(np.concatenate([np.zeros((len(chunk), 1)), err], axis=1))
        reward_err.append((seg.rewards.cpu().numpy() - batch.rewards[:, :-1]) ** 2)
    return error_summary(np.concatenate(state_err), np.concatenate(reward_err))


def _sampled_actions(policy: BehaviorPolicy, device: torch.device, seed: int):
    """``states -> actions`` of ``policy``, sampled with its own noise (numpy generator from ``seed``)."""
    rng = np.random.default_rng(seed)
    return lambda states: torch.as_tensor(policy.act(states.cpu().numpy(), rng), device=device)


def error_summary(state_err: np.ndarray, reward_err: np.ndarray) -> dict:
    """Per-step means of per-window errors ``(windows, T)``, and their means over the horizon.

    ``state_median`` (the per-step median over windows) shows how much of the mean a few windows
    carry (e.g. contacts, where velocities jump).
    """
    state_mse, reward_mse = state_err.mean(0), reward_err.mean(0)
    return {
        "state_mse": state_mse.tolist(),
        "state_median": np.median(state_err, axis=0).tolist(),
        "reward_mse": reward_mse.tolist(),
        "mean_state_mse": float(state_mse.mean()),
        "mean_reward_mse": float(reward_mse.mean()),
        "windows": int(len(state_err)),
    }
