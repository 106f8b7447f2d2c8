"""The pickle-free agent file: safetensors weights plus JSON settings, loadable without running any code.

One ``.safetensors`` file holds an agent (TD3BC, IQL or stock TD3):

* tensors ``params/<name>/<key>``: the state dicts SB3's ``get_parameters`` gives (the policy with its
  normalizer statistics, and every optimizer's moments, so training resumes exactly where it stopped);
* tensors ``spaces/<observation|action>/<low|high>``: the spaces the agent acts in;
* the ``dwm_gym_agent`` metadata entry, JSON: the format version, the class, its constructor settings,
  ``policy_kwargs`` (classes by name, from a fixed list), the replay buffer's class (by name, from a fixed
  list) and keyword arguments (checkpoint paths, numbers), the optimizers' ``param_groups``, the counters
  (updates done, IQL's reward scale) and the critic statistics.

Reading it parses JSON and copies tensors; no stored name is ever imported or called except those of
:data:`POLICY_CLASSES` and :data:`BUFFER_CLASSES`. An SB3 ``.zip`` is a pickle: loading one runs whatever
code it holds, so it is only read with ``allow_pickle=True`` (``--allow-pickle``).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from pathlib import Path
from typing import Any

import torch as th
from gymnasium import spaces
from safetensors import safe_open
from safetensors.torch import save_file
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn

from dwm_gym.agents.diagnostics import CriticMonitor, CriticWindow
from dwm_gym.agents.normalization import NormalizedFlattenExtractor
from dwm_gym.utils.atomic import atomic_write
from dwm_gym.utils.checks import non_finite
from dwm_gym.utils.sb3_adapter import counters, set_counters
from dwm_gym.utils.sb3_parameters import flatten_parameters, unflatten_parameters
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, OneStepMVEReplayBuffer

__all__ = ["AGENT_FORMAT", "AgentFileError", "is_agent_file", "is_zip_file", "load_agent_file", "save_agent"]

AGENT_FORMAT = "dwm_gym-agent"
VERSION = 1
# the only classes a file may name (policy_kwargs values); nothing else is looked up from a file
POLICY_CLASSES: dict[str, type] = {
    cls.__name__: cls for cls in (NormalizedFlattenExtractor, FlattenExtractor, nn.ReLU, nn.Tanh, nn.ELU)
}
BUFFER_CLASSES: dict[str, type] = {
    cls.__name__: cls for cls in (ReplayBuffer, DiffusionMVEReplayBuffer, OneStepMVEReplayBuffer)
}
_SKIPPED = {"self", "policy", "env", "device", "_init_setup_model", "policy_kwargs", "tensorboard_log"}
_SKIPPED |= {"replay_buffer_class", "replay_buffer_kwargs", "action_noise", "verbose"}


class AgentFileError(ValueError):
    """An agent file that cannot be used as given (the message names the file and the cause)."""


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _encode_policy_kwargs(policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    encoded = {}
    for key, value in policy_kwargs.items():
        if isinstance(value, type):
            if POLICY_CLASSES.get(value.__name__) is not value:
                raise AgentFileError(f"policy_kwargs[{key!r}] = {value.__name__} cannot be saved without pickle")
            value = {"class": value.__name__}
        json.dumps(value)  # lists and numbers only; anything else fails here, before a file is written
        encoded[key] = value
    return encoded


def _decode_policy_kwargs(encoded: dict[str, Any], path: Path) -> dict[str, Any]:
    decoded = {}
    for key, value in encoded.items():
        if isinstance(value, dict) and set(value) == {"class"}:
            if value["class"] not in POLICY_CLASSES:
                raise AgentFileError(f"{path}: policy_kwargs[{key!r}] names an unknown class {value['class']!r}")
            value = POLICY_CLASSES[value["class"]]
        decoded[key] = value
    return decoded


def _buffer(agent: Any) -> dict[str, Any] | None:
    """The replay buffer's class name and JSON kwargs, when both have a pickle-free form (else None)."""
    cls: type | None = agent.replay_buffer_class
    if cls is None or BUFFER_CLASSES.get(cls.__name__) is not cls:
        return None
    name = cls.__name__
    kwargs = {k: str(v) if isinstance(v, Path) else v for k, v in (agent.replay_buffer_kwargs or {}).items()}
    try:
        return {"class": name, "kwargs": json.loads(json.dumps(kwargs))}
    except TypeError:  # a model object instead of a checkpoint path: the loader passes the buffer itself
        return None


def _settings(agent: Any) -> dict[str, Any]:
    """The constructor arguments of ``agent``'s class that it holds as plain JSON values."""
    names = [p for p in inspect.signature(type(agent).__init__).parameters if p not in _SKIPPED]
    return {name: getattr(agent, name) for name in names if hasattr(agent, name) and _plain(getattr(agent, name))}


def save_agent(agent: Any, path: str | os.PathLike) -> Path:
    """Writes ``agent`` (TD3BC, IQL or TD3) to ``path`` in the pickle-free format, atomically.

    Raises:
        AgentFileError: When a setting has no pickle-free form (a custom policy class).
    """
    policy_class = type(agent.policy)
    if agent.policy_aliases.get("MlpPolicy") is not policy_class:
        raise AgentFileError(f"{policy_class.__name__} is not the class's MlpPolicy: it has no pickle-free form")
    flat, optimizers = flatten_parameters(agent.get_parameters())
    tensors: dict[str, th.Tensor] = {f"params/{key}": value for key, value in flat.items()}
    for which, space in (("observation", agent.observation_space), ("action", agent.action_space)):
        if not isinstance(space, spaces.Box):
            raise AgentFileError(f"the {which} space must be a Box, got {type(space).__name__}")
        tensors[f"spaces/{which}/low"] = th.as_tensor(space.low)
        tensors[f"spaces/{which}/high"] = th.as_tensor(space.high)
    monitor = getattr(agent, "critic_monitor", None)
    meta = {
        "format": AGENT_FORMAT,
        "version": VERSION,
        "class": type(agent).__name__,
        "settings": _settings(agent),
        "policy_kwargs": _encode_policy_kwargs(agent.policy_kwargs),
        "replay_buffer": _buffer(agent),
        "optimizers": optimizers,
        "counters": counters(agent),
        "reward_scale": getattr(agent, "reward_scale", None),
        "critic_monitor": dataclasses.asdict(monitor) if isinstance(monitor, CriticMonitor) else None,
        "divergence": getattr(agent, "divergence", None),
    }
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    header = {AGENT_FORMAT: json.dumps(meta)}
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=header))


def is_agent_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a readable file in this format (reads only its header)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return AGENT_FORMAT in (handle.metadata() or {})
    except Exception:  # noqa: BLE001 (safetensors raises several types on files of other formats)
        return False


def read_agent_file(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, th.Tensor]]:
    """(metadata, tensors) of an agent file, checked: the format, and finite weights and statistics.

    Raises:
        AgentFileError: A missing, truncated or foreign file, or one holding NaN / inf (the tensor is named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved agent at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(AGENT_FORMAT)
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (safe_open is no dict)
    except Exception as exc:  # noqa: BLE001 (several types on truncated or foreign files)
        hint = " (an SB3 .zip: pass --allow-pickle / allow_pickle=True if you trust it)" if is_zip_file(path) else ""
        raise AgentFileError(f"{path} is not a readable agent file{hint}: {exc}") from exc
    if raw is None:
        raise AgentFileError(f"{path} is a safetensors file but not a dwm_gym agent (no {AGENT_FORMAT!r} header)")
    try:
        meta = json.loads(raw)
    except ValueError as exc:
        raise AgentFileError(f"{path}: its {AGENT_FORMAT!r} header is not valid JSON ({exc})") from exc
    if meta.get("version") != VERSION:
        raise AgentFileError(f"{path}: agent format version {meta.get('version')!r}, this dwm_gym reads {VERSION}")
    bad = non_finite({k: v for k, v in tensors.items() if k.startswith("params/")})
    if bad:
        raise AgentFileError(f"{path}: tensor {bad[0]} holds NaN or inf values; the agent cannot be used")
    return meta, tensors


def is_zip_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` starts like a zip archive (an SB3 agent is one)."""
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def _space(tensors: dict[str, th.Tensor], which: str) -> spaces.Box:
    low, high = tensors[f"spaces/{which}/low"].numpy(), tensors[f"spaces/{which}/high"].numpy()
    return spaces.Box(low=low, high=high, dtype=low.dtype)


def check_env_fits(observation_space: spaces.Space, action_space: spaces.Space, env: Any, what: Any) -> None:
    """Raises AgentFileError when ``env``'s spaces differ in shape from an agent's (both shapes named).

    Args:
        observation_space: The agent's.
        action_space: The agent's.
        env: A Gymnasium env.
        what: The agent's file (or name), for the message.
    """
    for which, saved, given in (
        ("observation", observation_space, env.observation_space),
        ("action", action_space, env.action_space),
    ):
        if saved.shape != given.shape:
            env_id = getattr(getattr(env, "spec", None), "id", "this env")
            raise AgentFileError(
                f"{what}: the agent's {which} space has shape {saved.shape} but {env_id}'s has {given.shape}; "
                "use the env it was trained for"
            )


def _parameters(meta: dict[str, Any], tensors: dict[str, th.Tensor]) -> dict[str, dict[str, Any]]:
    flat = {key[len("params/") :]: value for key, value in tensors.items() if key.startswith("params/")}
    return unflatten_parameters(flat, meta["optimizers"])


def load_agent_file(
    path: str | os.PathLike, classes: dict[str, type], env: Any = None, device: str = "auto", **overrides: Any
) -> Any:
    """Rebuilds the agent saved at ``path``.

    Args:
        path: The ``.safetensors`` agent file.
        classes: Class name -> class of the algorithms that may be loaded (``{"TD3BC": TD3BC, ...}``).
        env: The env the agent will act in (optional): its spaces must be the saved ones.
        device: Torch device.
        **overrides: Constructor arguments replacing the saved ones (``replay_buffer_class``, ``buffer_size``...).

    Raises:
        AgentFileError: See :func:`read_agent_file`; also an agent of a class not in ``classes``, or an env whose
            spaces differ from the agent's (both shapes named).
    """
    path = Path(path)
    meta, tensors = read_agent_file(path)
    if meta["class"] not in classes:
        raise AgentFileError(f"{path} holds a {meta['class']} agent, not one of {', '.join(classes)}")
    cls = classes[meta["class"]]
    observation_space, action_space = _space(tensors, "observation"), _space(tensors, "action")
    if env is not None:
        check_env_fits(observation_space, action_space, env, path)
    kwargs = {**meta["settings"], "policy_kwargs": _decode_policy_kwargs(meta["policy_kwargs"], path)}
    buffer = meta.get("replay_buffer")
    if buffer is not None and buffer.get("class") in BUFFER_CLASSES:
        kwargs.update(replay_buffer_class=BUFFER_CLASSES[buffer["class"]], replay_buffer_kwargs=buffer["kwargs"])
    kwargs.update(overrides)
    agent = cls("MlpPolicy", env=env, device=device, _init_setup_model=False, **kwargs)
    if env is None:
        agent.observation_space, agent.action_space, agent.n_envs = observation_space, action_space, 1
    agent._setup_model()
    try:
        agent.set_parameters(_parameters(meta, tensors), exact_match=True, device=device)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise AgentFileError(f"{path}: its weights do not fit a {meta['class']} with its settings: {exc}") from exc
    set_counters(agent, meta["counters"])
    if meta.get("reward_scale") is not None:
        agent.reward_scale = float(meta["reward_scale"])
    if meta.get("critic_monitor") is not None and isinstance(getattr(agent, "critic_monitor", None), CriticMonitor):
        monitor = dict(meta["critic_monitor"])
        monitor["history"] = [CriticWindow(*row) for row in monitor.get("history", [])]
        agent.critic_monitor = CriticMonitor(**monitor)
        agent.divergence = meta.get("divergence")
    return agent


def load_sb3_zip(cls: type, path: str | os.PathLike, allow_pickle: bool, **kwargs: Any) -> Any:
    """SB3's ``load`` of a ``.zip`` (a pickle: it runs the code it holds), only with ``allow_pickle=True``.

    Raises:
        AgentFileError: Without ``allow_pickle``.
    """
    if not allow_pickle:
        raise AgentFileError(
            f"{path} is an SB3 .zip, which is a pickle: loading it runs any code it holds. Load it only if you "
            "trust where it comes from, with --allow-pickle (allow_pickle=True in Python); re-save it with "
            "dwm_gym.agents.save_agent to get a pickle-free .safetensors file"
        )
    try:
        # SB3's own load, under any override; mypy does not model a classmethod's __func__
        return BaseAlgorithm.load.__func__(cls, path, **kwargs)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 (SB3 raises assertions, KeyErrors... on foreign or cut files)
        raise AgentFileError(
            f"{path} could not be read as an SB3 {cls.__name__} .zip ({type(exc).__name__}: {exc}); a cut file, or "
            "an agent of another algorithm (--algo)"
        ) from exc
