"""World-model checkpoints: one ``.safetensors`` file, weights + normalizers as tensors, JSON header.

The JSON (safetensors metadata key ``dwm_gym``) holds the format version, model kind, config,
sampler settings, obs/action sizes, env id, dataset id and size, training steps and the dwm_gym
version. Files are written atomically and validated on load; loading never executes code. The
kind picks the class: :func:`dwm_gym.world_model.registry.load_world_model` builds the model.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from dwm_gym._version import __version__
from dwm_gym.data.gaussian_normalizer import GaussianNormalizer
from dwm_gym.data.normalizers import CDFNormalizer, MinMaxNormalizer
from dwm_gym.utils.atomic import atomic_write
from dwm_gym.utils.checks import non_finite
from dwm_gym.world_model.base import Normalizer, WorldModel
from dwm_gym.world_model.errors import CheckpointError

if TYPE_CHECKING:
    import gymnasium as gym

FORMAT_VERSION = 1
# header entries written from the model itself (and the load-time ones), never copied from ``model.info``
_STRUCTURAL_KEYS = {
    "format_version",
    "kind",
    "config",
    "sampler",
    "normalizers",
    "obs_dim",
    "action_dim",
    "env_id",
    "dwm_gym_version",
    "path",
    "sha256",
    "weights_dtype",
}
NORMALIZER_KINDS = {"cdf": CDFNormalizer, "gaussian": GaussianNormalizer, "minmax": MinMaxNormalizer}
WeightsDtype = Literal["float32", "float16"]
WEIGHT_DTYPES: dict[WeightsDtype, torch.dtype] = {"float32": torch.float32, "float16": torch.float16}
REQUIRED_KEYS = ("kind", "config", "normalizers", "obs_dim", "action_dim", "env_id")


def save_world_model(
    model: WorldModel,
    path: str | os.PathLike,
    start_states: dict[str, np.ndarray] | None = None,
    *,
    weights_dtype: WeightsDtype = "float32",
    **info: Any,
) -> Path:
    """Writes ``model`` (any :class:`WorldModel`) to ``path`` atomically.

    Args:
        model: The model (for a DWM, its EMA copy usually).
        path: Target ``.safetensors`` file.
        start_states: Arrays from the training data that travel with the model, so envs work
            without the dataset on disk: ``episode_starts`` and ``states`` (a sample of dataset
            states). Default: the model's own :attr:`~WorldModel.start_states`.
        weights_dtype: ``"float32"`` or ``"float16"``: how the network's floating-point weights are
            stored (half the file; they are loaded back into float32). Normalizers and start states
            always stay float32.
        **info: JSON-able provenance: ``dataset_id``, ``dataset_transitions``, ``train_steps``...; it
            updates the model's own ``info`` (what a loaded model carries, e.g. its RTG statistics, is kept).

    Returns:
        The path.
    """
    if weights_dtype not in WEIGHT_DTYPES:
        raise ValueError(f"weights_dtype must be one of {sorted(WEIGHT_DTYPES)}, got {weights_dtype!r}")
    stored = WEIGHT_DTYPES[weights_dtype]
    tensors = {
        f"model.{k}": (v.to(stored) if v.dtype == torch.float32 else v).detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    normalizers = {}
    for name, normalizer in (
        ("state_normalizer", model.state_normalizer),
        ("reward_normalizer", model.reward_normalizer),
    ):
        normalizers[name] = next(key for key, cls in NORMALIZER_KINDS.items() if isinstance(normalizer, cls))
        for k, v in normalizer.state_dict().items():
            tensors[f"{name}.{k}"] = torch.as_tensor(v)
    for k, v in (model.start_states if start_states is None else start_states).items():
        tensors[f"data.{k}"] = torch.as_tensor(np.asarray(v, dtype=np.float32)).contiguous()
    sampler = None if model.sampler is None else asdict(model.sampler)
    provenance = {k: v for k, v in model.info.items() if k not in _STRUCTURAL_KEYS}
    header = {
        **provenance,
        "format_version": FORMAT_VERSION,
        "kind": model.kind,
        "config": model.config_dict(),
        "sampler": sampler,
        "normalizers": normalizers,
        "obs_dim": model.obs_dim,
        "action_dim": model.action_dim,
        "env_id": model.env_id,
        "dwm_gym_version": __version__,
        **info,
        "weights_dtype": weights_dtype,
    }
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"dwm_gym": json.dumps(header)}))


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a checkpoint (cheap: the tensors are not read).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        CheckpointError: If it is not a dwm_gym checkpoint or of an unsupported format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("dwm_gym")
    except Exception as exc:  # safetensors raises several types on truncated/corrupt files
        raise CheckpointError(
            f"{path} is not a readable safetensors checkpoint (truncated or corrupt?): {exc}"
        ) from exc
    if raw is None:
        raise CheckpointError(f"{path} is a safetensors file but not a dwm_gym checkpoint (no 'dwm_gym' header)")
    try:
        header = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: its 'dwm_gym' header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: its 'dwm_gym' header must be a JSON object, got {type(header).__name__}")
    if header.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {header.get('format_version')}, this dwm_gym reads format {FORMAT_VERSION}"
        )
    missing = [key for key in REQUIRED_KEYS if key not in header]
    if missing:
        raise CheckpointError(f"{path}: its header lacks {', '.join(repr(k) for k in missing)}")
    unknown = {name: kind for name, kind in header["normalizers"].items() if kind not in NORMALIZER_KINDS}
    if unknown or set(header["normalizers"]) != {"state_normalizer", "reward_normalizer"}:
        raise CheckpointError(
            f"{path}: header 'normalizers' must name state_normalizer and reward_normalizer, each one of "
            f"{sorted(NORMALIZER_KINDS)}; got {header['normalizers']!r}"
        )
    return header


def read_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """All tensors of a checkpoint (weights ``model.*``, normalizers, data sample ``data.*``), on the CPU."""
    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    bad = non_finite(tensors)  # weights, normalizer statistics and start states must all be finite numbers
    if bad:
        raise CheckpointError(f"{path}: tensor {bad[0]!r} holds NaN or inf values; the checkpoint cannot be used")
    return tensors


def load_normalizers(header: dict, tensors: dict[str, torch.Tensor]) -> dict[str, Normalizer]:
    """The fitted ``state_normalizer`` and ``reward_normalizer`` a checkpoint stores (kinds from its header)."""
    norms = {}
    for name, kind in header["normalizers"].items():
        state = {k.split(".", 1)[1]: v.numpy() for k, v in tensors.items() if k.startswith(name + ".")}
        norms[name] = NORMALIZER_KINDS[kind]().load_state_dict(state)
    return norms


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of the checkpoint file as it was read (identifies the weights, e.g. for shared caches)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validate_env(header: dict, env: gym.Env | str | None, path: str | os.PathLike) -> None:
    """Checks that a checkpoint (its ``header``) fits ``env``: obs/action sizes and env id.

    Raises:
        CheckpointError: Naming each mismatch.
    """
    if env is None:
        return
    import gymnasium as gym

    env_id: str | None
    if isinstance(env, str):
        made = gym.make(env)
        spaces, env_id = (made.observation_space, made.action_space), env
        made.close()
    else:
        spaces, env_id = (env.observation_space, env.action_space), env.spec.id if env.spec is not None else None
    observation_space, action_space = spaces
    problems = []
    if observation_space.shape != (header["obs_dim"],):
        problems.append(f"observation shape {observation_space.shape} vs checkpoint ({header['obs_dim']},)")
    if action_space.shape != (header["action_dim"],):
        problems.append(f"action shape {action_space.shape} vs checkpoint ({header['action_dim']},)")
    if env_id and header.get("env_id") and env_id != header["env_id"]:
        problems.append(f"env id {env_id!r} vs checkpoint {header['env_id']!r}")
    if problems:
        raise CheckpointError(f"{path} does not fit this env: " + "; ".join(problems))
