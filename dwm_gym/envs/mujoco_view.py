"""Draws observations of the v5 locomotion envs in MuJoCo (off-screen ``rgb_array``).

Hopper/Walker2d/HalfCheetah-v5 observations are ``qpos[1:]`` then ``qvel``: the hidden x position
is integrated from the x velocity, so an imagined trajectory moves forward like a real one.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np


class ObservationRenderer:
    """Renders observations of ``env_id`` through the real env's MuJoCo model.

    Args:
        env_id: A Gymnasium MuJoCo id whose observation excludes x (``Hopper-v5``...).
        width: Image width.
        height: Image height.
    """

    def __init__(self, env_id: str, width: int = 480, height: int = 480) -> None:
        import gymnasium as gym

        self.env = gym.make(env_id, render_mode="rgb_array", width=width, height=height)
        self.env.reset(seed=0)
        base: Any = self.env.unwrapped  # a MuJoCo env: its model, dt and set_state are not on gym.Env
        self.nq, self.nv, self.dt = base.model.nq, base.model.nv, base.dt
        self.x = 0.0

    def reset_x(self, x: float = 0.0) -> None:
        """Places the body back at ``x`` (a new episode)."""
        self.x = x

    def advance(self, obs: np.ndarray, steps: int = 1) -> None:
        """Moves the hidden x forward by ``steps`` env steps at the observation's x velocity."""
        self.x += float(obs[self.nq - 1]) * self.dt * steps

    def render(self, obs: np.ndarray) -> np.ndarray:
        """An ``(H, W, 3)`` uint8 image of ``obs`` at the current hidden x."""
        obs = np.asarray(obs, dtype=np.float64)
        if obs.shape != (self.nq - 1 + self.nv,):
            raise ValueError(f"expected an observation of shape ({self.nq - 1 + self.nv},), got {obs.shape}")
        qpos = np.concatenate([[self.x], obs[: self.nq - 1]])
        unwrapped: Any = self.env.unwrapped
        unwrapped.set_state(qpos, obs[self.nq - 1 :])
        try:
            return cast(np.ndarray, self.env.render())  # render_mode rgb_array: one frame
        except Exception as exc:  # mujoco.FatalError when no OpenGL platform is loaded
            if "OpenGL" not in str(exc):
                raise
            raise RuntimeError(
                "MuJoCo could not create an off-screen OpenGL context. On a machine without a display, set "
                "MUJOCO_GL=egl (or osmesa) in the environment before starting Python."
            ) from exc

    def close(self) -> None:
        """Closes the real env that draws the observations."""
        self.env.close()
