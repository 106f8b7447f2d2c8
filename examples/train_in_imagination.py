"""Train SB3 TD3 only inside the imagined Hopper, score it on the real Hopper-v5, beside real-env TD3.

``--env imagined`` (default): every transition the agent learns from comes from the bundled
hopper-medium world model through the batched imagined vector env; ``--env real``: the same agent
class and settings on the real Hopper-v5 for the same number of env steps. Either way the policy is
scored every ``--eval-every`` env steps on ``--eval-episodes`` deterministic real Hopper-v5 episodes (the curve), and
a run per seed goes to ``--out/<name>/seed<k>/`` (``evaluations.jsonl``, and ``training_episodes.jsonl``: the
mean return and length of the last 100 training episodes at each evaluation; a checkpoint with its replay
buffer at every evaluation, from which an interrupted run resumes). ``results.json`` collects the
seeds: final score, mean of the last three evaluations, curves.

The defaults are the recipe that transfers (docs/envs.md, "Training an agent in imagination"): the
imagined env halts a step whose (s_t, a_t) lies outside the data's support (``--pessimism``, MOReL's
halting MDP; ``none`` for the plain env), and the agent is :class:`~dwm_gym.agents.AnchoredTD3`, whose
actor is first cloned from ``--dataset``'s actions (``--bc-init``) and held for ``--critic-warmup``
updates while its critic, first fitted to that actor's value on the dataset (``--critic-pretrain``),
learns; then TD3+BC-style updates (``--alpha``, ``none`` for none) on minibatches of which
``--data-ratio`` come from the dataset. With 5 seeds and 20k env steps this scores 0.45 ± 0.13
(D4RL-normalized) on real Hopper-v5, against the data's 0.36. ``--bc-init 0 --critic-warmup 0
--critic-pretrain 0 --data-ratio 0 --alpha none --pessimism none`` is stock SB3 TD3 in the plain env,
which learns nothing that transfers.

python examples/train_in_imagination.py [--env imagined|real] [--seeds 0,1,2,3,4] [--steps 20000]
    [--eval-every 2000] [--eval-episodes 10] [--envs 16] [--horizon 1] [--kind dwm|onestep]
    [--pessimism JSON|none] [--bc-init 2000] [--critic-warmup 800] [--critic-pretrain 20000] [--data-ratio 0.5]
    [--alpha 2.5|none] [--dataset dwm_gym/hopper/medium-v0] [--name NAME] [--out runs/train_in_imagination]
    [--device auto]
"""

import argparse
import json
import os
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3 import TD3
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

from dwm_gym.agents import AnchoredTD3
from dwm_gym.agents.callbacks import EvalOnRealEnvCallback
from dwm_gym.envs import DiffusionImaginedVectorEnv, SB3ImaginedVecEnv
from dwm_gym.utils.atomic import atomic_write_text

PAIR_SUPPORT = {"signal": "pair_support", "threshold": "auto"}


def optional_json(text: str) -> dict | None:
    """``--pessimism``: a JSON object, or ``none`` for the plain env."""
    return None if text.lower() == "none" else json.loads(text)


def optional_float(text: str) -> float | None:
    """``--alpha``: a number, or ``none`` for no behaviour-cloning term."""
    return None if text.lower() == "none" else float(text)


def make_env(args: argparse.Namespace):
    """The training env: the imagined vector env (SB3 VecEnv) or the real Hopper-v5."""
    if args.env == "real":
        return VecMonitor(DummyVecEnv([lambda: gym.make("Hopper-v5")]))
    horizon = args.horizon if args.kind == "dwm" else 1
    imagined = DiffusionImaginedVectorEnv(
        args.envs,
        max_episode_steps=1000 // horizon,
        task="hopper",
        quality="medium",
        kind=args.kind,
        horizon=horizon,
        pessimism=args.pessimism,
        device=args.device,
    )
    return VecMonitor(SB3ImaginedVecEnv(imagined))  # training episodes' return and length


def behaviour_clone(agent: TD3, dataset_id: str, steps: int, seed: int) -> float:
    """Fits ``agent``'s actor (and its target) to the dataset's actions by MSE; returns the final loss."""
    import torch

    from dwm_gym.data import OfflineDataset

    data = OfflineDataset.from_minari(dataset_id).transitions
    obs = torch.as_tensor(data["observations"], dtype=torch.float32, device=agent.device)
    actions = torch.as_tensor(agent.policy.scale_action(data["actions"]), dtype=torch.float32, device=agent.device)
    rng = np.random.default_rng(seed)
    loss = torch.zeros(())
    for _ in range(steps):
        rows = torch.as_tensor(rng.integers(0, len(obs), 256), device=agent.device)
        loss = ((agent.actor(obs[rows]) - actions[rows]) ** 2).mean()
        agent.actor.optimizer.zero_grad()
        loss.backward()
        agent.actor.optimizer.step()
    agent.actor_target.load_state_dict(agent.actor.state_dict())
    return float(loss.detach())


def train_seed(args: argparse.Namespace, seed: int, folder: Path) -> list[dict]:
    """Trains (or resumes) one seed; returns its evaluations."""
    folder.mkdir(parents=True, exist_ok=True)
    log, checkpoint, buffer = folder / "evaluations.jsonl", folder / "model.zip", folder / "replay_buffer.pkl"
    env = make_env(args)
    env.seed(seed)
    horizon = args.horizon if args.env == "imagined" and args.kind == "dwm" else 1
    needs_data = args.data_ratio > 0 or args.alpha is not None or args.critic_pretrain > 0
    if checkpoint.is_file():
        agent = AnchoredTD3.load(checkpoint, env=env, device=args.device)
        if needs_data:
            agent.set_dataset(args.dataset)
        agent.load_replay_buffer(buffer)  # written by this script only
        done = agent.num_timesteps
        for path in (log, folder / "training_episodes.jsonl"):  # drop what came after the checkpoint
            rows = (
                [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
            )
            path.write_text("".join(json.dumps(r) + "\n" for r in rows if r["timesteps"] <= done))
    else:
        log.unlink(missing_ok=True)
        (folder / "training_episodes.jsonl").unlink(missing_ok=True)
        agent = AnchoredTD3(  # with no data ratio, no alpha and no warm-up: SB3's TD3
            "MlpPolicy",
            env,
            dataset=args.dataset if needs_data else None,
            data_ratio=args.data_ratio,
            alpha=args.alpha,
            data_discount=0.99,
            actor_warmup=args.critic_warmup,  # in updates: one per env step here
            gamma=0.99**horizon,
            learning_starts=100 if args.bc_init else 1000,  # SB3 acts uniformly at random until then
            train_freq=1,
            gradient_steps=env.num_envs,  # one update per env step, imagined or real
            action_noise=NormalActionNoise(np.zeros(3), 0.1 * np.ones(3)),
            seed=seed,
            device=args.device,
        )
        if args.bc_init:
            mse = behaviour_clone(agent, args.dataset, args.bc_init, seed)
            print(f"seed {seed}: behaviour cloning, {args.bc_init} steps, final MSE {mse:.4f}")
        if args.critic_pretrain:
            loss = agent.pretrain_critic(args.critic_pretrain)
            print(f"seed {seed}: critic pretrained on the data, {args.critic_pretrain} updates, final loss {loss:.4f}")

    class Checkpoint(EvalOnRealEnvCallback):
        def evaluate(self):  # noqa: D102 - evaluate, then save model and buffer atomically
            result = super().evaluate()
            episodes = list(agent.ep_info_buffer)  # the last 100 training episodes (imagined or real)
            train = {"timesteps": result["timesteps"], "episodes": len(episodes)}
            if episodes:
                train |= {
                    "return": float(np.mean([e["r"] for e in episodes])),
                    "length": float(np.mean([e["l"] for e in episodes])),
                }
            if agent.critic_monitor.history:  # its critic since the previous evaluation
                since = result["timesteps"] - args.eval_every
                window = [w for w in agent.critic_monitor.history if w.updates > since] or agent.critic_monitor.history
                if window:
                    loss, q_max = [w.loss for w in window], [w.max_q for w in window]
                    train |= {"critic_loss": float(np.mean(loss)), "q_max": max(q_max)}
                    train["abs_target"] = window[-1].mean_abs_target
            with (folder / "training_episodes.jsonl").open("a") as handle:
                handle.write(json.dumps(train) + "\n")
            for path, save in ((checkpoint, agent.save), (buffer, agent.save_replay_buffer)):
                part = path.with_name(f".{path.name}.{os.getpid()}.part{path.suffix}")
                save(part)
                os.replace(part, path)
            return result

    evaluate = Checkpoint("Hopper-v5", args.eval_every, args.eval_episodes, seed=10_000 + seed, log_path=log)
    remaining = args.steps - agent.num_timesteps
    if remaining > 0:
        agent.learn(remaining, callback=evaluate, reset_num_timesteps=not checkpoint.is_file())
    env.close()
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", choices=["imagined", "real"], default="imagined")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--steps", type=int, default=20_000, help="env steps (all sub-envs together)")
    parser.add_argument("--eval-every", type=int, default=2_000, help="env steps between real-env evaluations")
    parser.add_argument("--eval-episodes", type=int, default=10, help="real Hopper-v5 episodes per evaluation")
    parser.add_argument("--envs", type=int, default=16, help="imagined sub-envs stepped by one sampler call")
    parser.add_argument("--horizon", type=int, default=1, help="H: imagined steps per env step (DWM)")
    parser.add_argument("--kind", choices=["dwm", "onestep"], default="dwm")
    parser.add_argument("--pessimism", type=optional_json, default=PAIR_SUPPORT, help="JSON of the env's pessimism")
    parser.add_argument("--bc-init", type=int, default=2_000, help="behaviour-cloning steps of the actor first")
    parser.add_argument("--critic-warmup", type=int, default=800, help="env steps with the actor held fixed")
    parser.add_argument("--critic-pretrain", type=int, default=20_000, help="critic updates on --dataset first")
    parser.add_argument("--data-ratio", type=float, default=0.5, help="share of each minibatch from --dataset")
    parser.add_argument("--alpha", type=optional_float, default=2.5, help="TD3+BC's α: clone --dataset's actions")
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0", help="data of --bc-init and the anchors")
    parser.add_argument("--name", default=None, help="run name (default: from --env, --kind and the options)")
    parser.add_argument("--out", default="runs/train_in_imagination")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    parts = ["real"] if args.env == "real" else [args.kind]
    parts += [args.pessimism["signal"]] if args.pessimism and args.env == "imagined" else []
    parts += ["bc"] if args.bc_init else []
    parts += [f"mix{args.data_ratio:g}"] if args.data_ratio else []
    parts += [f"alpha{args.alpha:g}"] if args.alpha is not None else []
    parts += [f"qpre{args.critic_pretrain}"] if args.critic_pretrain else []
    name = args.name or "_".join(parts)
    runs = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        curve = train_seed(args, seed, Path(args.out) / name / f"seed{seed}")
        runs[seed] = curve
        print(f"{name} seed {seed}: " + ", ".join(f"{r['timesteps']:.0f}: {r['normalized_score']:.3f}" for r in curve))
    final = np.array([c[-1]["normalized_score"] for c in runs.values()])
    last3 = np.array([np.mean([r["normalized_score"] for r in c[-3:]]) for c in runs.values()])
    summary = {
        "name": name,
        "settings": vars(args),
        "final_mean": float(final.mean()),
        "final_std": float(final.std()),
        "last3_mean": float(last3.mean()),
        "last3_std": float(last3.std()),
        "curves": {
            str(k): [(r["timesteps"], r["normalized_score"], r["mean_return"]) for r in v] for k, v in runs.items()
        },
    }
    out = Path(args.out) / name / "results.json"
    atomic_write_text(out, json.dumps(summary, indent=2))
    print(f"{name}: D4RL-normalized {final.mean():.3f} ± {final.std():.3f} (last 3: {last3.mean():.3f}) -> {out}")


if __name__ == "__main__":
    main()
