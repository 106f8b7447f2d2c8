"""The resumable state of a behaviour SAC run, in formats that load without running code.

``sb3/sac_state.safetensors`` holds SB3's state dicts (policy, every optimizer's moments) and the entropy
coefficient, with the optimizers' ``param_groups`` and the step count as JSON metadata;
``sb3/replay_buffer.npz`` holds the replay buffer's arrays (read with ``allow_pickle=False``). The SAC model
itself is rebuilt from the run's ``config.json`` before the state is put back, so no class or function is
ever named by a file. Runs checkpointed by earlier versions (``model.zip``, ``replay_buffer.pkl``, both
pickles) are resumed only with ``allow_pickle=True``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from dwm_gym.utils.atomic import atomic_write
from dwm_gym.utils.checks import non_finite
from dwm_gym.utils.sb3_parameters import flatten_parameters, unflatten_parameters

__all__ = ["has_sac_state", "load_sac_state", "save_sac_state"]

STATE_FILE, BUFFER_FILE, KEY = "sac_state.safetensors", "replay_buffer.npz", "dwm_gym_sac"
BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def has_sac_state(folder: Path) -> bool:
    """Whether ``folder`` (a run's ``sb3/``) holds a pickle-free state."""
    return (folder / STATE_FILE).is_file() and (folder / BUFFER_FILE).is_file()


def save_sac_state(model: Any, folder: Path) -> None:
    """Writes ``model``'s weights, optimizer states, entropy coefficient and replay buffer to ``folder``."""
    tensors, groups = flatten_parameters(model.get_parameters())
    if isinstance(getattr(model, "log_ent_coef", None), torch.Tensor):
        tensors["log_ent_coef"] = model.log_ent_coef
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    meta = {KEY: json.dumps({"optimizers": groups, "num_timesteps": int(model.num_timesteps)})}
    folder.mkdir(parents=True, exist_ok=True)
    buffer = model.replay_buffer
    arrays = {name: getattr(buffer, name) for name in BUFFER_ARRAYS if getattr(buffer, name, None) is not None}
    arrays.update(pos=np.asarray(buffer.pos), full=np.asarray(buffer.full))
    atomic_write(folder / BUFFER_FILE, lambda tmp: np.savez(open(tmp, "wb"), **arrays))
    atomic_write(folder / STATE_FILE, lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_sac_state(model: Any, folder: Path) -> None:
    """Puts the state :func:`save_sac_state` wrote into ``model`` (a SAC built with the run's settings).

    Raises:
        ValueError: A truncated or corrupt file, NaN / inf in a tensor, or arrays of another shape.
    """
    try:
        with safe_open(str(folder / STATE_FILE), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {})[KEY])
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (safe_open is no dict)
        with np.load(folder / BUFFER_FILE, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001 (safetensors and numpy raise several types on corrupt files)
        raise ValueError(f"the SAC state in {folder} is truncated or corrupt ({exc}): start the run again") from exc
    bad = non_finite(tensors)
    if bad:
        raise ValueError(f"{folder / STATE_FILE}: tensor {bad[0]!r} holds NaN or inf values")
    params = unflatten_parameters({k: v for k, v in tensors.items() if k != "log_ent_coef"}, meta["optimizers"])
    if "log_ent_coef" in tensors:
        model.log_ent_coef.data.copy_(tensors["log_ent_coef"])
    model.set_parameters(params, exact_match=True, device="cpu")
    model.num_timesteps = int(meta["num_timesteps"])
    buffer = model.replay_buffer
    for name in BUFFER_ARRAYS:
        if name in arrays:
            target = getattr(buffer, name)
            if target is None or target.shape != arrays[name].shape:
                raise ValueError(f"{folder / BUFFER_FILE}: {name} has shape {arrays[name].shape}, the buffer another")
            target[...] = arrays[name]
    buffer.pos, buffer.full = int(arrays["pos"]), bool(arrays["full"])
