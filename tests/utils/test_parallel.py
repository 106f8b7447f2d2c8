import operator

import pytest

from dwm_gym.utils.parallel import run_side_by_side


def test_results_come_in_the_jobs_order_from_spawned_processes():
    jobs = [(i, 10 * i) for i in range(5)]
    assert list(run_side_by_side(operator.add, jobs, workers=2)) == [11 * i for i in range(5)]


def test_a_failing_job_raises_and_workers_must_be_positive():
    with pytest.raises(ZeroDivisionError):
        list(run_side_by_side(operator.truediv, [(1, 1), (1, 0)], workers=1))
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        list(run_side_by_side(operator.add, [(1, 2)], workers=0))
