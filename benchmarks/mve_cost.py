"""Gradient updates/s of TD3BC with and without model-based value expansion, side by side in one run.

Usage:
    python benchmarks/mve_cost.py [--dataset dwm_gym/hopper/medium-v0] [--transitions 50000] [--horizon 5]
                                  [--updates 1000] [--fresh-updates 100] [--rounds 3] [--batch-size 128]
                                  [--threads 1] [--seed 0] [--device cpu] [--json benchmarks/results/mve_cost.json]
                                  [--tiny]

* TD3BC: model-free (SB3 ``ReplayBuffer``).
* DWM-TD3BC (cache): ``DiffusionMVEReplayBuffer`` with the imagination cache (M = 1), filled once up
  front; the fill time is reported on its own (it is paid once per run, or lazily over the first epochs).
* DWM-TD3BC (fresh): a new DWM sample for every minibatch, as in the paper.
* OneStep-TD3BC: ``OneStepMVEReplayBuffer``, H policy-driven steps of the one-step model per minibatch.

All four train the same ``TD3BC`` (batch 128, 2x256 MLPs) on the first ``--transitions`` transitions of
the dataset with the bundled hopper-medium world models; after a warm-up, each is timed over ``--updates``
updates in ``--rounds`` interleaved rounds and the median is reported. Goal: the cached DWM-TD3BC
within 1.3x of model-free TD3BC per update. ``--tiny``: 2 timed updates of batch 16, 1 round, on 300
transitions of a hopper-medium dataset generated into a temporary folder (smoke test).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from dwm_gym.agents import TD3BC
from dwm_gym.benchmarking.harness import command_line, machine_info, make_parser, parse_args, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, OneStepMVEReplayBuffer
from dwm_gym.world_model.bundled import resolve_checkpoint


def first_transitions(dataset: OfflineDataset, count: int) -> OfflineDataset:
    """The dataset cut to its first ``count`` transitions (whole episodes, the last one cut)."""
    data = dataset.transitions
    count = min(count, len(data["observations"]))
    arrays = {k: data[k][:count] for k in list(data) if k != "episode_index"}
    return OfflineDataset.from_arrays(**arrays, env_id=dataset.env_id, dataset_id=f"{dataset.dataset_id}[:{count}]")


def time_updates(agent: TD3BC, updates: int) -> float:
    """Updates/s of ``agent.learn`` over ``updates`` updates."""
    start = time.perf_counter()
    agent.learn(updates, reset_num_timesteps=False)
    return updates / (time.perf_counter() - start)


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/mve_cost.json", device="cpu")
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0")
    parser.add_argument("--transitions", type=int, default=50_000)
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument("--updates", type=int, default=1000, help="timed updates (model-free and cached)")
    parser.add_argument("--fresh-updates", type=int, default=100, help="timed updates (fresh DWM, one-step)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (median reported)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parse_args(
        parser, tiny={"transitions": 300, "updates": 2, "fresh_updates": 2, "rounds": 1, "batch_size": 16}
    )
    torch.set_num_threads(args.threads)
    if args.tiny:
        args.dataset = tiny_dataset()
    dataset = first_transitions(OfflineDataset.from_minari(args.dataset), args.transitions)
    dwm, onestep = (
        str(resolve_checkpoint("hopper", "medium", "dwm")),
        str(resolve_checkpoint("hopper", "medium", "onestep")),
    )
    dwm_kwargs = dict(world_model=dwm, horizon=args.horizon, rtg=0.8, seed=args.seed)
    methods = {
        "TD3BC": (None, None, args.updates),
        "DWM-TD3BC (cache)": (DiffusionMVEReplayBuffer, {**dwm_kwargs, "cache": True}, args.updates),
        "DWM-TD3BC (fresh)": (DiffusionMVEReplayBuffer, {**dwm_kwargs, "cache": False}, args.fresh_updates),
        "OneStep-TD3BC": (
            OneStepMVEReplayBuffer,
            dict(world_model=onestep, horizon=args.horizon, seed=args.seed),
            args.fresh_updates,
        ),
    }
    rows, agents = [], {}
    for name, (buffer_class, kwargs, updates) in methods.items():
        agent = TD3BC(
            "MlpPolicy",
            dataset.env_id,
            batch_size=args.batch_size,
            replay_buffer_class=buffer_class,
            replay_buffer_kwargs=kwargs,
            device=args.device,
            seed=args.seed,
        ).load_dataset(dataset)
        row = {"method": name, "updates": updates, "rounds": []}
        if buffer_class is DiffusionMVEReplayBuffer and kwargs["cache"]:
            fill = agent.replay_buffer.fill_cache()
            row.update(cache_fill_s=fill["seconds"], cache_segments_per_s=fill["segments_per_s"])
            row["cache_mb"] = fill["cache_mb"]
        agent.learn(2 if args.tiny else max(10, updates // 10))  # warm-up
        agents[name] = agent
        rows.append(row)
    for _ in range(args.rounds):  # interleaved, so load changes on a shared machine hit every method alike
        for row in rows:
            row["rounds"].append(time_updates(agents[row["method"]], row["updates"]))
    for row in rows:
        row["updates_per_s"] = float(np.median(row["rounds"]))
        print(f"{row['method']}: {row['updates_per_s']:.1f} updates/s", flush=True)
    base = rows[0]["updates_per_s"]
    for row in rows:
        row["slowdown_vs_td3bc"] = base / row["updates_per_s"]
    machine = machine_info()
    print(
        f"\n{dataset.dataset_id}, H={args.horizon}, batch {args.batch_size}, {args.device}, "
        f"{machine['torch_threads']} torch thread(s), {machine['cpu_count']} CPUs, "
        f"load {machine['load_average'][0]:.1f}, median of {args.rounds} interleaved rounds"
    )
    print(f"{'method':20s} {'updates/s':>10s} {'x TD3BC':>8s}  notes")
    for row in rows:
        note = ""
        if "cache_fill_s" in row:
            note = f"cache fill {row['cache_fill_s']:.1f} s once ({row['cache_segments_per_s']:.0f} segments/s)"
        print(f"{row['method']:20s} {row['updates_per_s']:10.1f} {row['slowdown_vs_td3bc']:8.2f}  {note}")
    cached = rows[1]["slowdown_vs_td3bc"]
    verdict = "met" if cached <= 1.3 else "NOT met"
    print(f"DWM-TD3BC (cache) per update: {cached:.2f}x model-free (goal <= 1.3x: {verdict})")
    result = {
        "command": command_line(args),
        "dataset": dataset.dataset_id,
        "horizon": args.horizon,
        "batch_size": args.batch_size,
        "device": args.device,
        "rows": rows,
        "goal_met": bool(np.isfinite(cached) and cached <= 1.3),
    }
    write_result(args.json, result, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
