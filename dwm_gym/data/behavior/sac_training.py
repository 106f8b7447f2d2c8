"""Training behaviour policies with Stable-Baselines3 SAC (the D4RL recipe).

One SAC run per env produces everything the D4RL recipe needs:

* an actor snapshot every ``eval_every`` steps, evaluated and exported without SB3
  (``actors/step_XXXXXXX.safetensors``);
* every transition SAC observed, in the order it observed them (``transitions/*.npz``):
  the "medium-replay" dataset is this stream cut where the medium actor was taken;
* a checkpoint (``sb3/``, pickle-free: :mod:`dwm_gym.data.behavior.sac_state`) so an interrupted run
  resumes where it stopped.

The run folder only ever holds complete files (atomic writes); ``--resume`` continues from
the newest checkpoint and drops transitions recorded after it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dwm_gym.data.behavior.actor import ActorInfo, BehaviorPolicy, TanhGaussianActor, save_actor
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.sac_state import has_sac_state, load_sac_state, save_sac_state
from dwm_gym.utils.atomic import atomic_write, atomic_write_text
from dwm_gym.utils.paths import check_out_dir
from dwm_gym.utils.run_lock import hold_lock
from dwm_gym.utils.sb3_adapter import last_observation

logger = logging.getLogger(__name__)


@dataclass
class SACTrainingConfig:
    """Settings of a behaviour-policy SAC run (SB3 defaults, rl-zoo's MuJoCo settings).

    Attributes:
        env_id: Gymnasium id.
        total_steps: Environment steps of training.
        seed: Seed of SAC and of the envs.
        eval_every: Steps between actor snapshots (and evaluations).
        checkpoint_every: Steps between resumable SB3 checkpoints (a multiple of ``eval_every``).
        eval_episodes: Episodes per evaluation of the stochastic actor.
        learning_starts: Uniform-random steps before learning (rl-zoo: 10k).
        hidden_sizes: Actor and critic widths.
        torch_threads: Threads for torch inside the run (leave cores for other work).
    """

    env_id: str = "Hopper-v5"
    total_steps: int = 400_000
    seed: int = 0
    eval_every: int = 10_000
    checkpoint_every: int = 50_000
    eval_episodes: int = 10
    learning_starts: int = 10_000
    hidden_sizes: tuple[int, ...] = (256, 256)
    torch_threads: int = 1


def export_sb3_actor(model, env_id: str) -> TanhGaussianActor:
    """Copies an SB3 SAC actor into a :class:`TanhGaussianActor`."""
    sb3_actor = model.policy.actor
    obs_dim = model.observation_space.shape[0]
    action_dim = model.action_space.shape[0]
    hidden = [m.out_features for m in sb3_actor.latent_pi if isinstance(m, torch.nn.Linear)]
    actor = TanhGaussianActor(obs_dim, action_dim, hidden)
    state = {}
    for key, value in sb3_actor.state_dict().items():
        if key.startswith("latent_pi."):
            state["trunk." + key[len("latent_pi.") :]] = value
        elif key.startswith(("mu.", "log_std.")):
            state[key] = value
    actor.load_state_dict(state)
    return actor


def evaluate_actor(actor: TanhGaussianActor, env_id: str, episodes: int, seed: int) -> dict:
    """Mean/std return of the stochastic and the deterministic actor."""
    policy = BehaviorPolicy(actor)
    rng = np.random.default_rng(seed)
    stoch = collect_episodes(env_id, lambda o: policy.act(o, rng), num_episodes=episodes, seed=seed)
    det = collect_episodes(
        env_id, lambda o: policy.act(o, deterministic=True), num_episodes=max(3, episodes // 2), seed=seed + 1000
    )
    returns = np.array([e.total_return for e in stoch])
    return {
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "mean_length": float(np.mean([len(e) for e in stoch])),
        "deterministic_mean_return": float(np.mean([e.total_return for e in det])),
    }


class _Recorder:
    """SB3 callback body that keeps every transition SAC observes, in order."""

    def __init__(self, out: Path, start_step: int) -> None:
        self.out = out
        self.chunk_start = start_step
        self.rows: dict[str, list] = {
            k: [] for k in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")
        }

    def record(self, model, local_vars: dict) -> None:
        info = local_vars["infos"][0]
        done = bool(local_vars["dones"][0])
        truncated = bool(info.get("TimeLimit.truncated", False))
        next_obs = info["terminal_observation"] if done else local_vars["new_obs"][0]
        self.rows["obs"].append(np.array(last_observation(model)[0]))
        self.rows["actions"].append(np.array(local_vars["actions"][0], dtype=np.float32))
        self.rows["rewards"].append(float(local_vars["rewards"][0]))
        self.rows["next_obs"].append(np.array(next_obs))
        self.rows["terminated"].append(done and not truncated)
        self.rows["truncated"].append(truncated)

    def flush(self, step: int) -> None:
        if not self.rows["rewards"]:
            return
        arrays: dict[str, Any] = {k: np.asarray(v) for k, v in self.rows.items()}
        path = self.out / f"transitions_{self.chunk_start:07d}_{step:07d}.npz"
        atomic_write(path, lambda tmp: np.savez(open(tmp, "wb"), **arrays))
        self.chunk_start = step
        self.rows = {k: [] for k in self.rows}


def train_behavior_sac(
    config: SACTrainingConfig,
    run_dir: str | Path,
    resume: bool = False,
    progress_bar: bool = True,
    allow_pickle: bool = False,
) -> Path:
    """Trains SAC, snapshotting/evaluating actors and recording all transitions.

    Args:
        config: Run settings.
        run_dir: Output folder (created).
        resume: Continue from the newest SB3 checkpoint in ``run_dir``.
        progress_bar: Show SB3's progress bar (with an ETA).
        allow_pickle: Resume a run checkpointed by an earlier version as SB3 pickles (``model.zip``,
            ``replay_buffer.pkl``), which runs any code they hold: only for run folders you made.

    Returns:
        ``run_dir``.
    """
    if config.checkpoint_every % config.eval_every:
        raise ValueError("checkpoint_every must be a multiple of eval_every")
    torch.set_num_threads(config.torch_threads)
    run_dir = check_out_dir(run_dir, "run-dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    with hold_lock(run_dir / ".lock", f"the behaviour run {run_dir}"):  # one writer per run folder
        return _train_locked(config, run_dir, resume, progress_bar, allow_pickle)


def _train_locked(
    config: SACTrainingConfig, run_dir: Path, resume: bool, progress_bar: bool, allow_pickle: bool
) -> Path:
    """:func:`train_behavior_sac` once ``run_dir`` is checked and locked."""
    import gymnasium as gym
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback

    (run_dir / "actors").mkdir(parents=True, exist_ok=True)
    (run_dir / "transitions").mkdir(exist_ok=True)
    state_path = run_dir / "state.json"
    env = gym.make(config.env_id)
    policy_kwargs = {"net_arch": list(config.hidden_sizes)}
    settings: dict[str, Any] = dict(
        seed=config.seed, learning_starts=config.learning_starts, policy_kwargs=policy_kwargs, device="cpu"
    )
    if resume and state_path.exists():
        state = json.loads(state_path.read_text())
        if has_sac_state(run_dir / "sb3"):
            model = SAC("MlpPolicy", env, verbose=0, **settings)
            load_sac_state(model, run_dir / "sb3")
        elif allow_pickle:
            model = SAC.load(run_dir / "sb3" / "model.zip", env=env, device="cpu")
            model.load_replay_buffer(run_dir / "sb3" / "replay_buffer.pkl")
        else:
            raise ValueError(
                f"{run_dir / 'sb3'} holds SB3 pickles of an earlier version (model.zip, replay_buffer.pkl); reading "
                "them runs any code they hold. Pass --allow-pickle if this run folder is yours"
            )
        start = state["step"]
        for chunk in (run_dir / "transitions").glob("transitions_*.npz"):
            if int(chunk.stem.split("_")[2]) > start:
                chunk.unlink()  # recorded after the checkpoint: it will be recorded again
        _truncate_open_episode(run_dir / "transitions", start)
        logger.info("resuming %s at step %d", run_dir, start)
    else:
        atomic_write_text(run_dir / "config.json", json.dumps(asdict(config), indent=2))
        model = SAC("MlpPolicy", env, verbose=0, **settings)
        start = 0
    recorder = _Recorder(run_dir / "transitions", start)
    # wall time of the whole run: a resumed run continues the clock of its last snapshot
    earlier = [snap for snap in list_snapshots(run_dir) if snap["train_steps"] <= start]
    t0 = time.time() - (earlier[-1]["extra"].get("wall_s", 0.0) if earlier else 0.0)

    class Callback(BaseCallback):
        def _on_step(self) -> bool:
            recorder.record(self.model, self.locals)
            step = self.model.num_timesteps
            if step % config.eval_every == 0:
                actor = export_sb3_actor(self.model, config.env_id)
                result = evaluate_actor(actor, config.env_id, config.eval_episodes, seed=10_000 + step)
                info = ActorInfo(
                    env_id=config.env_id,
                    obs_dim=actor.obs_dim,
                    action_dim=actor.action_dim,
                    hidden_sizes=list(config.hidden_sizes),
                    train_steps=step,
                    train_seed=config.seed,
                    mean_return=result["mean_return"],
                    std_return=result["std_return"],
                    eval_episodes=config.eval_episodes,
                    deterministic_mean_return=result["deterministic_mean_return"],
                    extra={"mean_length": result["mean_length"], "wall_s": time.time() - t0},
                )
                save_actor(actor, info, Path(run_dir) / "actors" / f"step_{step:07d}.safetensors")
                logger.info("step %d: return %.1f ± %.1f", step, result["mean_return"], result["std_return"])
            if step % config.checkpoint_every == 0:
                checkpoint(self.model, finished=False)
            return True

    def checkpoint(model, finished: bool) -> None:
        # transitions, SB3 state and state.json describe the same step, state.json last
        step = model.num_timesteps
        recorder.flush(step)
        save_sac_state(model, run_dir / "sb3")  # pickle-free: resuming runs no code from the folder
        atomic_write_text(state_path, json.dumps({"step": step, "finished": finished}))

    remaining = config.total_steps - start
    if remaining > 0:
        model.learn(remaining, callback=Callback(), progress_bar=progress_bar, reset_num_timesteps=not resume)
    checkpoint(model, finished=True)
    return run_dir


def _truncate_open_episode(folder: Path, step: int) -> None:
    """Marks the episode running at ``step`` as truncated: SB3 resets the env when a run resumes."""
    chunks = [c for c in folder.glob("transitions_*.npz") if int(c.stem.split("_")[2]) == step]
    if not chunks:
        return
    with np.load(chunks[0], allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    if len(arrays["rewards"]) and not (arrays["terminated"][-1] or arrays["truncated"][-1]):
        arrays["truncated"][-1] = True
        atomic_write(chunks[0], lambda tmp: np.savez(open(tmp, "wb"), **arrays))


def list_snapshots(run_dir: str | Path) -> list[dict]:
    """The evaluated actor snapshots of a run, oldest first (JSON sidecars)."""
    paths = sorted(Path(run_dir, "actors").glob("step_*.json"))
    return [dict(json.loads(p.read_text()), path=str(p.with_suffix(".safetensors"))) for p in paths]
