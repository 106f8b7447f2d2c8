"""``dwm-gym dataset`` and ``dwm-gym behavior``: D4RL-recipe datasets and the behaviour policies behind them."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import get_args

from dwm_gym.data.specs import Refs
from dwm_gym.utils.checks import int_at_least
from dwm_gym.utils.cli_fields import add_dataclass_arguments, dataclass_from_args


@dataclass
class DatasetMakeOptions:
    """Options of ``dataset make``.

    Attributes:
        name: ``{hopper,walker2d,halfcheetah}-{random,medium,medium-replay,expert,medium-expert}``.
        steps: Transitions (default 1M; per part for medium-expert).
        seed: Seed of the envs and of the action noise.
        num_envs: Env copies stepped side by side.
        force: Replace an existing dataset.
        train_missing_policies: Train a missing behaviour policy (``--no-train``: fail instead).
        policy_steps: SAC steps when a policy must be trained.
    """

    name: str
    steps: int | None = None
    seed: int = 0
    num_envs: int = 16
    force: bool = False
    train_missing_policies: bool = True
    policy_steps: int = 1_000_000


@dataclass
class DatasetInfoOptions:
    """Options of ``dataset info``.

    Attributes:
        id: Minari id (``dwm_gym/hopper/medium-v0``) or short name (``hopper-medium``).
    """

    id: str


@dataclass
class BehaviorTrainOptions:
    """Options of ``behavior train``.

    Attributes:
        task: ``hopper``, ``walker2d`` or ``halfcheetah`` (or its env id, e.g. ``Hopper-v5``).
        run_dir: Folder of the run: snapshots, replay stream, logs.
        steps: SAC env steps.
        seed: Seed of SAC and its env.
        resume: Continue the run in ``--run-dir``.
        allow_pickle: Resume a run checkpointed as SB3 pickles by an earlier version (runs code: only your own
            folders).
    """

    task: str
    run_dir: str
    steps: int = 1_000_000
    seed: int = 0
    resume: bool = False
    allow_pickle: bool = False


@dataclass
class BehaviorExportOptions:
    """Options of ``behavior export``.

    Attributes:
        task: ``hopper``, ``walker2d`` or ``halfcheetah`` (the run's task).
        run_dir: Folder of a ``behavior train`` run.
        out: Folder (the package ships ``dwm_gym/data/behavior/assets``).
        eval_episodes: Episodes that re-evaluate each chosen actor.
    """

    task: str
    run_dir: str
    out: str
    eval_episodes: int = 50


def _dataset_make(args: argparse.Namespace) -> int:
    from dwm_gym.data import make_dataset

    options = dataclass_from_args(DatasetMakeOptions, args)
    dataset = make_dataset(
        options.name,
        steps=options.steps,
        seed=options.seed,
        num_envs=options.num_envs,
        overwrite=options.force,
        train_missing_policies=options.train_missing_policies,
        policy_training_steps=options.policy_steps,
    )
    meta = dataset.metadata
    print(f"{dataset.dataset_id}: {dataset.num_episodes} episodes, {dataset.num_transitions} steps")
    finished = meta["mean_return_finished_episodes"]
    finished_text = (  # no NaN printed: with a tiny budget no episode may finish
        f"{finished:.1f}" if finished == finished else "none: every episode was cut by the step budget"
    )
    print(f"mean episode return {meta['mean_return']:.1f} (episodes not cut by the step budget: {finished_text})")
    if dataset.task is not None and dataset.env_id is not None:
        from dwm_gym.evaluation import normalized_score

        scores = {refs: float(normalized_score(dataset.env_id, meta["mean_return"], refs)) for refs in get_args(Refs)}
        print(
            f"normalized: {scores['v5']:.3f} with the v5 references (Minari's ref_min/max_score, what "
            f"minari.get_normalized_score gives), {scores['d4rl']:.3f} with D4RL's"
        )
    for part in meta["parts"]:
        if "policy_mean_return" in part:
            print(
                f"  {part['part']} policy: {part['policy']}, measured return {part['policy_mean_return']:.1f} "
                f"± {part['policy_std_return']:.1f} over {part['policy_eval_episodes']} episodes"
            )
    return 0


def _dataset_list(args: argparse.Namespace) -> int:
    from dwm_gym.data.minari_io import datasets_root, list_local_datasets

    ids = list_local_datasets()
    print(f"Minari datasets under {datasets_root()}:")
    for dataset_id in ids:
        print(f"  {dataset_id}")
    if not ids:
        print("  (none) — make one with: dwm-gym dataset make hopper-medium")
    return 0


def _dataset_info(args: argparse.Namespace) -> int:
    from dwm_gym.data import OfflineDataset
    from dwm_gym.data.specs import dataset_id, parse_dataset_name

    target = dataclass_from_args(DatasetInfoOptions, args).id
    if "/" not in target:
        spec, quality = parse_dataset_name(target)
        target = dataset_id(spec.name, quality)
    dataset = OfflineDataset.from_minari(target)
    summary = dataset.summary()
    summary["provenance"] = {k: v for k, v in dataset.metadata.items() if k != "budget_cut_episodes"}
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _behavior_train(args: argparse.Namespace) -> int:
    from dwm_gym.data.behavior.sac_training import SACTrainingConfig, train_behavior_sac
    from dwm_gym.data.specs import task_spec

    options = dataclass_from_args(BehaviorTrainOptions, args)
    spec = task_spec(options.task)
    config = SACTrainingConfig(env_id=spec.env_id, total_steps=options.steps, seed=options.seed)
    train_behavior_sac(config, options.run_dir, resume=options.resume, allow_pickle=options.allow_pickle)
    return 0


def _behavior_export(args: argparse.Namespace) -> int:
    from dwm_gym.data.behavior.export import export_behavior

    options = dataclass_from_args(BehaviorExportOptions, args)
    summary = export_behavior(options.run_dir, options.task, options.out, eval_episodes=options.eval_episodes)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def add_data_parsers(commands: argparse._SubParsersAction) -> None:
    """Adds the ``dataset`` and ``behavior`` command groups to ``commands``."""
    dataset = commands.add_parser("dataset", help="offline datasets (Minari)").add_subparsers(
        dest="action", required=True
    )
    make = dataset.add_parser("make", help="generate a D4RL-recipe dataset, e.g. hopper-medium")
    add_dataclass_arguments(
        make,
        DatasetMakeOptions,
        positional={"name"},
        rename={"train_missing_policies": "train"},
        overrides={
            "steps": {"type": int_at_least(1)},
            "seed": {"type": int_at_least(0)},
            "num_envs": {"type": int_at_least(1)},
            "policy_steps": {"type": int_at_least(1)},
        },
    )
    make.set_defaults(func=_dataset_make)
    dataset.add_parser("list", help="Minari datasets on disk").set_defaults(func=_dataset_list)
    info = dataset.add_parser("info", help="size, returns and provenance of a dataset")
    add_dataclass_arguments(info, DatasetInfoOptions, positional={"id"})
    info.set_defaults(func=_dataset_info)

    behavior = commands.add_parser("behavior", help="behaviour policies (SB3 SAC)").add_subparsers(
        dest="action", required=True
    )
    train = behavior.add_parser("train", help="train SAC, recording snapshots and its replay stream")
    add_dataclass_arguments(
        train, BehaviorTrainOptions, overrides={"steps": {"type": int_at_least(1)}, "seed": {"type": int_at_least(0)}}
    )
    train.set_defaults(func=_behavior_train)
    export = behavior.add_parser("export", help="pick medium/expert snapshots of a run and write the policy files")
    add_dataclass_arguments(export, BehaviorExportOptions, overrides={"eval_episodes": {"type": int_at_least(1)}})
    export.set_defaults(func=_behavior_export)
