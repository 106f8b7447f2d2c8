"""World-model error tables for the paper's datasets: DWM vs one-step model vs the behaviour-noise floor.

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

Data-driven: by default every paper dataset with a model of either kind is measured. A dataset that is not on
this machine, or has no model at all, is skipped with a message, and its entry already in ``--json`` is kept: the
file is merged, entry by entry, so a rerun after a new model lands updates only what it measured. A dataset with
one kind only gets that kind's columns (and the noise floor). Each entry records the run that measured it.

python benchmarks/world_model_errors.py [--datasets all | none | hopper-medium,walker2d-medium,...]
                                        [--windows 500] [--seed 0] [--device auto] [--plots docs/img]
                                        [--json benchmarks/results/world_model_errors.json] [--tiny]

After writing the JSON it draws one figure per task from all its entries, ``<plots>/world_model_errors_<task>.png``
(per-step state error of each model and the noise floor); ``--datasets none`` only redraws them. Then
``python benchmarks/render_docs.py`` puts the tables into docs/world_model.md.

``--tiny``: the bundled hopper-medium models on 16 windows of a 400-transition hopper-medium dataset
generated into a temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from dwm_gym.benchmarking.harness import entry_run, make_parser, parse_args, scratch_dir, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.data.minari_io import list_local_datasets
from dwm_gym.data.parts import episode_parts
from dwm_gym.data.specs import dataset_id, paper_datasets, parse_dataset_name
from dwm_gym.evaluation.model_error import model_error_by_horizon
from dwm_gym.evaluation.noise_floor import behaviour_noise_floor
from dwm_gym.world_model import load_world_model
from dwm_gym.world_model.bundled import CheckpointNotFoundError, resolve_checkpoint

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


SEGMENT_LENGTH = 8  # T of the bundled DWMs and of the paper's error table (steps 1..T, step 1 is s_t)


def available_models(task: str, quality: str) -> dict[str, Path]:
    """The checkpoint of each kind (``dwm``, ``onestep``) that exists for the dataset; missing kinds left out."""
    paths = {}
    for kind in ("dwm", "onestep"):
        try:
            paths[kind] = resolve_checkpoint(task, quality, kind)
        except CheckpointNotFoundError:
            pass
    return paths


def measure(name: str, windows: int, seed: int, device: str, data_id: str | None = None) -> dict:
    """The error tables of one dataset (``name`` like ``hopper-medium``), with the models of it that exist.

    Raises:
        CheckpointNotFoundError: If neither kind has a model.
        ValueError: If the two models were trained on different splits or data.
    """
    spec, quality = parse_dataset_name(name)
    paths = available_models(spec.name, quality)
    if not paths:
        raise CheckpointNotFoundError(f"{name}: no DWM and no one-step model (bundled or in the user cache)")
    models = {k: load_world_model(p, env=spec.env_id, device=device) for k, p in paths.items()}
    splits = {(m.info["split_seed"], m.info["held_out_fraction"], m.info["dataset_id"]) for m in models.values()}
    if len(splits) > 1:
        raise ValueError(f"{name}: the DWM and the one-step model were trained on different splits: {splits}")
    dataset = OfflineDataset.from_minari(data_id or dataset_id(spec.name, quality))
    info = next(iter(models.values())).info
    dwm, onestep = models.get("dwm"), models.get("onestep")
    length = dwm.segment_length if dwm is not None else SEGMENT_LENGTH
    tables = []
    for label, held, policy_name in groups(dataset, info, quality):
        policy = load_behavior_policy(spec.name, policy_name)
        rows = {}
        if dwm is not None:
            rows["DWM"] = model_error_by_horizon(dwm, held, windows, length, seed=seed)
        if onestep is not None:
            rows["one-step, true actions"] = model_error_by_horizon(onestep, held, windows, length, seed=seed)
            rows["one-step, policy actions"] = model_error_by_horizon(
                onestep, held, windows, length, seed=seed, behaviour_policy=policy
            )
        rows["noise floor"] = behaviour_noise_floor(held, policy, windows, length, seed)
        tables.append({"episodes": label, "policy": policy_name, "episodes_held_out": held.num_episodes, **rows})
        print_table(f"{name}, {label}, behaviour policy: {policy_name}", rows, length)
    checkpoints = {k: {"path": str(paths[k]), "train_steps": m.info.get("train_steps")} for k, m in models.items()}
    return {"dataset": dataset.dataset_id, "checkpoints": checkpoints, "tables": tables}


def print_table(title: str, rows: dict, length: int) -> None:
    """The per-step table of one group, as markdown on stdout."""
    columns = [c for c in COLUMNS if c in rows]
    print(f"\n{title} ({rows['noise floor']['windows']} windows)")
    print("| step | " + " | ".join(f"{c} state" for c in columns) + " | " + " | ".join(f"{c} reward" for c in columns))
    for h in range(length):
        cells = [f"{rows[c]['state_mse'][h]:.4f}" for c in columns]
        rewards = [f"{rows[c]['reward_mse'][h - 1]:.1e}" if h else "" for c in columns]
        print(f"| {h + 1} | " + " | ".join(cells + rewards) + " |")


def selected(names: str) -> list[str]:
    """``all``: the paper's nine datasets; ``none``: no dataset (redraw the figures); else the comma-separated names."""
    if names == "all":
        return [f"{task}-{quality}" for task, quality in paper_datasets()]
    return [] if names == "none" else names.split(",")


def skip_reason(name: str) -> str | None:
    """Why ``name`` cannot be measured on this machine (no model, or no dataset), or None."""
    spec, quality = parse_dataset_name(name)
    if not available_models(spec.name, quality):
        return f"no DWM or one-step model of {name} (bundled or in the user cache)"
    if dataset_id(spec.name, quality) not in list_local_datasets():
        return f"dataset {dataset_id(spec.name, quality)} is not on this machine (dwm-gym dataset make {name})"
    return None


def merged(path: str, results: list[dict]) -> list[dict]:
    """The entries already in ``path`` with this run's replacing those of the same dataset, in paper order."""
    entries = {}
    if Path(path).is_file():
        entries = {entry["dataset"]: entry for entry in json.loads(Path(path).read_text()).get("datasets", [])}
    entries.update({entry["dataset"]: entry for entry in results})
    order = [dataset_id(task, quality) for task, quality in paper_datasets()]
    return sorted(entries.values(), key=lambda e: order.index(e["dataset"]) if e["dataset"] in order else len(order))


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/world_model_errors.json")
    parser.add_argument("--datasets", default="all", help="'all' (the paper's nine) or comma-separated names")
    parser.add_argument("--windows", type=int, default=500, help="held-out windows per table")
    parser.add_argument("--plots", default="docs/img", help="folder of the per-task figures")
    args = parse_args(
        parser, tiny=lambda: {"windows": 16, "datasets": "hopper-medium", "plots": str(scratch_dir() / "plots")}
    )
    data_id = tiny_dataset() if args.tiny else None
    results = []
    for name in selected(args.datasets):
        reason = None if args.tiny else skip_reason(name)
        if reason:
            print(f"skipping {name}: {reason}; its entry in {args.json}, if any, is kept")
            continue
        results.append({**measure(name, args.windows, args.seed, args.device, data_id), "run": entry_run(args)})
    entries = merged(args.json, results)
    if results:  # nothing measured: the file (and its record of the run that measured it) stays as it is
        write_result(args.json, {"datasets": entries}, args)
    for path in plot_tasks(entries, Path(args.plots)):
        print(f"wrote {path}")


def plot_tasks(entries: list[dict], folder: Path) -> list[Path]:
    """One figure per task: a panel per table, the per-step state MSE of each model and of the noise floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = {"DWM": "C0-o", "one-step, true actions": "C1-s", "one-step, policy actions": "C1--^", "noise floor": "k:"}
    by_task: dict[str, list[tuple[str, dict]]] = {}
    for entry in entries:
        _, task, rest = entry["dataset"].split("/", 2)
        for table in entry["tables"]:
            part = "" if len(entry["tables"]) == 1 else f", {table['episodes']}"
            by_task.setdefault(task, []).append((f"{task}-{rest.rsplit('-v', 1)[0]}{part}", table))
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for task, panels in by_task.items():
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
        for ax, (title, table) in zip(axes[0], panels):
            for column, style in styles.items():
                if column in table:
                    values = table[column]["state_mse"][1:]  # ŝ_{t+1} .. ŝ_{t+T-1}; the floor is 0 at ŝ_{t+1}
                    points = [(h, v) for h, v in enumerate(values, start=1) if v > 1e-12]  # 0 up to rounding
                    ax.plot(*zip(*points), style, label=column, markersize=4)
            ax.set_yscale("log")
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("imagined step h (ŝ_{t+h})")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("state MSE (z-scored)")
        axes[0][-1].legend(fontsize=8)
        fig.tight_layout()
        path = folder / f"world_model_errors_{task}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


if __name__ == "__main__":
    main()
