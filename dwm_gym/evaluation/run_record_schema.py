"""The compact record of one finished agent run: its fields, their checks and its JSON layout (``to_dict``).

A :class:`RunRecord` keeps what tables and learning curves need from a run: its settings, the digest of its world
model, its evaluation curve, a summary of its critic, and where it comes from (commit, date, machine).
:mod:`dwm_gym.evaluation.run_records` builds records from run folders and keeps them in JSON-lines files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA = 2  # 2: the critic's curve (critic.curve) and its windows' target gap (mve_minus_td)
#: The layouts this dwm_gym reads: a version-1 record is a version-2 one without the critic's curve.
READABLE_SCHEMAS = (1, 2)
CRITIC_WINDOW_FIELDS = (
    "updates",
    "loss",
    "max_q",
    "mean_abs_target",
    "mve_minus_td",
)  # a critic monitor window, as agent.json stores it (older runs lack the last fields)


class RunRecordError(ValueError):
    """A run record, a records file or a run folder that does not hold what is expected."""


@dataclass(frozen=True)
class Evaluation:
    """One evaluation on the real env: the scores over its episodes.

    Attributes:
        updates: Gradient updates done when it ran.
        normalized_score: Mean D4RL-normalized score over the episodes (0-1 scale).
        normalized_std: Standard deviation of the episodes' normalized scores (None when unknown).
        mean_return: Mean undiscounted return.
        std_return: Standard deviation of the returns (None when unknown).
    """

    updates: int
    normalized_score: float
    normalized_std: float | None
    mean_return: float
    std_return: float | None


@dataclass(frozen=True)
class CriticSummary:
    """The critic monitor of a run, in brief.

    Attributes:
        divergence: The monitor's divergence message, or None if the critic held.
        first: The first monitor window (``CRITIC_WINDOW_FIELDS``: updates, mean loss, max Q, mean |target|),
            None for a run without a monitor history. Old runs lack ``mean_abs_target``.
        last: The last window, like ``first``.
        max_q: The largest Q of any window (None without a history).
        curve: The window that ends at each evaluation (like ``first``), so that the critic can be plotted beside
            the learning curve; empty in records made before it was kept.
    """

    divergence: str | None = None
    first: dict[str, float] | None = None
    last: dict[str, float] | None = None
    max_q: float | None = None
    curve: tuple[dict[str, float], ...] = ()


@dataclass(frozen=True)
class RunRecord:
    """One finished agent run.

    Attributes:
        name: The run's name, unique within its records file (``DWM-TD3BC_h3_rtg0.7_s0``).
        method: What the tables call it (``DWM-TD3BC``, ``OneStep-IQL``, ``TD3BC``).
        algo: The offline-RL algorithm (``td3bc``, ``iql``).
        dataset_id: The Minari dataset (``dwm_gym/hopper/medium-v0``).
        dataset_hash: A content hash of the dataset, or None when the run did not record one.
        world_model: The world model's kind or file name (``dwm``, ``onestep``, ``hopper_medium_dwm.safetensors``),
            None for a model-free run.
        world_model_digest: SHA-256 of the world model's weights (None for a model-free run).
        horizon: The value-expansion horizon H (None for a run that has no H setting).
        rtg: The DWM's return-to-go target (None: the checkpoint's default).
        seed: The agent's seed.
        updates: Gradient updates of the finished run (its budget).
        eval_every: Updates between evaluations.
        eval_episodes: Real-env episodes per evaluation.
        settings: Every setting the run was made with (its ``AgentRunConfig`` as stored), machine-local paths
            reduced to file names.
        final: The last evaluation.
        final_returns: The returns of the final evaluation's episodes.
        curve: Every evaluation, in update order.
        critic: The critic monitor's summary.
        commit: The git commit of the code that made or archived the run (None when unknown).
        date: UTC date and time (ISO 8601) the record was made (None when unknown).
        machine: The machine the run was made on (processor, CPU count, CUDA device...; None when unknown).
        schema: The record layout's version.
    """

    name: str
    method: str
    algo: str
    dataset_id: str
    seed: int
    updates: int
    final: Evaluation
    curve: tuple[Evaluation, ...]
    final_returns: tuple[float, ...] = ()
    dataset_hash: str | None = None
    world_model: str | None = None
    world_model_digest: str | None = None
    horizon: int | None = None
    rtg: float | None = None
    eval_every: int | None = None
    eval_episodes: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    critic: CriticSummary = field(default_factory=CriticSummary)
    commit: str | None = None
    date: str | None = None
    machine: dict[str, Any] | None = None
    schema: int = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON types, in the layout of its ``schema`` (a version-1 record stays one)."""
        data = dataclasses.asdict(self)
        if self.schema == 1:
            data["critic"].pop("curve")
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Builds a record from :meth:`to_dict`'s layout.

        Raises:
            RunRecordError: On a missing or unknown field, a wrong type, or another schema version.
        """
        if not isinstance(data, Mapping):
            raise RunRecordError(f"a run record is a JSON object, got {type(data).__name__}")
        if data.get("schema", SCHEMA) not in READABLE_SCHEMAS:
            raise RunRecordError(
                f"run record schema {data.get('schema')!r}; this dwm_gym reads schemas {READABLE_SCHEMAS} (a newer "
                "dwm_gym wrote it: update dwm_gym)"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING} - {"settings"}
        missing, unknown = required - set(data), set(data) - names
        if missing or unknown:
            raise RunRecordError(
                f"run record {data.get('name', '?')!r}: missing fields {sorted(missing)}, unknown fields "
                f"{sorted(unknown)}; expected {sorted(names)}"
            )
        values = dict(data)
        if values.get("schema") == 1 and values.get("critic", {}).get("curve"):
            values["schema"] = 2  # written between the critic's curve and the version that names it
        try:
            values["final"] = _evaluation(values["final"])
            values["curve"] = tuple(_evaluation(point) for point in values["curve"])
            values["final_returns"] = tuple(float(r) for r in values.get("final_returns", ()))
            critic = dict(values.get("critic", {}))
            critic["curve"] = tuple(dict(window) for window in critic.get("curve", ()))
            values["critic"] = CriticSummary(**critic)
        except (TypeError, ValueError) as error:
            raise RunRecordError(f"run record {data.get('name', '?')!r}: {error}") from error
        record = cls(**values)
        record.validate()
        return record

    def validate(self) -> None:
        """Checks the fields' types and that the curve is in update order.

        Raises:
            RunRecordError: Saying which field is wrong.
        """
        checks = {
            "name": isinstance(self.name, str) and bool(self.name),
            "method": isinstance(self.method, str) and bool(self.method),
            "algo": isinstance(self.algo, str),
            "dataset_id": isinstance(self.dataset_id, str) and bool(self.dataset_id),
            "seed": isinstance(self.seed, int) and not isinstance(self.seed, bool),
            "updates": isinstance(self.updates, int) and self.updates >= 0,
            "horizon": self.horizon is None or isinstance(self.horizon, int),
            "rtg": self.rtg is None or isinstance(self.rtg, (int, float)),
            "settings": isinstance(self.settings, dict),
            "curve": [p.updates for p in self.curve] == sorted({p.updates for p in self.curve}),
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:
            raise RunRecordError(f"run record {self.name!r}: wrong {', '.join(wrong)} ({self.to_dict()})")


def _evaluation(data: Mapping[str, Any]) -> Evaluation:
    point = Evaluation(**data)
    if not isinstance(point.updates, int) or not all(
        isinstance(v, (int, float)) for v in (point.normalized_score, point.mean_return)
    ):
        raise RunRecordError(f"an evaluation needs integer updates and numeric scores, got {dict(data)}")
    return point
