"""World-model error tables for several datasets: DWM vs one-step model vs the behaviour-noise floor.

For each dataset, the bundled (or ``$DWM_GYM_HOME``) DWM and one-step model of that dataset are compared
on held-out windows of their own held-out episodes (``world-model eval``'s protocol, docs/world_model.md):

* DWM: conditioned on s_t, the true a_t and the window's own RTG;
* one-step, true actions: rolled out with the window's actions (the paper's protocol);
* one-step, policy actions: a_t, then actions the behaviour policy samples (the DWM's information);
* noise floor: two real rollouts from the same (s_t, a_t) with independent behaviour-policy noise.

Which behaviour policy: medium data, the medium actor; medium-replay data, the medium actor too (the data
come from SAC while it trained, so no single policy made them: the medium actor, where the stream ends,
is the nearest, and the floor is then approximate); medium-expert data, each part on its own: windows of
medium episodes with the medium actor, windows of expert episodes with the expert actor (data/parts.py).

python benchmarks/world_model_errors.py [--datasets hopper-medium,hopper-medium-replay,hopper-medium-expert]
                                        [--windows 500] [--seed 0] [--device auto]
                                        [--json benchmarks/results/world_model_errors.json] [--tiny]

``--tiny``: the bundled hopper-medium models on 16 windows of a 400-transition hopper-medium dataset
generated into a temporary folder.
"""

from __future__ import annotations

from dwm_gym.benchmarking.harness import make_parser, parse_args, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.data.parts import episode_parts
from dwm_gym.data.specs import dataset_id, parse_dataset_name
from dwm_gym.evaluation.model_error import model_error_by_horizon
from dwm_gym.evaluation.noise_floor import behaviour_noise_floor
from dwm_gym.world_model import load_world_model
from dwm_gym.world_model.bundled import resolve_checkpoint

COLUMNS = ("DWM", "one-step, true actions", "one-step, policy actions", "noise floor")


def groups(dataset: OfflineDataset, info: dict, quality: str) -> list[tuple[str, OfflineDataset, str]]:
    """(label, held-out episodes, behaviour policy name) of each table: one per part for medium-expert."""
    import numpy as np

    held = dataset.split_indices(info["held_out_fraction"], np.random.default_rng(info["split_seed"]))[1]
    if quality != "medium-expert":
        return [("all held-out episodes", dataset.subset(held, "held-out"), "medium")]
    parts = episode_parts(dataset)
    return [
        (f"{part} episodes", dataset.subset([i for i in held if parts[i] == part], f"held-out {part}"), part)
        for part in ("medium", "expert")
    ]


def measure(name: str, windows: int, seed: int, device: str, data_id: str | None = None) -> dict:
    """The error tables of one dataset (``name`` like ``hopper-medium``)."""
    spec, quality = parse_dataset_name(name)
    paths = {kind: resolve_checkpoint(spec.name, quality, kind) for kind in ("dwm", "onestep")}
    dwm, onestep = (load_world_model(paths[k], env=spec.env_id, device=device) for k in ("dwm", "onestep"))
    if dwm.info["split_seed"] != onestep.info["split_seed"] or dwm.info["dataset_id"] != onestep.info["dataset_id"]:
        raise ValueError(f"{name}: the DWM and the one-step model were trained on different splits")
    dataset = OfflineDataset.from_minari(data_id or dataset_id(spec.name, quality))
    length = dwm.segment_length
    tables = []
    for label, held, policy_name in groups(dataset, dwm.info, quality):
        policy = load_behavior_policy(spec.name, policy_name)
        rows = {
            "DWM": model_error_by_horizon(dwm, held, windows, length, seed=seed),
            "one-step, true actions": model_error_by_horizon(onestep, held, windows, length, seed=seed),
            "one-step, policy actions": model_error_by_horizon(
                onestep, held, windows, length, seed=seed, behaviour_policy=policy
            ),
            "noise floor": behaviour_noise_floor(held, policy, windows, length, seed),
        }
        tables.append({"episodes": label, "policy": policy_name, "episodes_held_out": held.num_episodes, **rows})
        print(f"\n{name}, {label} ({rows['DWM']['windows']} windows), behaviour policy: {policy_name}")
        print("| step | " + " | ".join(f"{c} state" for c in COLUMNS) + " | DWM reward | one-step reward |")
        for h in range(length):
            cells = [f"{rows[c]['state_mse'][h]:.4f}" for c in COLUMNS]
            rewards = [f"{rows[c]['reward_mse'][h - 1]:.1e}" if h else "" for c in ("DWM", "one-step, true actions")]
            print(f"| {h + 1} | " + " | ".join(cells + rewards) + " |")
        means = [f"**{rows[c]['mean_state_mse']:.4f}**" for c in COLUMNS]
        reward_means = [f"{rows[c]['mean_reward_mse']:.1e}" for c in ("DWM", "one-step, true actions")]
        print("| mean 1–T | " + " | ".join(means + reward_means) + " |")
    models = {"dwm": dwm, "onestep": onestep}
    checkpoints = {k: {"path": str(paths[k]), "train_steps": m.info.get("train_steps")} for k, m in models.items()}
    return {"dataset": dataset.dataset_id, "checkpoints": checkpoints, "tables": tables}


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/world_model_errors.json")
    parser.add_argument("--datasets", default="hopper-medium,hopper-medium-replay,hopper-medium-expert")
    parser.add_argument("--windows", type=int, default=500, help="held-out windows per table")
    args = parse_args(parser, tiny=lambda: {"windows": 16, "datasets": "hopper-medium"})
    data_id = tiny_dataset() if args.tiny else None
    results = [measure(name, args.windows, args.seed, args.device, data_id) for name in args.datasets.split(",")]
    write_result(args.json, {"datasets": results}, args)


if __name__ == "__main__":
    main()
