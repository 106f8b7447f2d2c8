"""Gymnasium envs that imagine with a world model: single, vector, SB3 adapter, registration.

Classes load lazily, so ``import dwm_gym`` (which registers the ids) stays cheap.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "DiffusionImaginedEnv": "dwm_gym.envs.imagined_env",
    "DiffusionImaginedVectorEnv": "dwm_gym.envs.vector_env",
    "SB3ImaginedVecEnv": "dwm_gym.envs.sb3_vec_env",
    "ObservationRenderer": "dwm_gym.envs.mujoco_view",
    "register_envs": "dwm_gym.envs.registration",
    "env_id": "dwm_gym.envs.registration",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dwm_gym.envs' has no attribute {name!r}")
