"""``dwm-gym demo``: the whole project in one command on a 2-core CPU machine (about 6 minutes: 5 min 35 s measured).

1. builds a small hopper-medium dataset from the shipped SAC policy (Minari, under ``runs/demo``);
2. loads the bundled DWM and steps ``gym.make("DWM-hopper-medium-v0")``;
3. renders real vs DWM-imagined vs one-step-imagined rollouts from one start state (MP4, GIF, plots);
4. trains model-free TD3BC and DWM-TD3BC side by side: same data, updates, seed and evaluations;
5. scores both on real Hopper-v5 (normalized score), plots their learning curves (score and critic
   loss against updates) and writes a summary table.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

from dwm_gym.utils.parallel import run_side_by_side

logger = logging.getLogger(__name__)


@dataclass
class DemoConfig:
    """Budgets of the demo (defaults: about 6 minutes on 2 CPU cores).

    Attributes:
        out: Output folder.
        dataset_steps: Transitions of the demo's hopper-medium dataset.
        env_steps: Random steps taken in the imagined env.
        video_steps: Steps of the real-vs-imagined video.
        agent_updates: Gradient updates of each agent (TD3BC and DWM-TD3BC); both are evaluated
            halfway and at the end (every 10k updates at the default).
        horizon: H of the Diffusion-MVE target.
        rtg: RTG target of the DWM; None: the library's default, the median RTG of the DWM's
            training data (:func:`dwm_gym.world_model.rtg.default_rtg`).
        eval_episodes: Real Hopper-v5 episodes of the final evaluation.
        seed: Seed of everything.
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    out: str = "runs/demo"
    dataset_steps: int = 50_000
    env_steps: int = 200
    video_steps: int = 100
    agent_updates: int = 20_000
    horizon: int = 5
    rtg: float | None = None
    eval_episodes: int = 10
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        """Checks every budget before any work (the demo builds a dataset and a video before training)."""
        from dwm_gym.utils.device import resolve_device
        from dwm_gym.utils.paths import check_out_dir
        from dwm_gym.utils.validation import finite, integer
        from dwm_gym.world_model.bundled import resolve_checkpoint
        from dwm_gym.world_model.checkpoint import read_header

        check_out_dir(self.out)
        for name in ("dataset_steps", "env_steps", "video_steps", "agent_updates", "eval_episodes"):
            setattr(self, name, integer(name, getattr(self, name)))
        self.seed = integer("seed", self.seed, minimum=0)
        self.rtg = None if self.rtg is None else finite("rtg", self.rtg)
        limit = int(read_header(resolve_checkpoint("hopper", "medium", "dwm"))["config"]["segment_length"]) - 1
        self.horizon = integer("horizon", self.horizon)
        if self.horizon > limit:
            raise ValueError(f"horizon must be an integer in 1..{limit} (the bundled DWM's T - 1), got {self.horizon}")
        resolve_device(self.device)


@contextmanager
def demo_datasets(folder: Path):
    """Points Minari at the demo's own datasets folder, so a user's full datasets are left alone."""
    previous = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(folder.resolve())
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous


def run_demo(config: DemoConfig) -> dict:
    """Runs the five stages; returns (and writes to ``summary.json``) what they measured."""
    from dwm_gym.agents.runs import AgentRunConfig
    from dwm_gym.data import make_dataset
    from dwm_gym.data.behavior.shipped import load_behavior_policy
    from dwm_gym.envs import DiffusionImaginedEnv
    from dwm_gym.envs.registration import register_envs
    from dwm_gym.render import imagined_rollout, real_rollout, write_gif, write_mp4
    from dwm_gym.render.compare import comparison_frames, plot_comparison, state_errors
    from dwm_gym.render.curves import plot_learning_curves

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"config": config.__dict__, "stages": {}}
    clock = time.time()

    def stage(name: str, **values) -> None:
        nonlocal clock
        values["seconds"] = round(time.time() - clock, 1)
        summary["stages"][name] = values
        clock = time.time()
        print(f"[demo] {name}: " + ", ".join(f"{k} {v}" for k, v in values.items()), flush=True)

    with demo_datasets(out / "datasets"):
        data = make_dataset("hopper-medium", steps=config.dataset_steps, seed=config.seed, overwrite=True)
    finished = data.episode_returns(finished_only=True)
    returns = finished if len(finished) else data.episode_returns()  # tiny budgets may finish no episode
    stage(
        "dataset",
        transitions=data.num_transitions,
        episodes=data.num_episodes,
        mean_return=round(float(returns.mean()), 1),
    )

    register_envs()
    env = gym.make("DWM-hopper-medium-v0", device=config.device)
    env.action_space.seed(config.seed)
    env.reset(seed=config.seed)
    episodes, total = 0, 0.0
    for _ in range(config.env_steps):
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        total += float(reward)
        if terminated or truncated:
            episodes += 1
            env.reset()
    stage(
        "imagined env", steps=config.env_steps, mean_reward=round(total / config.env_steps, 3), episodes_ended=episodes
    )

    policy = load_behavior_policy("hopper", "medium")
    real = real_rollout("Hopper-v5", policy, config.video_steps, config.seed)
    imagined, errors = {}, {}
    for kind in ("dwm", "onestep"):
        imagined_env = DiffusionImaginedEnv(task="hopper", quality="medium", kind=kind, device=config.device)
        imagined[kind] = imagined_rollout(imagined_env, real.states[0], real.actions, config.seed)
        errors[kind] = state_errors(real, imagined[kind], imagined_env.model.start_states["states"].std(0) + 1e-6)
    frames = comparison_frames(real, imagined, errors)
    files = [write_mp4(frames, out / "real_vs_imagined.mp4"), write_gif(frames, out / "real_vs_imagined.gif")]
    files += plot_comparison(real, imagined, errors, out)
    stage(
        "video",
        frames=len(frames),
        dwm_state_error=round(float(errors["dwm"].mean()), 4),
        onestep_state_error=round(float(errors["onestep"].mean()), 4),
    )

    runs = {"TD3BC": None, "DWM-TD3BC": "dwm"}  # same data, updates, seed and evaluations
    configs = {
        name: AgentRunConfig(
            algo="td3bc",
            dataset="dwm_gym/hopper/medium-v0",
            world_model=world_model,
            # the MVE settings only where they apply: a model-free run keeps the defaults
            horizon=config.horizon if world_model else AgentRunConfig.horizon,
            rtg=config.rtg if world_model else None,
            steps=config.agent_updates,
            seed=config.seed,
            device=config.device,
            eval_every=max(1, config.agent_updates // 2),
            eval_episodes=config.eval_episodes,
            refs="v5",
            checkpoint_every=max(1000, config.agent_updates // 4),
        )
        for name, world_model in runs.items()
    }
    folders = {name: out / name.lower().replace("-", "_") for name in runs}
    results = train_side_by_side(configs, folders, data)
    from dwm_gym.evaluation import normalized_score

    for name, result in results.items():
        final = result["final_evaluation"]
        stage(
            name,
            updates=result["updates"],
            real_return=round(final["mean_return"], 1),
            normalized_v5=round(final["normalized_score"], 3),
            normalized_d4rl=round(float(normalized_score("Hopper-v5", final["mean_return"], "d4rl")), 3),
            critic_diverged=result.get("critic", {}).get("divergence") is not None,
        )
    files.append(plot_learning_curves(folders, out / "learning_curves.png", "hopper-medium, demo data"))
    summary["files"] = [str(p) for p in files] + [str(folder / "model.safetensors") for folder in folders.values()]
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "summary.md").write_text(summary_table(summary))
    print(summary_table(summary))
    return summary


def _train_run(config, folder: Path, data, threads: int) -> dict:
    """One demo agent run (in a worker process): resumes an unfinished run, replaces a finished one."""
    import torch

    from dwm_gym.agents.runs import train_agent

    torch.set_num_threads(threads)
    resume = (folder / "checkpoints" / "latest.safetensors").is_file() and not (folder / "model.safetensors").is_file()
    # a finished (or never checkpointed) earlier demo run is replaced under the run's lock, never removed around it
    force = not resume and (folder / "agent.json").exists()
    return train_agent(config, folder, resume=resume, force=force, progress_bar=False, dataset=data)


def train_side_by_side(configs: dict, folders: dict[str, Path], data) -> dict[str, dict]:
    """Trains the demo's runs at the same time, one process each, splitting the CPU cores between them."""
    threads = max(1, (os.cpu_count() or 1) // len(configs))
    names = list(configs)
    jobs = [(configs[name], folders[name], data, threads) for name in names]
    return dict(zip(names, run_side_by_side(_train_run, jobs, len(names))))


def summary_table(summary: dict) -> str:
    """The stages as a markdown table."""
    lines = ["| stage | result | seconds |", "|---|---|---|"]
    for name, values in summary["stages"].items():
        shown = ", ".join(f"{k} {v}" for k, v in values.items() if k != "seconds")
        lines.append(f"| {name} | {shown} | {values['seconds']} |")
    return "\n".join(lines) + "\n"
