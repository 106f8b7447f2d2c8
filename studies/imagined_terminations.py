"""How often a DWM imagines the episode ending within H steps, against how often the data does, by RTG.

Diffusion-MVE masks a target after an imagined termination, so a DWM that imagines too few falls
overvalues risky actions. From ``--transitions`` dataset transitions drawn at random: the share
whose episode really terminates within the next H steps, and the share of DWM segments (conditioned
on the dataset's s_t and a_t) that terminate within H steps, for each RTG target. Writes JSON.

python studies/imagined_terminations.py [--checkpoint PATH] [--dataset dwm_gym/hopper/medium-v0]
                                           [--rtgs 0.3,0.5,0.7,max] [--horizon 5] [--transitions 4096]
                                           [--seed 0] [--device auto]
                                           [--json studies/results/imagined_terminations.json] [--tiny]

``--tiny``: 32 transitions of a 400-transition hopper-medium dataset generated into a temporary
folder, RTGs 0.7 and max (smoke test).
"""

from __future__ import annotations

import numpy as np
import torch

from dwm_gym.benchmarking.harness import make_parser, parse_args, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.world_model import load_world_model
from dwm_gym.world_model.bundled import resolve_checkpoint


def real_termination_share(dataset: OfflineDataset, idx: np.ndarray, horizon: int) -> float:
    """Share of transitions ``idx`` whose episode terminates (not truncates) within ``horizon`` steps."""
    ends = np.cumsum([len(e.rewards) for e in dataset.episodes])  # one past each episode's last transition
    terminated = np.array([bool(e.terminations[-1]) for e in dataset.episodes])
    episode = np.searchsorted(ends, idx, side="right")
    steps_left = ends[episode] - idx  # transitions from idx to the episode's end, idx included
    return float(np.mean(terminated[episode] & (steps_left <= horizon)))


def main() -> None:
    parser = make_parser(__doc__, "studies/results/imagined_terminations.json")
    parser.add_argument("--checkpoint", default=None, help="default: the bundled hopper-medium DWM")
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0")
    parser.add_argument("--rtgs", default="0.3,0.5,0.7,max", help="'max' is the checkpoint's rtg_max")
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument("--transitions", type=int, default=4096)
    args = parse_args(parser, tiny={"transitions": 32, "rtgs": "0.7,max"})
    if args.tiny:
        args.dataset = tiny_dataset()
    checkpoint = args.checkpoint or resolve_checkpoint("hopper", "medium", "dwm")
    dataset = OfflineDataset.from_minari(args.dataset)
    model = load_world_model(checkpoint, env=dataset.env_id, device=args.device)
    if not 1 <= args.horizon <= model.max_steps:
        raise SystemExit(f"--horizon must be in 1..{model.max_steps}, got {args.horizon}")
    transitions = dataset.transitions
    rng = np.random.default_rng(args.seed)
    idx = rng.choice(len(transitions["rewards"]), size=args.transitions, replace=False)
    rows = {"data": real_termination_share(dataset, idx, args.horizon)}
    for text in args.rtgs.split(","):
        rtg = float(model.info["rtg_max"]) if text == "max" else float(text)
        generator = torch.Generator(device=model.device).manual_seed(args.seed)
        obs, actions = transitions["observations"][idx], transitions["actions"][idx]
        seg = model.rollout(obs, actions, args.horizon, rtg=rtg, generator=generator)
        rows[f"DWM, RTG {rtg:.3f}"] = float(seg.terminated[:, args.horizon - 1].float().mean())
    print(f"terminated within H = {args.horizon} steps, {args.transitions} dataset transitions")
    for name, share in rows.items():
        print(f"{name:>18s}: {share:.4f}")
    write_result(args.json, {"checkpoint": str(checkpoint), "shares": rows}, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
