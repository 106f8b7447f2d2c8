"""Sweeps of agent runs on Ray Tune: a declarative spec, trials with checkpoints, shared caches, run records.

    from dwm_gym.sweep import SweepOptions, load_spec, run_sweep

    result = run_sweep(load_spec("sweeps/hopper_defaults.toml"), SweepOptions(storage="runs/sweeps"))

Ray is an optional extra (``pip install "dwm_gym[sweep]"``): only :func:`run_sweep` needs it.
"""

from dwm_gym.sweep.runner import (
    RayNotInstalledError,
    SweepFailedError,
    SweepOptions,
    SweepResult,
    run_sweep,
    run_trials,
)
from dwm_gym.sweep.spec import METHODS, Budget, Resources, SweepSpec, load_spec, spec_from_dict
from dwm_gym.sweep.trials import Trial, custom_trial, plan_trials

__all__ = [
    "METHODS",
    "Budget",
    "RayNotInstalledError",
    "Resources",
    "SweepFailedError",
    "SweepOptions",
    "SweepResult",
    "SweepSpec",
    "Trial",
    "custom_trial",
    "load_spec",
    "plan_trials",
    "run_sweep",
    "run_trials",
    "spec_from_dict",
]
