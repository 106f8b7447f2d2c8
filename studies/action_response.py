"""Do the imagined envs answer the agent's actions? Real vs DWM vs one-step envs under many policies.

From the same start states (real Hopper-v5 resets), each policy acts in the real env, in the DWM env and
in the one-step env (closed loop: each env feeds the policy its own states), up to ``--max-steps``:

* ``zero``: a = 0;
* ``uniform``: a ~ U[-1, 1];
* ``medium+noise σ``: the shipped medium behaviour policy plus N(0, σ²) noise, clipped (σ = 0 is the
  data's own behaviour);
* ``expert``: the shipped expert policy;
* ``agent``: a saved agent (``--agent runs/x/model.safetensors``), deterministic.

Per (policy, env): episode length (termination or ``--max-steps``), return, and, open loop, the per-step
z-scored state divergence of the imagined env from the real trajectory when fed the real trajectory's
actions (steps 1, 10, 50 and the mean over the first ``--divergence-steps``). ``--pessimism JSON`` (the
env option, e.g. ``'{"signal": "disagreement", "threshold": 0.5, "penalty": 0}'``) adds both envs in
pessimistic mode and reports the mean uncertainty signal each policy meets.

python studies/action_response.py [--starts 20] [--max-steps 1000] [--divergence-steps 50]
                                     [--noise 0.3,0.6,1.0] [--agent PATH] [--seed 0]
                                     [--device auto] [--json studies/results/action_response.json] [--tiny]

``--tiny``: 2 start states, 10 steps, one noise level (smoke test).
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from dwm_gym.benchmarking.harness import make_parser, parse_args, write_result
from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.envs import DiffusionImaginedVectorEnv

Policy = Callable[[np.ndarray, np.random.Generator], np.ndarray]  # batch of states -> batch of actions


def policies(noise: list[float], agent_path: str | None) -> dict[str, Policy]:
    """The policies compared, each acting on a batch of states with its own generator."""
    medium, expert = load_behavior_policy("hopper", "medium"), load_behavior_policy("hopper", "expert")

    def noisy(sigma: float) -> Policy:
        return lambda s, rng: np.clip(medium.act(s, rng) + sigma * rng.standard_normal((len(s), 3)), -1, 1)

    table: dict[str, Policy] = {
        "zero": lambda s, rng: np.zeros((len(s), 3)),
        "uniform": lambda s, rng: rng.uniform(-1, 1, (len(s), 3)),
        "medium": lambda s, rng: medium.act(s, rng),
    }
    table.update({f"medium+noise {sigma:g}": noisy(sigma) for sigma in noise})
    table["expert"] = lambda s, rng: expert.act(s, rng)
    if agent_path:
        from dwm_gym.agents.saved import load_agent

        agent, _ = load_agent(agent_path, device="cpu")
        table["agent"] = lambda s, rng: agent.predict(s.astype(np.float32), deterministic=True)[0]
    return table


def real_episodes(starts_seeds: list[int], policy: Policy, max_steps: int, seed: int) -> dict:
    """Closed-loop real episodes: start states, lengths, returns, and the states and actions taken."""
    env = gym.make("Hopper-v5")
    starts, lengths, returns, states, actions = [], [], [], [], []
    for i, start_seed in enumerate(starts_seeds):
        obs, _ = env.reset(seed=start_seed)
        starts.append(obs)
        rng, total, path, acts = np.random.default_rng([seed, i]), 0.0, [], []
        for _ in range(max_steps):
            action = policy(obs[None], rng)[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            total += reward
            path.append(obs)
            acts.append(action)
            if terminated:
                break
        lengths.append(len(path))
        returns.append(total)
        states.append(np.array(path))
        actions.append(np.array(acts))
    env.close()
    return {
        "starts": np.stack(starts),
        "lengths": np.array(lengths),
        "returns": np.array(returns),
        "states": states,
        "actions": actions,
    }


def imagined_episodes(
    venv: DiffusionImaginedVectorEnv, starts: np.ndarray, policy: Policy, max_steps: int, seed: int
) -> dict:
    """Closed-loop imagined episodes from ``starts`` (one batch): lengths and returns."""
    obs, _ = venv.reset(seed=seed, options={"states": starts})
    rng = np.random.default_rng([seed, 99])
    alive, lengths, totals = np.ones(len(starts), bool), np.zeros(len(starts), int), np.zeros(len(starts))
    signal = []
    for _ in range(max_steps):
        rewards, terminated, _, info = venv.advance(policy(obs, rng))
        totals += rewards * alive
        lengths += alive
        if "uncertainty" in info:
            signal += info["uncertainty"][alive].tolist()
        alive &= ~terminated
        obs = venv.observations()
        if not alive.any():
            break
    return {"lengths": lengths, "returns": totals, "uncertainty": float(np.mean(signal)) if signal else None}


def open_loop_divergence(
    venv: DiffusionImaginedVectorEnv, real: dict, steps: int, seed: int, std: np.ndarray
) -> np.ndarray:
    """Per-step z-scored MSE between imagined and real states when the env is fed the real actions.

    Windows whose real episode ended earlier contribute only while they last (NaN after).
    """
    starts = real["starts"]
    venv.reset(seed=seed, options={"states": starts})
    errors = np.full((len(starts), steps), np.nan)
    for t in range(steps):
        live = np.array([len(a) > t for a in real["actions"]])
        if not live.any():
            break
        actions = np.stack([a[t] if len(a) > t else np.zeros(3) for a in real["actions"]])
        venv.advance(actions)
        imagined = venv.observations()
        truth = np.stack([s[t] if len(s) > t else np.zeros_like(s[0]) for s in real["states"]])
        errors[live, t] = (((imagined[live] - truth[live]) / std) ** 2).mean(-1)
    return errors


def main() -> None:
    parser = make_parser(__doc__, "studies/results/action_response.json")
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--divergence-steps", type=int, default=50)
    parser.add_argument("--noise", default="0.3,0.6,1.0")
    parser.add_argument("--agent", default=None, help="a saved agent (model.safetensors) to add as a policy")
    parser.add_argument("--pessimism", default=None, help="JSON of the env's pessimism option (adds those envs)")
    tiny = {"starts": 2, "max_steps": 10, "divergence_steps": 5, "noise": "0.5", "pessimism": '{"samples": 2}'}
    args = parse_args(parser, tiny=tiny)
    table = policies([float(x) for x in args.noise.split(",")], args.agent)
    envs = {"dwm": {"kind": "dwm"}, "onestep": {"kind": "onestep"}}
    if args.pessimism:
        import json

        option = json.loads(args.pessimism)
        envs.update({f"{k}, pessimistic": {**v, "pessimism": option} for k, v in list(envs.items())})
    venvs = {
        name: DiffusionImaginedVectorEnv(args.starts, task="hopper", quality="medium", device=args.device, **kw)
        for name, kw in envs.items()
    }
    std = venvs["dwm"].imagination.model.start_states["states"].std(0) + 1e-6
    seeds = list(range(20_000, 20_000 + args.starts))
    rows = {}
    print(f"{args.starts} start states, up to {args.max_steps} steps; length / return (mean over starts)")
    for name, policy in table.items():
        real = real_episodes(seeds, policy, args.max_steps, args.seed)
        row = {"real": {"length": float(real["lengths"].mean()), "return": float(real["returns"].mean())}}
        for env_name, venv in venvs.items():
            out = imagined_episodes(venv, real["starts"], policy, args.max_steps, args.seed)
            div = open_loop_divergence(venv, real, args.divergence_steps, args.seed, std)
            per_step = np.nanmean(div, axis=0)
            row[env_name] = {
                "length": float(out["lengths"].mean()),
                "return": float(out["returns"].mean()),
                "length_ratio_to_real": float(out["lengths"].mean() / real["lengths"].mean()),
                "mean_uncertainty": out["uncertainty"],
                "divergence_by_step": per_step.tolist(),
                "divergence_mean": float(np.nanmean(per_step)),
            }
        rows[name] = row
        cells = "  ".join(f"{e}: {v['length']:6.0f} / {v['return']:7.0f}" for e, v in row.items())
        print(f"{name:18s} {cells}")
    write_result(args.json, {"starts": args.starts, "max_steps": args.max_steps, "rows": rows}, args)


if __name__ == "__main__":
    main()
