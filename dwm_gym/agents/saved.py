"""``load_agent``: a saved agent of a run, for evaluation, without its (model-based) replay buffer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from dwm_gym.agents.agent_files import is_agent_file, is_zip_file, load_agent_file, load_sb3_zip
from dwm_gym.agents.run_config import ALGORITHMS


def load_agent(
    model_path: str | Path, algo: str | None = None, device: str = "auto", allow_pickle: bool = False
) -> tuple[OffPolicyAlgorithm, dict[str, Any]]:
    """Loads a saved agent for evaluation, without rebuilding its (model-based) replay buffer.

    Args:
        model_path: ``model.safetensors`` (or ``checkpoints/latest.safetensors``) of a run; an SB3 ``.zip``
            only with ``allow_pickle``.
        algo: ``td3bc``, ``iql`` or ``td3`` the file must hold; default: any of them (a ``.zip`` needs it, or
            the run's ``agent.json``).
        device: Torch device.
        allow_pickle: Read an SB3 ``.zip`` (a pickle, which runs the code it holds).

    Returns:
        (agent, run summary dict or ``{}``).

    Raises:
        FileNotFoundError: When ``model_path`` does not exist.
        ValueError: When a ``.zip``'s algorithm is neither given nor recorded.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"no saved agent at {model_path}")
    summary: dict[str, Any] = {}
    for folder in (model_path.parent, model_path.parent.parent):
        if (folder / "agent.json").is_file():
            summary = json.loads((folder / "agent.json").read_text())
            break
    plain_buffer: dict[str, Any] = {"replay_buffer_class": None, "replay_buffer_kwargs": {}, "buffer_size": 1}
    if is_agent_file(model_path) or not is_zip_file(model_path):  # a cut or foreign file: its own message
        chosen = {algo: ALGORITHMS[algo]} if algo in ALGORITHMS else ALGORITHMS
        classes = {entry.cls.__name__: entry.cls for entry in chosen.values()}
        return load_agent_file(model_path, classes, device=device, **plain_buffer), summary
    algo = algo or summary.get("config", {}).get("algo")
    if algo not in ALGORITHMS:
        raise ValueError(f"cannot tell the algorithm of {model_path}: pass --algo ({', '.join(ALGORITHMS)})")
    agent = load_sb3_zip(ALGORITHMS[algo].cls, model_path, allow_pickle, device=device, custom_objects=plain_buffer)
    return agent, summary
