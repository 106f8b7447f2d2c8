"""Is the data's median RTG (the library's default target) a sound one? Imagined falls and returns by RTG.

For every bundled (or ``$DWM_GYM_HOME``) DWM of a paper dataset that is on this machine: ``--transitions``
transitions (s_t, a_t) drawn from the model's own data, and one imagined segment of ``--horizon`` steps from each,
at each RTG target of its header: the training windows' minimum, median (the default), 90th percentile and
maximum. Per target: the share of segments that end in an imagined termination, and the mean imagined reward sum
(rewards after a termination masked). The data's own figures from the same transitions are the reference: the
share whose episode terminates within the horizon, and the mean reward sum up to the horizon or the episode's
end.

Merged like the other data-driven benchmarks: a dataset that is missing here, or has no DWM, is skipped with a
message and its committed entry kept; each entry records the run that measured it.

python benchmarks/rtg_default.py [--datasets all | walker2d-medium,...] [--transitions 2000] [--horizon 7]
                                 [--seed 0] [--device auto] [--json benchmarks/results/rtg_default.json] [--tiny]

``--tiny``: the bundled hopper-medium DWM on 16 transitions of a 400-transition hopper-medium dataset generated
into a temporary folder.
"""

from __future__ import annotations

import numpy as np
import torch

from dwm_gym.benchmarking.harness import entry_run, make_parser, parse_args, tiny_dataset, write_dataset_entries
from dwm_gym.data import OfflineDataset
from dwm_gym.data.minari_io import list_local_datasets
from dwm_gym.data.specs import dataset_id, paper_datasets, parse_dataset_name
from dwm_gym.world_model import load_world_model
from dwm_gym.world_model.bundled import CheckpointNotFoundError, resolve_checkpoint

TARGETS = (("min", "rtg_min"), ("median (default)", "rtg_median"), ("p90", "rtg_p90"), ("max", "rtg_max"))


def data_futures(dataset: OfflineDataset, idx: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Per transition: does its episode terminate within ``horizon`` steps, and its reward sum up to there."""
    lengths = np.array([len(e.rewards) for e in dataset.episodes])
    ends = np.cumsum(lengths)  # one past each episode's last transition
    terminated = np.array([bool(e.terminations[-1]) for e in dataset.episodes])
    episode = np.searchsorted(ends, idx, side="right")
    steps_left = ends[episode] - idx
    rewards = dataset.transitions["rewards"]
    sums = np.array([rewards[i : i + min(horizon, left)].sum() for i, left in zip(idx, steps_left)])
    return terminated[episode] & (steps_left <= horizon), sums


def imagined(model, states: np.ndarray, actions: np.ndarray, horizon: int, rtg: float, seed: int, falls) -> dict:
    """Termination share and mean masked reward sum of one segment per (s, a) at target ``rtg``.

    ``falls`` marks the transitions whose real episode terminates within the horizon: the share of those
    the model also ends is ``terminated_where_data_does`` (None when the data has none).
    """
    generator = torch.Generator(device=model.device).manual_seed(seed)
    segment = model.rollout(states, actions, horizon, rtg=rtg, generator=generator)
    ended = segment.terminated.cpu().numpy()
    alive = np.concatenate([np.ones((len(states), 1), bool), ~ended[:, :-1]], axis=1)
    rewards = segment.rewards.cpu().numpy() * alive
    return {
        "rtg": rtg,
        "terminated": float(ended[:, -1].mean()),
        "terminated_where_data_does": float(ended[falls, -1].mean()) if falls.any() else None,
        "reward_sum": float(rewards.sum(1).mean()),
    }


def measure(name: str, transitions: int, horizon: int, seed: int, device: str, data_id: str | None = None) -> dict:
    """The RTG rows of one dataset's DWM."""
    spec, quality = parse_dataset_name(name)
    path = resolve_checkpoint(spec.name, quality, "dwm")
    model = load_world_model(path, env=spec.env_id, device=device)
    dataset = OfflineDataset.from_minari(data_id or dataset_id(spec.name, quality))
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(dataset.num_transitions, size=min(transitions, dataset.num_transitions), replace=False))
    states, actions = dataset.transitions["observations"][idx], dataset.transitions["actions"][idx]
    ends, sums = data_futures(dataset, idx, horizon)
    rows = {
        label: imagined(model, states, actions, horizon, float(model.info[key]), seed, ends) for label, key in TARGETS
    }
    data = {"terminated": float(ends.mean()), "reward_sum": float(sums.mean()), "terminations": int(ends.sum())}
    print(f"{name}: data terminated {data['terminated']:.3f}, reward sum {data['reward_sum']:.2f}")
    for label, row in rows.items():
        recall = row["terminated_where_data_does"]
        print(
            f"  RTG {label:16s} {row['rtg']:.3f}: terminated {row['terminated']:.3f} (where the data does: {recall}),"
            f" reward {row['reward_sum']:.2f}"
        )
    return {"checkpoint": path.name, "transitions": len(idx), "horizon": horizon, "data": data, "rtg": rows}


def skip_reason(name: str) -> str | None:
    """Why ``name`` cannot be measured here (no DWM, or no dataset), or None."""
    spec, quality = parse_dataset_name(name)
    try:
        resolve_checkpoint(spec.name, quality, "dwm")
    except CheckpointNotFoundError:
        return "no DWM (bundled or in the user cache)"
    if dataset_id(spec.name, quality) not in list_local_datasets():
        return f"dataset {dataset_id(spec.name, quality)} is not on this machine (dwm-gym dataset make {name})"
    return None


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/rtg_default.json")
    parser.add_argument("--datasets", default="all", help="'all' (the paper's nine) or comma-separated names")
    parser.add_argument("--transitions", type=int, default=2000)
    parser.add_argument("--horizon", type=int, default=7, help="imagined steps per segment (at most T - 1)")
    args = parse_args(parser, tiny={"datasets": "hopper-medium", "transitions": 16})
    data_id = tiny_dataset() if args.tiny else None
    names = [f"{t}-{q}" for t, q in paper_datasets()] if args.datasets == "all" else args.datasets.split(",")
    results = {}
    for name in names:
        reason = None if args.tiny else skip_reason(name)
        if reason:
            print(f"skipping {name}: {reason}; its entry in {args.json}, if any, is kept")
            continue
        results[name] = {
            **measure(name, args.transitions, args.horizon, args.seed, args.device, data_id),
            "run": entry_run(args),
        }
    write_dataset_entries(args.json, results, args)


if __name__ == "__main__":
    main()
