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
from pathlib import Path

import gymnasium as gym
import numpy as np

from dwm_gym.agents.agent_files import check_env_fits, is_agent_file, is_zip_file, load_agent_file, load_sb3_zip
from dwm_gym.agents.run_checks import check_settings_apply
from dwm_gym.agents.runs import ALGORITHMS, LATEST, AgentRunConfig, train_agent
from dwm_gym.evaluation.policy_eval import evaluate_agent
from dwm_gym.evaluation.scores import normalized_score
from dwm_gym.utils.checks import check_output_file, int_at_least
from dwm_gym.utils.cli_fields import add_dataclass_arguments, dataclass_from_args

REFS = ["d4rl", "v5"]
# ``agent train`` options are AgentRunConfig's fields (--field-name, its type, default and docstring);
# only what the dataclass cannot say is set here
AGENT_TRAIN_OVERRIDES = {
    "algo": {"choices": list(ALGORITHMS)},
    "dataset": {"required": True},  # no silent default dataset on the command line
    "refs": {"choices": REFS},
}


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


def load_agent(model_path: str | Path, algo: str | None = None, device: str = "auto", allow_pickle: bool = False):
    """Loads a saved agent for evaluation, without rebuilding its (model-based) replay buffer.

    Args:
        model_path: ``model.safetensors`` (or ``checkpoints/latest.safetensors``) of a run; an SB3 ``.zip``
            only with ``allow_pickle``.
        algo: ``td3bc``, ``iql`` or ``td3`` the file must hold; default: any of them (a ``.zip`` needs it, or
            the run's ``agent.json``).
        device: Torch device.
        allow_pickle: Read an SB3 ``.zip`` (a pickle, which runs the code it holds).

    Returns:
        (agent, run summary dict or ``{}``).
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"no saved agent at {model_path}")
    summary = {}
    for folder in (model_path.parent, model_path.parent.parent):
        if (folder / "agent.json").is_file():
            summary = json.loads((folder / "agent.json").read_text())
            break
    plain_buffer = {"replay_buffer_class": None, "replay_buffer_kwargs": {}, "buffer_size": 1}
    if is_agent_file(model_path) or not is_zip_file(model_path):  # a cut or foreign file: its own message
        chosen = {algo: ALGORITHMS[algo]} if algo else ALGORITHMS
        classes = {cls.__name__: cls for cls in chosen.values()}
        return load_agent_file(model_path, classes, device=device, **plain_buffer), summary
    algo = algo or summary.get("config", {}).get("algo")
    if algo not in ALGORITHMS:
        raise ValueError(f"cannot tell the algorithm of {model_path}: pass --algo ({', '.join(ALGORITHMS)})")
    agent = load_sb3_zip(ALGORITHMS[algo], model_path, allow_pickle, device=device, custom_objects=plain_buffer)
    return agent, summary


def agent_eval(args: argparse.Namespace) -> int:
    """Handler of ``agent eval``: deterministic episodes on the real env, return and normalized score."""
    check_output_file(args.json, "--json")
    agent, summary = load_agent(args.model, args.algo, args.device, args.allow_pickle)
    env_id = args.env or summary.get("env_id")
    if env_id is None:
        raise ValueError("cannot tell the env of this agent: pass --env (e.g. Hopper-v5)")
    check_env_fits(agent.observation_space, agent.action_space, gym.make(env_id), args.model)
    result = evaluate_agent(agent, env_id, args.episodes, args.seed, args.refs)
    other = "v5" if args.refs == "d4rl" else "d4rl"
    result[f"normalized_score_{other}"] = float(np.mean(normalized_score(env_id, np.asarray(result["returns"]), other)))
    print(
        f"{env_id}, {args.episodes} episodes: return {result['mean_return']:.1f} ± {result['std_return']:.1f}, "
        f"normalized score {result['normalized_score']:.3f} ({args.refs} references; "
        f"{result[f'normalized_score_{other}']:.3f} with the {other} references"
        + (", as minari.get_normalized_score gives for dwm_gym datasets)" if other == "v5" else ")")
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"model": str(args.model), "env_id": env_id, **result}, indent=2))
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
    evaluate.add_argument("--model", required=True, help="model.safetensors of a run")
    evaluate.add_argument(
        "--allow-pickle",
        action="store_true",
        help="read an SB3 .zip: it is a pickle and runs any code it holds; only for files you trust",
    )
    evaluate.add_argument(
        "--episodes", type=int_at_least(1), default=10, help="deterministic episodes (default: %(default)s)"
    )
    evaluate.add_argument("--algo", choices=list(ALGORITHMS), default=None, help="default: from the run's agent.json")
    evaluate.add_argument("--env", default=None, help="default: from the run's agent.json")
    evaluate.add_argument(
        "--seed", type=int_at_least(0), default=0, help="seed of the first episode (default: %(default)s)"
    )
    evaluate.add_argument(
        "--refs", choices=REFS, default="d4rl", help="normalized-score references (default: %(default)s)"
    )
    evaluate.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    evaluate.add_argument("--json", default=None, help="write the result here")
    evaluate.set_defaults(func=agent_eval)
    return agent
