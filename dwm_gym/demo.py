"""``dwm-gym demo``: the whole project in one command on a 2-core CPU machine (about 3 minutes).

1. builds a small hopper-medium dataset from the shipped SAC policy (Minari, under ``runs/demo``);
2. loads the bundled DWM and steps ``gym.make("DWM-hopper-medium-v0")``;
3. renders real vs DWM-imagined vs one-step-imagined rollouts from one start state (MP4, GIF, plots);
4. trains DWM-TD3BC briefly with the imagination cache;
5. scores it on real Hopper-v5 (normalized score) and writes a summary table.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

logger = logging.getLogger(__name__)


@dataclass
class DemoConfig:
    """Budgets of the demo (defaults: about 3 minutes on 2 CPU cores).

    Attributes:
        out: Output folder.
        dataset_steps: Transitions of the demo's hopper-medium dataset.
        env_steps: Random steps taken in the imagined env.
        video_steps: Steps of the real-vs-imagined video.
        agent_updates: Gradient updates of DWM-TD3BC.
        horizon: H of the Diffusion-MVE target.
        rtg: RTG target of the DWM. 0.7 rather than the data's maximum (≈ 0.91), at which the bundled
            hopper-medium DWM imagines a third of the data's falls (docs/benchmarks.md, scores re-run).
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
    rtg: float = 0.7
    eval_episodes: int = 10
    seed: int = 0
    device: str = "auto"


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
    import dwm_gym  # noqa: F401  (registers the envs)
    from dwm_gym.agents.runs import AgentRunConfig, train_agent
    from dwm_gym.data import make_dataset
    from dwm_gym.data.behavior.shipped import load_behavior_policy
    from dwm_gym.envs import DiffusionImaginedEnv
    from dwm_gym.render import imagined_rollout, real_rollout, write_gif, write_mp4
    from dwm_gym.render.compare import comparison_frames, plot_comparison, state_errors

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

    env = gym.make("DWM-hopper-medium-v0", device=config.device)
    env.action_space.seed(config.seed)
    env.reset(seed=config.seed)
    episodes, total = 0, 0.0
    for _ in range(config.env_steps):
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        total += reward
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
        errors[kind] = state_errors(real, imagined[kind], imagined_env.model.reference_data["states"].std(0) + 1e-6)
    frames = comparison_frames(real, imagined, errors)
    files = [write_mp4(frames, out / "real_vs_imagined.mp4"), write_gif(frames, out / "real_vs_imagined.gif")]
    files += plot_comparison(real, imagined, errors, out)
    stage(
        "video",
        frames=len(frames),
        dwm_state_error=round(float(errors["dwm"].mean()), 4),
        onestep_state_error=round(float(errors["onestep"].mean()), 4),
    )

    agent_config = AgentRunConfig(
        algo="td3bc",
        dataset="dwm_gym/hopper/medium-v0",
        world_model="dwm",
        horizon=config.horizon,
        rtg=config.rtg,
        steps=config.agent_updates,
        seed=config.seed,
        device=config.device,
        eval_every=0,
        eval_episodes=config.eval_episodes,
        refs="v5",
        checkpoint_every=max(1000, config.agent_updates // 4),
    )
    agent_dir = out / "dwm_td3bc"
    resume = (agent_dir / "checkpoints" / "latest.zip").is_file() and not (agent_dir / "model.zip").is_file()
    if not resume and agent_dir.exists():  # a finished (or never checkpointed) earlier demo run
        shutil.rmtree(agent_dir)
    result = train_agent(agent_config, agent_dir, resume=resume, dataset=data)
    final = result["final_evaluation"]
    from dwm_gym.evaluation import normalized_score

    stage(
        "DWM-TD3BC",
        updates=result["updates"],
        real_return=round(final["mean_return"], 1),
        normalized_v5=round(final["normalized_score"], 3),
        normalized_d4rl=round(float(normalized_score("Hopper-v5", final["mean_return"], "d4rl")), 3),
    )
    summary["files"] = [str(p) for p in files] + [str(agent_dir / "model.zip")]
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "summary.md").write_text(summary_table(summary))
    print(summary_table(summary))
    return summary


def summary_table(summary: dict) -> str:
    """The stages as a markdown table."""
    lines = ["| stage | result | seconds |", "|---|---|---|"]
    for name, values in summary["stages"].items():
        shown = ", ".join(f"{k} {v}" for k, v in values.items() if k != "seconds")
        lines.append(f"| {name} | {shown} | {values['seconds']} |")
    return "\n".join(lines) + "\n"


def default_config(**overrides) -> DemoConfig:
    """The demo's defaults with ``overrides`` (``None`` values ignored)."""
    return DemoConfig(**{**DemoConfig().__dict__, **{k: v for k, v in overrides.items() if v is not None}})
