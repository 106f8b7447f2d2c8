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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from dwm_gym.agents.agent_files import load_agent_file, save_agent
from dwm_gym.agents.callbacks import EvalOnRealEnvCallback
from dwm_gym.agents.offline import OfflineAlgorithm, offline_learn
from dwm_gym.agents.run_checks import settings_without_effect, warn_settings_without_effect
from dwm_gym.agents.run_config import ALGORITHMS, AgentRunConfig, ResolvedWorldModel, resolve_world_model
from dwm_gym.agents.run_identity import check_resume_config
from dwm_gym.data import OfflineDataset
from dwm_gym.data.content_hash import dataset_digest
from dwm_gym.utils.atomic import atomic_write_text
from dwm_gym.utils.paths import check_out_dir
from dwm_gym.utils.run_lock import hold_lock
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, OneStepMVEReplayBuffer, load_offline_data
from dwm_gym.value_expansion.cache_file import check_cache_target

__all__ = ["ALGORITHMS", "AgentRunConfig", "ResolvedWorldModel", "build_agent", "buffer_settings", "train_agent"]

logger = logging.getLogger(__name__)
LATEST = "latest.safetensors"  # the checkpoint in <run>/checkpoints/
LOCK_FILE = ".lock"


def buffer_settings(
    config: AgentRunConfig, world_model: ResolvedWorldModel | None
) -> tuple[type[ReplayBuffer] | None, dict[str, Any]]:
    """Replay buffer class and kwargs of the run (None, {} for model-free).

    The kwargs hand the buffer the loaded model (``world_model``); :func:`build_agent` puts its path in
    the agent's saved kwargs, so a saved agent reloads it from the file.
    """
    if world_model is None:
        return None, {}
    kwargs: dict[str, Any] = {
        "world_model": world_model.model,
        "horizon": config.horizon,
        "seed": config.seed,
        "data_termination": config.data_termination,
    }
    if not world_model.model.needs_policy:  # segments from (s_t, a_t) alone: the cached buffer
        kwargs.update(rtg=config.rtg, cache=config.cache, cache_samples=config.cache_samples)
        if config.cache and config.cache_file:
            kwargs["cache_file"] = config.cache_file
        return DiffusionMVEReplayBuffer, kwargs
    return OneStepMVEReplayBuffer, kwargs


def build_agent(
    config: AgentRunConfig,
    env_id: str,
    dataset_size: int,
    tensorboard_log: str | None = None,
    world_model: ResolvedWorldModel | None = None,
) -> OffPolicyAlgorithm:
    """A new agent of ``config.algo`` (from :data:`ALGORITHMS`) with the run's buffer (not filled yet).

    Args:
        config: The run's settings.
        env_id: The real env (its spaces).
        dataset_size: Rows of the replay buffer.
        tensorboard_log: SB3's TensorBoard folder.
        world_model: The run's resolved world model; default: resolved from ``config`` here.
    """
    if world_model is None:
        world_model = resolve_world_model(config.world_model, config.dataset, config.device)
    buffer_class, buffer_kwargs = buffer_settings(config, world_model)
    algorithm = ALGORITHMS[config.algo]
    agent = algorithm.cls(
        "MlpPolicy",
        env_id,
        buffer_size=dataset_size,
        batch_size=config.batch_size,
        replay_buffer_class=buffer_class,
        replay_buffer_kwargs=buffer_kwargs or None,
        tensorboard_log=tensorboard_log,
        seed=config.seed,
        device=config.device,
        **algorithm.settings(config),
    )
    _save_model_by_path(agent, world_model)
    return agent


def _save_model_by_path(agent: OffPolicyAlgorithm, world_model: ResolvedWorldModel | None) -> None:
    """SB3 saves the buffer kwargs with the agent: they name the world model by its file, not the object."""
    if world_model is not None:
        agent.replay_buffer_kwargs = {**agent.replay_buffer_kwargs, "world_model": world_model.path}


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
    callbacks: Sequence[BaseCallback] = (),
    force: bool = False,
    expected_digest: str | None = None,
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
        callbacks: More SB3 callbacks, run after every update once the evaluation and checkpoint due at it are
            written (a sweep's trial reports its checkpoints to the sweep engine this way).
        expected_digest: The digest the run's world model must have (a sweep plans its trials with one); the run is
            refused before any work when the model ``config`` resolves to here differs. None: not checked.
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
            world_model = _check_run_folder(config, out, resume, force, dataset)
            _check_expected_digest(config, world_model, expected_digest)
        except BaseException:
            if created:
                shutil.rmtree(out, ignore_errors=True)
            raise
        return _train_locked(config, out, resume, progress_bar, dataset, world_model, created, callbacks)


def _check_expected_digest(
    config: AgentRunConfig, world_model: ResolvedWorldModel | None, expected: str | None
) -> None:
    if expected is not None and (world_model is None or world_model.digest != expected):
        found = "no world model" if world_model is None else f"a model with digest {world_model.digest[:12]}"
        raise ValueError(
            f"world_model={config.world_model!r} resolves to {found} here, but {expected[:12]} was expected (the "
            "checkpoint the run was planned with): install the same checkpoints on every machine, or give a path "
            "they all share"
        )


def _check_run_folder(
    config: AgentRunConfig, out: Path, resume: bool, force: bool, dataset: OfflineDataset
) -> ResolvedWorldModel | None:
    """Refuses to mix two runs in ``out``; returns the run's world model, resolved once. ``force`` clears it."""
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
    world_model = resolve_world_model(config.world_model, config.dataset, config.device)
    if resume:
        check_resume_config(out / "agent.json", config, world_model, dataset_digest(dataset))
    return world_model


def _train_locked(
    config: AgentRunConfig,
    out: Path,
    resume: bool,
    progress_bar: bool,
    dataset: OfflineDataset,
    world_model: ResolvedWorldModel | None,
    created: bool,
    callbacks: Sequence[BaseCallback] = (),
) -> dict[str, Any]:
    latest = out / "checkpoints" / LATEST
    try:
        agent, summary, evaluation, run_callbacks = _setup_run(config, out, resume, dataset, world_model, latest)
    except BaseException:
        if not resume:  # a failed setup leaves no half-made run behind: the same command can be retried
            if created:
                shutil.rmtree(out, ignore_errors=True)
            else:
                (out / "agent.json").unlink(missing_ok=True)
        raise
    remaining = config.steps - agent.num_timesteps if resume else config.steps
    if remaining > 0:
        every = CallbackList([run_callbacks, *callbacks])
        offline_learn(agent, remaining, every, 1000, config.algo, not resume, progress_bar)
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


def _setup_run(
    config: AgentRunConfig,
    out: Path,
    resume: bool,
    dataset: OfflineDataset,
    world_model: ResolvedWorldModel | None,
    latest: Path,
) -> tuple[OffPolicyAlgorithm, dict[str, Any], EvalOnRealEnvCallback, CallbackList]:
    """The agent (new or resumed) with its data, logger and callbacks; writes ``agent.json``."""
    env_id = dataset.env_id
    assert env_id is not None  # checked by train_agent
    summary: dict[str, Any] = {
        "config": dataclasses.asdict(config),
        "env_id": env_id,
        "dataset_id": dataset.dataset_id,
        "dataset_sha256": dataset_digest(dataset),
        "world_model_path": None if world_model is None else world_model.path,
        "world_model_digest": None if world_model is None else world_model.digest,
    }
    without_effect = settings_without_effect(config)
    if without_effect:  # recorded, so the record never reads as if they applied
        summary["settings_without_effect"] = without_effect
    atomic_write_text(out / "agent.json", json.dumps(summary, indent=2))
    if resume:
        buffer_class, buffer_kwargs = buffer_settings(config, world_model)  # the loaded model, not a second read
        classes = {algorithm.cls.__name__: algorithm.cls for algorithm in ALGORITHMS.values()}
        agent = load_agent_file(
            latest,
            classes,
            env=gym.make(env_id),
            device=config.device,
            replay_buffer_class=buffer_class,
            replay_buffer_kwargs=buffer_kwargs or None,
            buffer_size=dataset.num_transitions,
        )
        _save_model_by_path(agent, world_model)
    else:
        agent = build_agent(config, env_id, dataset.num_transitions, world_model=world_model)
    if resume and (out / "progress.csv").is_file():  # SB3's CSV logger truncates: keep the earlier part
        part = next(k for k in range(1, 10_000) if not (out / f"progress.{k}.csv").exists())
        (out / "progress.csv").rename(out / f"progress.{part}.csv")
    agent.set_logger(configure(str(out), ["csv", "tensorboard"] if _has_tensorboard() else ["csv"]))
    if isinstance(agent, OfflineAlgorithm):
        agent.load_dataset(dataset)
    else:
        assert agent.replay_buffer is not None  # built with the agent
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
