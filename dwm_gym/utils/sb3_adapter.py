"""The one place that touches private parts of Stable-Baselines3: the setup of ``learn`` and four members.

SB3's ``OffPolicyAlgorithm._setup_learn`` (and ``BaseAlgorithm._setup_learn`` it calls) resets the
env, which an offline run never steps. :func:`setup_offline_learn` is that setup without the env
reset, the action-noise handling or the replay-buffer truncation (offline buffers are not
memory-optimized). :func:`update_progress` and :func:`updates_this_call` wrap the two other private
members the offline loop needs; :func:`predict_actions` (a policy's scaled actions, for the one-step
MVE buffer's rollouts) and :func:`last_observation` (the observation an online SB3 step acted on,
for recording behaviour-policy training) the two the buffers and the behaviour policies need. The
learn setup is pinned to the SB3 source it relies on: :data:`MIRRORED_SOURCES` holds the SHA-256 of
the SB3 methods as they were when this was written, and a test compares them with the installed SB3,
failing loudly when SB3 changes them; another test checks that the members still exist.

It imports nothing from dwm_gym, so every layer that needs SB3 (the behaviour policies' training in
``data``, the buffers, the agents) can use it.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import textwrap
import time
from collections import deque

import numpy as np
import torch as th
from stable_baselines3.common import utils
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import HumanOutputFormat, Logger
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import MaybeCallback

# SHA-256 of the dedented source of each SB3 method setup_offline_learn mirrors (SB3 2.9.2)
MIRRORED_SOURCES: dict[str, str] = {
    "BaseAlgorithm._setup_learn": "0582542537255ec1eb8d4aea526d2576187818ad9fa1275a7518dbecc7c538b4",
    "OffPolicyAlgorithm._setup_learn": "55bb53d6fdf0a60cc225147b72638756ae70c8e3b73fcbb9569833be4f851a33",
    "BaseAlgorithm._update_current_progress_remaining": (
        "e028833552092f5b7bc45d836cbec44ac05ac859336fb44379f2b6b52f16f99e"
    ),
}


def source_digest(name: str) -> str:
    """SHA-256 of the dedented source of SB3 method ``name`` (a key of :data:`MIRRORED_SOURCES`)."""
    owner, method = name.split(".")
    cls = {"BaseAlgorithm": BaseAlgorithm, "OffPolicyAlgorithm": OffPolicyAlgorithm}[owner]
    source = textwrap.dedent(inspect.getsource(getattr(cls, method)))
    return hashlib.sha256(source.encode()).hexdigest()


def setup_offline_learn(
    algo: OffPolicyAlgorithm,
    total_timesteps: int,
    callback: MaybeCallback = None,
    reset_num_timesteps: bool = True,
    tb_log_name: str = "run",
    progress_bar: bool = False,
) -> tuple[int, BaseCallback]:
    """SB3's ``_setup_learn`` without resetting the env: counters, logger, callbacks, progress bar.

    Args:
        algo: The algorithm.
        total_timesteps: Updates to run.
        callback: SB3 callback(s).
        reset_num_timesteps: Restart the counters (False continues them).
        tb_log_name: TensorBoard run name.
        progress_bar: Show SB3's progress bar.

    Returns:
        The total number of timesteps to reach and the initialized callback, as SB3's.
    """
    algo.start_time = time.time_ns()
    if algo.ep_info_buffer is None or reset_num_timesteps:
        algo.ep_info_buffer = deque(maxlen=algo._stats_window_size)
        algo.ep_success_buffer = deque(maxlen=algo._stats_window_size)
    if reset_num_timesteps:
        algo.num_timesteps, algo._episode_num = 0, 0
    else:
        total_timesteps += algo.num_timesteps
    algo._total_timesteps, algo._num_timesteps_at_start = total_timesteps, algo.num_timesteps
    if not algo._custom_logger:
        algo._logger = offline_logger(algo.verbose, algo.tensorboard_log, tb_log_name, reset_num_timesteps)
    return total_timesteps, algo._init_callback(callback, progress_bar)


def offline_logger(verbose: int, tensorboard_log: str | None, tb_log_name: str, reset_num_timesteps: bool) -> Logger:
    """SB3's default logger, except that without ``tensorboard_log`` it writes no folder.

    SB3's ``configure_logger`` then makes an empty ``SB3-<date>`` folder in the system's temp folder on every
    ``learn``; here the logger prints to stdout (``verbose >= 1``) or nowhere.
    """
    if tensorboard_log is not None:
        return utils.configure_logger(verbose, tensorboard_log, tb_log_name, reset_num_timesteps)
    return Logger(folder=None, output_formats=[HumanOutputFormat(sys.stdout)] if verbose >= 1 else [])


def update_progress(algo: OffPolicyAlgorithm, total_timesteps: int) -> None:
    """SB3's ``_update_current_progress_remaining`` (learning-rate schedules read it) for an offline update."""
    algo._update_current_progress_remaining(algo.num_timesteps, total_timesteps)


def updates_this_call(algo: OffPolicyAlgorithm) -> int:
    """Updates since this ``learn`` call started (SB3's ``num_timesteps - _num_timesteps_at_start``)."""
    return algo.num_timesteps - algo._num_timesteps_at_start


def predict_actions(policy: BasePolicy, observations: th.Tensor, deterministic: bool = True) -> th.Tensor:
    """The policy's actions for a batch of (already normalized) observations, in its scaled [-1, 1] units.

    SB3's ``BasePolicy._predict``: unlike the public ``predict``, it stays in torch (no numpy round trip,
    no unscaling to the env's bounds), which the one-step buffer's rollouts need on every update.
    """
    return policy._predict(observations, deterministic=deterministic)


def last_observation(algo: BaseAlgorithm) -> np.ndarray:
    """The observations the step an online SB3 algorithm is taking acted on (``_last_obs``).

    A callback's ``locals`` hold the new observations and the actions, but not the ones acted on; SB3
    moves ``_last_obs`` on to the new observations in ``_store_transition``, after the step's callbacks.
    """
    observations = algo._last_obs
    if observations is None:
        raise RuntimeError("the algorithm has not started collecting: no last observation yet")
    return np.asarray(observations)


# the counters an agent file stores (private members of SB3's BaseAlgorithm, read and written only here)
_COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "_current_progress_remaining")


def counters(algo: BaseAlgorithm) -> dict[str, float]:
    """The training counters of ``algo`` (updates done, progress), as JSON numbers."""
    return {name: getattr(algo, name) for name in _COUNTERS if hasattr(algo, name)}


def set_counters(algo: BaseAlgorithm, values: dict[str, float]) -> None:
    """Restores what :func:`counters` gave (names it does not know are ignored)."""
    for name in _COUNTERS:
        if name in values:
            setattr(algo, name, values[name])


def total_timesteps(algo: BaseAlgorithm) -> int:
    """The update count the running ``learn`` call ends at (SB3's ``_total_timesteps``, set by ``_setup_learn``)."""
    return int(algo._total_timesteps)
