"""Does each paper env fall like the real one? Episode lengths and returns under zero and uniform random actions.

For every paper id ``DWM-{task}-{quality}-v0`` with a model of either kind (bundled or in ``$DWM_GYM_HOME``), the
same ``--starts`` real start states (resets of the real v5 env, seeds 20000, 20001, ...) are played closed loop,
up to ``--max-steps`` steps, with a = 0 (``zero``) and a ~ U[-1, 1] (``uniform``), in the real env, in the DWM env
and in the one-step env (each at its defaults: the DWM at the data's median RTG). The imagined envs run batched
(one vector env per kind), and need no dataset: their start states and models travel in the checkpoint.

Data-driven and merged: ids without any model are skipped with a message, and the entries already in ``--json``
are kept, so a rerun after a model lands replaces only the ids it measured (``--ids`` limits the run); each entry
records the run that measured it. An imagined episode whose states stop being finite numbers is counted
(``non_finite``) and left out of the mean return.

python benchmarks/action_response_by_id.py [--ids all | DWM-hopper-medium-v0,...] [--starts 10] [--max-steps 1000]
                                     [--seed 0] [--device auto] [--json benchmarks/results/action_response_by_id.json]
                                     [--tiny]

``--tiny``: DWM-hopper-medium-v0, 2 start states, 10 steps (smoke test).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np

from dwm_gym.benchmarking.harness import entry_run, make_parser, parse_args, write_result
from dwm_gym.data.specs import paper_datasets, task_spec
from dwm_gym.envs import DiffusionImaginedVectorEnv
from dwm_gym.envs.registration import env_id
from dwm_gym.world_model.bundled import CheckpointNotFoundError, resolve_checkpoint

Policy = Callable[[np.ndarray, np.random.Generator], np.ndarray]  # batch of states -> batch of actions
KINDS = ("dwm", "onestep")
START_SEED = 20_000


def policies(action_dim: int) -> dict[str, Policy]:
    """The two policies that tell a simulator that falls from one that does not."""
    return {
        "zero": lambda s, rng: np.zeros((len(s), action_dim)),
        "uniform": lambda s, rng: rng.uniform(-1, 1, (len(s), action_dim)),
    }


def real_episodes(real_id: str, starts: int, policy: Policy, max_steps: int, seed: int) -> dict:
    """Closed-loop episodes of the real env from resets with seeds START_SEED.. : start states, lengths, returns."""
    env = gym.make(real_id)
    first, lengths, returns = [], [], []
    for i in range(starts):
        obs, _ = env.reset(seed=START_SEED + i)
        first.append(obs)
        rng, total, steps, terminated = np.random.default_rng([seed, i]), 0.0, 0, False
        while steps < max_steps and not terminated:
            obs, reward, terminated, _, _ = env.step(policy(obs[None], rng)[0])
            total += float(reward)
            steps += 1
        lengths.append(steps)
        returns.append(total)
    env.close()
    return {"starts": np.stack(first), "lengths": np.array(lengths), "returns": np.array(returns)}


def imagined_episodes(
    venv: DiffusionImaginedVectorEnv, starts: np.ndarray, policy: Policy, max_steps: int, seed: int
) -> dict:
    """Closed-loop imagined episodes from ``starts``, all sub-envs in one batch: lengths and returns."""
    obs, _ = venv.reset(seed=seed, options={"states": starts})
    rng = np.random.default_rng([seed, 99])
    alive, lengths, totals = np.ones(len(starts), bool), np.zeros(len(starts), int), np.zeros(len(starts))
    broken = np.zeros(len(starts), bool)  # an imagined state or reward that is no longer finite
    for _ in range(max_steps):
        rewards, terminated, _, _ = venv.advance(policy(obs, rng))
        obs = venv.observations()
        broken |= alive & ~(np.isfinite(rewards) & np.isfinite(obs).all(axis=1))
        totals += np.where(alive & ~broken, rewards, 0.0)
        lengths += alive
        alive &= ~terminated
        if not alive.any():
            break
    return {"lengths": lengths, "returns": totals, "non_finite": broken}


def summary(episodes: dict) -> dict:
    """Mean and per-start episode lengths and returns; ``non_finite``: episodes whose imagined states blew up.

    Such an episode's return is None (its rewards stopped being numbers), and the mean return is over the others.
    """
    broken = episodes.get("non_finite", np.zeros(len(episodes["lengths"]), bool))
    kept = episodes["returns"][~broken]
    return {
        "length": float(episodes["lengths"].mean()),
        "return": float(kept.mean()) if len(kept) else None,
        "lengths": episodes["lengths"].tolist(),
        "non_finite": int(broken.sum()),
    }


def models_of(task: str, quality: str) -> dict[str, Path]:
    """The checkpoint of each kind that exists for the id."""
    found = {}
    for kind in KINDS:
        try:
            found[kind] = resolve_checkpoint(task, quality, kind)
        except CheckpointNotFoundError:
            pass
    return found


def measure(task: str, quality: str, starts: int, max_steps: int, seed: int, device: str) -> dict:
    """Real and imagined lengths and returns of one id, for each policy and each kind with a model."""
    spec, models = task_spec(task), models_of(task, quality)
    venvs = {
        kind: DiffusionImaginedVectorEnv(starts, task=task, quality=quality, kind=kind, device=device, checkpoint=path)
        for kind, path in models.items()
    }
    rows = {}
    for name, policy in policies(spec.action_dim).items():
        real = real_episodes(spec.env_id, starts, policy, max_steps, seed)
        row = {"real": summary(real)}
        for kind, venv in venvs.items():
            row[kind] = summary(imagined_episodes(venv, real["starts"], policy, max_steps, seed))
        rows[name] = row
        cells = "  ".join(
            f"{env}: {v['length']:6.0f} / {v['return']} ({v['non_finite']} blew up)" for env, v in row.items()
        )
        print(f"{env_id(task, quality):28s} {name:8s} {cells}")
    return {"models": {kind: path.name for kind, path in models.items()}, "policies": rows}


def merged(path: str, results: dict[str, dict]) -> dict[str, dict]:
    """The ids already in ``path``, with this run's replacing the same ids, in paper order."""
    entries = json.loads(Path(path).read_text()).get("ids", {}) if Path(path).is_file() else {}
    entries.update(results)
    order = [env_id(task, quality) for task, quality in paper_datasets()]
    return {name: entries[name] for name in sorted(entries, key=lambda n: order.index(n) if n in order else 99)}


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/action_response_by_id.json")
    parser.add_argument("--ids", default="all", help="'all' (the paper's nine) or comma-separated env ids")
    parser.add_argument("--starts", type=int, default=10, help="real start states, the same for every env")
    parser.add_argument("--max-steps", type=int, default=1000)
    args = parse_args(parser, tiny={"ids": "DWM-hopper-medium-v0", "starts": 2, "max_steps": 10})
    paper = {env_id(task, quality): (task, quality) for task, quality in paper_datasets()}
    names = list(paper) if args.ids == "all" else args.ids.split(",")
    unknown = [name for name in names if name not in paper]
    if unknown:
        raise SystemExit(f"--ids: {unknown} are not paper ids; expected some of {list(paper)}")
    results = {}
    for name in names:
        if not models_of(*paper[name]):
            print(f"skipping {name}: no DWM or one-step model (bundled or in the user cache); its entry is kept")
            continue
        results[name] = {
            **measure(*paper[name], args.starts, args.max_steps, args.seed, args.device),
            "run": entry_run(args),
        }
    payload = {"starts": args.starts, "max_steps": args.max_steps, "ids": merged(args.json, results)}
    write_result(args.json, payload, args)


if __name__ == "__main__":
    main()
