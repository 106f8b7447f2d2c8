"""Learning curves of agent runs: real-env score and critic loss against gradient updates.

Reads what :func:`dwm_gym.agents.runs.train_agent` writes into a run folder (``evaluations.jsonl``
and SB3's ``progress.csv``) and plots several runs side by side.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LearningCurve:
    """One run's curves.

    Attributes:
        score_updates: Updates at each real-env evaluation.
        scores: Normalized score at each evaluation.
        loss_updates: Updates at each logged critic loss.
        critic_loss: Mean critic loss of the window ending there.
    """

    score_updates: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    loss_updates: list[int] = field(default_factory=list)
    critic_loss: list[float] = field(default_factory=list)


def read_learning_curve(run_dir: str | os.PathLike) -> LearningCurve:
    """The curves of one run folder (resumed runs: every ``progress*.csv`` part, in order)."""
    run_dir = Path(run_dir)
    curve = LearningCurve()
    log = run_dir / "evaluations.jsonl"
    if log.is_file():
        rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        by_step = {int(row["timesteps"]): float(row["normalized_score"]) for row in rows}
        curve.score_updates = sorted(by_step)
        curve.scores = [by_step[step] for step in curve.score_updates]
    losses: dict[int, float] = {}
    parts = sorted(run_dir.glob("progress.*.csv")) + [run_dir / "progress.csv"]
    for part in parts:
        if not part.is_file():
            continue
        with part.open(newline="") as handle:
            for row in csv.DictReader(handle):
                loss, step = row.get("train/critic_loss", ""), row.get("time/total_timesteps", "")
                if loss and step and math.isfinite(float(loss)):
                    losses[int(float(step))] = float(loss)
    curve.loss_updates = sorted(losses)
    curve.critic_loss = [losses[step] for step in curve.loss_updates]
    return curve


def plot_learning_curves(runs: Mapping[str, str | os.PathLike], path: str | os.PathLike, title: str = "") -> Path:
    """Score and critic loss (log scale) against updates for each named run, in one PNG.

    Args:
        runs: Label → run folder.
        path: The PNG to write.
        title: Figure title.

    Returns:
        The path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_score, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, run_dir in runs.items():
        curve = read_learning_curve(run_dir)
        ax_score.plot(curve.score_updates, curve.scores, marker="o", label=label)
        ax_loss.plot(curve.loss_updates, curve.critic_loss, label=label)
    ax_score.set(xlabel="gradient updates", ylabel="normalized score (real env)", title="score")
    ax_loss.set(xlabel="gradient updates", ylabel="critic loss", yscale="log", title="critic loss")
    for ax in (ax_score, ax_loss):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
