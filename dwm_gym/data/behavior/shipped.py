"""Finding behaviour policies: shipped in the package, or trained into ``$DWM_GYM_HOME``.

Look-up order for ``{task}_{role}.safetensors`` (role ``medium`` or ``expert``) and the
``{task}_medium_replay.npz`` replay stream: ``$DWM_GYM_HOME/behavior`` (default
``~/.cache/dwm_gym/behavior``), then the package's ``assets`` folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dwm_gym.data.behavior.actor import BehaviorPolicy, load_actor
from dwm_gym.data.episode import Episode
from dwm_gym.utils.paths import dwm_gym_home

ASSETS = Path(__file__).parent / "assets"
ROLES = ("medium", "expert")


def user_behavior_dir() -> Path:
    """Where trained behaviour policies of the user go."""
    return dwm_gym_home() / "behavior"


def find_behavior_file(filename: str) -> Path | None:
    """The first existing ``filename`` in the user folder, then the package assets."""
    for folder in (user_behavior_dir(), ASSETS):
        if (folder / filename).is_file():
            return folder / filename
    return None


def load_behavior_policy(task: str, role: str) -> BehaviorPolicy | None:
    """The behaviour actor of ``task`` for ``role``, or ``None`` when none exists yet."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    path = find_behavior_file(f"{task}_{role}.safetensors")
    return load_actor(path) if path is not None else None


def save_replay_stream(episodes: list[Episode], path: Path, info: dict) -> Path:
    """Stores a replay stream compactly (float32, compressed npz, no pickle)."""
    from dwm_gym.utils.atomic import atomic_write

    arrays: dict[str, Any] = {
        "observations": np.concatenate([e.observations for e in episodes]).astype(np.float32),
        "actions": np.concatenate([e.actions for e in episodes]).astype(np.float32),
        "rewards": np.concatenate([e.rewards for e in episodes]).astype(np.float32),
        "terminated": np.array([e.terminated for e in episodes]),
        "lengths": np.array([len(e) for e in episodes], dtype=np.int64),
        "info_json": np.frombuffer(__import__("json").dumps(info).encode(), dtype=np.uint8),
    }
    return atomic_write(path, lambda tmp: np.savez_compressed(open(tmp, "wb"), **arrays))


def load_replay_stream(path: Path) -> tuple[list[Episode], dict]:
    """Reads a stream written by :func:`save_replay_stream` (``allow_pickle=False``)."""
    import json

    with np.load(path, allow_pickle=False) as data:
        lengths, terminated = data["lengths"], data["terminated"]
        obs, actions, rewards = data["observations"], data["actions"], data["rewards"]
        info = json.loads(data["info_json"].tobytes().decode())
    episodes, o, t = [], 0, 0
    for length, term in zip(lengths, terminated):
        terminations = np.zeros(length, bool)
        truncations = np.zeros(length, bool)
        (terminations if term else truncations)[-1] = True
        episodes.append(
            Episode(
                obs[o : o + length + 1].astype(np.float64),
                actions[t : t + length],
                rewards[t : t + length].astype(np.float64),
                terminations,
                truncations,
            )
        )
        o += length + 1
        t += length
    return episodes, info
