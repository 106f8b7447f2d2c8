"""A sweep's declarative spec: datasets × methods × seeds (× horizons × RTGs), its budget and resources per trial.

A spec is a TOML file::

    name = "hopper-defaults"          # names the sweep's folder under the storage path
    datasets = ["hopper-medium", "hopper-medium-replay"]
    methods = ["TD3BC", "DWM-TD3BC"]  # METHODS
    seeds = [0, 1, 2, 3, 4]
    horizons = [5]                    # optional: H of the model-based methods (default 5)
    rtgs = [0.7]                      # optional: RTG of the DWM methods (default: the model's median)
    # or per dataset: [rtgs] hopper-medium = [0.6, 0.7, 0.8]

    [budget]
    updates = 50000                   # gradient updates per trial
    eval_every = 10000                # updates between real-env evaluations (0: only at the end)
    eval_episodes = 10
    checkpoint_every = 10000          # updates between trial checkpoints (default: eval_every)

    [resources]                       # per trial
    cpus = 1
    gpu = 0.0                         # a fraction of a GPU (0: CPU only)

:func:`load_spec` reads one into a :class:`SweepSpec`; every field is checked when the dataclass is built, and
a bad value raises ``ValueError`` naming the field, what was expected and what was given.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dwm_gym.agents.handover import check_handover_updates
from dwm_gym.agents.run_config import AlgorithmName
from dwm_gym.data.specs import parse_dataset_name
from dwm_gym.utils.validation import finite, integer, non_negative

#: The sweep's methods: name -> (``AgentRunConfig.algo``, world model kind: None, ``onestep`` or ``dwm``).
METHODS: dict[str, tuple[AlgorithmName, str | None]] = {
    "TD3BC": ("td3bc", None),
    "IQL": ("iql", None),
    "OneStep-TD3BC": ("td3bc", "onestep"),
    "OneStep-IQL": ("iql", "onestep"),
    "DWM-TD3BC": ("td3bc", "dwm"),
    "DWM-IQL": ("iql", "dwm"),
}
DEFAULT_HORIZON = 5
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _non_empty(name: str, values: Any) -> list:
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{name} must be a list, got {values!r}")
    if not values:
        raise ValueError(f"{name} is an empty grid: give at least one value")
    if len(set(map(repr, values))) != len(values):
        raise ValueError(f"{name} repeats a value: {list(values)}; give each once")
    return list(values)


@dataclass(frozen=True)
class Budget:
    """What each trial trains and how often it is measured.

    Attributes:
        updates: Gradient updates per trial.
        eval_every: Updates between evaluations on the real env (0: only at the end).
        eval_episodes: Deterministic episodes per evaluation.
        checkpoint_every: Updates between trial checkpoints (None: ``eval_every``, or ``updates`` when that is 0).
    """

    updates: int = 50_000
    eval_every: int = 10_000
    eval_episodes: int = 10
    checkpoint_every: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "updates", integer("budget.updates", self.updates, minimum=1))
        object.__setattr__(self, "eval_every", integer("budget.eval_every", self.eval_every, minimum=0))
        object.__setattr__(self, "eval_episodes", integer("budget.eval_episodes", self.eval_episodes, minimum=1))
        if self.eval_every > self.updates:
            raise ValueError(
                f"budget.eval_every ({self.eval_every}) is above budget.updates ({self.updates}); "
                "give at most the updates (0: evaluate only at the end)"
            )
        every = self.checkpoint_every
        if every is None:
            every = self.eval_every or self.updates
        object.__setattr__(self, "checkpoint_every", integer("budget.checkpoint_every", every, minimum=1))


@dataclass(frozen=True)
class Resources:
    """What one trial holds while it runs.

    Attributes:
        cpus: CPU cores (also its torch threads, rounded up).
        gpu: Fraction of a GPU (0: the trial runs on the CPU; 0.25: four trials share one GPU).
    """

    cpus: float = 1.0
    gpu: float = 0.0

    def __post_init__(self) -> None:
        cpus = finite("resources.cpus", self.cpus)
        if cpus <= 0:
            raise ValueError(f"resources.cpus must be > 0, got {self.cpus!r}")
        object.__setattr__(self, "cpus", cpus)
        object.__setattr__(self, "gpu", non_negative("resources.gpu", self.gpu))

    @property
    def device(self) -> str:
        """The trials' torch device: ``auto`` with a GPU share, else ``cpu``.

        ``auto`` finds the GPU Ray gives the trial, and lets a driver without one plan the trials.
        """
        return "auto" if self.gpu > 0 else "cpu"


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: every (dataset, method, seed) and, for the model-based methods, every horizon and RTG.

    Attributes:
        name: The sweep's name (letters, digits, ``_ . -``): its folder under the storage path.
        datasets: Dataset names (``hopper-medium``) or Minari ids.
        methods: Names from :data:`METHODS`.
        seeds: Seeds of every configuration.
        horizons: H of the OneStep and DWM methods (model-free methods keep the default, 5).
        rtgs: RTG targets of the DWM methods: one list for every dataset, or a table dataset -> list
            (a dataset absent from the table keeps the model's median RTG); None: the median RTG.
        budget: Updates, evaluation and checkpoint cadence of every trial.
        resources: CPUs and GPU fraction of every trial.
        dwm_checkpoint: The DWM methods' checkpoint for every dataset (default: each dataset's own DWM).
        dwm_label: Names the ``dwm_checkpoint``'s trials (``DWM-TD3BC_<label>_s0``); required with it, so that
            its trials and records are never taken for those of the dataset's own DWM.
        cache_seed: Seed of the shared imagination caches' sampling (DWM methods); another seed gives caches of their
            own and trials of their own (``DWM-TD3BC_cache1_s0``), to measure the spread between caches.
        data_termination: The model-based methods' MVE targets take the first step's termination from the data
            (their trials are named ``..._dterm_s0``).
        handover: ``[start, end]``: the model-based methods' critic targets hand over from value expansion to the
            one-step TD target between these updates (:mod:`dwm_gym.agents.handover`; their trials are named
            ``..._ho<start>-<end>_s0``). None: the value-expansion target throughout.
        label: How results of this sweep are to be labelled (e.g. ``selection on test returns``).
    """

    name: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    horizons: tuple[int, ...] = (DEFAULT_HORIZON,)
    rtgs: tuple[float, ...] | Mapping[str, tuple[float, ...]] | None = None
    budget: Budget = field(default_factory=Budget)
    resources: Resources = field(default_factory=Resources)
    dwm_checkpoint: str | None = None
    dwm_label: str | None = None
    cache_seed: int = 0
    data_termination: bool = False
    handover: tuple[int, int] | None = None
    label: str = "defaults"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"name must be letters, digits, '_', '.' or '-' (a folder name), got {self.name!r}")
        datasets = tuple(_dataset_name(d) for d in _non_empty("datasets", self.datasets))
        object.__setattr__(self, "datasets", tuple(dict.fromkeys(datasets)))
        for method in _non_empty("methods", self.methods):
            if method not in METHODS:
                raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        object.__setattr__(self, "methods", tuple(self.methods))
        seeds = tuple(integer("seeds", s, minimum=0) for s in _non_empty("seeds", self.seeds))
        object.__setattr__(self, "seeds", seeds)
        horizons = tuple(integer("horizons", h, minimum=0) for h in _non_empty("horizons", self.horizons))
        object.__setattr__(self, "horizons", horizons)
        object.__setattr__(self, "rtgs", self._checked_rtgs(self.rtgs))
        if not isinstance(self.budget, Budget) or not isinstance(self.resources, Resources):
            raise ValueError("budget and resources must be Budget and Resources (load_spec builds them from tables)")
        if self.dwm_checkpoint is not None and not Path(self.dwm_checkpoint).expanduser().is_file():
            raise ValueError(f"dwm_checkpoint {self.dwm_checkpoint!r} is not a file; give a world-model checkpoint")
        if (self.dwm_checkpoint is None) != (self.dwm_label is None):
            raise ValueError("dwm_checkpoint and dwm_label go together (the label keeps its trials apart)")
        if self.dwm_label is not None and (not isinstance(self.dwm_label, str) or not _NAME.match(self.dwm_label)):
            raise ValueError(f"dwm_label must be letters, digits, '_', '.' or '-', got {self.dwm_label!r}")
        object.__setattr__(self, "cache_seed", integer("cache_seed", self.cache_seed, minimum=0))
        if not isinstance(self.data_termination, bool):
            raise ValueError(f"data_termination must be true or false, got {self.data_termination!r}")
        if self.handover is not None:
            if not isinstance(self.handover, (list, tuple)) or len(self.handover) != 2:
                raise ValueError(f"handover must be [start, end] in updates, got {self.handover!r}")
            object.__setattr__(self, "handover", check_handover_updates(*self.handover))
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError(f"label must be a non-empty string, got {self.label!r}")

    def _checked_rtgs(self, rtgs: Any) -> tuple[float, ...] | dict[str, tuple[float, ...]] | None:
        if rtgs is None:
            return None
        if isinstance(rtgs, Mapping):
            table = {}
            for dataset, values in rtgs.items():
                name = _dataset_name(dataset)
                if name not in self.datasets:
                    raise ValueError(f"rtgs names {dataset!r}, which is not among the datasets {list(self.datasets)}")
                table[name] = tuple(finite(f"rtgs.{dataset}", g) for g in _non_empty(f"rtgs.{dataset}", values))
            return table
        return tuple(finite("rtgs", g) for g in _non_empty("rtgs", rtgs))

    def rtgs_of(self, dataset: str) -> tuple[float | None, ...]:
        """The RTG grid of the DWM methods on ``dataset`` (``(None,)``: the model's median RTG)."""
        if self.rtgs is None:
            return (None,)
        if isinstance(self.rtgs, Mapping):
            return self.rtgs.get(dataset, (None,))
        return self.rtgs

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (TOML's layout; tuples become lists)."""
        data = dataclasses.asdict(self)
        return {k: v for k, v in data.items() if v is not None}


def _dataset_name(name: Any) -> str:
    """``hopper-medium`` for ``hopper-medium`` or ``dwm_gym/hopper/medium-v0``."""
    if not isinstance(name, str):
        raise ValueError(f"datasets holds {name!r}; give names such as 'hopper-medium'")
    spec, quality = parse_dataset_name(name)
    return f"{spec.name}-{quality}"


def spec_from_dict(data: Mapping[str, Any], source: str = "the spec") -> SweepSpec:
    """A :class:`SweepSpec` from TOML-shaped data (``budget`` and ``resources`` as tables).

    Raises:
        ValueError: On an unknown or missing key, or a bad value; the message names ``source``.
    """
    known = {f.name for f in dataclasses.fields(SweepSpec)}
    required = {"name", "datasets", "methods", "seeds"}
    data = dict(data)
    unknown, missing = set(data) - known, required - set(data)
    try:
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)}; the keys are {sorted(known)}")
        if missing:
            raise ValueError(f"missing key(s) {sorted(missing)}")
        for key, cls in (("budget", Budget), ("resources", Resources)):
            table = data.get(key, {})
            if not isinstance(table, Mapping):
                raise ValueError(f"{key} must be a table ([{key}]), got {table!r}")
            fields = {f.name for f in dataclasses.fields(cls)}
            if set(table) - fields:
                raise ValueError(f"unknown key(s) {sorted(set(table) - fields)} in [{key}]; they are {sorted(fields)}")
            data[key] = cls(**table)
        return SweepSpec(**data)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def load_spec(path: str | Path) -> SweepSpec:
    """Reads and checks a sweep spec (TOML).

    Raises:
        FileNotFoundError: When ``path`` does not exist.
        ValueError: On a file that is not TOML, or a bad spec (the message says which field and why).
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found]  # only installed on Python 3.10

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep spec at {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None
    return spec_from_dict(data, source=str(path))
