"""Turning a SAC run into the D4RL behaviour policies: expert, medium and the medium replay.

* expert: the snapshot with the highest evaluated return;
* medium: the snapshot taken before the expert whose return is closest to
  ``medium_fraction`` (1/3) of the expert's;
* medium-replay: every transition SAC observed up to the medium snapshot;
* the training curve: every snapshot's evaluated return against SAC steps (``{task}_sac_curve.json``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np

from dwm_gym.data.behavior.actor import load_actor, save_actor
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.sac_training import SACTrainingConfig, list_snapshots, train_behavior_sac
from dwm_gym.data.behavior.shipped import save_replay_stream, user_behavior_dir
from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.data.specs import task_spec
from dwm_gym.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)

SAC_STEPS_PER_SECOND_2_CORES = 67.0
"""SB3 SAC env steps/s measured on the project's 2-core machine (Hopper-v5, 1 torch thread)."""


def select_snapshots(snapshots: list[dict], medium_fraction: float = 1 / 3) -> tuple[dict, dict]:
    """Picks (medium, expert) among evaluated snapshots (see module docstring).

    Raises:
        ValueError: If there are fewer than two snapshots.
    """
    if len(snapshots) < 2:
        raise ValueError("need at least two evaluated snapshots to pick a medium and an expert policy")
    expert = max(snapshots, key=lambda s: s["mean_return"])
    target = medium_fraction * expert["mean_return"]
    earlier = [s for s in snapshots if s["train_steps"] < expert["train_steps"]] or snapshots
    medium = min(earlier, key=lambda s: abs(s["mean_return"] - target))
    return medium, expert


def replay_until(run_dir: str | Path, last_step: int, env_id: str) -> OfflineDataset:
    """The transitions SAC observed in steps ``1 .. last_step``, as episodes."""
    chunks = sorted(Path(run_dir, "transitions").glob("transitions_*.npz"))
    parts: dict[str, list[np.ndarray]] = {}
    for chunk in chunks:
        with np.load(chunk, allow_pickle=False) as data:
            for key in data.files:
                parts.setdefault(key, []).append(data[key])
    flat = {key: np.concatenate(value)[:last_step] for key, value in parts.items()}
    if len(flat.get("rewards", [])) < last_step:
        raise ValueError(f"{run_dir} recorded {len(flat.get('rewards', []))} transitions, fewer than {last_step}")
    return OfflineDataset.from_arrays(
        flat["obs"],
        flat["actions"],
        flat["rewards"],
        flat["next_obs"],
        flat["terminated"],
        flat["truncated"],
        env_id=env_id,
        dataset_id=f"{run_dir}:replay[:{last_step}]",
    )


def export_behavior(
    run_dir: str | Path, task: str, out_dir: str | Path, eval_episodes: int = 50, seed: int = 123
) -> dict:
    """Writes ``{task}_medium/expert.safetensors`` and ``{task}_medium_replay.npz`` into ``out_dir``.

    The chosen actors are re-evaluated with ``eval_episodes`` episodes; the returns stored
    with them are those measurements.

    Returns:
        A summary with the returns and file paths.
    """
    spec = task_spec(task)
    out_dir = Path(out_dir)
    medium, expert = select_snapshots(list_snapshots(run_dir))
    summary: dict = {}
    for role, snap in (("medium", medium), ("expert", expert)):
        policy = load_actor(snap["path"])
        rng = np.random.default_rng(seed)
        episodes = collect_episodes(spec.env_id, partial(policy.act, rng=rng), num_episodes=eval_episodes, seed=seed)
        returns = np.array([e.total_return for e in episodes])
        info = policy.info
        if info is None:
            raise ValueError(f"{snap['path']} carries no actor info: not a snapshot of `dwm-gym behavior train`")
        info.role = role
        info.mean_return, info.std_return, info.eval_episodes = (
            float(returns.mean()),
            float(returns.std()),
            eval_episodes,
        )
        info.extra = dict(info.extra, snapshot_mean_return=snap["mean_return"], eval_seed=seed)
        path = save_actor(policy.actor, info, out_dir / f"{spec.name}_{role}.safetensors")
        summary[role] = {"path": str(path), **asdict(info)}
        logger.info(
            "%s %s: step %d, return %.1f ± %.1f", spec.name, role, info.train_steps, info.mean_return, info.std_return
        )
    replay = replay_until(run_dir, medium["train_steps"], spec.env_id)
    replay_info = {
        "env_id": spec.env_id,
        "until_step": medium["train_steps"],
        "sac_seed": summary["medium"]["train_seed"],
        "episodes": replay.num_episodes,
        "transitions": replay.num_transitions,
    }
    path = save_replay_stream(replay.episodes, out_dir / f"{spec.name}_medium_replay.npz", replay_info)
    summary["medium_replay"] = {"path": str(path), **replay_info}
    summary["curve"] = {"path": str(write_training_curve(run_dir, spec.name, out_dir))}
    return summary


def write_training_curve(run_dir: str | Path, task: str, out_dir: str | Path) -> Path:
    """Writes ``{task}_sac_curve.json``: each snapshot's SAC step, evaluated returns and wall time."""
    keys = ("train_steps", "mean_return", "std_return", "deterministic_mean_return", "eval_episodes")
    rows = [
        {key: snap[key] for key in keys} | {"wall_s": snap["extra"].get("wall_s")} for snap in list_snapshots(run_dir)
    ]
    text = json.dumps({"task": task, "env_id": task_spec(task).env_id, "snapshots": rows}, indent=1)
    return atomic_write_text(Path(out_dir) / f"{task}_sac_curve.json", text)


def train_behavior_policies(task: str, total_steps: int = 1_000_000, seed: int = 0) -> dict:
    """Trains SAC for ``task`` (resumable) and exports its policies into ``$DWM_GYM_HOME/behavior``.

    Prints a time estimate first; SB3's progress bar refines it while training.
    """
    spec = task_spec(task)
    hours = total_steps / SAC_STEPS_PER_SECOND_2_CORES / 3600
    logger.warning(
        "no behaviour policy for %s yet: training SAC on %s for %d steps, about %.1f h on 2 CPU cores "
        "(resumable: run the same command again after an interruption)",
        spec.name,
        spec.env_id,
        total_steps,
        hours,
    )
    run_dir = user_behavior_dir() / "runs" / spec.name
    eval_every = max(1, min(10_000, total_steps // 20))
    config = SACTrainingConfig(
        env_id=spec.env_id,
        total_steps=total_steps,
        seed=seed,
        eval_every=eval_every,
        checkpoint_every=eval_every * 5,
        learning_starts=min(10_000, total_steps // 10),
    )
    train_behavior_sac(config, run_dir, resume=(run_dir / "state.json").exists(), progress_bar=True)
    return export_behavior(run_dir, spec.name, user_behavior_dir())
