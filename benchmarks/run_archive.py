"""The committed archive of finished offline-RL runs (``benchmarks/results/scores_runs``).

Each finished run's small records (``agent.json``, ``evaluations.jsonl``, ``progress.csv`` and, for a
resumed run, the earlier log parts ``progress.<k>.csv``; no model) are copied to
``<archive>/<dataset>/<run name>/`` so that a later session, whose ``--runs`` folder is gone, reuses the
run instead of training it again. A record is reused, restored or overwritten only by
a run with the same update budget, settings and world model (``world_model_digest``, see
:mod:`dwm_gym.agents.run_identity`), so a short check run never mixes into the 50k-update records (nor they
into its curve), and a run made with an earlier export of a bundled model is not taken for one made with today's.
"""

from __future__ import annotations

import json
from pathlib import Path

from dwm_gym.agents.diagnostics import CriticWindow

ARCHIVED = ("agent.json", "evaluations.jsonl", "progress.csv")


def records(folder: Path) -> list[str]:
    """The names of the records in ``folder`` to archive or restore: ``ARCHIVED`` and the log parts a
    resumption set aside (``progress.1.csv``, ...; SB3's CSV logger starts a new file on resume)."""
    parts = sorted(path.name for path in folder.glob("progress.*.csv"))
    return [name for name in ARCHIVED if (folder / name).is_file()] + parts


def same_run(summary: dict, updates: int, config, digest: str | None) -> bool:
    """Whether a run's ``agent.json`` summary was made with ``updates`` updates, ``config``'s settings and the
    world model of digest ``digest`` (``world_model_digest(config)``; None for model-free runs).

    A model-based record without a digest predates them and is not the same run: its model is unknown. With
    equal digests the ``world_model`` setting's spelling does not matter: ``"dwm"`` and the path of the same
    checkpoint (a model scored with ``--dwm-checkpoint`` before it was bundled) name the same model.
    """
    if summary.get("updates") != updates or summary.get("world_model_digest") != digest:
        return False
    return same_settings(summary.get("config", {}), config, ignore=() if digest is None else ("world_model",))


def archived_summary(folder: Path) -> dict | None:
    """The ``agent.json`` summary of the run in ``folder``, or None if it holds none."""
    path = folder / "agent.json"
    return json.loads(path.read_text()) if path.is_file() else None


def archive_finished(out: Path, archive: Path, updates: int, config, digest: str | None) -> None:
    """Copies a finished run's small records (no model) to ``archive`` (committed), so that later
    sessions, whose ``--runs`` folder is gone, reuse the run instead of training it again.

    An archived run made with another budget or other settings under the same name (a short check run
    beside the committed 50k-update ones) is never overwritten: this run is then left unarchived.
    """
    import shutil

    target = archive / out.name
    stored = archived_summary(target)
    if stored is not None and not same_run(stored, updates, config, digest):
        print(f"not archived: {target} holds a run with other updates, settings or model; pass another --archive")
        return
    target.mkdir(parents=True, exist_ok=True)
    for name in records(out):
        shutil.copyfile(out / name, target / name)


def restore_finished(out: Path, archive: Path, updates: int, config, digest: str | None) -> None:
    """Puts an archived finished run back into ``out`` when ``out`` holds no run and the archived
    one was made with ``updates`` updates, ``config``'s settings and the model of ``digest`` (another
    budget's records would otherwise mix into this run's curve)."""
    import shutil

    source = archive / out.name
    stored = archived_summary(source)
    if (out / "agent.json").is_file() or stored is None or not same_run(stored, updates, config, digest):
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in records(source):
        shutil.copyfile(source / name, out / name)


def same_settings(stored: dict, config, ignore: tuple[str, ...] = ()) -> bool:
    """Whether a finished run was made with ``config``'s settings (apart from those named in ``ignore``).

    Settings that change nothing learned (evaluation and checkpoint periods, device, where the shared
    imagination cache file lives: its content is checked by the cache's own identity) are ignored,
    and a setting the stored run predates counts as equal when ``config`` keeps its default, so
    adding a field to :class:`AgentRunConfig` does not throw finished runs away.
    """
    import dataclasses

    from dwm_gym.agents.run_identity import RESUMABLE_CHANGES

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


CRITIC_FIELDS = CriticWindow._fields  # a critic monitor history row, as agent.json stores it


def finished(out: Path, summary: dict) -> dict:
    """The final evaluation of a run, its learning curve (every evaluation of ``evaluations.jsonl``), the
    critic monitor's divergence message (None if the critic held), its first and last windows
    (``critic_ends``: :data:`CRITIC_FIELDS` each; empty for a run without a monitor history) and the largest
    Q of any window (``critic_max_q``; None without a history)."""
    curve = []
    log = out / "evaluations.jsonl"
    if log.is_file():
        rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        by_step = {int(r["timesteps"]): r for r in rows}  # a resumed run may repeat an evaluation
        curve = [
            {"updates": t, "normalized_score": by_step[t]["normalized_score"], "mean_return": by_step[t]["mean_return"]}
            for t in sorted(by_step)
        ]
    critic = summary.get("critic", {})
    divergence = critic.get("divergence")  # the run's critic monitor; None when it held
    history = critic.get("history") or []
    # runs from before the monitor kept mean |target| have 3-field rows: their windows lack that key
    ends = [dict(zip(CRITIC_FIELDS, history[i])) for i in (0, -1)] if history else []
    max_q = max(row[2] for row in history) if history else None
    return {
        **summary["final_evaluation"],
        "curve": curve,
        "divergence": divergence,
        "critic_ends": ends,
        "critic_max_q": max_q,
    }
