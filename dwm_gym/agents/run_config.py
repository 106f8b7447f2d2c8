"""The settings of one offline-RL run (:class:`AgentRunConfig`), its algorithms and the world model it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from stable_baselines3 import TD3
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from dwm_gym.agents.handover import check_handover_updates
from dwm_gym.agents.iql import IQL
from dwm_gym.agents.td3bc import TD3BC
from dwm_gym.data.specs import Refs, parse_dataset_name
from dwm_gym.data.specs import dataset_id as make_dataset_id
from dwm_gym.utils.device import resolve_device
from dwm_gym.utils.validation import choice, finite, in_range, integer
from dwm_gym.value_expansion.cache import model_digest
from dwm_gym.world_model.base import WorldModel
from dwm_gym.world_model.bundled import resolve_checkpoint
from dwm_gym.world_model.checkpoint import read_header
from dwm_gym.world_model.registry import kind_names, load_world_model

AlgorithmName = Literal["td3bc", "iql", "td3"]


@dataclass(frozen=True)
class Algorithm:
    """An agent a run can train: its class and the settings it gets beyond the run's common ones.

    Attributes:
        cls: The SB3 off-policy algorithm.
        settings: The run's settings -> keyword arguments of ``cls`` (besides buffer, batch, seed and device).
    """

    cls: type[OffPolicyAlgorithm]
    settings: Callable[[AgentRunConfig], dict[str, Any]]


def _handover(config: AgentRunConfig) -> dict[str, Any]:
    """The target handover, for a run with a world model (a model-free target is the one-step target already)."""
    if world_model_path(config.world_model, config.dataset) is None:
        return {}
    return {"handover_start": config.handover_start, "handover_end": config.handover_end}


def _td3bc_settings(config: AgentRunConfig) -> dict[str, Any]:
    return _handover(config)


def _iql_settings(config: AgentRunConfig) -> dict[str, Any]:
    return {"td_lambda": config.td_lambda, **_handover(config)}


def _td3_settings(config: AgentRunConfig) -> dict[str, Any]:
    return {"learning_rate": 3e-4, "learning_starts": 0, "policy_kwargs": {"net_arch": [256, 256]}}


ALGORITHMS: dict[str, Algorithm] = {
    "td3bc": Algorithm(TD3BC, _td3bc_settings),
    "iql": Algorithm(IQL, _iql_settings),
    "td3": Algorithm(TD3, _td3_settings),
}


@dataclass
class AgentRunConfig:
    """Settings of one run.

    Attributes:
        algo: ``td3bc``, ``iql`` or ``td3`` (stock SB3 TD3, trained offline without a BC term).
        dataset: Minari id (``dwm_gym/hopper/medium-v0``) or short name (``hopper-medium``).
        world_model: None (model-free), a checkpoint path, or ``dwm`` / ``onestep`` for the checkpoint
            of the dataset's task and quality (``$DWM_GYM_HOME`` first, then the bundled one).
        horizon: H of the MVE target.
        rtg: RTG target of the DWM (default: the median RTG of its training data, ``rtg_median``).
        cache: DWM imagination cache (else fresh sampling per minibatch).
        cache_samples: M, segments per transition in the cache.
        steps: Gradient updates.
        batch_size: Minibatch (paper: 128).
        td_lambda: IQL's λ-return over imagined segments.
        seed: Seed of the agent (and its buffer).
        device: ``auto``, ``cpu``, ``cuda``.
        eval_every: Updates between evaluations on the real env (0: only at the end).
        eval_episodes: Episodes per evaluation.
        refs: Normalized-score references, ``d4rl`` or ``v5``.
        checkpoint_every: Updates between saves of ``checkpoints/latest.safetensors``.
        cache_file: A DWM imagination cache file shared between runs (loaded when it matches,
            else filled and written) — see ``DiffusionMVEReplayBuffer.prepare_cache``.
        data_termination: MVE targets take the first step's termination from the data
            (``MVEReplayBuffer``'s ``data_termination``).
        handover_start: With ``handover_end``, the updates over which the critic target of a model-based TD3BC or
            IQL run moves linearly from the value-expansion target to the one-step TD target on the real transition
            (:mod:`dwm_gym.agents.handover`); None: the value-expansion target throughout (the paper's method).
        handover_end: The update from which that target is the one-step TD target alone.
    """

    algo: AlgorithmName = "td3bc"
    dataset: str = "dwm_gym/hopper/medium-v0"
    world_model: str | None = None
    horizon: int = 5
    rtg: float | None = None
    cache: bool = True
    cache_samples: int = 1
    steps: int = 100_000
    batch_size: int = 128
    td_lambda: float = 0.95
    seed: int = 0
    device: str = "auto"
    eval_every: int = 10_000
    eval_episodes: int = 10
    refs: Refs = "d4rl"
    checkpoint_every: int = 10_000
    cache_file: str | None = None
    data_termination: bool = False
    handover_start: int | None = None
    handover_end: int | None = None

    def __post_init__(self) -> None:
        choice("algo", self.algo, ALGORITHMS)
        self.horizon = integer("horizon", self.horizon, minimum=0)
        self.rtg = None if self.rtg is None else finite("rtg", self.rtg)
        self.cache_samples = integer("cache_samples", self.cache_samples)
        self.steps = integer("steps", self.steps)
        self.batch_size = integer("batch_size", self.batch_size)
        self.td_lambda = in_range("td_lambda", self.td_lambda, 0, 1)
        self.seed = integer("seed", self.seed, minimum=0)
        self.eval_every = integer("eval_every", self.eval_every, minimum=0)
        self.eval_episodes = integer("eval_episodes", self.eval_episodes)
        choice("refs", self.refs, get_args(Refs))
        self.checkpoint_every = integer("checkpoint_every", self.checkpoint_every)
        self.handover_start, self.handover_end = check_handover_updates(self.handover_start, self.handover_end)
        resolve_device(self.device)
        if "/" not in self.dataset:
            spec, quality = parse_dataset_name(self.dataset)
            self.dataset = make_dataset_id(spec.name, quality)


@dataclass(frozen=True)
class ResolvedWorldModel:
    """The world model of a run, resolved once and handed to everything that needs it.

    Attributes:
        path: Absolute path of the checkpoint.
        kind: Its world-model kind (``dwm``, ``onestep``...).
        digest: :func:`~dwm_gym.value_expansion.cache.model_digest` of the model (what makes two runs' models the same).
        model: The loaded model, on the run's device.
    """

    path: str
    kind: str
    digest: str
    model: WorldModel


def world_model_path(world_model: str | None, dataset_id: str) -> Path | None:
    """The checkpoint file a run's ``world_model`` setting names, without loading it (None for a model-free run).

    Args:
        world_model: None / ``"none"``, a registered kind (``dwm``, ``onestep``: the checkpoint of the dataset's
            task and quality) or a checkpoint path.
        dataset_id: The run's dataset (Minari id).

    Raises:
        FileNotFoundError: When the named checkpoint does not exist (the message says how to make one).
    """
    if world_model is None or world_model.lower() in ("", "none"):
        return None
    if world_model in kind_names():
        spec, quality = parse_dataset_name(dataset_id)
        return Path(resolve_checkpoint(spec.name, quality, world_model))
    path = Path(world_model).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"world_model={world_model!r} is neither a checkpoint file nor a kind ({', '.join(kind_names())})"
        )
    return path


def world_model_kind_of(world_model: str | None, dataset_id: str) -> str | None:
    """The kind (``dwm``, ``onestep``...) of the checkpoint ``world_model`` names, read from its header only."""
    path = world_model_path(world_model, dataset_id)
    return None if path is None else str(read_header(path)["kind"])


def resolve_world_model(world_model: str | None, dataset_id: str, device: str = "cpu") -> ResolvedWorldModel | None:
    """The checkpoint a run's ``world_model`` setting names, loaded on ``device`` (None for a model-free run).

    Args:
        world_model: None / ``"none"``, a registered kind (``dwm``, ``onestep``: the checkpoint of the dataset's
            task and quality) or a checkpoint path.
        dataset_id: The run's dataset (Minari id).
        device: Where the model runs (``auto``: CUDA when available).

    Raises:
        FileNotFoundError: When the named checkpoint does not exist (the message says how to make one).
    """
    path = world_model_path(world_model, dataset_id)
    if path is None:
        return None
    model = load_world_model(path, device=resolve_device(device))
    return ResolvedWorldModel(str(path.resolve()), model.kind, model_digest(model), model)
