"""Fidelity of the imagined envs: imagined vs real returns of the shipped medium policy over 100 steps.

From the same start states (real Hopper-v5 resets), the shipped hopper-medium behaviour policy
acts for ``--steps`` steps in the real env, in the DWM env and in the one-step env (each env sees
its own states; the policy draws its noise from the same seeds). An episode that terminates stops
adding reward. Prints a table, writes JSON and a scatter plot.

python benchmarks/fidelity.py [--starts 100] [--steps 100] [--seed 0] [--device auto]
                              [--json benchmarks/results/fidelity.json] [--plot docs/img/fidelity.png] [--tiny]

``--tiny``: 3 start states, 5 steps, the plot beside the JSON (smoke test).
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

from dwm_gym.benchmarking.harness import make_parser, parse_args, write_result
from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.envs import DiffusionImaginedVectorEnv


def real_returns(starts_seeds: list[int], policy, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Start observations and 100-step returns in the real env."""
    env = gym.make("Hopper-v5")
    starts, returns = [], []
    for i, start_seed in enumerate(starts_seeds):
        obs, _ = env.reset(seed=start_seed)
        starts.append(obs)
        rng, total = np.random.default_rng([seed, i]), 0.0
        for _ in range(steps):
            obs, reward, terminated, truncated, _ = env.step(policy.act(obs, rng))
            total += reward
            if terminated or truncated:
                break
        returns.append(total)
    return np.stack(starts), np.asarray(returns)


def imagined_returns(kind: str, starts: np.ndarray, policy, steps: int, seed: int, device: str) -> np.ndarray:
    """100-step returns of the same policy in the imagined env of ``kind`` (one batch for all starts)."""
    venv = DiffusionImaginedVectorEnv(len(starts), task="hopper", quality="medium", kind=kind, device=device)
    obs, _ = venv.reset(seed=seed, options={"states": starts})
    rngs = [np.random.default_rng([seed, i]) for i in range(len(starts))]
    alive, totals = np.ones(len(starts), dtype=bool), np.zeros(len(starts))
    for _ in range(steps):
        actions = np.stack([policy.act(o, r) for o, r in zip(obs, rngs)])
        rewards, terminated, _, _ = venv.advance(actions)
        totals += rewards * alive
        alive &= ~terminated
        obs = venv.observations()
    return totals


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/fidelity.json")
    parser.add_argument("--starts", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--plot", default="docs/img/fidelity.png")
    args = parse_args(parser, tiny={"starts": 3, "steps": 5, "plot": None})
    args.plot = args.plot or str(Path(args.json).with_suffix(".png"))
    policy = load_behavior_policy("hopper", "medium")
    starts, real = real_returns(list(range(10_000, 10_000 + args.starts)), policy, args.steps, args.seed)
    results = {"real": real}
    for kind in ("dwm", "onestep"):
        results[kind] = imagined_returns(kind, starts, policy, args.steps, args.seed, args.device)
    summary = {}
    print(f"{args.starts} start states, {args.steps} steps of the shipped hopper-medium policy")
    print(f"{'env':10s} {'mean return':>12s} {'mean |imagined - real|':>24s} {'corr with real':>15s}")
    for name, values in results.items():
        row = {"mean_return": float(values.mean()), "std_return": float(values.std())}
        if name != "real":
            row["mean_abs_error"] = float(np.abs(values - real).mean())
            row["correlation"] = float(np.corrcoef(values, real)[0, 1])
        summary[name] = row
        print(
            f"{name:10s} {row['mean_return']:12.1f} {row.get('mean_abs_error', 0):24.1f} "
            f"{row.get('correlation', 1):15.3f}"
        )
    write_result(args.json, {"summary": summary, "returns": {k: v.tolist() for k, v in results.items()}}, args)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharex=True, sharey=True)
    low, high = min(v.min() for v in results.values()), max(v.max() for v in results.values())
    for ax, kind, title in zip(axes, ("dwm", "onestep"), ("DWM env", "one-step env")):
        ax.scatter(real, results[kind], s=12, alpha=0.7)
        ax.plot([low, high], [low, high], "k--", lw=1)
        ax.set_title(f"{title}: MAE {summary[kind]['mean_abs_error']:.1f}, r = {summary[kind]['correlation']:.2f}")
        ax.set_xlabel(f"real Hopper-v5 return ({args.steps} steps)")
    axes[0].set_ylabel("imagined return")
    fig.tight_layout()
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=110)
    print(f"wrote {args.json} and {args.plot}")


if __name__ == "__main__":
    main()
