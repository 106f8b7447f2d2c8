"""Why off-policy drift heals in DWM rollouts: how much of each imagined step follows the action.

A policy (zero or uniform actions) acts closed loop in the imagined env (H = 1) from real Hopper-v5
start states. At every step t, from the imagined state ŝ_t, the real MuJoCo simulator is set to ŝ_t
and stepped twice: with the action taken, a_t (the truth, s*_{t+1}), and with the medium behaviour
policy's mean action π(ŝ_t) (what the data would have done, s^π_{t+1}). In z-units of the data's states,

    λ_t = <ŝ_{t+1} - s*_{t+1}, s^π_{t+1} - s*_{t+1}> / |s^π_{t+1} - s*_{t+1}|²

is the share of the way the model's step goes from the true response to the behaviour policy's:
0 = the model follows the action, 1 = it steps as if the data's policy had acted. Next to it:

* ``support``: distance of ŝ_t to the nearest data state (in units of the data's own spacing);
* ``pull``: support(ŝ_{t+1}) - support(s*_{t+1}), < 0 when the model's step lands nearer the data
  than the true step does;
* ``healthy``: share of the true steps s*_{t+1} that Hopper-v5 would call healthy (the env's own
  termination rule is applied to imagined states, so a model that never imagines an unhealthy state
  never ends an episode);
* ``margin gain``: the termination margin m(s) = min(z - 0.7, 0.2 - |angle|) (how far the state is
  from Hopper-v5's end) of the model's step minus that of the true step, m(ŝ_{t+1}) - m(s*_{t+1}):
  > 0 when the model's error moves the hopper away from falling. Its sum over an episode is how
  much margin the model's errors added, next to the margin the true steps took away.

* ``pinned``: share of imagined states (steps >= 20) whose torso height or angle sits at the edge of
  what the model can produce at all: the DWM's quantile (CDF) normalizer maps [-1, 1] onto the data's
  own range of each dimension (its inner 0.1 %..99.9 % with ``clip_state_tails``), so a state beyond
  it cannot be imagined; Hopper-v5 ends an episode at |angle| >= 0.2 or height <= 0.7.

The DWM is compared with the one-step model, and the DWM at a low and a high RTG (guidance). The
real env's own episodes under the same policies say which condition ends them (``real_end_causes``).

python studies/action_pull.py [--starts 16] [--steps 60] [--rtg-low 0.1] [--rtg-high 1.0]
                                 [--seed 0] [--device auto] [--json studies/results/action_pull.json] [--tiny]
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from dwm_gym.benchmarking.harness import make_parser, parse_args, write_result
from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.envs import DiffusionImaginedVectorEnv
from dwm_gym.envs.pessimism import SupportDistance
from dwm_gym.world_model.termination import hopper_v5_unhealthy


class Simulator:
    """Real Hopper-v5 dynamics from any observation (x = 0; the observation omits it)."""

    def __init__(self) -> None:
        self.env = gym.make("Hopper-v5").unwrapped
        self.env.reset(seed=0)

    def step(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray:
        """The next observation from ``obs`` after ``action``."""
        qpos = np.concatenate([[0.0], obs[:5]])
        self.env.set_state(qpos, obs[5:].astype(np.float64))
        return self.env.step(np.clip(action, -1, 1))[0]


def margin(obs: np.ndarray) -> float:
    """Distance of a Hopper-v5 observation from termination: min(z - 0.7, 0.2 - |angle|)."""
    return float(min(obs[0] - 0.7, 0.2 - abs(obs[1])))


def trace(venv, policy, starts, steps, sim, medium, support, std, seed) -> dict:
    """Per-step λ, support, pull and the true steps' health over closed-loop imagined episodes."""
    rng = np.random.default_rng(seed)
    obs, _ = venv.reset(seed=seed, options={"states": starts})
    alive = np.ones(len(starts), bool)
    rows = {
        "lambda": [],
        "support": [],
        "pull": [],
        "healthy": [],
        "step": [],
        "gain": [],
        "true_change": [],
        "height": [],
        "angle": [],
    }
    for t in range(steps):
        action = policy(obs, rng)
        _, terminated, _, _ = venv.advance(action)
        nxt = venv.observations()
        for i in np.flatnonzero(alive):
            truth = sim.step(obs[i], action[i])
            data = sim.step(obs[i], medium.act(obs[i][None], deterministic=True)[0])
            gap = (data - truth) / std
            err = (nxt[i] - truth) / std
            if float(gap @ gap) > 1e-6:
                rows["lambda"].append(float(err @ gap / (gap @ gap)))
                rows["step"].append(t)
                rows["support"].append(float(support(torch.as_tensor(obs[i][None], dtype=torch.float32))[0]))
                near = support(torch.as_tensor(np.stack([nxt[i], truth]), dtype=torch.float32))
                rows["pull"].append(float(near[0] - near[1]))
                rows["healthy"].append(float(~hopper_v5_unhealthy(torch.as_tensor(truth[None]))[0]))
                rows["gain"].append(margin(nxt[i]) - margin(truth))
                rows["true_change"].append(margin(truth) - margin(obs[i]))
                rows["height"].append(float(nxt[i][0]))
                rows["angle"].append(float(nxt[i][1]))
        alive &= ~terminated
        obs = nxt
        if not alive.any():
            break
    return {key: np.array(value) for key, value in rows.items()}


def summarize(rows: dict, steps: int, bounds: tuple[np.ndarray, np.ndarray] | None) -> dict:
    """Medians of λ and pull overall, by step range and by support distance of ŝ_t; pinned states."""
    out = {
        "transitions": int(len(rows["lambda"])),
        "lambda_median": float(np.median(rows["lambda"])),
        "pull_median": float(np.median(rows["pull"])),
        "true_step_healthy": float(np.mean(rows["healthy"])),
        "margin_gain_mean": float(np.mean(rows["gain"])),
        "true_margin_change_mean": float(np.mean(rows["true_change"])),
        "margin_gain_share_positive": float(np.mean(rows["gain"] > 0)),
        "by_step": {},
        "by_support": {},
        "angle_range": [float(np.min(rows["angle"])), float(np.max(rows["angle"]))],
        "height_min": float(np.min(rows["height"])),
    }
    if bounds is not None:
        late = rows["step"] >= 20
        for dim, name in ((0, "height"), (1, "angle")):
            values, (low, high) = rows[name][late], (bounds[0][dim], bounds[1][dim])
            tol = 1e-4 * (high - low)
            out[f"{name}_pinned"] = (
                float(np.mean((values <= low + tol) | (values >= high - tol))) if late.any() else 0.0
            )
    for lo, hi in ((0, 5), (5, 20), (20, steps)):
        pick = (rows["step"] >= lo) & (rows["step"] < hi)
        if pick.any():
            out["by_step"][f"{lo}-{hi}"] = {
                "lambda": float(np.median(rows["lambda"][pick])),
                "support": float(np.median(rows["support"][pick])),
                "margin_gain": float(np.mean(rows["gain"][pick])),
                "true_margin_change": float(np.mean(rows["true_change"][pick])),
                "n": int(pick.sum()),
            }
    for lo, hi in ((0, 1.5), (1.5, 3), (3, np.inf)):
        pick = (rows["support"] >= lo) & (rows["support"] < hi)
        if pick.any():
            out["by_support"][f"{lo:g}-{hi:g}"] = {
                "lambda": float(np.median(rows["lambda"][pick])),
                "pull": float(np.median(rows["pull"][pick])),
                "n": int(pick.sum()),
            }
    return out


def representable_range(venv) -> tuple[np.ndarray, np.ndarray] | None:
    """The lowest and highest state a DWM can produce (its normalizer's inverse of -1 and +1), else None."""
    model = venv.imagination.model
    if model.kind != "dwm":
        return None
    clip = model.sampler_settings(None).clip_state_tails
    ends = torch.tensor([[-1.0] * model.obs_dim, [1.0] * model.obs_dim], dtype=torch.float64)
    low, high = model.state_normalizer.unnormalize(ends, clip_tails=clip).numpy()
    return low, high


def real_end_causes(policy, seeds: list[int]) -> dict[str, int]:
    """Which Hopper-v5 condition ends real episodes of ``policy`` (height, angle or none in 1000 steps)."""
    env, causes = gym.make("Hopper-v5"), {"height": 0, "angle": 0, "none": 0}
    for k, start_seed in enumerate(seeds):
        obs, _ = env.reset(seed=start_seed)
        rng = np.random.default_rng(k)
        for _ in range(1000):
            obs, _, terminated, _, _ = env.step(policy(obs[None], rng)[0])
            if terminated:
                break
        causes["none" if not terminated else "height" if obs[0] <= 0.7 else "angle"] += 1
    return causes


def main() -> None:
    parser = make_parser(__doc__, "studies/results/action_pull.json")
    parser.add_argument("--starts", type=int, default=16)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rtg-low", type=float, default=0.1)
    parser.add_argument("--rtg-high", type=float, default=1.0)
    args = parse_args(parser, tiny={"starts": 2, "steps": 3})
    medium = load_behavior_policy("hopper", "medium")
    sim = Simulator()
    starts = np.stack([gym.make("Hopper-v5").reset(seed=30_000 + i)[0] for i in range(args.starts)])
    envs = {
        "dwm": {"kind": "dwm"},
        f"dwm, rtg {args.rtg_low:g}": {"kind": "dwm", "rtg": args.rtg_low},
        f"dwm, rtg {args.rtg_high:g}": {"kind": "dwm", "rtg": args.rtg_high},
        "onestep": {"kind": "onestep"},
    }
    policies = {
        "zero": lambda s, rng: np.zeros((len(s), 3)),
        "uniform": lambda s, rng: rng.uniform(-1, 1, (len(s), 3)),
        "medium": lambda s, rng: medium.act(s, rng),
    }
    results = {}
    seeds = [30_000 + i for i in range(args.starts)]
    causes = {name: real_end_causes(policy, seeds) for name, policy in policies.items()}
    print(f"real Hopper-v5, what ends the episodes: {causes}")
    for env_name, kwargs in envs.items():
        venv = DiffusionImaginedVectorEnv(args.starts, task="hopper", quality="medium", device=args.device, **kwargs)
        states = torch.as_tensor(venv.imagination.model.start_states["states"], dtype=torch.float32)
        support, std = SupportDistance(states), states.std(0).numpy() + 1e-6
        bounds = representable_range(venv)
        for name, policy in policies.items():
            rows = trace(venv, policy, starts, args.steps, sim, medium, support, std, args.seed)
            results[f"{env_name} / {name}"] = summary = summarize(rows, args.steps, bounds)
            print(
                f"{env_name:14s} {name:8s} λ {summary['lambda_median']:+.2f}  pull {summary['pull_median']:+.2f}  "
                f"healthy {summary['true_step_healthy']:.2f}  "
                f"margin/step: model gain {summary['margin_gain_mean']:+.4f} "
                f"true change {summary['true_margin_change_mean']:+.4f}  by step "
                + "  ".join(
                    f"{k}: λ {v['lambda']:+.2f} supp {v['support']:.1f} gain {v['margin_gain']:+.4f} "
                    f"true {v['true_margin_change']:+.4f}"
                    for k, v in summary["by_step"].items()
                ),
                flush=True,
            )
            if "angle_pinned" in summary:
                print(
                    f"{'':23s} states at the edge of the DWM's range (steps >= 20): "
                    f"angle {summary['angle_pinned']:.2f}, "
                    f"height {summary['height_pinned']:.2f}; imagined angle {summary['angle_range']}"
                )
    dwm_range = representable_range(DiffusionImaginedVectorEnv(1, task="hopper", quality="medium", device=args.device))
    ranges = {
        "height": [float(dwm_range[0][0]), float(dwm_range[1][0])],
        "angle": [float(dwm_range[0][1]), float(dwm_range[1][1])],
    }
    print(f"what the DWM can imagine: {ranges}")
    out = {"starts": args.starts, "steps": args.steps, "real_end_causes": causes, "dwm_range": ranges, "rows": results}
    write_result(args.json, out, args)


if __name__ == "__main__":
    main()
