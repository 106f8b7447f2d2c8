"""``import dwm_gym`` registers ``DWM-{task}-{quality}-v0`` with Gymnasium.

``gym.make`` builds a :class:`~dwm_gym.envs.imagined_env.DiffusionImaginedEnv`, ``gym.make_vec(...,
vectorization_mode="vector_entry_point")`` a :class:`~dwm_gym.envs.vector_env.DiffusionImaginedVectorEnv`.
The checkpoint is resolved when the env is made (``checkpoint=`` kwarg, ``$DWM_GYM_HOME``, the
package), so registering is cheap and needs no file.
"""

from __future__ import annotations

import gymnasium as gym

from dwm_gym.data.specs import QUALITIES, TASKS

MAX_EPISODE_STEPS = 1000


def env_id(task: str, quality: str) -> str:
    """``DWM-hopper-medium-v0`` style ids."""
    return f"DWM-{task}-{quality}-v0"


def register_envs() -> list[str]:
    """Registers every ``DWM-{task}-{quality}-v0`` id (idempotent); returns the ids."""
    ids = []
    for task in TASKS:
        for quality in QUALITIES:
            name = env_id(task, quality)
            ids.append(name)
            if name in gym.registry:
                continue
            gym.register(
                id=name,
                entry_point="dwm_gym.envs.imagined_env:DiffusionImaginedEnv",
                vector_entry_point="dwm_gym.envs.vector_env:DiffusionImaginedVectorEnv",
                max_episode_steps=MAX_EPISODE_STEPS,
                kwargs={"task": task, "quality": quality},
            )
    return ids
