"""A spec's trials: each one agent run (:class:`AgentRunConfig`), its name and its identity.

A trial's identity (:attr:`Trial.key`) is the SHA-256 of its learning settings (every ``AgentRunConfig`` field but
the device and where the shared cache file lives) and of the world model that imagines (``world_model_digest``):
a trial whose settings or model differ from a finished one is another trial, never a reuse of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dwm_gym.agents.run_config import AgentRunConfig, world_model_path
from dwm_gym.data.specs import dataset_id, parse_dataset_name
from dwm_gym.sweep.spec import DEFAULT_HORIZON, METHODS, SweepSpec
from dwm_gym.value_expansion.cache import model_digest
from dwm_gym.world_model.registry import load_world_model

#: AgentRunConfig fields that do not make another trial: where it runs, and the shared cache's path (its content
#: is checked by the cache's own identity). With a world model, its digest stands for the ``world_model`` setting.
NOT_IDENTITY = ("device", "cache_file")


@dataclass(frozen=True)
class Trial:
    """One agent run of a sweep.

    Attributes:
        dataset: Dataset name (``hopper-medium``).
        method: A :data:`~dwm_gym.sweep.spec.METHODS` name.
        seed: The run's seed.
        horizon: H of the MVE target (the default for model-free methods).
        rtg: The DWM's RTG target (None: its median RTG, or a method without one).
        config: The run's settings.
        digest: SHA-256 of the world model (None: model-free).
        label: Names the DWM of a DWM trial when it is not the dataset's own (``DWM-TD3BC_<label>_s0``).
        cache_seed: Seed of the shared cache's sampling (DWM trials; 0 the default cache).
    """

    dataset: str
    method: str
    seed: int
    horizon: int
    rtg: float | None
    config: AgentRunConfig
    digest: str | None
    label: str | None = None
    cache_seed: int = 0

    @property
    def name(self) -> str:
        """``hopper-medium/DWM-TD3BC_h3_rtg0.7_s0``: the method, then DWM label, H and RTG where not the defaults."""
        parts = [self.method, *([self.label] if self.label else [])]
        if METHODS[self.method][1] is not None and self.horizon != DEFAULT_HORIZON:
            parts.append(f"h{self.horizon}")
        if self.rtg is not None:
            parts.append(f"rtg{self.rtg:g}")
        if self.cache_seed:
            parts.append(f"cache{self.cache_seed}")
        if self.config.data_termination:
            parts.append("dterm")
        if self.config.handover_start is not None:
            parts.append(f"ho{self.config.handover_start}-{self.config.handover_end}")
        return f"{self.dataset}/{'_'.join([*parts, f's{self.seed}'])}"

    @property
    def key(self) -> str:
        """SHA-256 of the learning settings and the world model's digest."""
        # with a digest, the model's spelling ("dwm", or the path it resolves to) does not matter
        skip = (*NOT_IDENTITY, "world_model") if self.digest is not None else NOT_IDENTITY
        settings = {k: v for k, v in dataclasses.asdict(self.config).items() if k not in skip}
        identity = {"config": settings, "world_model_digest": self.digest, "cache_seed": self.cache_seed}
        text = json.dumps(identity, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Plain data: what a Tune trial is given (:func:`trial_from_dict` reads it back)."""
        return {
            "name": self.name,
            "key": self.key,
            "dataset": self.dataset,
            "method": self.method,
            "seed": self.seed,
            "horizon": self.horizon,
            "rtg": self.rtg,
            "digest": self.digest,
            "label": self.label,
            "cache_seed": self.cache_seed,
            "config": dataclasses.asdict(self.config),
        }


def trial_from_dict(data: dict[str, Any]) -> Trial:
    """The :class:`Trial` of :meth:`Trial.to_dict`'s data."""
    fields = ("dataset", "method", "seed", "horizon", "rtg", "digest", "label", "cache_seed")
    return Trial(**{k: data[k] for k in fields}, config=AgentRunConfig(**data["config"]))


def cache_file(cache_dir: Path, dataset: str, digest: str | None, rtg: float | None, seed: int = 0) -> Path:
    """The shared imagination cache of (dataset, DWM, RTG, cache seed): every seed, algorithm and H reads it."""
    name = f"dwm_{str(digest)[:16]}_rtg{'default' if rtg is None else f'{rtg:g}'}{f'_seed{seed}' if seed else ''}"
    return Path(cache_dir) / dataset / f"{name}.safetensors"


def plan_trials(spec: SweepSpec, cache_dir: str | Path) -> list[Trial]:
    """Every trial of ``spec``, in (dataset, method, horizon, RTG, seed) order.

    Args:
        spec: The sweep.
        cache_dir: Folder of the shared imagination caches (``cache_dir/<dataset>/dwm_<digest>_rtg<g>.safetensors``).

    Raises:
        ValueError: When a horizon is above what a method's world model supports (a DWM's segment length - 1).
        FileNotFoundError: When a dataset has no world model of a method's kind (the message says how to train one).
    """
    models: dict[tuple[str, str], tuple[str, str, int | None]] = {}  # (dataset, kind) -> (path, digest, max H)

    def model(dataset: str, kind: str) -> tuple[str, str, int | None]:
        if (dataset, kind) not in models:
            # "dwm" / "onestep" are resolved where the trial runs (a cluster node has its own install)
            setting = str(Path(spec.dwm_checkpoint).resolve()) if kind == "dwm" and spec.dwm_checkpoint else kind
            path = world_model_path(setting, dataset_id(*_task_quality(dataset)))
            if path is None:
                raise ValueError(f"method of kind {kind!r} names no world model")
            loaded = load_world_model(path, device="cpu")
            models[dataset, kind] = (setting, model_digest(loaded), loaded.max_steps)
        return models[dataset, kind]

    trials = []
    for dataset in spec.datasets:
        for method in spec.methods:
            algo, kind = METHODS[method]
            grid: list[tuple[int, float | None]] = [(DEFAULT_HORIZON, None)]
            path = digest = None
            if kind is not None:
                path, digest, longest = model(dataset, kind)
                too_long = [h for h in spec.horizons if longest is not None and h > longest]
                if too_long:
                    raise ValueError(
                        f"horizons {too_long} are above what the {kind} model of {dataset} supports (H <= {longest}, "
                        f"its segment length - 1); give horizons up to {longest}"
                    )
                rtgs = spec.rtgs_of(dataset) if kind == "dwm" else (None,)
                grid = [(h, g) for h in spec.horizons for g in rtgs]
            dwm = kind == "dwm"
            checkpoint_every = spec.budget.checkpoint_every
            assert checkpoint_every is not None  # the budget's checks fill it in
            for horizon, rtg in grid:
                for seed in spec.seeds:
                    config = AgentRunConfig(
                        algo=algo,
                        dataset=dataset_id(*_task_quality(dataset)),
                        world_model=path,
                        horizon=horizon,
                        rtg=rtg,
                        steps=spec.budget.updates,
                        seed=seed,
                        device=spec.resources.device,
                        eval_every=spec.budget.eval_every,
                        eval_episodes=spec.budget.eval_episodes,
                        checkpoint_every=checkpoint_every,
                        cache_file=str(cache_file(Path(cache_dir), dataset, digest, rtg, spec.cache_seed))
                        if dwm
                        else None,
                        data_termination=spec.data_termination and kind is not None,
                        handover_start=spec.handover[0] if spec.handover and kind is not None else None,
                        handover_end=spec.handover[1] if spec.handover and kind is not None else None,
                    )
                    label, cache_seed = (spec.dwm_label, spec.cache_seed) if dwm else (None, 0)
                    trials.append(Trial(dataset, method, seed, horizon, rtg, config, digest, label, cache_seed))
    names = [t.name for t in trials]
    if len(set(names)) != len(names):
        raise ValueError("two trials of the spec have the same name; give each dataset, method and seed once")
    return trials


def custom_trial(method: str, config: AgentRunConfig, label: str | None = None) -> Trial:
    """A trial of settings a spec does not spell (a study's variants: another batch size, a model file of its own).

    Its name is built as a spec's trials' are (``label`` after the method); its identity is its settings and the
    digest of the model ``config.world_model`` resolves to here.

    Raises:
        ValueError: On a method not in :data:`~dwm_gym.sweep.spec.METHODS`.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    path = world_model_path(config.world_model, config.dataset)
    digest = None if path is None else model_digest(load_world_model(path, device="cpu"))
    spec, quality = parse_dataset_name(config.dataset)
    return Trial(f"{spec.name}-{quality}", method, config.seed, config.horizon, config.rtg, config, digest, label)


def _task_quality(dataset: str) -> tuple[str, str]:
    spec, quality = parse_dataset_name(dataset)
    return spec.name, quality


def trial_set_digest(trials: list[Trial]) -> str:
    """A short digest of the trials' keys: the sweep's experiment folder is ``<name>-<digest>``."""
    return hashlib.sha256("\n".join(sorted(t.key for t in trials)).encode()).hexdigest()[:10]
