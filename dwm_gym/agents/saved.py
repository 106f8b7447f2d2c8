"""``load_agent``: a saved agent of a run, for evaluation, without its (model-based) replay buffer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from dwm_gym.agents.run_config import ALGORITHMS


def load_agent(
    model_path: str | Path, algo: str | None = None, device: str = "auto"
) -> tuple[OffPolicyAlgorithm, dict[str, Any]]:
    """Loads a saved agent for evaluation, without rebuilding its (model-based) replay buffer.

    Args:
        model_path: ``model.zip`` (or ``checkpoints/latest.zip``) of a run.
        algo: ``td3bc``, ``iql`` or ``td3``; default: read from the run's ``agent.json``.
        device: Torch device.

    Returns:
        (agent, run summary dict or ``{}``).

    Raises:
        FileNotFoundError: When ``model_path`` does not exist.
        ValueError: When the algorithm is neither given nor recorded.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"no saved agent at {model_path}")
    summary: dict[str, Any] = {}
    for folder in (model_path.parent, model_path.parent.parent):
        if (folder / "agent.json").is_file():
            summary = json.loads((folder / "agent.json").read_text())
            break
    algo = algo or summary.get("config", {}).get("algo")
    if algo not in ALGORITHMS:
        raise ValueError(f"cannot tell the algorithm of {model_path}: pass --algo ({', '.join(ALGORITHMS)})")
    plain_buffer: dict[str, Any] = {"replay_buffer_class": None, "replay_buffer_kwargs": {}, "buffer_size": 1}
    agent = ALGORITHMS[algo].cls.load(model_path, device=device, custom_objects=plain_buffer)
    return agent, summary
