"""Ray's overhead per trial of a finished sweep: each trial's wall time as Tune saw it against the agent run's own.

Usage:
    python benchmarks/ray_overhead.py --experiment runs/sweeps/<name>-<digest>
                                      [--json benchmarks/results/ray_overhead.json]
    python benchmarks/ray_overhead.py --tiny

Reads the Tune state of a finished ``dwm-gym sweep`` experiment (the folder the command prints) and gives, per
trial (:mod:`dwm_gym.sweep.overhead`): its launch (from a slot freeing to Tune starting it: a new worker process
and its imports), Tune's wall time of the trial from starting it to receiving its last result, Tune's clock inside
the trial's worker, the agent run's own wall time (``train_agent``, which every trial reports as ``run_wall_s``),
and Ray's share, ``(launch + trial - run) / (launch + trial)`` (and without the launch). The aim is under 5 % of a
50k-update trial's wall time: measure it on a sweep that ran uninterrupted (a restored trial's span includes the
interruption). Seconds: reading the state.

``--tiny``: first runs a 2-trial sweep (TD3BC, seeds 0 and 1, 100 updates, one evaluation episode) on a
400-transition dataset through a local Ray of 2 CPUs, in a temporary folder, then reads it. Tiny trials are
mostly overhead: the share means something only at real budgets.
"""

from __future__ import annotations

import argparse

from dwm_gym.benchmarking.harness import command_line, make_parser, parse_args, scratch_dir, tiny_dataset, write_result


def tiny_sweep() -> str:
    """Runs the --tiny sweep in the scratch folder; returns its experiment folder."""
    from dwm_gym.sweep import SweepOptions, run_sweep, spec_from_dict

    tiny_dataset()  # before Ray starts: its workers get MINARI_DATASETS_PATH
    spec = spec_from_dict(
        {
            "name": "ray-overhead-tiny",
            "datasets": ["hopper-medium"],
            "methods": ["TD3BC"],
            "seeds": [0, 1],
            "budget": {"updates": 100, "eval_every": 50, "eval_episodes": 1},
        }
    )
    result = run_sweep(spec, SweepOptions(storage=scratch_dir() / "sweeps", num_cpus=2, verbose=0))
    return str(result.experiment)


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/ray_overhead.json", device=None, seed=None)
    parser.add_argument("--experiment", default=None, help="a finished sweep's experiment folder")
    args = parse_args(parser)
    if args.tiny and args.experiment is None:
        args.experiment = tiny_sweep()
    if args.experiment is None:
        parser.error("give --experiment <storage>/<name>-<digest> (the folder dwm-gym sweep prints), or --tiny")
    report(args)


def report(args: argparse.Namespace) -> None:
    """Prints the table and writes the JSON."""
    from dwm_gym.sweep.overhead import overhead_report

    result = overhead_report(args.experiment)
    print(
        f"{'trial':36s} {'updates':>8s} {'launch (s)':>10s} {'Tune (s)':>9s} {'worker (s)':>10s} {'run (s)':>8s} "
        f"{'overhead':>9s} {'in trial':>9s}"
    )
    for row in result["trials"]:
        print(
            f"{row['name']:36s} {row['updates']:8d} {row['launch_s']:10.1f} {row['trial_s']:9.1f} "
            f"{row['trainable_s']:10.1f} {row['run_s']:8.1f} {row['overhead']:9.1%} {row['overhead_in_trial']:9.1%}"
            + ("  restored: left out of the summary" if row["restored"] else "")
        )
    summary = result["summary"]
    print(
        f"overhead: mean {summary['overhead_mean']:.1%}, max {summary['overhead_max']:.1%}; once started: mean "
        f"{summary['overhead_in_trial_mean']:.1%} ({summary['trials']} trials)"
    )
    write_result(args.json, {"command": command_line(args), **result}, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
