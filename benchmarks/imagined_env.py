"""Env steps/s: the batched imagined vector env vs N single imagined envs in a DummyVecEnv vs real Hopper-v5.

All rows are measured side by side in one run with random actions; an env step of a sub-env
counts once (horizon 1). Prints a table and writes JSON.

python benchmarks/imagined_env.py [--kind dwm|onestep] [--batches 1,16,256,1024,4096] [--dummy-envs 1,16]
                                  [--seconds 2.0] [--seed 0] [--device auto]
                                  [--json benchmarks/results/imagined_env.json] [--tiny]

``--tiny``: batches 1 and 2, one DummyVecEnv of 1, 0.05 s per row (smoke test).
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv

import dwm_gym  # noqa: F401  (registers DWM-* ids)
from dwm_gym.benchmarking.harness import machine_info, make_parser, parse_args, write_result
from dwm_gym.envs import DiffusionImaginedVectorEnv


def steps_per_second(step, num_envs: int, min_seconds: float) -> float:
    """Sub-env steps per second of ``step()`` (called until ``min_seconds`` have passed)."""
    step()  # warm-up
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        step()
        calls += 1
    return calls * num_envs / (time.perf_counter() - start)


def vector_row(num_envs: int, kind: str, device: str, seconds: float, seed: int) -> float:
    venv = DiffusionImaginedVectorEnv(
        num_envs, max_episode_steps=1000, task="hopper", quality="medium", kind=kind, device=device
    )
    venv.reset(seed=seed)
    rng = np.random.default_rng(seed)
    return steps_per_second(lambda: venv.step(rng.uniform(-1, 1, (num_envs, 3))), num_envs, seconds)


def dummy_row(make, num_envs: int, seconds: float, seed: int) -> float:
    venv = DummyVecEnv([make] * num_envs)
    venv.seed(seed)
    venv.reset()
    rng = np.random.default_rng(seed)

    def step():
        venv.step(rng.uniform(-1, 1, (num_envs, 3)).astype(np.float32))

    return steps_per_second(step, num_envs, seconds)


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/imagined_env.json")
    parser.add_argument("--kind", choices=["dwm", "onestep"], default="dwm")
    parser.add_argument("--batches", default="1,16,256,1024,4096")
    parser.add_argument("--dummy-envs", default="1,16", help="N of the DummyVecEnv rows (each loads a model)")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parse_args(parser, tiny={"batches": "1,2", "dummy_envs": "1", "seconds": 0.05})
    rows = []
    for n in map(int, args.batches.split(",")):
        rows.append(
            {
                "env": f"DiffusionImaginedVectorEnv ({args.kind})",
                "num_envs": n,
                "steps_per_s": vector_row(n, args.kind, args.device, args.seconds, args.seed),
            }
        )
    for n in map(int, args.dummy_envs.split(",")):
        make_imagined = lambda: gym.make("DWM-hopper-medium-v0", kind=args.kind, device=args.device)  # noqa: E731
        rows.append(
            {
                "env": f"DummyVecEnv of DWM-hopper-medium-v0 ({args.kind})",
                "num_envs": n,
                "steps_per_s": dummy_row(make_imagined, n, args.seconds, args.seed),
            }
        )
        rows.append(
            {
                "env": "DummyVecEnv of real Hopper-v5",
                "num_envs": n,
                "steps_per_s": dummy_row(lambda: gym.make("Hopper-v5"), n, args.seconds, args.seed),
            }
        )
    machine = machine_info()
    print(f"{machine['cpu_count']} CPUs, torch {machine['torch']}, cuda: {machine['cuda']}")
    print(f"{'env':50s} {'N':>5s} {'steps/s':>10s}")
    for row in rows:
        print(f"{row['env']:50s} {row['num_envs']:5d} {row['steps_per_s']:10.0f}")
    rate = {
        (r["env"].split(" ")[0] + ("-real" if "real" in r["env"] else ""), r["num_envs"]): r["steps_per_s"]
        for r in rows
    }
    ratios = {}
    for n in map(int, args.dummy_envs.split(",")):
        if ("DiffusionImaginedVectorEnv", n) in rate:
            ratios[f"vector/dummy at N={n}"] = rate[("DiffusionImaginedVectorEnv", n)] / rate[("DummyVecEnv", n)]
    best_vector = max(r["steps_per_s"] for r in rows if r["env"].startswith("DiffusionImaginedVectorEnv"))
    ratios["best vector / real Hopper-v5 (N=1)"] = best_vector / rate[("DummyVecEnv-real", 1)]
    for name, value in ratios.items():
        print(f"{name}: {value:.1f}x")
    write_result(args.json, {"kind": args.kind, "rows": rows, "ratios": ratios}, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
