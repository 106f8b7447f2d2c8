"""Offline training for SB3 off-policy algorithms: gradient steps on a fixed buffer, no env steps.

One "timestep" is one gradient update, so ``learn(total_timesteps)``, the progress bar, callbacks
(``on_step`` after every update), checkpoints and TensorBoard logs count updates. The env passed to
the algorithm only provides the spaces (and an evaluation target); it is never stepped or reset.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch as th
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback

from dwm_gym.agents.diagnostics import CriticMonitor
from dwm_gym.agents.fast_update import TransitionTable
from dwm_gym.agents.normalization import needs_observation_stats, observation_stats, set_observation_stats
from dwm_gym.data import OfflineDataset
from dwm_gym.utils.sb3_adapter import setup_offline_learn, update_progress, updates_this_call
from dwm_gym.value_expansion import MVEReplayBuffer, load_offline_data, policy_function

logger = logging.getLogger(__name__)
SelfOffline = TypeVar("SelfOffline", bound=OffPolicyAlgorithm)


def prepare_offline(algo: OffPolicyAlgorithm, progress_bar: bool = False) -> None:
    """Checks the buffer, fits observation statistics once, then runs the declared hooks.

    The hooks are the MVE buffer's (:class:`MVEReplayBuffer`: ``bind_policy``, ``prepare``) and the
    project's agents' (:meth:`OfflineAlgorithm.on_offline_start`). Stock SB3 algorithms and buffers
    have no hooks.

    Raises:
        ValueError: On an empty buffer or a buffer discount that differs from the algorithm's.
    """
    buffer = algo.replay_buffer
    if buffer is None or buffer.size() == 0:
        raise ValueError("the replay buffer is empty: load an offline dataset first (model.load_dataset(...))")
    if isinstance(buffer, MVEReplayBuffer):
        buffer.confirm_gamma(algo.gamma)
    if needs_observation_stats(algo.policy):
        mean, std = observation_stats(buffer.observations[: buffer.size()].reshape(-1, *buffer.obs_shape))
        set_observation_stats(algo.policy, mean, std)
    if isinstance(buffer, MVEReplayBuffer):
        buffer.bind_policy(policy_function(algo))
        buffer.prepare(progress=progress_bar)
    if isinstance(algo, OfflineAlgorithm):
        algo.transition_table = TransitionTable(buffer) if TransitionTable.supports(buffer) else None
        algo.on_offline_start()
        rewards = buffer.rewards[: buffer.size()]
        algo.critic_monitor.set_q_bound(float(np.abs(rewards).max()) * algo.critic_reward_scale, algo.gamma)


def dump_offline_logs(algo: OffPolicyAlgorithm) -> None:
    """Writes the logger's values with updates/s (``time/fps``) at step ``num_timesteps``.

    For the project's agents (:class:`OfflineAlgorithm`) it first writes the critic statistics
    and warns (once per run) when the critic diverges.
    """
    if isinstance(algo, OfflineAlgorithm):
        algo.record_critic_diagnostics()
    elapsed = max((time.time_ns() - algo.start_time) / 1e9, sys.float_info.epsilon)
    algo.logger.record("time/fps", int(updates_this_call(algo) / elapsed))
    algo.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
    algo.logger.record("time/total_timesteps", algo.num_timesteps, exclude="tensorboard")
    algo.logger.dump(step=algo.num_timesteps)


def offline_learn(
    algo: SelfOffline,
    total_timesteps: int,
    callback: MaybeCallback = None,
    log_interval: int = 1000,
    tb_log_name: str = "run",
    reset_num_timesteps: bool = True,
    progress_bar: bool = False,
) -> SelfOffline:
    """Trains any SB3 off-policy algorithm (stock ``TD3`` included) on its buffer, without env steps.

    Args:
        algo: The algorithm, its replay buffer filled with offline data.
        total_timesteps: Gradient updates to run.
        callback: SB3 callback(s); ``on_step`` runs after every update.
        log_interval: Dump the logs every this many updates (0: never).
        tb_log_name: TensorBoard run name.
        reset_num_timesteps: Restart the update counter (False continues a loaded model).
        progress_bar: Show SB3's progress bar.
    """
    prepare_offline(algo, progress_bar)
    total_timesteps, callback = setup_offline_learn(
        algo, total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
    )
    callback.on_training_start(locals(), globals())
    while algo.num_timesteps < total_timesteps:
        update_progress(algo, total_timesteps)
        algo.train(gradient_steps=1, batch_size=algo.batch_size)
        algo.num_timesteps += 1
        if not callback.on_step():
            break
        if log_interval > 0 and algo.num_timesteps % log_interval == 0:
            dump_offline_logs(algo)
    callback.on_training_end()
    return algo


class CriticDivergenceWarning(UserWarning):
    """The critic's loss or Q-values grew past the bounds of :class:`CriticMonitor`."""


class OfflineAlgorithm(OffPolicyAlgorithm):
    """Mixin for :class:`OffPolicyAlgorithm` subclasses: ``load_dataset``, an offline ``learn``, critic diagnostics.

    Subclasses set ``critic_monitor`` (a :class:`CriticMonitor`) in their constructor and feed it
    every update; ``critic_reward_scale`` is the factor between the data's rewards and the
    critic's (IQL rescales rewards).

    Attributes:
        critic_monitor: The critic statistics of the run.
        divergence: The first divergence message of the run, or None.
        transition_table: Torch views of a plain SB3 buffer that :meth:`sample_batch` gathers from (set by
            :func:`prepare_offline`; None for other buffers).
    """

    critic_monitor: CriticMonitor
    divergence: str | None = None
    transition_table: TransitionTable | None = None

    def sample_batch(self, batch_size: int) -> Any:
        """The replay buffer's ``sample(batch_size)``, through :attr:`transition_table` when it reads this buffer.

        The same draws and tensors either way (:class:`~dwm_gym.agents.fast_update.TransitionTable`).
        """
        buffer, table = self.replay_buffer, self.transition_table
        assert buffer is not None  # built by _setup_model
        if table is not None and self._vec_normalize_env is None and table.reads(buffer):
            return table.sample(batch_size, self.device)
        return buffer.sample(batch_size, env=self._vec_normalize_env)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "transition_table"]  # views of the buffer, never saved

    def enter_training_mode(self) -> None:
        """``policy.set_training_mode(True)``, skipped when the policy is in training mode already."""
        if not self.policy.training:
            self.policy.set_training_mode(True)

    @property
    def critic_reward_scale(self) -> float:
        """Rewards in the critic's target are the data's times this (1: unscaled)."""
        return 1.0

    def record_critic_diagnostics(self) -> None:
        """Writes the critic's (and a model-based buffer's) statistics to the logger; warns on divergence."""
        buffer = self.replay_buffer
        buffer_stats = buffer.pop_diagnostics() if isinstance(buffer, MVEReplayBuffer) else None
        self.critic_monitor.record(self.logger, self.num_timesteps, buffer_stats)
        message = self.critic_monitor.divergence()
        if message is not None and self.divergence is None:
            self.divergence = message
            text = f"the critic diverges: {message}. See docs/concepts.md, 'Why Diffusion-MVE diverged'."
            logger.warning(text)
            warnings.warn(text, CriticDivergenceWarning, stacklevel=2)

    def on_offline_start(self) -> None:
        """Hook run by :func:`prepare_offline` before the first update (after the data is loaded)."""

    def load_dataset(self: SelfOffline, dataset: OfflineDataset | str) -> SelfOffline:
        """Fills the replay buffer with ``dataset`` (an :class:`OfflineDataset` or a Minari id).

        The buffer is re-created with exactly the dataset's size (same class and kwargs) when needed.
        """
        if isinstance(dataset, str):
            dataset = OfflineDataset.from_minari(dataset)
        if self.replay_buffer is None or self.replay_buffer.buffer_size != dataset.num_transitions:
            assert self.replay_buffer_class is not None  # set by SB3's _setup_model
            self.buffer_size = dataset.num_transitions
            kwargs, old = dict(self.replay_buffer_kwargs), self.replay_buffer
            if isinstance(old, MVEReplayBuffer):  # the world model is loaded: hand it over, not read it again
                kwargs["world_model"] = old.model
            self.replay_buffer = self.replay_buffer_class(
                self.buffer_size,
                self.observation_space,
                self.action_space,
                device=self.device,
                n_envs=self.n_envs,
                optimize_memory_usage=self.optimize_memory_usage,
                **kwargs,
            )
        assert self.replay_buffer is not None
        load_offline_data(self.replay_buffer, dataset)
        return self

    # a file path, not SB3's stream: the pickle-free file is written atomically by name
    def save(self, path: str | os.PathLike, exclude: Any = None, include: Any = None) -> None:  # type: ignore[override]
        """Writes the agent in the pickle-free format (:mod:`dwm_gym.agents.agent_files`) to ``path``, atomically.

        Unlike SB3's ``save`` no ``.zip`` suffix is added: name the file ``.safetensors``.
        """
        from dwm_gym.agents.agent_files import save_agent

        if exclude or include:
            raise ValueError("the pickle-free agent file always holds the same parts: drop exclude / include")
        save_agent(self, path)

    @classmethod
    def load(  # type: ignore[override]  # allow_pickle replaces SB3's custom_objects; a path, not a stream
        cls: type[SelfOffline],
        path: str | os.PathLike,
        env: GymEnv | str | None = None,
        device: str | th.device = "auto",
        allow_pickle: bool = False,
        **kwargs: Any,
    ) -> SelfOffline:
        """Loads an agent file written by :meth:`save`; ``env`` may also be a Gymnasium id (``"Hopper-v5"``).

        Args:
            path: A pickle-free ``.safetensors`` agent file, or an SB3 ``.zip`` with ``allow_pickle=True``.
            env: The env (or its id) the agent acts in; its spaces must be the agent's.
            device: Torch device.
            allow_pickle: Read an SB3 ``.zip``, which is a pickle and so runs any code it holds: only for
                files you trust.
            **kwargs: Constructor arguments replacing the saved ones (e.g. ``replay_buffer_class``).

        Raises:
            AgentFileError: A file of another class or format, NaN / inf weights, an env of other spaces.
        """
        from dwm_gym.agents.agent_files import is_zip_file, load_agent_file, load_sb3_zip

        if isinstance(env, str):
            import gymnasium as gym

            env = gym.make(env)
        if not Path(path).is_file() or not is_zip_file(path):
            return load_agent_file(path, {cls.__name__: cls}, env=env, device=str(device), **kwargs)
        return load_sb3_zip(cls, path, allow_pickle, env=env, device=device, **kwargs)

    def learn(
        self: SelfOffline,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1000,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfOffline:
        """Runs ``total_timesteps`` gradient updates on the loaded data (see :func:`offline_learn`)."""
        name = tb_log_name or type(self).__name__
        return offline_learn(self, total_timesteps, callback, log_interval, name, reset_num_timesteps, progress_bar)
