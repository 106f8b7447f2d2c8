"""The settings of one offline-RL run (:class:`AgentRunConfig`) and the world model they name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stable_baselines3 import TD3

from dwm_gym.agents.iql import IQL
from dwm_gym.agents.td3bc import TD3BC
from dwm_gym.data.specs import dataset_id as make_dataset_id
from dwm_gym.data.specs import parse_dataset_name
from dwm_gym.utils.device import resolve_device
from dwm_gym.utils.validation import choice, finite, in_range, integer
from dwm_gym.world_model.bundled import resolve_checkpoint
from dwm_gym.world_model.checkpoint import read_header

ALGORITHMS = {"td3bc": TD3BC, "iql": IQL, "td3": TD3}


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
    """

    algo: str = "td3bc"
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
    refs: str = "d4rl"
    checkpoint_every: int = 10_000
    cache_file: str | None = None
    data_termination: bool = False

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
        choice("refs", self.refs, ("d4rl", "v5"))
        self.checkpoint_every = integer("checkpoint_every", self.checkpoint_every)
        resolve_device(self.device)
        if "/" not in self.dataset:
            spec, quality = parse_dataset_name(self.dataset)
            self.dataset = make_dataset_id(spec.name, quality)


def resolve_world_model(world_model: str | None, dataset_id: str) -> tuple[str | None, str | None]:
    """(absolute checkpoint path, kind ``dwm``/``onestep``) for a run's ``world_model`` setting."""
    if world_model is None or world_model.lower() in ("", "none"):
        return None, None
    if world_model in ("dwm", "onestep"):
        spec, quality = parse_dataset_name(dataset_id)
        path = resolve_checkpoint(spec.name, quality, world_model)
    else:
        path = Path(world_model).expanduser()
    return str(Path(path).resolve()), read_header(path)["kind"]
