"""Behaviour-policy actors: a tanh-Gaussian MLP stored as safetensors + JSON.

The actors that generate the D4RL-recipe datasets are the actor networks of SB3 SAC
agents, exported without SB3 so that loading them never executes code (no pickle).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from dwm_gym.utils.atomic import atomic_write, atomic_write_text

LOG_STD_MIN = -20.0
LOG_STD_MAX = 2.0
ACTOR_FORMAT_VERSION = 1


@dataclass
class ActorInfo:
    """Provenance of an exported behaviour actor.

    Attributes:
        env_id: Gymnasium id the actor was trained on, e.g. ``"Hopper-v5"``.
        obs_dim: Observation size.
        action_dim: Action size.
        hidden_sizes: Hidden layer widths of the MLP trunk.
        train_steps: Environment steps of SAC training when this actor was exported.
        train_seed: Seed of the SAC run.
        mean_return: Mean undiscounted return of the stochastic actor, measured at export.
        std_return: Standard deviation of that return.
        eval_episodes: Episodes behind ``mean_return``.
        deterministic_mean_return: Mean return with the tanh(mean) action.
        role: What the actor is used for (``"medium"``, ``"expert"``...).
        extra: Free-form provenance (command, date...).
    """

    env_id: str
    obs_dim: int
    action_dim: int
    hidden_sizes: list[int]
    train_steps: int
    train_seed: int
    mean_return: float
    std_return: float
    eval_episodes: int
    deterministic_mean_return: float = float("nan")
    role: str = ""
    extra: dict = field(default_factory=dict)


class TanhGaussianActor(nn.Module):
    """SAC-style actor: MLP trunk, mean and log-std heads, tanh squashing.

    Actions are in [-1, 1]; the MuJoCo locomotion envs use exactly that box.
    """

    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: list[int]) -> None:
        super().__init__()
        self.obs_dim = obs_dim
        self.action_dim = action_dim
        self.hidden_sizes = list(hidden_sizes)
        layers: list[nn.Module] = []
        last = obs_dim
        for width in hidden_sizes:
            layers += [nn.Linear(last, width), nn.ReLU()]
            last = width
        self.trunk = nn.Sequential(*layers)
        self.mu = nn.Linear(last, action_dim)
        self.log_std = nn.Linear(last, action_dim)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the pre-tanh mean and the clamped log standard deviation."""
        latent = self.trunk(obs)
        return self.mu(latent), self.log_std(latent).clamp(LOG_STD_MIN, LOG_STD_MAX)


class BehaviorPolicy:
    """A loaded behaviour actor that maps numpy observations to numpy actions.

    Args:
        actor: The network.
        info: Its provenance, when it was loaded from a file.
    """

    def __init__(self, actor: TanhGaussianActor, info: ActorInfo | None = None) -> None:
        self.actor = actor.eval()
        self.info = info
        # numpy copies of the weights: for batches of a few observations a numpy forward pass is
        # several times faster than torch's dispatch, and never competes for intra-op threads
        as_np = lambda m: (m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())  # noqa: E731
        self._trunk = [as_np(m) for m in actor.trunk if isinstance(m, nn.Linear)]
        self._mu, self._log_std = as_np(actor.mu), as_np(actor.log_std)

    def act(
        self,
        obs: np.ndarray,
        rng: np.random.Generator | None = None,
        deterministic: bool = False,
    ) -> np.ndarray:
        """Computes actions for a batch (or a single) observation.

        Args:
            obs: Observations, shape ``(obs_dim,)`` or ``(B, obs_dim)``.
            rng: Generator for the Gaussian noise; required unless ``deterministic``.
            deterministic: Use ``tanh(mean)`` instead of sampling.

        Returns:
            Actions in [-1, 1] with the batch shape of ``obs``.
        """
        obs = np.asarray(obs, dtype=np.float32)
        single = obs.ndim == 1
        hidden = np.atleast_2d(obs)
        if hidden.shape[-1] != self.actor.obs_dim:
            raise ValueError(f"expected observations with {self.actor.obs_dim} values, got shape {tuple(obs.shape)}")
        for weight, bias in self._trunk:
            hidden = np.maximum(hidden @ weight + bias, 0.0)
        mean = hidden @ self._mu[0] + self._mu[1]
        if deterministic:
            pre_tanh = mean
        else:
            if rng is None:
                raise ValueError("a np.random.Generator is required for stochastic actions")
            log_std = np.clip(hidden @ self._log_std[0] + self._log_std[1], LOG_STD_MIN, LOG_STD_MAX)
            pre_tanh = mean + np.exp(log_std) * rng.standard_normal(mean.shape).astype(np.float32)
        actions = np.tanh(pre_tanh)
        return actions[0] if single else actions


def save_actor(actor: TanhGaussianActor, info: ActorInfo, path: str | os.PathLike) -> Path:
    """Writes ``path`` (.safetensors) and its ``.json`` sidecar atomically.

    Args:
        actor: Network to save.
        info: Provenance stored in the JSON sidecar and in the safetensors metadata.
        path: Target path ending in ``.safetensors``.

    Returns:
        The safetensors path.
    """
    path = Path(path)
    meta = {"format_version": ACTOR_FORMAT_VERSION, **asdict(info)}
    tensors = {k: v.detach().cpu().contiguous() for k, v in actor.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"info": json.dumps(meta)}))
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
    return path


def load_actor(path: str | os.PathLike) -> BehaviorPolicy:
    """Loads an actor written by :func:`save_actor` (no code execution).

    Args:
        path: The ``.safetensors`` file.

    Returns:
        The behaviour policy.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not a valid actor file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no behaviour actor at {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads(handle.metadata()["info"])
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises several types for corrupt files
        raise ValueError(f"{path} is not a readable behaviour-actor file: {exc}") from exc
    if meta.pop("format_version", None) != ACTOR_FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported actor format (expected version {ACTOR_FORMAT_VERSION})")
    info = ActorInfo(**meta)
    actor = TanhGaussianActor(info.obs_dim, info.action_dim, list(info.hidden_sizes))
    actor.load_state_dict(tensors)
    return BehaviorPolicy(actor, info)
