"""Env steps/s of dataset generation: the shipped behaviour policy vs a uniform random policy, one run.

Usage:
    python benchmarks/dataset_throughput.py [--task hopper] [--steps 100000] [--num-envs 16] [--role medium]
                                            [--seed 0] [--json benchmarks/results/dataset_throughput.json] [--tiny]

Both policies run through the same batched collector (``collect_episodes``) on the same env,
so the ratio isolates the cost of the policy network; a third row runs the shipped policy on one
env, unbatched (``max(1000, steps / 10)`` steps). Prints a table and writes JSON. ``--tiny``: 200 steps
on 2 envs, and 200 on the unbatched row (smoke test).
"""

from __future__ import annotations

import time

import numpy as np

from dwm_gym.benchmarking.harness import machine_info, make_parser, parse_args, write_result
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.data.specs import task_spec


def measure(env_id: str, policy, steps: int, num_envs: int, seed: int) -> dict:
    start = time.perf_counter()
    episodes = collect_episodes(env_id, policy, num_steps=steps, num_envs=num_envs, seed=seed)
    seconds = time.perf_counter() - start
    return {"steps": steps, "seconds": seconds, "steps_per_s": steps / seconds, "episodes": len(episodes)}


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/dataset_throughput.json", device=None)
    parser.add_argument("--task", default="hopper")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--role", default="medium", choices=["medium", "expert"])
    args = parse_args(parser, tiny={"steps": 200, "num_envs": 2})

    spec = task_spec(args.task)
    actor = load_behavior_policy(spec.name, args.role)
    if actor is None:
        raise SystemExit(f"no {args.role} policy for {spec.name}; run `dwm-gym dataset make {spec.name}-{args.role}`")
    rng = np.random.default_rng(args.seed)
    single_steps = args.steps if args.tiny else max(1000, args.steps // 10)
    rows = {
        f"shipped {args.role} actor ({args.num_envs} envs)": measure(
            spec.env_id, lambda o: actor.act(o, rng), args.steps, args.num_envs, args.seed
        ),
        f"uniform random ({args.num_envs} envs)": measure(
            spec.env_id,
            lambda o: rng.uniform(-1, 1, (len(o), actor.info.action_dim)),
            args.steps,
            args.num_envs,
            args.seed,
        ),
        "shipped actor (1 env, unbatched)": measure(
            spec.env_id, lambda o: actor.act(o, rng), single_steps, 1, args.seed
        ),
    }
    machine = machine_info()
    print(f"{spec.env_id}, {args.steps} steps, {machine['cpu_count']} CPUs, {machine['platform']}")
    print(f"{'policy':40s} {'steps/s':>10s} {'seconds':>9s}")
    for name, row in rows.items():
        print(f"{name:40s} {row['steps_per_s']:10.0f} {row['seconds']:9.1f}")
    base = rows[f"uniform random ({args.num_envs} envs)"]["steps_per_s"]
    ratio = rows[f"shipped {args.role} actor ({args.num_envs} envs)"]["steps_per_s"] / base
    print(f"shipped-policy / random-policy throughput ratio: {ratio:.2f}")
    write_result(args.json, {"task": spec.name, "rows": rows, "ratio": ratio}, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
