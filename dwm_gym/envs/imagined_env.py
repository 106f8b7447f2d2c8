"""``DiffusionImaginedEnv``: a Gymnasium env whose dynamics are imagined by a world model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch

from dwm_gym.envs.actions import ClipWarning, check_actions
from dwm_gym.envs.settings import build_parts
from dwm_gym.envs.start_states import check_reset_options

if TYPE_CHECKING:
    from dwm_gym.envs.mujoco_view import ObservationRenderer


class DiffusionImaginedEnv(gym.Env):
    """A real ``gymnasium.Env`` that imagines its transitions with a DWM (or any world model).

    Spaces are the real env's. ``reset`` draws a start state, ``step`` imagines the next one:

    * ``horizon=1`` (default): returns ŝ_{t+1} and r̂_t;
    * ``horizon=H`` (2..T-1, DWM only): returns ŝ_{t+H} and Σ_{h<H} γ^h r̂_{t+h};
      ``info["discount"] = γ^H`` (train the agent with ``gamma=γ**H``) and ``info["segment"]``
      holds the H states and rewards.

    ``terminated`` comes from the env's v5 health rule; ``truncated`` only from the time limit
    (``max_episode_steps`` of ``gym.make``). The sampler's ``torch.Generator`` is seeded from
    ``np_random``, so the same seed gives the same rollout.

    Args:
        render_mode: ``None`` or ``rgb_array`` (the imagined state drawn in MuJoCo).
        width: Render width.
        height: Render height.
        **settings: What to imagine with and how: the fields of :class:`~dwm_gym.envs.settings.ImaginedEnvConfig`
            (``checkpoint``, ``task``, ``quality``, ``kind``, ``model``, ``horizon``, ``rtg``,
            ``gamma``, ``sampler``, ``start_states``, ``device``).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 125}
    observation_space: gym.spaces.Box
    action_space: gym.spaces.Box

    def __init__(self, render_mode: str | None = None, width: int = 480, height: int = 480, **settings: Any) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        parts = build_parts(type(self).__name__, settings)
        self.config, self.imagination, self.starts = parts.config, parts.imagination, parts.starts
        self.observation_space, self.action_space = parts.observation_space, parts.action_space
        self.metadata = {**self.metadata, "render_fps": max(1, round(parts.real_fps / parts.config.horizon))}
        self.render_mode, self.width, self.height = render_mode, width, height
        self._renderer: ObservationRenderer | None = None
        self._generator: torch.Generator | None = None
        self._obs: torch.Tensor | None = None
        self._warn_clip = ClipWarning()

    @property
    def model(self):
        """The world model behind the env."""
        return self.imagination.model

    @property
    def horizon(self) -> int:
        """H, transitions imagined per ``step``."""
        return self.imagination.horizon

    @property
    def rtg(self) -> float | None:
        """The scaled RTG target the world model is conditioned on (``None`` for models without RTG)."""
        return self.imagination.rtg

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Starts an episode from a drawn start state, or from ``options["state"]``; returns ``(obs, {})``.

        A ``seed`` (or the first reset) also reseeds the sampler's ``torch.Generator`` from ``np_random``;
        ``options["start_states"]`` overrides the start mode for this call.
        """
        super().reset(seed=seed)
        options = check_reset_options(options, ("state", "start_states"), type(self).__name__)
        if seed is not None or self._generator is None:
            device = self.imagination.device
            self._generator = torch.Generator(device=device).manual_seed(int(self.np_random.integers(2**62)))
        if "state" in options:
            start = np.asarray(options["state"], dtype=np.float64)
            if start.shape != self.observation_space.shape or not np.all(np.isfinite(start)):
                raise ValueError(f"options['state'] must be a finite array of shape {self.observation_space.shape}")
            self.starts.check_given(start[None])
        else:
            start = self.starts.sample(self.np_random, 1, options.get("start_states"))[0]
        self._obs = torch.as_tensor(start, dtype=torch.float32, device=self.imagination.device)[None]
        if self._renderer is not None:
            self._renderer.reset_x()
        return self._observation(), {}

    def step(self, action):
        """Imagines ``horizon`` transitions for ``action`` (clipped into the action space, warned once).

        Returns ŝ_{t+H}, the discounted reward sum, the imagined termination, ``truncated=False`` (time
        limits come from ``gym.make``) and ``info`` with ``discount`` and ``segment``.
        """
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        action, clipped = check_actions(action, self.action_space)
        if clipped:
            self._warn_clip(self.action_space)
        act = torch.as_tensor(action, device=self.imagination.device)[None]
        out = self.imagination.step(self._obs, act, self._generator)
        self._obs = out.next_obs
        if self._renderer is not None:
            self._renderer.advance(self._observation(), self.horizon)
        info = {
            "discount": self.imagination.gamma**self.horizon,
            "segment": {
                "states": out.segment_states[0].double().cpu().numpy(),
                "rewards": out.segment_rewards[0].double().cpu().numpy(),
            },
        }
        if out.uncertainty is not None and out.halted is not None:
            info["uncertainty"], info["halted"] = float(out.uncertainty[0]), bool(out.halted[0])
        return self._observation(), float(out.reward[0]), bool(out.terminated[0]), False, info

    def _observation(self) -> np.ndarray:
        if self._obs is None:
            raise RuntimeError("call reset() before reading the observation")
        return self._obs[0].double().cpu().numpy().astype(self.observation_space.dtype)

    def render(self):
        """An ``rgb_array`` image of the current imagined state drawn in MuJoCo (``None`` without a render mode)."""
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. You can specify the render_mode "
                f'at initialization, e.g. gym.make("{self.spec.id if self.spec else "DWM-hopper-medium-v0"}", '
                'render_mode="rgb_array")'
            )
            return None
        if self.render_mode != "rgb_array":
            return None
        if self._obs is None:
            raise RuntimeError("call reset() before render()")
        if self._renderer is None:
            from dwm_gym.envs.mujoco_view import ObservationRenderer

            self._renderer = ObservationRenderer(self.model.env_id, self.width, self.height)
        return self._renderer.render(self._observation())

    def close(self) -> None:
        """Closes the renderer and the real env used for start states, if they were opened."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.starts.close()
