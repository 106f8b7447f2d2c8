"""Whose future does the DWM imagine on mixed data: the medium policy's or the expert's, by RTG?

On medium-expert data (medium episodes, then expert episodes), for held-out windows (s_t, a_t) of each
part (the checkpoint's own held-out episodes):

* the real futures of both policies from the same (s_t, a_t): ``--branches`` real Hopper-v5 rollouts
  with the medium actor and as many with the expert actor (a_t first, then the policy's actions);
  their per-step means are the two reference futures;
* the DWM's imagined future at each RTG of ``--rtgs`` (and at the part medians of the windows' own RTGs);
* for each, the z-scored state MSE to the medium and to the expert reference future (steps 2..T), the
  share of windows closer to the expert's, and the mean imagined reward per step;
* the same for one more real rollout of each policy (not in the means): what the test gives for a future
  that really is the medium's or the expert's.

python studies/rtg_futures.py [--checkpoint PATH] [--dataset dwm_gym/hopper/medium-expert-v0]
                                 [--windows 200] [--branches 4] [--rtgs 0.3,0.5,0.7,0.9,1.1]
                                 [--seed 0] [--device auto] [--json studies/results/rtg_futures.json] [--tiny]

``--tiny``: the bundled hopper-medium DWM on a 2 x 400-step medium-expert dataset made in a temporary
folder, 8 windows per part, 2 branches.
"""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import torch

from dwm_gym.benchmarking.harness import make_parser, parse_args, scratch_dir, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.data.parts import episode_parts
from dwm_gym.evaluation.model_error import evaluation_windows, state_scale
from dwm_gym.evaluation.noise_floor import real_branch
from dwm_gym.world_model import load_world_model
from dwm_gym.world_model.bundled import resolve_checkpoint


def held_out_by_part(dataset: OfflineDataset, info: dict) -> dict[str, OfflineDataset]:
    """The checkpoint's held-out episodes (all episodes when it trained on other data), split by part."""
    indices = list(range(dataset.num_episodes))
    if info.get("dataset_id") == dataset.dataset_id and "held_out_fraction" in info:
        indices = dataset.split_indices(info["held_out_fraction"], np.random.default_rng(info["split_seed"]))[1]
    parts = episode_parts(dataset)
    return {
        part: dataset.subset([i for i in indices if parts[i] == part], f"held-out {part}")
        for part in dict.fromkeys(parts[indices])
    }


def real_futures(env, states, actions, policy, length: int, count: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``count`` real futures per window: states ``(count, B, T-1, obs)`` and rewards ``(count, B, T-1)``."""
    seeds = rng.integers(2**62, size=(count, len(states)))
    branch = lambda s, a, seed: real_branch(env, s, a, policy, length, np.random.default_rng(seed))  # noqa: E731
    runs = [[branch(s, a, seed) for s, a, seed in zip(states, actions, row)] for row in seeds]
    return np.array([[r[0] for r in run] for run in runs]), np.array([[r[1] for r in run] for run in runs])


def closeness(future: np.ndarray, medium: np.ndarray, expert: np.ndarray, std: np.ndarray) -> dict:
    """Per-window z-scored MSE of ``future`` to the two reference futures, and the summary of the comparison."""
    d_medium = (((future - medium) / std) ** 2).mean((1, 2))
    d_expert = (((future - expert) / std) ** 2).mean((1, 2))
    return {
        "share_closer_to_expert": float(np.mean(d_expert < d_medium)),
        "mse_to_medium": float(d_medium.mean()),
        "mse_to_expert": float(d_expert.mean()),
    }


def main() -> None:
    parser = make_parser(__doc__, "studies/results/rtg_futures.json")
    parser.add_argument("--checkpoint", default=None, help="default: the hopper-medium-expert DWM")
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-expert-v0")
    parser.add_argument("--windows", type=int, default=200, help="held-out windows per part")
    parser.add_argument("--branches", type=int, default=4, help="real rollouts per policy in each reference mean")
    parser.add_argument("--rtgs", default="0.3,0.5,0.7,0.9,1.1", help="RTG targets (task-scaled, as in training)")
    args = parse_args(parser, tiny=lambda: {"windows": 8, "branches": 2, "checkpoint": _tiny_setup()})
    path = args.checkpoint or resolve_checkpoint("hopper", "medium-expert", "dwm")
    model = load_world_model(path, env="Hopper-v5", device=args.device)
    dataset = OfflineDataset.from_minari(args.dataset)
    policies = {name: load_behavior_policy("hopper", name) for name in ("medium", "expert")}
    length, std = model.segment_length, state_scale(dataset)[1]
    env = gym.make(dataset.env_id)
    env.reset(seed=args.seed)
    rng = np.random.default_rng(args.seed)
    rows = {}
    for part, held in held_out_by_part(dataset, model.info).items():
        windows, idx = evaluation_windows(held, length, args.windows, args.seed)
        batch = windows.batch(idx)
        states, actions = batch.states.astype(np.float64), batch.actions.astype(np.float64)
        real = {
            name: real_futures(env, states, actions, policy, length, args.branches + 1, rng)
            for name, policy in policies.items()
        }
        reference = {name: (s[1:].mean(0), r[1:].mean(0)) for name, (s, r) in real.items()}
        row = {"windows": len(idx), "window_rtg_median": float(np.median(batch.rtg)), "real": {}, "imagined": {}}
        for name, (s, r) in real.items():  # the held-back rollout of each policy
            row["real"][name] = {
                **closeness(s[0], reference["medium"][0], reference["expert"][0], std),
                "reward_per_step": float(r[0].mean()),
            }
        rtgs = {f"{g:g}": g for g in (float(x) for x in args.rtgs.split(","))}
        rtgs["the windows' own RTG"] = batch.rtg
        for label, rtg in rtgs.items():
            generator = torch.Generator(device=model.device).manual_seed(args.seed)
            segment = model.rollout(batch.states, batch.actions, length - 1, rtg=rtg, generator=generator)
            imagined = segment.states.cpu().numpy()
            row["imagined"][label] = {
                **closeness(imagined, reference["medium"][0], reference["expert"][0], std),
                "reward_per_step": float(segment.rewards.cpu().numpy().mean()),
                "terminated_share": float(segment.terminated[:, -1].float().mean()),
            }
        rows[part] = row
        print(f"start states from the {part} part ({len(idx)} windows): share of futures closer to the expert's")
        lines = [(f"real {name} rollout", v) for name, v in row["real"].items()]
        lines += [(f"DWM, RTG {label}", v) for label, v in row["imagined"].items()]
        for label, v in lines:
            print(f"  {label:32s} {v['share_closer_to_expert']:.2f}  reward/step {v['reward_per_step']:.3f}")
    env.close()
    write_result(args.json, {"checkpoint": str(path), "dataset": args.dataset, "parts": rows}, args)


def _tiny_setup() -> str:
    """A small medium-expert dataset in a temporary Minari folder; returns the bundled hopper-medium DWM."""
    from dwm_gym.data import make_dataset

    os.environ["MINARI_DATASETS_PATH"] = str(scratch_dir() / "datasets")
    make_dataset("hopper-medium-expert", steps=400, seed=0, num_envs=4, overwrite=True, progress=False)
    return str(resolve_checkpoint("hopper", "medium", "dwm"))


if __name__ == "__main__":
    main()
