"""``run_side_by_side``: independent jobs in spawned processes, the one process pool outside a sweep.

Sweeps of agent runs go through :mod:`dwm_gym.sweep` (Ray Tune). What a sweep trial cannot express (a study's
variant that swaps the replay buffer class or the dataset, the demo's two runs sharing the cores) runs here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

T = TypeVar("T")


def run_side_by_side(function: Callable[..., T], jobs: Sequence[tuple[Any, ...]], workers: int) -> Iterator[T]:
    """Yields ``function(*job)`` for each job, in the jobs' order, computed in up to ``workers`` processes.

    Processes are spawned (not forked), so each starts with fresh torch and MuJoCo state; ``function`` and the
    jobs' arguments must be picklable (module-level functions, plain values).

    Args:
        function: A module-level function.
        jobs: The positional arguments of each call.
        workers: Processes at most (at least 1).

    Raises:
        ValueError: When ``workers`` is below 1.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(function, *job) for job in jobs]
        for future in futures:
            yield future.result()
