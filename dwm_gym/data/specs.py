"""What the project knows about each locomotion task: env ids, RTG scales, dataset names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

QUALITIES: tuple[str, ...] = ("random", "medium", "medium-replay", "expert", "medium-expert")
"""The D4RL dataset qualities the project can generate."""

PAPER_QUALITIES: tuple[str, ...] = ("medium", "medium-replay", "medium-expert")
"""The qualities of the paper's tables: with the three tasks, its nine datasets (and env ids)."""

DATASET_NAMESPACE = "dwm_gym"


@dataclass(frozen=True)
class TaskSpec:
    """A locomotion task.

    Attributes:
        name: Short name, e.g. ``"hopper"``.
        env_id: Gymnasium id of the real environment.
        rtg_scale: Divisor of the discounted return-to-go (docs/paper.md#return-to-go: 400 / 550 / 1200).
        d4rl_ref_min: D4RL random-policy reference return.
        d4rl_ref_max: D4RL expert reference return.
        obs_dim: Size of the env's observation.
        action_dim: Size of the env's action.
    """

    name: str
    env_id: str
    rtg_scale: float
    d4rl_ref_min: float
    d4rl_ref_max: float
    obs_dim: int
    action_dim: int


TASKS: dict[str, TaskSpec] = {
    "hopper": TaskSpec("hopper", "Hopper-v5", 400.0, -20.272305, 3234.3, 11, 3),
    "walker2d": TaskSpec("walker2d", "Walker2d-v5", 550.0, 1.629008, 4592.3, 17, 6),
    "halfcheetah": TaskSpec("halfcheetah", "HalfCheetah-v5", 1200.0, -280.178953, 12135.0, 17, 6),
}


def task_spec(task: str) -> TaskSpec:
    """Looks a task up by short name (``"hopper"``) or Gymnasium id (``"Hopper-v5"``).

    Raises:
        KeyError: With the list of known tasks.
    """
    key = task.lower()
    if key in TASKS:
        return TASKS[key]
    for spec in TASKS.values():
        if spec.env_id.lower() == key or spec.env_id.split("-")[0].lower() == key:
            return spec
    raise KeyError(
        f"unknown task {task!r}; known: {', '.join(TASKS)} (or their ids {[t.env_id for t in TASKS.values()]})"
    )


def parse_dataset_name(name: str) -> tuple[TaskSpec, str]:
    """Splits ``"hopper-medium-replay"`` (or ``"dwm_gym/hopper/medium-replay-v0"``) into task and quality.

    Raises:
        ValueError: With the names that exist.
    """
    if name.startswith(f"{DATASET_NAMESPACE}/"):
        _, task, rest = name.split("/", 2)
        name = f"{task}-{rest.rsplit('-v', 1)[0]}"
    task, _, quality = name.partition("-")
    if task in TASKS and quality in QUALITIES:
        return TASKS[task], quality
    valid = [f"{t}-{q}" for t in TASKS for q in QUALITIES]
    raise ValueError(f"unknown dataset name {name!r}; expected one of: {', '.join(valid)}")


def paper_datasets() -> list[tuple[str, str]]:
    """(task, quality) of the paper's nine datasets, task by task: hopper-medium, hopper-medium-replay, ..."""
    return [(task, quality) for task in TASKS for quality in PAPER_QUALITIES]


def dataset_id(task: str, quality: str, version: int = 0) -> str:
    """Minari id of a generated dataset, e.g. ``dwm_gym/hopper/medium-v0``."""
    return f"{DATASET_NAMESPACE}/{task_spec(task).name}/{quality}-v{version}"


V5_REFERENCE_RETURNS: dict[str, dict[str, float]] = {
    # Measured by the project on Gymnasium v5 (mujoco 4.0.0). random: uniform actions, 100 episodes,
    # seed 0; expert: the shipped expert actor (stochastic, 50 episodes, the mean_return of its JSON);
    # see docs/scores.md and docs/datasets.md for the commands.
    "hopper": {"random": 15.669, "expert": 3443.014},
    "walker2d": {"random": 1.706, "expert": 3650.515},
    "halfcheetah": {"random": -290.178, "expert": 6059.593},
}


# the two sets of reference returns of normalized scores
Refs = Literal["d4rl", "v5"]


def reference_scores(task: str, refs: str = "d4rl") -> tuple[float, float]:
    """(random, expert) reference returns of ``task``.

    Args:
        task: Short name or env id.
        refs: ``"d4rl"`` (the published D4RL constants) or ``"v5"`` (measured by this project on
            Gymnasium v5: uniform random actions, and the shipped behaviour expert's return).

    Raises:
        ValueError: For an unknown ``refs``.
    """
    spec = task_spec(task)
    if refs == "d4rl":
        return spec.d4rl_ref_min, spec.d4rl_ref_max
    if refs != "v5":
        raise ValueError(f"refs must be 'd4rl' or 'v5', got {refs!r}")
    table = V5_REFERENCE_RETURNS[spec.name]
    return table["random"], table["expert"]
