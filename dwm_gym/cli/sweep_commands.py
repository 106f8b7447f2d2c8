"""``dwm-gym sweep SPEC``: runs (or resumes) a sweep of agent runs on Ray Tune (wired into ``dwm_gym.cli``).

Typical command lines:

    dwm-gym sweep sweeps/hopper_defaults.toml --dry-run          # the trials, without Ray
    dwm-gym sweep sweeps/hopper_defaults.toml                    # on this machine's cores
    dwm-gym sweep sweeps/paper_table.toml --address auto         # on the Ray cluster this node belongs to

Run the same command again after an interruption: finished trials are kept, unfinished ones resume.
"""

from __future__ import annotations

import argparse
import sys

from dwm_gym.utils.checks import int_at_least


def sweep(args: argparse.Namespace) -> int:
    """Handler of ``sweep``: plans the spec's trials, then runs them (or lists them with ``--dry-run``)."""
    from pathlib import Path

    from dwm_gym.sweep import RayNotInstalledError, SweepFailedError, SweepOptions, load_spec, plan_trials, run_sweep
    from dwm_gym.sweep.runner import ClusterUnreachableError, experiment_name

    spec = load_spec(args.spec)
    storage = Path(args.storage).expanduser().resolve()
    if args.dry_run:
        trials = plan_trials(spec, cache_dir=storage / "caches")
        for trial in trials:
            print(f"{trial.name}  {trial.key[:12]}")
        caches = len({t.config.cache_file for t in trials if t.config.cache_file})
        experiment = storage / experiment_name(spec, trials)
        print(f"{len(trials)} trials, {caches} shared imagination caches; experiment {experiment}")
        return 0
    try:
        options = SweepOptions(
            storage=storage,
            address=args.address,
            records=args.records,
            num_cpus=args.num_cpus,
            max_concurrent_trials=args.max_concurrent,
            verbose=args.tune_verbose,
        )
        result = run_sweep(spec, options)
    except (RayNotInstalledError, ClusterUnreachableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SweepFailedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{len(result.records)} trials finished ({spec.label}); experiment {result.experiment}")
    for path in result.record_files:
        print(f"records: {path}")
    return 0


def add_sweep_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Adds ``sweep`` to the ``dwm-gym`` sub-commands; returns its parser."""
    parser = subparsers.add_parser(
        "sweep", help="run a sweep spec (datasets x methods x seeds x grids) on Ray Tune, locally or on a cluster"
    )
    parser.add_argument("spec", help="the sweep's TOML spec (see docs/sweeps.md)")
    parser.add_argument(
        "--storage",
        default="runs/sweeps",
        help="folder of the experiments, caches and run folders; on a cluster, shared by every node "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray on this machine)"
    )
    parser.add_argument("--records", default=None, help="folder of the run records (default: <experiment>/records)")
    parser.add_argument("--num-cpus", type=int_at_least(1), default=None, help="CPUs of the local Ray (default: all)")
    parser.add_argument(
        "--max-concurrent",
        type=int_at_least(0),
        default=0,
        help="at most this many trials at once (default: as resources allow)",
    )
    parser.add_argument("--tune-verbose", type=int, choices=(0, 1, 2), default=1, help="Tune's output (default: 1)")
    parser.add_argument("--dry-run", action="store_true", help="list the trials and exit (Ray not needed)")
    parser.set_defaults(func=sweep)
    return parser
