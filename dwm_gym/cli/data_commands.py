"""``dwm-gym dataset`` and ``dwm-gym behavior``: D4RL-recipe datasets and the behaviour policies behind them."""

from __future__ import annotations

import argparse
import json

from dwm_gym.utils.checks import int_at_least


def _dataset_make(args: argparse.Namespace) -> int:
    from dwm_gym.data import make_dataset

    dataset = make_dataset(
        args.name,
        steps=args.steps,
        seed=args.seed,
        num_envs=args.num_envs,
        overwrite=args.force,
        train_missing_policies=not args.no_train,
        policy_training_steps=args.policy_steps,
    )
    meta = dataset.metadata
    print(f"{dataset.dataset_id}: {dataset.num_episodes} episodes, {dataset.num_transitions} steps")
    finished = meta["mean_return_finished_episodes"]
    finished_text = (  # no NaN printed: with a tiny budget no episode may finish
        f"{finished:.1f}" if finished == finished else "none: every episode was cut by the step budget"
    )
    print(f"mean episode return {meta['mean_return']:.1f} (episodes not cut by the step budget: {finished_text})")
    if dataset.task is not None:
        from dwm_gym.evaluation import normalized_score

        scores = {refs: float(normalized_score(dataset.env_id, meta["mean_return"], refs)) for refs in ("v5", "d4rl")}
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

    target = args.id
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

    spec = task_spec(args.task)
    config = SACTrainingConfig(env_id=spec.env_id, total_steps=args.steps, seed=args.seed)
    train_behavior_sac(config, args.run_dir, resume=args.resume, allow_pickle=args.allow_pickle)
    return 0


def _behavior_export(args: argparse.Namespace) -> int:
    from dwm_gym.data.behavior.export import export_behavior

    summary = export_behavior(args.run_dir, args.task, args.out, eval_episodes=args.eval_episodes)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def add_data_parsers(commands: argparse._SubParsersAction) -> None:
    """Adds the ``dataset`` and ``behavior`` command groups to ``commands``."""
    dataset = commands.add_parser("dataset", help="offline datasets (Minari)").add_subparsers(
        dest="action", required=True
    )
    make = dataset.add_parser("make", help="generate a D4RL-recipe dataset, e.g. hopper-medium")
    make.add_argument("name", help="{hopper,walker2d,halfcheetah}-{random,medium,medium-replay,expert,medium-expert}")
    make.add_argument(
        "--steps", type=int_at_least(1), default=None, help="transitions (default 1M; per part for medium-expert)"
    )
    make.add_argument(
        "--seed",
        type=int_at_least(0),
        default=0,
        help="seed of the envs and of the action noise (default: %(default)s)",
    )
    make.add_argument("--num-envs", type=int_at_least(1), default=16, help="env copies stepped side by side")
    make.add_argument("--force", action="store_true", help="replace an existing dataset")
    make.add_argument("--no-train", action="store_true", help="fail instead of training a missing behaviour policy")
    make.add_argument(
        "--policy-steps", type=int_at_least(1), default=1_000_000, help="SAC steps when a policy must be trained"
    )
    make.set_defaults(func=_dataset_make)
    dataset.add_parser("list", help="Minari datasets on disk").set_defaults(func=_dataset_list)
    info = dataset.add_parser("info", help="size, returns and provenance of a dataset")
    info.add_argument("id", help="Minari id (dwm_gym/hopper/medium-v0) or short name (hopper-medium)")
    info.set_defaults(func=_dataset_info)

    behavior = commands.add_parser("behavior", help="behaviour policies (SB3 SAC)").add_subparsers(
        dest="action", required=True
    )
    train = behavior.add_parser("train", help="train SAC, recording snapshots and its replay stream")
    train.add_argument("--task", required=True, help="hopper, walker2d or halfcheetah (or its env id, e.g. Hopper-v5)")
    train.add_argument("--steps", type=int_at_least(1), default=1_000_000, help="SAC env steps (default: %(default)s)")
    train.add_argument("--seed", type=int_at_least(0), default=0, help="seed of SAC and its env (default: %(default)s)")
    train.add_argument("--run-dir", required=True, help="folder of the run: snapshots, replay stream, logs")
    train.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    train.add_argument(
        "--allow-pickle",
        action="store_true",
        help="resume a run checkpointed as SB3 pickles by an earlier version (runs code: only your own folders)",
    )
    train.set_defaults(func=_behavior_train)
    export = behavior.add_parser("export", help="pick medium/expert snapshots of a run and write the policy files")
    export.add_argument("--task", required=True, help="hopper, walker2d or halfcheetah (the run's task)")
    export.add_argument("--run-dir", required=True, help="folder of a `behavior train` run")
    export.add_argument("--out", required=True, help="folder (the package ships dwm_gym/data/behavior/assets)")
    export.add_argument(
        "--eval-episodes",
        type=int_at_least(1),
        default=50,
        help="episodes that re-evaluate each chosen actor (default: %(default)s)",
    )
    export.set_defaults(func=_behavior_export)
