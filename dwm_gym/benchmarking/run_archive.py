"""The committed archive of finished offline-RL runs: a records file per dataset, one record per run.

Each line of ``benchmarks/results/records/<dataset>.jsonl`` is a :class:`~dwm_gym.evaluation.run_records.RunRecord`.

A finished run's record is appended when it ends, so that a later invocation, whose ``--runs`` folder is gone,
reuses the run instead of training it again. A record is reused only by a run with the same update budget,
settings and world model (``world_model_digest``, see :mod:`dwm_gym.agents.run_identity`), so a short check run
never passes for a 50k-update one, and a run made with an earlier export of a bundled model is not taken for one
made with today's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from dwm_gym.agents.run_identity import RESUMABLE_CHANGES
from dwm_gym.evaluation.run_records import RunRecord, append_records, read_records, record_from_run_folder
from dwm_gym.utils.provenance import machine_info, package_source, utc_now


def same_run(record: RunRecord, updates: int, config: Any, digest: str | None) -> bool:
    """Whether ``record`` was made with ``updates`` updates, ``config``'s settings and the model of ``digest``.

    ``config`` is an ``AgentRunConfig``; ``digest`` its ``world_model_digest(config)`` (None for model-free runs).

    A model-based record without a digest predates them and is not the same run: its model is unknown. With
    equal digests the ``world_model`` setting's spelling does not matter: ``"dwm"`` and the path of the same
    checkpoint name the same model.
    """
    if record.updates != updates or record.world_model_digest != digest:
        return False
    return same_settings(record.settings, config, ignore=() if digest is None else ("world_model",))


def same_settings(stored: dict, config: Any, ignore: tuple[str, ...] = ()) -> bool:
    """Whether a finished run was made with ``config``'s settings (apart from those named in ``ignore``).

    Settings that change nothing learned (evaluation and checkpoint periods, device, where the shared
    imagination cache file lives: its content is checked by the cache's own identity) are ignored,
    and a setting the stored run predates counts as equal when ``config`` keeps its default, so
    adding a field to :class:`AgentRunConfig` does not throw finished runs away.
    """
    for field in dataclasses.fields(config):
        if field.name in RESUMABLE_CHANGES or field.name == "cache_file" or field.name in ignore:
            continue
        value = getattr(config, field.name)
        if field.name in stored:
            if stored[field.name] != value:
                return False
        elif value != field.default:
            return False
    return True


def archived_record(archive: Path, name: str) -> RunRecord | None:
    """The record named ``name`` in the archive file ``archive``, or None."""
    return next((r for r in read_records(archive) if r.name == name), None)


def archive_finished(out: Path, archive: Path, updates: int, config: Any, digest: str | None) -> RunRecord | None:
    """Appends the record of the finished run in ``out`` to ``archive`` unless another run holds its name.

    A record of another budget or other settings under the same name (a short check run beside the committed
    50k-update ones) is never overwritten: this run is then left unarchived. Returns the archived record (the
    stored one when the same run was archived before), or None when it was left out.
    """
    stored = archived_record(archive, out.name)
    if stored is not None:
        if same_run(stored, updates, config, digest):
            return stored
        print(f"not archived: {archive} holds a run {out.name} with other updates, settings or model")
        return None
    return archive_folder(out, archive)


def archive_folder(out: Path, archive: Path, **settings: Any) -> RunRecord:
    """Appends the record of the finished run in ``out`` to ``archive``, with this commit, date and machine.

    The record is named after the folder; ``settings`` are those its ``agent.json`` lacks.
    """
    machine = {k: v for k, v in machine_info().items() if k != "load_average"}
    record = record_from_run_folder(
        out, commit=package_source()["commit"], date=utc_now(), machine=machine, settings=settings or None
    )
    append_records(archive, [record])
    return record


def finished(record: RunRecord) -> dict:
    """A run's figures as the reports use them.

    Its final evaluation (``normalized_score``, ``mean_return``, ``std_return``, ``returns``), its learning
    curve (``updates``, ``normalized_score``, ``mean_return`` per evaluation), the critic monitor's divergence
    message (None if the critic held), its first and last windows (``critic_ends``; empty for a run without a
    monitor history) and the largest Q of any window (``critic_max_q``).
    """
    ends = [record.critic.first, record.critic.last] if record.critic.first is not None else []
    return {
        "normalized_score": record.final.normalized_score,
        "mean_return": record.final.mean_return,
        "std_return": record.final.std_return,
        "returns": list(record.final_returns),
        "timesteps": record.final.updates,
        "curve": [
            {"updates": p.updates, "normalized_score": p.normalized_score, "mean_return": p.mean_return}
            for p in record.curve
        ],
        "divergence": record.critic.divergence,
        "critic_ends": ends,
        "critic_max_q": record.critic.max_q,
    }
