"""One offline-RL run: build the agent (model-free, OneStep-MVE or DWM-MVE), train, evaluate, resume.

A run folder holds ``agent.json`` (the configuration, the dataset's content digest and the final result),
``model.safetensors`` (final agent, pickle-free: :mod:`dwm_gym.agents.agent_files`),
``checkpoints/latest.safetensors`` (for ``resume``), ``evaluations.jsonl``, ``progress.csv`` and TensorBoard
events. Resuming reloads the latest checkpoint and rebuilds the buffer from the dataset (imagination
caches are recomputed), then runs the remaining updates.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3 import TD3
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure

from dwm_gym.agents.agent_files import load_agent_file, save_agent
from dwm_gym.agents.callbacks import EvalOnRealEnvCallback
from dwm_gym.agents.iql import IQL
from dwm_gym.agents.offline import OfflineAlgorithm, offline_learn
from dwm_gym.agents.run_checks import settings_without_effect, warn_settings_without_effect
from dwm_gym.agents.run_config import ALGORITHMS, AgentRunConfig, resolve_world_model
from dwm_gym.agents.run_identity import check_resume_config, world_model_digest
from dwm_gym.agents.td3bc import TD3BC
from dwm_gym.data import OfflineDataset
from dwm_gym.data.content_hash import dataset_digest
from dwm_gym.utils.atomic import atomic_write_text
from dwm_gym.utils.paths import check_out_dir
from dwm_gym.utils.run_lock import hold_lock
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, OneStepMVEReplayBuffer, load_offline_data
from dwm_gym.value_expansion.cache_file import check_cache_target
from dwm_gym.world_model.kinds import model_class

__all__ = ["ALGORITHMS", "AgentRunConfig", "build_agent", "buffer_settings", "train_agent"]

logger = logging.getLogger(__name__)
LATEST = "latest.safetensors"  # the checkpoint in <run>/checkpoints/
LOCK_FILE = ".lock"


def buffer_settings(config: AgentRunConfig) -> tuple[type | None, dict[str, Any]]:
    """Replay buffer class and kwargs of the run (None, {} for model-free)."""
    path, kind = resolve_world_model(config.world_model, config.dataset)
    if path is None:
        return None, {}
    kwargs: dict[str, Any] = {
        "world_model": path,
        "horizon": config.horizon,
        "seed": config.seed,
        "data_termination": config.data_termination,
    }
    if not model_class(kind).needs_policy:  # segments from (s_t, a_t) alone: the cached buffer
        kwargs.update(rtg=config.rtg, cache=config.cache, cache_samples=config.cache_samples)
        if config.cache and config.cache_file:
            kwargs["cache_file"] = config.cache_file
        return DiffusionMVEReplayBuffer, kwargs
    return OneStepMVEReplayBuffer, kwargs


def build_agent(config: AgentRunConfig, env_id: str, dataset_size: int, tensorboard_log: str | None = None):
    """A new agent of ``config.algo`` with the run's buffer (not filled yet)."""
    buffer_class, buffer_kwargs = buffer_settings(config)
    common = dict(
        buffer_size=dataset_size,
        batch_size=config.batch_size,
        replay_buffer_class=buffer_class,
        replay_buffer_kwargs=buffer_kwargs or None,
        tensorboard_log=tensorboard_log,
        seed=config.seed,
        device=config.device,
    )
    if config.algo == "td3":
        net = {"net_arch": [256, 256]}
        return TD3("MlpPolicy", env_id, learning_rate=3e-4, learning_starts=0, policy_kwargs=net, **common)
    if config.algo == "iql":
        return IQL("MlpPolicy", env_id, td_lambda=config.td_lambda, **common)
    return TD3BC("MlpPolicy", env_id, **common)


class SaveLatestCallback(BaseCallback):
    """Saves the agent to ``path`` (pickle-free, atomically) every ``every`` updates."""

    def __init__(self, path: str | os.PathLike, every: int) -> None:
        super().__init__()
        self.path, self.every = Path(path), max(1, every)

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            save_agent(self.model, self.path)
        return True


def train_agent(
    config: AgentRunConfig,
    out: str | os.PathLike,
    resume: bool = False,
    progress_bar: bool = True,
    dataset: OfflineDataset | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Trains (or resumes) one run into folder ``out``; returns the summary written to ``agent.json``.

    Only one process writes a run folder at a time (a lock in ``out/.lock``, released when the process ends,
    however it ends); a second one is refused with a message naming the first.

    Args:
        config: The run's settings.
        out: Run folder.
        resume: Continue from ``out/checkpoints/latest.safetensors`` (error if absent).
        progress_bar: SB3's progress bar over updates.
        dataset: The loaded dataset (else read from Minari by ``config.dataset``).
        force: Replace the run in ``out`` (its files are removed first); needed for a run killed before its
            first checkpoint, which cannot be resumed.
    """
    out = check_out_dir(Path(out))
    warn_settings_without_effect(config)
    if config.world_model and config.cache:
        check_cache_target(config.cache_file)  # before any work: a cache file only ever replaces a cache
    if resume and force:
        raise ValueError("--resume continues the run in --out and --force replaces it: pass one of them")
    dataset = dataset if dataset is not None else OfflineDataset.from_minari(config.dataset)
    env_id = dataset.env_id
    if env_id is None:
        raise ValueError(f"dataset {config.dataset} has no env id; the agent needs the real env's spaces")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    with hold_lock(out / LOCK_FILE, f"the run folder {out}"):
        try:
            digest = _check_run_folder(config, out, resume, force, dataset)
        except BaseException:
            if created:
                shutil.rmtree(out, ignore_errors=True)
            raise
        return _train_locked(config, out, resume, progress_bar, dataset, digest, created)


def _check_run_folder(config: AgentRunConfig, out: Path, resume: bool, force: bool, dataset: OfflineDataset):
    """Refuses to mix two runs in ``out``; returns the world model's digest. ``force`` clears the folder."""
    latest = out / "checkpoints" / LATEST
    if resume and not latest.is_file():
        legacy = latest.with_suffix(".zip")
        hint = (
            f"; {legacy} is an SB3 .zip of an earlier version (a pickle). If the run is yours, convert it once "
            f"in Python: TD3BC.load({str(legacy)!r}, allow_pickle=True).save({str(latest)!r}) (IQL likewise)"
            if legacy.is_file()
            else " (a run killed before its first checkpoint: start it again with --force)"
            if (out / "agent.json").is_file()
            else ""
        )
        raise FileNotFoundError(f"nothing to resume: {latest} does not exist{hint}")
    if not resume and (out / "agent.json").exists():
        if not force:
            raise FileExistsError(
                f"{out} already holds a run: pass --resume to continue it, --force to replace it, or pick another --out"
            )
        for child in out.iterdir():
            if child.name != LOCK_FILE:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    digest = world_model_digest(config)
    if resume:
        check_resume_config(out / "agent.json", config, digest, dataset_digest(dataset))
    return digest


def _train_locked(config, out, resume, progress_bar, dataset, digest, created) -> dict[str, Any]:
    latest = out / "checkpoints" / LATEST
    try:
        agent, summary, evaluation, callbacks = _setup_run(config, out, resume, dataset, digest, latest)
    except BaseException:
        if not resume:  # a failed setup leaves no half-made run behind: the same command can be retried
            if created:
                shutil.rmtree(out, ignore_errors=True)
            else:
                (out / "agent.json").unlink(missing_ok=True)
        raise
    remaining = config.steps - agent.num_timesteps if resume else config.steps
    if remaining > 0:
        offline_learn(agent, remaining, callbacks, 1000, config.algo, not resume, progress_bar)
    save_agent(agent, out / "model.safetensors")
    history = evaluation.history
    final = history[-1] if history and history[-1]["timesteps"] == agent.num_timesteps else None
    if final is None:
        evaluation.init_callback(agent)
        final = evaluation.evaluate()
    summary.update(updates=agent.num_timesteps, final_evaluation=final)
    if isinstance(agent, OfflineAlgorithm):
        summary["critic"] = {"divergence": agent.divergence, "history": agent.critic_monitor.history}
    atomic_write_text(out / "agent.json", json.dumps(summary, indent=2))
    return summary


def _setup_run(config: AgentRunConfig, out: Path, resume: bool, dataset: OfflineDataset, digest, latest: Path):
    """The agent (new or resumed) with its data, logger and callbacks; writes ``agent.json``.

    ``digest`` is the run's :func:`~dwm_gym.agents.run_identity.world_model_digest` (None: model-free).
    """
    env_id = dataset.env_id
    summary: dict[str, Any] = {
        "config": dataclasses.asdict(config),
        "env_id": env_id,
        "dataset_id": dataset.dataset_id,
        "dataset_sha256": dataset_digest(dataset),
        "world_model_path": resolve_world_model(config.world_model, config.dataset)[0],
        "world_model_digest": digest,
    }
    without_effect = settings_without_effect(config)
    if without_effect:  # recorded, so the record never reads as if they applied
        summary["settings_without_effect"] = without_effect
    atomic_write_text(out / "agent.json", json.dumps(summary, indent=2))
    if resume:
        buffer_class, buffer_kwargs = buffer_settings(config)
        classes = {cls.__name__: cls for cls in ALGORITHMS.values()}
        agent = load_agent_file(
            latest,
            classes,
            env=gym.make(env_id),
            device=config.device,
            replay_buffer_class=buffer_class,
            replay_buffer_kwargs=buffer_kwargs or None,
            buffer_size=dataset.num_transitions,
        )
    else:
        agent = build_agent(config, env_id, dataset.num_transitions)
    if resume and (out / "progress.csv").is_file():  # SB3's CSV logger truncates: keep the earlier part
        part = next(k for k in range(1, 10_000) if not (out / f"progress.{k}.csv").exists())
        (out / "progress.csv").rename(out / f"progress.{part}.csv")
    agent.set_logger(configure(str(out), ["csv", "tensorboard"] if _has_tensorboard() else ["csv"]))
    if isinstance(agent, (TD3BC, IQL)):
        agent.load_dataset(dataset)
    else:
        load_offline_data(agent.replay_buffer, dataset)
    evaluation = EvalOnRealEnvCallback(
        env_id,
        eval_freq=config.eval_every or max(1, config.steps),
        n_eval_episodes=config.eval_episodes,
        seed=config.seed,
        refs=config.refs,
        log_path=out / "evaluations.jsonl",
    )
    if resume:
        evaluation.restore(agent.num_timesteps)
    # Evaluate before saving: a checkpoint is never ahead of the evaluation due at its own update count.
    callbacks = CallbackList([evaluation, SaveLatestCallback(latest, config.checkpoint_every)])
    return agent, summary, evaluation, callbacks


def _has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True
