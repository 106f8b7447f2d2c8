"""Runs a sweep on Ray Tune: locally on this machine's cores, or on a Ray cluster (``address`` / ``RAY_ADDRESS``).

``run_sweep(spec)`` plans the trials (:func:`~dwm_gym.sweep.trials.plan_trials`), fills their shared imagination
caches (:mod:`~dwm_gym.sweep.cache_stage`), then runs one Tune experiment whose trials are the agent runs
(:func:`~dwm_gym.sweep.trial.run_trial`). The experiment lives in ``<storage>/<name>-<digest>``, where the digest
is that of its trials' identities: the same spec is the same experiment, and running it again restores it with
Tune (``Tuner.restore``): finished trials are kept, unfinished ones continue from their last checkpoint. A spec
whose trials differ (other settings, another model digest) is another experiment, trained anew.

Each finished trial gives one run record, written to ``<records>/<dataset>.jsonl``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dwm_gym.sweep.cache_stage import fill_caches
from dwm_gym.sweep.live_records import RECORDS_POINTER, record_each_finished_trial
from dwm_gym.sweep.spec import Resources, SweepSpec
from dwm_gym.sweep.trials import Trial, plan_trials, trial_set_digest
from dwm_gym.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)
INSTALL_HINT = 'sweeps run on Ray Tune, an optional extra of dwm_gym: pip install "dwm_gym[sweep]"'


class RayNotInstalledError(ImportError):
    """Ray Tune, the sweep's engine, is not installed (``pip install "dwm_gym[sweep]"``)."""


class ClusterUnreachableError(ConnectionError):
    """The Ray cluster at the sweep's address did not take the connection (wrong address, token authentication)."""


class SweepFailedError(RuntimeError):
    """Some trials of a sweep failed; the finished ones' records are written, and a rerun retries the others."""


@dataclass(frozen=True)
class SweepResult:
    """What a sweep run produced.

    Attributes:
        experiment: The Tune experiment folder (``<storage>/<name>-<digest>``).
        trials: The planned trials.
        records: One run record (plain data) per finished trial, by trial name.
        record_files: The ``<dataset>.jsonl`` files written.
    """

    experiment: Path
    trials: list[Trial]
    records: dict[str, dict[str, Any]]
    record_files: list[Path]


def require_ray() -> Any:
    """The ``ray`` module, with Tune.

    Raises:
        RayNotInstalledError: Saying how to install it.
    """
    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError as error:
        raise RayNotInstalledError(f"{INSTALL_HINT} ({error})") from None
    return ray


def experiment_name(spec: SweepSpec, trials: list[Trial]) -> str:
    """``<spec name>-<digest of the trials' identities>``."""
    return f"{spec.name}-{trial_set_digest(trials)}"


@dataclass(frozen=True)
class SweepOptions:
    """Where and how a sweep runs (not what it trains: that is the spec's); :func:`run_sweep`'s and the CLI's.

    Attributes:
        storage: Folder of the experiments, the shared caches (``storage/caches``) and the run folders. On a
            cluster, a filesystem every node mounts at the same path.
        address: A Ray cluster (``ray://host:10001``, ``host:6379`` or ``auto``); None: ``RAY_ADDRESS``, else a
            local Ray instance on this machine.
        records: Folder of the records (None: ``<experiment>/records``).
        num_cpus: CPUs of the local Ray instance (None: all of them); ignored with an address.
        max_concurrent_trials: At most this many trials at once (0: as many as the resources allow).
        verbose: Tune's progress output (0 silent, 1 a status table, 2 every result).

    Raises:
        ValueError: On a number of CPUs below 1, a negative concurrency, or a verbosity other than 0, 1 or 2.
    """

    storage: str | os.PathLike = "runs/sweeps"
    address: str | None = None
    records: str | os.PathLike | None = None
    num_cpus: int | None = None
    max_concurrent_trials: int = 0
    verbose: int = 1

    def __post_init__(self) -> None:
        if self.num_cpus is not None and self.num_cpus < 1:
            raise ValueError(f"num_cpus is the local Ray's CPU count, at least 1 (or None: all), got {self.num_cpus}")
        if self.max_concurrent_trials < 0:
            raise ValueError(f"max_concurrent_trials is 0 (no limit) or more, got {self.max_concurrent_trials}")
        if self.verbose not in (0, 1, 2):
            raise ValueError(f"verbose is 0 (silent), 1 (a status table) or 2 (every result), got {self.verbose}")

    @property
    def storage_path(self) -> Path:
        """``storage``, absolute (Tune and the trials need one path wherever they run)."""
        return Path(self.storage).expanduser().resolve()


def run_sweep(spec: SweepSpec, options: SweepOptions | None = None) -> SweepResult:
    """Runs (or resumes) the sweep ``spec``; returns its records.

    Args:
        spec: The sweep.
        options: Where and how it runs (default: :class:`SweepOptions`'s defaults, a local Ray).

    Raises:
        RayNotInstalledError: When Ray Tune is not installed.
        ClusterUnreachableError: When the cluster at the address does not take the connection.
        SweepFailedError: When a trial failed (after writing the records of the finished ones).
    """
    options = options or SweepOptions()
    trials = plan_trials(spec, cache_dir=options.storage_path / "caches")
    return run_trials(experiment_name(spec, trials), trials, spec.resources, options)


def run_trials(
    name: str, trials: list[Trial], resources: Resources, options: SweepOptions | None = None
) -> SweepResult:
    """Runs (or resumes) the Tune experiment ``<storage>/name`` of ``trials``: :func:`run_sweep` without a spec.

    For trials a spec does not spell (:func:`~dwm_gym.sweep.trials.custom_trial`); ``name`` should carry the
    digest of their identities (:func:`~dwm_gym.sweep.trials.trial_set_digest`), so that other trials never
    restore this experiment. ``resources`` are each trial's; ``options`` as for :func:`run_sweep`.
    """
    options = options or SweepOptions()
    storage = options.storage_path
    experiment = storage / name
    ray = require_ray()
    # a trial's checkpoint forces a snapshot of the experiment's state (what a resumption starts from): wanted
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    from ray import tune

    records = Path(options.records) if options.records is not None else experiment / "records"
    restoring = tune.Tuner.can_restore(str(experiment))
    recorded = {} if restoring else _recorded(records, trials)
    pending = [t for t in trials if t.name not in recorded]
    if not pending:
        logger.info("every trial has its record in %s: nothing to train", records)
        return SweepResult(experiment, trials, recorded, [])
    address = options.address or os.environ.get("RAY_ADDRESS")
    started = not ray.is_initialized()
    if started:
        _init_ray(ray, address, options.num_cpus)
    try:
        cpus, gpu = resources.cpus, resources.gpu
        filled = fill_caches(pending, cpus, gpu)
        if filled:
            logger.info("imagination caches ready: %s", filled)
        trainable = tune.with_resources(_trainable(), {"cpu": cpus, "gpu": gpu})
        experiment.mkdir(parents=True, exist_ok=True)  # this run's records folder, read by each trial's callback
        atomic_write_text(experiment / RECORDS_POINTER, str(records.resolve()))
        if restoring:
            logger.info("resuming the sweep in %s", experiment)
            tuner = tune.Tuner.restore(str(experiment), trainable, resume_unfinished=True, resume_errored=True)
        else:
            if recorded:
                logger.info("%d of %d trials have their record in %s: kept", len(recorded), len(trials), records)
            tuner = _new_tuner(tune, trainable, pending, storage, name, math.ceil(cpus), options, experiment)
        grid = tuner.fit()
    finally:
        if started:
            ray.shutdown()
    result = _collect(grid, trials, experiment, records)
    kept = _recorded(records, [t for t in trials if t.name not in result.records])
    missing = [t.name for t in trials if t.name not in result.records and t.name not in kept]
    if missing:
        raise SweepFailedError(
            f"the experiment {experiment} lacks {len(missing)} trials and {records} has no record of them (records "
            f"removed after the experiment started?): {', '.join(missing)}; move the experiment folder away and run "
            "the command again to train them"
        )
    return dataclasses.replace(result, records={**kept, **result.records})


def _recorded(records: Path, trials: list[Trial]) -> dict[str, dict[str, Any]]:
    """The records already in the folder of ``trials`` (by trial name): a new experiment does not train them.

    The records folder is what a sweep leaves behind to commit; a machine that has the records but not Tune's
    experiment state (another node, a fresh clone) goes on with the trials that have none.
    """
    from dwm_gym.sweep.records import finished_records

    found, _ = finished_records(records, trials)
    return {name: record.to_dict() for name, record in found.items()}


def _trainable() -> Any:
    from dwm_gym.sweep.trial import run_trial

    return run_trial


#: Ray's setting of its workers' niceness (read from the environment of the process that starts Ray)
WORKER_NICENESS = "RAY_worker_niceness"


def _init_ray(ray: Any, address: str | None, num_cpus: int | None) -> None:
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address:
        try:
            ray.init(address=address, **quiet)
        except ConnectionError as error:
            raise ClusterUnreachableError(
                f"could not connect to the Ray cluster at {address!r} ({str(error)[:300]}); give the address the "
                "head's `ray start --head` printed (host:port, or auto on a node of the cluster), and for a cluster "
                "with token authentication set RAY_AUTH_MODE=token with its token (docs/sweeps.md)"
            ) from error
        return
    # a new Ray of this process ("local": never a cluster found on this machine); its workers inherit this
    # process's environment (MINARI_DATASETS_PATH, DWM_GYM_HOME...). Ray starts its workers at niceness 15
    # unless told otherwise, so on a machine shared with other work a trial gets only the CPU nothing else
    # wants: its workers run at the driver's priority instead.
    os.environ.setdefault(WORKER_NICENESS, "0")
    ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), **quiet)


def _new_tuner(
    tune: Any,
    trainable: Any,
    trials: list[Trial],
    storage: Path,
    name: str,
    threads: int,
    options: SweepOptions,
    experiment: Path,
) -> Any:
    params = {
        "trial": tune.grid_search([t.to_dict() for t in trials]),
        "runs_dir": str(storage / name / "runs"),
        "threads": threads,
    }
    return tune.Tuner(
        trainable,
        param_space=params,
        tune_config=tune.TuneConfig(
            max_concurrent_trials=options.max_concurrent_trials or None,
            trial_name_creator=lambda t: t.config["trial"]["name"],
            trial_dirname_creator=lambda t: t.config["trial"]["name"].replace("/", "__"),
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(storage),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            verbose=options.verbose,
            callbacks=[record_each_finished_trial(tune, {t.name: t.dataset for t in trials}, experiment)],
        ),
    )


def _collect(grid: Any, trials: list[Trial], experiment: Path, records_dir: Path) -> SweepResult:
    from dwm_gym.sweep.records import write_records
    from dwm_gym.sweep.trial import finished_record

    by_name = {t.name: t for t in trials}
    records, failed = {}, []
    for result in grid:
        name = result.config["trial"]["name"]
        record = finished_record(result.checkpoint)
        if result.error is not None or record is None:
            failed.append(f"{name}: {result.error or 'no record'}")
        else:
            records[name] = record
    files = write_records(records_dir, [(by_name[n].dataset, r) for n, r in records.items()])
    if failed:
        raise SweepFailedError(
            f"{len(failed)} of {len(trials)} trials failed (records of the others in {records_dir}); run the same "
            "command again to retry them:\n  " + "\n  ".join(failed)
        )
    return SweepResult(experiment, trials, records, files)
