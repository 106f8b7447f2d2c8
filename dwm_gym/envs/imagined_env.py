"""``DiffusionImaginedEnv``: a Gymnasium env whose dynamics are imagined by a world model."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import torch

from dwm_gym.envs.actions import ClipWarning, check_actions
from dwm_gym.envs.imagination import Imagination
from dwm_gym.envs.start_states import StartStates
from dwm_gym.utils.device import resolve_device
from dwm_gym.world_model.bundled import resolve_checkpoint
from dwm_gym.world_model.checkpoint import load_world_model
from dwm_gym.world_model.model import DiffusionWorldModel
from dwm_gym.world_model.one_step import OneStepModel


def load_env_model(checkpoint, task: str | None, quality: str | None, kind: str, model, device):
    """The world model of an imagined env: ``model`` as given, else the resolved checkpoint."""
    if model is not None:
        return model
    if checkpoint is None and (task is None or quality is None):
        raise ValueError("pass checkpoint='model.safetensors', model=..., or task= and quality= ('hopper', 'medium')")
    path = resolve_checkpoint(task or "", quality or "", kind, checkpoint)
    return load_world_model(path, device=resolve_device(device))


class DiffusionImaginedEnv(gym.Env):
    """A real ``gymnasium.Env`` that imagines its transitions with a DWM (or a one-step model).

    Spaces are the real env's. ``reset`` draws a start state, ``step`` imagines the next one:

    * ``segment_length=1`` (default): returns ŝ_{t+1} and r̂_t;
    * ``segment_length=H`` (2..T-1, DWM only): returns ŝ_{t+H} and Σ_{h<H} γ^h r̂_{t+h};
      ``info["discount"] = γ^H`` (train the agent with ``gamma=γ**H``) and ``info["segment"]``
      holds the H states and rewards.

    ``terminated`` comes from the env's v5 health rule; ``truncated`` only from the time limit
    (``max_episode_steps`` of ``gym.make``). The sampler's ``torch.Generator`` is seeded from
    ``np_random``, so the same seed gives the same rollout.

    Args:
        checkpoint: A ``.safetensors`` world model; default: resolved from ``task``/``quality``.
        task: ``hopper``, ``walker2d`` or ``halfcheetah`` (checkpoint look-up).
        quality: Dataset quality (``medium``...) (checkpoint look-up).
        kind: ``dwm`` or ``onestep`` (checkpoint look-up).
        model: An already loaded world model (overrides the checkpoint).
        segment_length: H.
        rtg: Scaled RTG target; default: the median RTG of the training data (stored in the checkpoint).
        gamma: Discount inside a segment.
        sampler: DWM sampler overrides (``guidance_weight``, ``temperature``, ``start_noise_scale``...).
        start_states: ``episode_starts`` (dataset episode starts), ``dataset`` (any dataset
            state) or ``env`` (the real env's reset); ``reset(options={"start_states": ...})``
            or ``options={"state": obs}`` override it per episode.
        device: Torch device of the sampler (``auto``: CUDA when available).
        render_mode: ``None`` or ``rgb_array`` (the imagined state drawn in MuJoCo).
        width: Render width.
        height: Render height.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 125}

    def __init__(
        self,
        checkpoint: str | os.PathLike | None = None,
        task: str | None = None,
        quality: str | None = None,
        kind: str = "dwm",
        model: DiffusionWorldModel | OneStepModel | None = None,
        segment_length: int = 1,
        rtg: float | None = None,
        gamma: float = 0.99,
        sampler: dict | None = None,
        start_states: str = "episode_starts",
        device: str = "auto",
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        model = load_env_model(checkpoint, task, quality, kind, model, device)
        self.imagination = Imagination(model, segment_length, rtg, gamma, sampler)
        self.starts = StartStates(model, start_states)
        real = gym.make(model.env_id)
        self.observation_space, self.action_space = real.observation_space, real.action_space
        real_fps = real.metadata.get("render_fps", 125)
        real.close()
        self.metadata = {**self.metadata, "render_fps": max(1, round(real_fps / segment_length))}
        self.render_mode, self.width, self.height = render_mode, width, height
        self._renderer = None
        self._generator: torch.Generator | None = None
        self._obs: torch.Tensor | None = None
        self._warn_clip = ClipWarning()

    @property
    def model(self):
        """The world model behind the env."""
        return self.imagination.model

    @property
    def segment_length(self) -> int:
        return self.imagination.segment_length

    @property
    def rtg(self) -> float:
        return self.imagination.rtg

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if seed is not None or self._generator is None:
            device = self.imagination.device
            self._generator = torch.Generator(device=device).manual_seed(int(self.np_random.integers(2**62)))
        if "state" in options:
            start = np.asarray(options["state"], dtype=np.float64)
            if start.shape != self.observation_space.shape or not np.all(np.isfinite(start)):
                raise ValueError(f"options['state'] must be a finite array of shape {self.observation_space.shape}")
        else:
            start = self.starts.sample(self.np_random, 1, options.get("start_states"))[0]
        self._obs = torch.as_tensor(start, dtype=torch.float32, device=self.imagination.device)[None]
        if self._renderer is not None:
            self._renderer.reset_x()
        return self._observation(), {}

    def step(self, action):
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        action, clipped = check_actions(action, self.action_space)
        if clipped:
            self._warn_clip(self.action_space)
        act = torch.as_tensor(action, device=self.imagination.device)[None]
        out = self.imagination.step(self._obs, act, self._generator)
        self._obs = out.next_obs
        if self._renderer is not None:
            self._renderer.advance(self._observation(), self.segment_length)
        info = {
            "discount": self.imagination.gamma**self.segment_length,
            "segment": {
                "states": out.segment_states[0].double().cpu().numpy(),
                "rewards": out.segment_rewards[0].double().cpu().numpy(),
            },
        }
        return self._observation(), float(out.reward[0]), bool(out.terminated[0]), False, info

    def _observation(self) -> np.ndarray:
        return self._obs[0].double().cpu().numpy().astype(self.observation_space.dtype)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        if self._obs is None:
            raise RuntimeError("call reset() before render()")
        if self._renderer is None:
            from dwm_gym.envs.mujoco_view import ObservationRenderer

            self._renderer = ObservationRenderer(self.model.env_id, self.width, self.height)
        return self._renderer.render(self._observation())

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self.starts.close()
