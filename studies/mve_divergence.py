"""Why Diffusion-MVE's critic diverged: the evidence, measured on the demo's data.

Usage:
    python studies/mve_divergence.py sampler [--transitions 20000] [--checkpoint DWM]
    python studies/mve_divergence.py critic --inverse plain|clipped [--horizon 1] [--updates 15000]
                                        [--log-every 2500] [--eval-episodes 10]
    (common: [--rtg 0.7] [--seed 0] [--runs runs/mve_stability] [--tiny]
             [--json studies/results/mve_divergence_<part>.json])

``sampler``: imagines ŝ_{t+1} from dataset pairs (s_t, a_t) with the DWM (``--checkpoint``, default the bundled
hopper-medium one), once with the plain inverse of its state normalizer and once with ``clip_state_tails``,
and compares it with the real s_{t+1}: the share of rows with a dimension at the data's single most extreme
value (a CDF normalizer's last knot; ties excluded), the max-dim z-scored error, and how much of the large
error those rows carry. The committed results were measured with the CDF-state DWM bundled until 2026-12-04
(``git show b712f03:dwm_gym/world_model/assets/hopper_medium_dwm.safetensors``).

``critic``: trains TD3BC with the DWM buffer (its own loop, the same update as ``TD3BC.train``) and every
``--log-every`` (2,500) updates splits the dataset's rows by the z-error of their imagined first state,
reporting the mean of Q'(ŝ_{t+1}, π'(ŝ_{t+1})) − Q'(s_{t+1}, π'(s_{t+1})) in each bin: how far the bootstrap
at an imagined state drifts from the bootstrap at the real one. Meaningful for ``--horizon 1`` (ŝ_{t+H} is
then ŝ_{t+1}). The trained policy is then scored on ``--eval-episodes`` real episodes.

The dataset is the demo's (50k transitions of hopper-medium, seed 0), built under ``--runs/datasets``.
``--tiny`` (smoke test): 400 transitions under a temporary ``--runs``, 64 sampler rows, 4 critic updates
logged every 2, one evaluation episode.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import torch as th

from dwm_gym.benchmarking.harness import command_line, make_parser, parse_args, scratch_dir, tiny_dataset, write_result

BINS = [0.0, 0.1, 0.5, 1.0, 2.0, np.inf]


def load_data(args: argparse.Namespace):
    from dwm_gym.data import OfflineDataset, make_dataset

    if args.tiny:
        return OfflineDataset.from_minari(tiny_dataset(Path(args.runs) / "datasets"))
    os.environ["MINARI_DATASETS_PATH"] = str((Path(args.runs) / "datasets").resolve())
    if not list((Path(args.runs) / "datasets").rglob("*.hdf5")):
        make_dataset("hopper-medium", steps=50_000, seed=0, overwrite=True)
    return OfflineDataset.from_minari("dwm_gym/hopper/medium-v0")


def bundled_dwm(clip_tails: bool, checkpoint: str | None = None):
    """``checkpoint`` (default: the bundled hopper-medium DWM) with the sampler's tail rule on or off."""
    from dwm_gym.world_model import load_world_model
    from dwm_gym.world_model.bundled import resolve_checkpoint

    model = load_world_model(checkpoint or resolve_checkpoint("hopper", "medium", "dwm"), device="cpu")
    model.sampler = dataclasses.replace(model.sampler, clip_state_tails=clip_tails)
    return model


def sampler_part(args: argparse.Namespace) -> dict:
    from dwm_gym.evaluation.state_edges import data_edges

    data = load_data(args).transitions
    rng = np.random.default_rng(args.seed)
    rows = rng.choice(len(data["observations"]), min(args.transitions, len(data["observations"])), replace=False)
    obs, actions, nxt = data["observations"][rows], data["actions"][rows], data["next_observations"][rows]
    std = data["observations"].std(0) + 1e-6
    result = {}
    for name, clip in (("plain inverse", False), ("clipped tails", True)):
        model = bundled_dwm(clip, args.checkpoint)
        generator = th.Generator().manual_seed(args.seed)
        states = np.concatenate(
            [
                model.rollout(obs[i : i + 2048], actions[i : i + 2048], 1, rtg=args.rtg, generator=generator)
                .states[:, 0]
                .numpy()
                for i in range(0, len(obs), 2048)
            ]
        )
        edges = data_edges(model.state_normalizer)
        tied = edges.tied
        at_extreme = np.isclose(states, edges.low) | np.isclose(states, edges.high)
        pinned = at_extreme[:, ~tied].any(1)
        z = (np.abs(states - nxt) / std).max(1)
        result[name] = {
            "rows_at_a_data_extreme": float(pinned.mean()),
            "share_per_dimension": at_extreme.mean(0).round(5).tolist(),
            "tied_dimensions": np.flatnonzero(tied).tolist(),
            "z_error_median": float(np.median(z)),
            "z_error_p99": float(np.quantile(z, 0.99)),
            "z_error_max": float(z.max()),
            "share_z_error_above_1": float(np.mean(z > 1)),
            "share_z_error_above_2": float(np.mean(z > 2)),
            "share_of_z_above_2_on_extreme_rows": float(np.mean(pinned[z > 2])) if np.any(z > 2) else None,
        }
        print(name, json.dumps({k: v for k, v in result[name].items() if k != "share_per_dimension"}), flush=True)
    return {"transitions": len(rows), "rtg": args.rtg, "results": result}


def critic_part(args: argparse.Namespace) -> dict:
    from stable_baselines3.common.utils import polyak_update
    from torch.nn import functional as F

    from dwm_gym.agents.td3bc import TD3BC
    from dwm_gym.evaluation.policy_eval import evaluate_agent
    from dwm_gym.value_expansion import DiffusionMVEReplayBuffer

    th.set_num_threads(1)
    data = load_data(args)
    model = bundled_dwm(args.inverse == "clipped", args.checkpoint)
    agent = TD3BC(
        "MlpPolicy",
        data.env_id,
        buffer_size=data.num_transitions,
        seed=args.seed,
        device="cpu",
        replay_buffer_class=DiffusionMVEReplayBuffer,
        replay_buffer_kwargs=dict(world_model=model, horizon=args.horizon, rtg=args.rtg, seed=args.seed),
    ).load_dataset(data)
    buf = agent.replay_buffer
    buf.fill_cache()
    from dwm_gym.agents.offline import prepare_offline

    prepare_offline(agent)
    n = buf.size()
    real_next_all = th.as_tensor(buf.next_observations[:n, 0])
    std = th.as_tensor(buf.observations[:n, 0].std(0) + 1e-6)
    log, losses = [], []
    for step in range(1, args.updates + 1):
        batch = buf.sample(128)
        with th.no_grad():
            noise = batch.actions.clone().normal_(0, agent.target_policy_noise).clamp(-0.5, 0.5)
            next_actions = (agent.actor_target(batch.next_observations) + noise).clamp(-1, 1)
            next_q = th.min(th.cat(agent.critic_target(batch.next_observations, next_actions), 1), 1, keepdim=True)[0]
            target = batch.rewards + (1 - batch.dones) * batch.discounts * next_q
        current = agent.critic(batch.observations, batch.actions)
        loss = sum(F.mse_loss(q, target) for q in current)
        agent.critic.optimizer.zero_grad()
        loss.backward()
        agent.critic.optimizer.step()
        losses.append(float(loss.detach()))
        if step % agent.policy_delay == 0:
            pi = agent.actor(batch.observations)
            q = agent.critic.q1_forward(batch.observations, pi)
            actor_loss = -agent.alpha / q.abs().mean().detach() * q.mean() + F.mse_loss(pi, batch.actions)
            agent.actor.optimizer.zero_grad()
            actor_loss.backward()
            agent.actor.optimizer.step()
            polyak_update(agent.critic.parameters(), agent.critic_target.parameters(), agent.tau)
            polyak_update(agent.actor.parameters(), agent.actor_target.parameters(), agent.tau)
        if step % args.log_every == 0:
            with th.no_grad():
                imagined = buf.cache.states[:n, 0, -1]
                z = ((imagined - real_next_all).abs() / std).max(1).values

                def value(states):
                    actions = agent.actor_target(states).clamp(-1, 1)
                    return th.min(th.cat(agent.critic_target(states, actions), 1), 1).values

                gap = value(imagined) - value(real_next_all)
            bins = []
            for low, high in zip(BINS[:-1], BINS[1:]):
                mask = (z >= low) & (z < high)
                bins.append(
                    {
                        "z_from": low,
                        "rows": int(mask.sum()),
                        "mean_gap": float(gap[mask].mean()) if mask.any() else None,
                    }
                )
            row = {
                "updates": step,
                "critic_loss": float(np.mean(losses[-1000:])),
                "q_mean": float(current[0].mean()),
                "target_max": float(target.max()),
                "bins": bins,
            }
            log.append(row)
            gaps = ", ".join(
                f"z≥{b['z_from']}: {b['mean_gap'] if b['mean_gap'] is None else round(b['mean_gap'], 1)}" for b in bins
            )
            head = f"{step}: loss {row['critic_loss']:.3g}, Q {row['q_mean']:.1f}, target max {row['target_max']:.1f}"
            print(f"{head} | Q'(ŝ)-Q'(s') {gaps}", flush=True)
    score = evaluate_agent(agent, data.env_id, episodes=args.eval_episodes, seed=args.seed)["normalized_score"]
    print(f"score {score:.3f}")
    return {
        "inverse": args.inverse,
        "horizon": args.horizon,
        "rtg": args.rtg,
        "seed": args.seed,
        "log": log,
        "score": score,
    }


def main() -> None:
    parser = make_parser(__doc__, None, device=None)
    parser.add_argument("part", choices=["sampler", "critic"])
    parser.add_argument("--transitions", type=int, default=20_000)
    parser.add_argument("--inverse", choices=["plain", "clipped"], default="plain")
    parser.add_argument("--horizon", type=int, default=1)
    parser.add_argument("--updates", type=int, default=15_000)
    parser.add_argument("--log-every", type=int, default=2500, help="updates between critic reports")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--rtg", type=float, default=0.7)
    parser.add_argument("--runs", default="runs/mve_stability")
    parser.add_argument("--checkpoint", default=None, help="the DWM (default: the bundled hopper-medium one)")
    args = parse_args(
        parser,
        tiny=lambda: {
            "transitions": 64,
            "updates": 4,
            "log_every": 2,
            "eval_episodes": 1,
            "runs": str(scratch_dir() / "runs"),
        },
    )
    start = time.perf_counter()
    result = sampler_part(args) if args.part == "sampler" else critic_part(args)
    result.update(command=command_line(args, positional=("part",)), wall_s=time.perf_counter() - start)
    suffix = args.part if args.part == "sampler" else f"critic_{args.inverse}_h{args.horizon}_s{args.seed}"
    path = args.json or f"studies/results/mve_divergence_{suffix}.json"
    write_result(path, result, args)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
