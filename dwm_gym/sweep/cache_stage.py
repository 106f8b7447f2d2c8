"""The sweep's first stage: every shared imagination cache its DWM trials read, filled once before they start.

Trials with the same (dataset, world model, RTG, sampler) read one cache file (``Trial.config.cache_file``, see
:func:`dwm_gym.sweep.trials.cache_file`; the sampler is the model's own). Each is filled at the model's longest
horizon with every state kept, so a trial with any H reads the first H steps of its segments. The fill holds a
lock (``<cache>.fill.lock``), so two sweeps (or two processes) that need the same cache at once fill it once: the
second waits, then loads it. The cache's own identity (data, model, RTG, sampler) decides whether a file serves.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dwm_gym.sweep.trials import Trial, trial_from_dict
from dwm_gym.utils.run_lock import hold_lock


def caches_of(trials: list[Trial]) -> list[Trial]:
    """One trial per distinct cache file among the DWM trials (the one whose settings fill it)."""
    first: dict[str, Trial] = {}
    for trial in trials:
        if trial.config.cache_file is not None:
            first.setdefault(trial.config.cache_file, trial)
    return list(first.values())


def fill_cache(trial_data: dict[str, Any], threads: int = 1) -> dict[str, float]:
    """Loads or fills the cache file of one DWM trial (:meth:`Trial.to_dict`'s data), under a file lock.

    Returns:
        ``prepare_cache``'s metrics (``{"loaded": 1.0}`` when the file already served).
    """
    import torch

    from dwm_gym.agents.run_config import world_model_path
    from dwm_gym.data import OfflineDataset
    from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, buffer_from_dataset
    from dwm_gym.value_expansion.offline_data import dataset_spaces

    torch.set_num_threads(threads)
    trial = trial_from_dict(trial_data)
    config = trial.config
    path = world_model_path(config.world_model, config.dataset)
    if path is None:
        raise ValueError(f"trial {trial.name} has no world model: it has no imagination cache to fill")
    dataset = OfflineDataset.from_minari(config.dataset)
    settings: dict[str, Any] = dict(
        device=config.device, world_model=path, rtg=config.rtg, cache_file=config.cache_file, seed=trial.cache_seed
    )
    longest = DiffusionMVEReplayBuffer(1, *dataset_spaces(dataset), horizon=0, **settings).max_horizon
    # fillers of one cache wait for each other here; the buffer's own lock (``<cache>.lock``) then refuses any
    # other writer instead of waiting
    with hold_lock(f"{config.cache_file}.fill.lock", f"the fill of the cache {config.cache_file}", wait=True):
        buffer = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, horizon=longest, **settings)
        assert isinstance(buffer, DiffusionMVEReplayBuffer)  # the class passed in above
        return buffer.prepare_cache()


def fill_caches(trials: list[Trial], cpus: float, gpu: float) -> list[dict[str, float]]:
    """Fills the trials' caches as Ray tasks, in parallel (one per cache, each with a trial's resources).

    Ray must be initialized. Each task writes its cache file where the trials read it: on a cluster, the
    storage path must be a filesystem every node shares (else each node fills the caches its trials need).
    """
    import ray

    todo = caches_of(trials)
    if not todo:
        return []
    for trial in todo:
        Path(str(trial.config.cache_file)).parent.mkdir(parents=True, exist_ok=True)
    task = ray.remote(num_cpus=cpus, num_gpus=gpu, max_retries=0)(fill_cache)
    return ray.get([task.remote(t.to_dict(), max(1, math.ceil(cpus))) for t in todo])
