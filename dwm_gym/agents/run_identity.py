"""What makes two offline-RL runs the same run: their learning settings and the world model that imagines.

A run records both in its ``agent.json``: the :class:`AgentRunConfig` under ``config`` and, for a model-based
run, ``world_model_digest``, the SHA-256 of what imagines (the model's kind, settings, weights and
normalizers, see :func:`dwm_gym.value_expansion.cache.model_digest`). The setting ``world_model="dwm"`` names
whichever checkpoint the dataset resolves to, so the digest is what tells a run made with today's bundled
model from one made with an earlier export of it. Re-exporting a checkpoint with another data sample or header
keeps its digest; new weights (retraining, another weight precision) change it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from dwm_gym.agents.run_config import AgentRunConfig, ResolvedWorldModel, resolve_world_model

logger = logging.getLogger(__name__)

# settings that may change between a run and its resumption (they do not change what is learned)
RESUMABLE_CHANGES = {"steps", "device", "eval_every", "eval_episodes", "checkpoint_every"}


def world_model_digest(config: AgentRunConfig) -> str | None:
    """The digest of the world model ``config`` names (None for a model-free run).

    Raises:
        FileNotFoundError: When the named checkpoint does not exist.
    """
    resolved = resolve_world_model(config.world_model, config.dataset)
    return None if resolved is None else resolved.digest


def check_resume_config(
    summary_path: Path,
    config: AgentRunConfig,
    world_model: ResolvedWorldModel | str | None = None,
    data_digest: str | None = None,
) -> None:
    """Raises ValueError when ``config`` would resume a run with other settings, another world model or other data.

    A setting missing from the run's record (one added to ``AgentRunConfig`` after the run started) counts
    as its default, which is what the run used. ``world_model`` may be spelled differently (``"dwm"``, or the
    path of the checkpoint it resolves to) when the digests are equal. A record without ``world_model_digest``
    predates the digest: its model cannot be checked, and the resumption goes on with a warning.

    Args:
        summary_path: The run's ``agent.json``; nothing is checked when it does not exist (a new run).
        config: The settings of the resumption.
        world_model: The world model ``config`` resolves to, or just its digest (None: model-free).
        data_digest: The content digest of the dataset now (:func:`dwm_gym.data.content_hash.dataset_digest`);
            None: not checked.
    """
    if not summary_path.is_file():
        return
    digest = world_model.digest if isinstance(world_model, ResolvedWorldModel) else world_model
    summary = json.loads(summary_path.read_text())
    recorded_data = summary.get("dataset_sha256")
    if data_digest is not None and recorded_data is not None and recorded_data != data_digest:
        raise ValueError(
            f"--resume with other data than the run was started with: {config.dataset} now has content digest "
            f"{data_digest[:12]}, the run's was {recorded_data[:12]} (the dataset was remade); start a new run "
            "(another --out, or --force), or restore the run's dataset"
        )
    if data_digest is not None and recorded_data is None:
        logger.warning("%s predates dataset digests: cannot check that its data is unchanged", summary_path)
    recorded = summary.get("config", {})
    # a setting the record lacks was added after the run started: the run used its default
    defaults = {f.name: f.default for f in dataclasses.fields(AgentRunConfig)}
    before = {**defaults, **recorded}
    now = dataclasses.asdict(config)
    same_model = digest is not None and summary.get("world_model_digest") == digest
    free = RESUMABLE_CHANGES | ({"world_model"} if same_model else set())  # "dwm" or its path: the same model
    changed = {k: (before[k], v) for k, v in now.items() if k not in free and before[k] != v}
    if changed:
        detail = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
        raise ValueError(f"--resume with other settings than the run was started with ({detail}); use the same ones")
    if "world_model_digest" not in summary:
        if digest is not None:
            logger.warning("%s predates world-model digests: cannot check that its model is unchanged", summary_path)
        return
    if summary["world_model_digest"] != digest:
        path = world_model.path if isinstance(world_model, ResolvedWorldModel) else "another checkpoint"
        was, now_digest = str(summary["world_model_digest"])[:12], str(digest)[:12]
        raise ValueError(
            f"--resume with another world model than the run was started with: {config.world_model!r} now resolves "
            f"to {path}, whose model differs from the run's (digest {was} -> {now_digest}); start a new run "
            "(another --out), or put the run's checkpoint back"
        )
