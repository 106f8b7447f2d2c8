"""What every benchmark and study script shares: the common flags, the machine and run records, the atomic JSON write.

The scripts (``benchmarks/<name>.py``, ``studies/<name>.py``) import it as ``dwm_gym.benchmarking.harness``.

``--tiny`` is the smallest run that still goes through every code path of a script (a smoke test of a
few seconds): :func:`parse_args` swaps the script's defaults for its tiny ones (flags given explicitly
still win), and its JSON goes to a temporary file unless ``--json`` says where, never to
``benchmarks/results``.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dwm_gym._version import __version__
from dwm_gym.utils import provenance
from dwm_gym.utils.atomic import atomic_write_text
from dwm_gym.utils.provenance import machine_info, package_source

REPOSITORY = Path(__file__).resolve().parents[2]  # the checkout holding the package and its scripts
TINY_DATASET_STEPS = 400  # transitions of the dataset a --tiny run generates (a few hopper-medium episodes)
_scratch: Path | None = None


def make_parser(
    description: str, json_default: str | None, device: str | None = "auto", seed: int | None = 0
) -> argparse.ArgumentParser:
    """A parser with the flags every script shares: ``--json``, ``--tiny``, and ``--device``/``--seed``.

    Args:
        description: The script's module docstring (shown verbatim by ``--help``).
        json_default: Default output path (None: the script derives one).
        device: Default of ``--device``; None leaves the flag out (the script has no device choice).
        seed: Default of ``--seed``; None leaves the flag out (e.g. the script takes ``--seeds``).
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", default=json_default, help=f"output JSON (default: {json_default})")
    if device is not None:
        parser.add_argument("--device", default=device, help="auto, cpu, cuda or cuda:N")
    if seed is not None:
        parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--tiny", action="store_true", help="smallest run through every code path (smoke test)")
    return parser


def parse_args(
    parser: argparse.ArgumentParser,
    tiny: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    argv: list[str] | None = None,
) -> argparse.Namespace:
    """Parses the command line; with ``--tiny``, the ``tiny`` defaults (a mapping, or a function making one).

    Under ``--tiny`` the JSON defaults to ``<tmp>/dwm_gym_benchmarks/<script>.json``.
    """
    args = parser.parse_args(argv)
    if args.tiny:
        json_path = Path(tempfile.gettempdir()) / "dwm_gym_benchmarks" / f"{Path(parser.prog).stem}.json"
        parser.set_defaults(json=str(json_path), **((tiny() if callable(tiny) else tiny) or {}))
        args = parser.parse_args(argv)
    return args


def scratch_dir() -> Path:
    """A temporary folder of this process (made on first use, removed at exit), for --tiny runs' files."""
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="dwm_gym_bench_"))
        atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
    return _scratch


def tiny_dataset(folder: str | os.PathLike | None = None, steps: int = TINY_DATASET_STEPS) -> str:
    """Generates a small ``dwm_gym/hopper/medium-v0`` and points ``MINARI_DATASETS_PATH`` at it.

    Args:
        folder: The Minari datasets folder (default: under :func:`scratch_dir`); kept when it holds one.
        steps: Transitions (the shipped medium policy, seed 0).

    Returns:
        The dataset id.
    """
    from dwm_gym.data import make_dataset

    folder = Path(folder) if folder is not None else scratch_dir() / "datasets"
    os.environ["MINARI_DATASETS_PATH"] = str(folder.resolve())
    if not list(folder.rglob("*.hdf5")):
        make_dataset("hopper-medium", steps=steps, seed=0, num_envs=4, overwrite=True, progress=False)
    return "dwm_gym/hopper/medium-v0"


def git_commit(checkout: Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, has uncommitted changes to tracked files) of a git checkout (the scripts' unless given)."""
    return provenance.git_commit(checkout or REPOSITORY)


def run_info(args: argparse.Namespace) -> dict[str, Any]:
    """dwm_gym version and source, the scripts' git commit (None outside git), UTC date and the arguments.

    ``commit``/``dirty`` are the benchmark scripts' checkout; ``package`` is :func:`package_source`, the
    code that actually ran, which differs when the scripts run from another checkout than the installed one.
    """
    commit, dirty = git_commit()
    plain = (str, int, float, bool, type(None))
    return {
        "script": script_path(),
        "version": __version__,
        "package": package_source(),
        "commit": commit,
        "dirty": dirty,
        "date": provenance.utc_now(),
        "arguments": {k: v if isinstance(v, plain) else str(v) for k, v in vars(args).items()},
    }


def entry_run(args: argparse.Namespace) -> dict[str, Any]:
    """The commit, date, arguments and machine of this run, for one entry of a result file that merges several runs.

    A data-driven benchmark keeps the entries it did not measure, so the file's top-level ``run`` describes only
    its latest invocation; each entry carries the run that measured it.
    """
    info, machine = run_info(args), machine_info()
    return {
        **{key: info[key] for key in ("commit", "dirty", "date", "arguments")},
        "machine": {key: machine.get(key) for key in ("processor", "cpu_count", "cuda")},
    }


def script_path() -> str:
    """The running script's path relative to the repository (``benchmarks/sampler.py``), else its file name."""
    script = Path(sys.argv[0]).resolve()
    return str(script.relative_to(REPOSITORY)) if script.is_relative_to(REPOSITORY) else script.name


def command_line(args: argparse.Namespace, positional: tuple[str, ...] = ()) -> str:
    """The command that repeats this run with every setting spelled out (``positional``: those arguments' names)."""
    words = ["python", script_path(), *(str(getattr(args, name)) for name in positional)]
    for key, value in vars(args).items():
        if key in positional or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        words += [flag] if value is True else [flag, str(value)]
    return shlex.join(words)


def write_result(path: str | os.PathLike, payload: Mapping[str, Any], args: argparse.Namespace) -> Path:
    """Writes ``{"run": run_info(args), "machine": machine_info(), **payload}`` as JSON, atomically.

    Raises:
        ValueError: If ``payload`` has its own ``run`` or ``machine`` key.
    """
    if {"run", "machine"} & set(payload):
        raise ValueError("payload must not hold 'run' or 'machine': write_result adds them")
    result = {"run": run_info(args), "machine": machine_info(), **payload}
    return atomic_write_text(path, json.dumps(result, indent=2) + "\n")


def write_dataset_entries(path: str | os.PathLike, results: Mapping[str, Any], args: argparse.Namespace) -> Path:
    """Merges per-dataset ``results`` into the ``datasets`` of the result file at ``path`` and writes it.

    Entries of datasets not measured now are kept; the file lists them in the paper's order
    (:func:`~dwm_gym.data.specs.paper_datasets`), others after. For data-driven benchmarks (one entry per dataset,
    each with its own :func:`entry_run`).
    """
    from dwm_gym.data.specs import paper_datasets

    file = Path(path)
    entries = json.loads(file.read_text()).get("datasets", {}) if file.is_file() else {}
    order = [f"{t}-{q}" for t, q in paper_datasets()]
    entries.update(results)
    ordered = {n: entries[n] for n in sorted(entries, key=lambda n: order.index(n) if n in order else len(order))}
    return write_result(path, {"datasets": ordered}, args)
