"""The runs behind the score tables: each method's settings and run names, and one run trained or reused.

``benchmarks/scores.py`` and ``benchmarks/paper_protocol.py`` run their trials as sweeps (:mod:`dwm_gym.sweep`,
whose trials are named as :func:`run_name` names them); ``studies/h1_divergence.py``, whose variants replace the
replay buffer or the data, trains, resumes and archives its runs with :func:`run_one` here. A method is
``<prefix>-<algo>``: prefix ``""`` (model-free), ``OneStep`` or ``DWM``; algo ``TD3BC`` or ``IQL``. Finished runs
are kept as :class:`~dwm_gym.evaluation.run_records.RunRecord` lines in ``--archive/<dataset>.jsonl``
(:mod:`dwm_gym.benchmarking.run_archive`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dwm_gym.agents.run_config import AlgorithmName
from dwm_gym.benchmarking.run_archive import archive_finished, archived_record, finished, same_run
from dwm_gym.evaluation.run_records import RunRecordError, record_from_run_folder

ALGOS: dict[str, AlgorithmName] = {"TD3BC": "td3bc", "IQL": "iql"}  # a method's algorithm suffix -> AgentRunConfig.algo

METHODS = ["TD3BC", "OneStep-TD3BC", "DWM-TD3BC", "IQL", "OneStep-IQL", "DWM-IQL"]
DEFAULT_HORIZON = 5
# the arguments that set a run's method (its name, its config, its cache): scores.py's options, with their
# defaults; the scripts that drive run_one (paper_protocol, h1_divergence) set them with method_settings()
METHOD_SETTINGS = {
    "horizon": DEFAULT_HORIZON,
    "onestep_horizon": DEFAULT_HORIZON,
    "rtg": None,
    "data_termination": False,
    "dwm_checkpoint": None,
    "dwm_label": None,
    "cache_seed": 0,
}


def method_settings(args: argparse.Namespace, **changes) -> argparse.Namespace:
    """A copy of ``args`` with every :data:`METHOD_SETTINGS` field: ``changes``, else the default.

    Raises:
        ValueError: On a name that is not a method setting.
    """
    unknown = set(changes) - set(METHOD_SETTINGS)
    if unknown:
        raise ValueError(f"not method settings: {sorted(unknown)}; they are {sorted(METHOD_SETTINGS)}")
    return argparse.Namespace(**{**vars(args), **METHOD_SETTINGS, **changes})


def run_config(method: str, seed: int, args: argparse.Namespace):
    """The :class:`AgentRunConfig` of one (method, seed)."""
    from dwm_gym.agents.runs import AgentRunConfig

    prefix, _, algo = method.rpartition("-")
    if algo not in ALGOS or prefix not in ("", "OneStep", "DWM"):
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    world_model = {"": None, "OneStep": "onestep", "DWM": args.dwm_checkpoint or "dwm"}[prefix]
    # a model-free run has no H: it keeps the default, so --horizon never renames or retrains TD3BC / IQL
    horizon = {"": DEFAULT_HORIZON, "OneStep": args.onestep_horizon, "DWM": args.horizon}[prefix]
    return AgentRunConfig(
        algo=ALGOS[algo],
        dataset=args.dataset,
        world_model=world_model,
        horizon=horizon,
        rtg=args.rtg,
        steps=args.updates,
        seed=seed,
        device="cpu",
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        checkpoint_every=args.eval_every,
        cache_file=shared_cache_file(args) if prefix == "DWM" else None,
        data_termination=args.data_termination and prefix != "",
    )


def dataset_label(dataset_id: str) -> str:
    """``hopper-medium`` for ``dwm_gym/hopper/medium-v0``."""
    from dwm_gym.data.specs import parse_dataset_name

    spec, quality = parse_dataset_name(dataset_id)
    return f"{spec.name}-{quality}"


def dataset_name(args: argparse.Namespace) -> str:
    """``hopper-medium`` for ``--dataset dwm_gym/hopper/medium-v0`` (the folder of the dataset's runs)."""
    return dataset_label(args.dataset)


def run_name(method: str, seed: int, args: argparse.Namespace) -> str:
    """``DWM-TD3BC_s0``; settings other than the defaults are spelled out (``DWM-TD3BC_h3_rtg0.7_s0``)."""
    prefix = method.rpartition("-")[0]
    parts = [method]
    if prefix == "DWM":
        parts += [args.dwm_label] if args.dwm_label else []
        parts += [f"h{args.horizon}"] if args.horizon != DEFAULT_HORIZON else []
        parts += [f"rtg{args.rtg:g}"] if args.rtg is not None else []
        parts += [f"cache{args.cache_seed}"] if args.cache_seed else []
    elif prefix == "OneStep" and args.onestep_horizon != DEFAULT_HORIZON:
        parts.append(f"h{args.onestep_horizon}")
    if prefix and args.data_termination:
        parts.append("dterm")
    return "_".join([*parts, f"s{seed}"])


def run_folder(method: str, seed: int, args: argparse.Namespace) -> Path:
    """Where one run trains (``--runs/<dataset>/<run name>``)."""
    return Path(args.runs) / dataset_name(args) / run_name(method, seed, args)


def archive_file(args: argparse.Namespace) -> Path:
    """The records file of the dataset's finished runs (``--archive/<dataset>.jsonl``)."""
    return Path(args.archive) / f"{dataset_name(args)}.jsonl"


def shared_cache_file(args: argparse.Namespace) -> str:
    """One imagination cache for every DWM run of the dataset and RTG (all seeds, TD3BC and IQL, every H).

    It is filled at the DWM's longest horizon (T - 1) with all states kept, and a run with a shorter H
    reads the first H steps of each segment (``ImaginationCache.load``), so a sweep over H costs one fill.
    ``--cache-seed`` other than 0 gives a cache of its own (``..._seed1.safetensors``), sampled anew.
    """
    label = f"{args.dwm_label}_" if args.dwm_label else ""
    seed = f"_seed{args.cache_seed}" if args.cache_seed else ""
    name = f"dwm_cache_{label}rtg{args.rtg or 'default'}{seed}.safetensors"
    return str(Path(args.runs) / dataset_name(args) / name)


def prepare_shared_cache(args: argparse.Namespace):
    """Fills the shared DWM cache once, in this process, before the runs start (they then load it).

    Returns:
        The filled ``DiffusionMVEReplayBuffer`` (rows in the dataset's transition order).
    """
    import torch

    from dwm_gym.data import OfflineDataset
    from dwm_gym.data.specs import parse_dataset_name
    from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, buffer_from_dataset
    from dwm_gym.world_model.bundled import resolve_checkpoint

    torch.set_num_threads(args.workers)
    dataset = OfflineDataset.from_minari(args.dataset)
    spec, quality = parse_dataset_name(args.dataset)
    settings = dict(
        device="cpu",
        world_model=str(Path(args.dwm_checkpoint or resolve_checkpoint(spec.name, quality, "dwm")).resolve()),
        rtg=args.rtg,
        cache_file=shared_cache_file(args),
        seed=args.cache_seed,
    )
    longest = DiffusionMVEReplayBuffer(1, *spaces(dataset), horizon=0, **settings).max_horizon
    buffer = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, horizon=longest, **settings)
    assert isinstance(buffer, DiffusionMVEReplayBuffer)  # the class passed in above
    print(f"imagination cache: {buffer.prepare_cache(progress=True)}", flush=True)
    return buffer


def spaces(dataset):
    """The (observation, action) spaces of ``dataset``'s real env."""
    import gymnasium as gym

    env = gym.make(dataset.env_id)
    env.close()
    return env.observation_space, env.action_space


def finished_run(method: str, seed: int, args: argparse.Namespace) -> dict | None:
    """The finished run of (method, seed) under ``args``, or None if there is none with these settings.

    It is taken from the archive, else from its ``--runs`` folder (then archived).
    """
    from dwm_gym.agents.run_identity import world_model_digest

    out = run_folder(method, seed, args)
    config = run_config(method, seed, args)
    digest = world_model_digest(config)
    record = _reusable(out, archive_file(args), args.updates, config, digest)
    return None if record is None else {"method": method, "seed": seed, "reused": True, **finished(record)}


def _reusable(out: Path, archive: Path, updates: int, config, digest: str | None):
    """The archived record of a finished run with these settings, else the one in ``out`` (then archived)."""
    stored = archived_record(archive, out.name)
    if stored is not None and same_run(stored, updates, config, digest):
        return stored
    try:
        record = record_from_run_folder(out)
    except RunRecordError:  # no finished run there
        return None
    if not same_run(record, updates, config, digest):
        return None
    return archive_finished(out, archive, updates, config, digest) or record


def run_one(
    method: str,
    seed: int,
    args: argparse.Namespace,
    dataset=None,
    name: str | None = None,
    changes: dict | None = None,
) -> dict:
    """Trains (or reuses, or resumes) one run; returns its final evaluation.

    ``dataset`` (an ``OfflineDataset``) replaces the one ``--dataset`` names, for runs on altered data, and
    ``changes`` replace fields of the run's :class:`AgentRunConfig`; such a run needs its own ``name`` (its
    folder and archive entry, instead of :func:`run_name`).
    """
    import dataclasses

    import torch

    from dwm_gym.agents.run_identity import world_model_digest
    from dwm_gym.agents.runs import LATEST, train_agent

    if (dataset is not None or changes) and name is None:
        raise ValueError("a run on altered data or settings needs its own name=")
    torch.set_num_threads(1)
    out = run_folder(method, seed, args) if name is None else Path(args.runs) / dataset_name(args) / name
    summary_path = out / "agent.json"
    config = dataclasses.replace(run_config(method, seed, args), **(changes or {}))
    digest = world_model_digest(config)
    record = _reusable(out, archive_file(args), args.updates, config, digest)
    if record is not None:
        return {"method": method, "seed": seed, "reused": True, **finished(record)}
    resume = (out / "checkpoints" / LATEST).is_file()
    if summary_path.is_file() and not resume:
        summary_path.unlink()
    start = time.perf_counter()
    train_agent(config, out, resume=resume, progress_bar=False, dataset=dataset)
    seconds = time.perf_counter() - start
    record = archive_finished(out, archive_file(args), args.updates, config, digest) or record_from_run_folder(out)
    return {"method": method, "seed": seed, "seconds": seconds, **finished(record)}
