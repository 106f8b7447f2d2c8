r"""``dwm-gym agent train|eval``: argument parsers and handlers (wired into ``dwm_gym.cli``).

Typical command lines:

    dwm-gym agent train --algo td3bc --dataset hopper-medium --world-model dwm --horizon 5 --rtg 0.8 \
        --steps 100000 --out runs/dwm_td3bc
    dwm-gym agent eval --model runs/dwm_td3bc/model.safetensors --episodes 10
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from dwm_gym.agents.agent_files import check_env_fits
from dwm_gym.agents.run_checks import check_settings_apply
from dwm_gym.agents.run_config import AlgorithmName
from dwm_gym.agents.runs import LATEST, AgentRunConfig, train_agent
from dwm_gym.agents.saved import load_agent
from dwm_gym.data.specs import Refs
from dwm_gym.evaluation.policy_eval import evaluate_agent
from dwm_gym.evaluation.scores import normalized_score
from dwm_gym.utils.checks import check_output_file, int_at_least
from dwm_gym.utils.cli_fields import add_dataclass_arguments, dataclass_from_args

# ``agent train`` options are AgentRunConfig's fields (--field-name, its type, default and docstring);
# only what the dataclass cannot say is set here
AGENT_TRAIN_OVERRIDES: dict[str, dict[str, Any]] = {
    "dataset": {"required": True},  # no silent default dataset on the command line
}


@dataclass
class AgentEvalOptions:
    """Options of ``agent eval``.

    Attributes:
        model: ``model.safetensors`` of a run (an SB3 ``.zip`` only with ``--allow-pickle``).
        allow_pickle: Read an SB3 ``.zip``: it is a pickle and runs any code it holds; only for files you trust.
        episodes: Deterministic episodes.
        algo: The agent's algorithm (default: from the run's ``agent.json``).
        env: The real env (default: from the run's ``agent.json``).
        seed: Seed of the first episode.
        refs: Normalized-score references.
        device: ``auto``, ``cpu`` or ``cuda``.
        json: Write the result here.
    """

    model: str
    allow_pickle: bool = False
    episodes: int = 10
    algo: AlgorithmName | None = None
    env: str | None = None
    seed: int = 0
    refs: Refs = "d4rl"
    device: str = "auto"
    json: str | None = None


def agent_train(args: argparse.Namespace) -> int:
    """Handler of ``agent train``: trains (or resumes) a run into ``--out``."""
    config = dataclass_from_args(AgentRunConfig, args)
    check_settings_apply(config)  # on the command line a flag without effect is a mistake: refused
    try:
        summary = train_agent(config, args.out, args.resume, not args.no_progress, force=args.force)
    except KeyboardInterrupt:
        latest = Path(args.out) / "checkpoints" / LATEST
        where = f"its last checkpoint is {latest}" if latest.is_file() else "it has no checkpoint yet"
        again = "add --resume to continue it" if latest.is_file() else "add --force to start it again"
        print(f"\ninterrupted: {where}; run the same command and {again}", file=sys.stderr)
        return 130
    final = summary["final_evaluation"]
    print(
        f"{config.algo} after {summary['updates']} updates: return {final['mean_return']:.1f} ± "
        f"{final['std_return']:.1f}, normalized score {final['normalized_score']:.3f} ({config.refs} references)"
    )
    print(f"agent: {Path(args.out) / 'model.safetensors'}")
    divergence = summary.get("critic", {}).get("divergence")
    if divergence:
        print(
            f"WARNING: the critic diverged during this run ({divergence}); its score is not trustworthy. "
            f"Curves: {Path(args.out) / 'progress.csv'} (train/critic_loss, train/q_max, imagined/*); "
            "see docs/concepts.md, 'Why Diffusion-MVE diverged'."
        )
    return 0


def agent_eval(args: argparse.Namespace) -> int:
    """Handler of ``agent eval``: deterministic episodes on the real env, return and normalized score."""
    options = dataclass_from_args(AgentEvalOptions, args)
    check_output_file(options.json, "--json")
    agent, summary = load_agent(options.model, options.algo, options.device, options.allow_pickle)
    env_id = options.env or summary.get("env_id")
    if env_id is None:
        raise ValueError("cannot tell the env of this agent: pass --env (e.g. Hopper-v5)")
    check_env_fits(agent.observation_space, agent.action_space, gym.make(env_id), options.model)
    result = evaluate_agent(agent, env_id, options.episodes, options.seed, options.refs)
    other = "v5" if options.refs == "d4rl" else "d4rl"
    result[f"normalized_score_{other}"] = float(np.mean(normalized_score(env_id, np.asarray(result["returns"]), other)))
    print(
        f"{env_id}, {options.episodes} episodes: return {result['mean_return']:.1f} ± {result['std_return']:.1f}, "
        f"normalized score {result['normalized_score']:.3f} ({options.refs} references; "
        f"{result[f'normalized_score_{other}']:.3f} with the {other} references"
        + (", as minari.get_normalized_score gives for dwm_gym datasets)" if other == "v5" else ")")
    )
    if options.json:
        Path(options.json).parent.mkdir(parents=True, exist_ok=True)
        Path(options.json).write_text(json.dumps({"model": str(options.model), "env_id": env_id, **result}, indent=2))
    return 0


def add_agent_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Adds ``agent train|eval`` to the ``dwm-gym`` sub-commands; returns the ``agent`` parser."""
    agent = subparsers.add_parser("agent", help="offline RL agents (TD3BC, IQL, TD3), optionally with Diffusion-MVE")
    actions = agent.add_subparsers(dest="action", required=True)
    train = actions.add_parser("train", help="train an agent offline on a dataset (resumable)")
    add_dataclass_arguments(train, AgentRunConfig, overrides=AGENT_TRAIN_OVERRIDES)
    # aliases of the derived options, and the settings of train_agent() that are not AgentRunConfig fields
    train.add_argument(
        "--fresh",
        dest="cache",
        action="store_false",
        help="fresh DWM samples per minibatch instead of the cache (same as --no-cache)",
    )
    train.add_argument("--out", required=True, help="run folder, e.g. runs/dwm_td3bc")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument(
        "--force", action="store_true", help="replace the run in --out (e.g. one killed before its first checkpoint)"
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=agent_train)
    evaluate = actions.add_parser("eval", help="evaluate a saved agent on the real env")
    add_dataclass_arguments(
        evaluate,
        AgentEvalOptions,
        overrides={"episodes": {"type": int_at_least(1)}, "seed": {"type": int_at_least(0)}},
    )
    evaluate.set_defaults(func=agent_eval)
    return agent
