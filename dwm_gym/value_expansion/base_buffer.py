"""``MVEReplayBuffer``: the shared part of the model-value-expansion replay buffers (SB3 plug-in).

A subclass imagines H steps from each sampled dataset pair (s_t, a_t); this base turns them into an
SB3 batch through the ``ReplayBufferSamples.discounts`` seam, so any SB3 off-policy algorithm that
computes ``target = rewards + (1 - dones) * discounts * next_value`` trains with the MVE target:

* ``rewards``           = Σ_{h<H} γ^h r̂_{t+h} (rewards after an imagined termination masked out),
* ``next_observations`` = ŝ_{t+H},
* ``dones``             = imagined termination (ŝ_{t+H} or an earlier state is terminal),
* ``discounts``         = γ^H.

Index sampling is SB3's own (``np.random``, seeded by the algorithm's ``seed``); imagination uses the
buffer's torch generator. ``horizon=0`` returns SB3's plain batch unchanged.

The agent ↔ buffer contract. This class declares everything an agent may rely on, so agents test
``isinstance(buffer, MVEReplayBuffer)`` instead of probing for attributes:

* ``gamma`` — the discount of the target, which must equal the algorithm's;
* ``return_segments`` — fixed at construction (IQL's λ-return asks for it through its kwargs);
* :meth:`MVEReplayBuffer.bind_policy` — the current actor, for buffers that roll out with it;
* :meth:`MVEReplayBuffer.on_data_loaded` — called after the arrays were rewritten in bulk;
* :meth:`MVEReplayBuffer.prepare` — called once before training (e.g. to fill a shared cache);
* :meth:`MVEReplayBuffer.pop_diagnostics` — imagination statistics for the logger.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.vec_env import VecNormalize

from dwm_gym.utils.validation import discount
from dwm_gym.value_expansion.imagination_stats import ImaginationStats
from dwm_gym.value_expansion.samples import MVEReplayBufferSamples
from dwm_gym.value_expansion.targets import discounted_reward_sum
from dwm_gym.world_model import WorldModel, load_world_model

logger = logging.getLogger(__name__)
PolicyFn = Callable[[th.Tensor], th.Tensor]


class GammaUncheckedWarning(UserWarning):
    """An MVE buffer was sampled without its γ being checked against the training algorithm's."""


class MVEReplayBuffer(ReplayBuffer):
    """Base class: loads the world model, samples SB3 batches with an H-step imagined target.

    Args:
        buffer_size: Capacity (transitions), as for SB3's ``ReplayBuffer``.
        observation_space: A 1-D ``Box``.
        action_space: A ``Box``.
        device: Torch device of the returned batches.
        n_envs: Parallel envs (1 for offline data).
        optimize_memory_usage: Not supported (must be False).
        handle_timeout_termination: As in SB3.
        world_model: Checkpoint path (preferred: SB3 pickles buffer kwargs on save) or a loaded
            :class:`~dwm_gym.world_model.base.WorldModel`.
        horizon: H, imagined steps in the target (0: SB3's plain batch).
        gamma: Discount of the target; must equal the algorithm's γ.
        world_model_device: Where the world model runs (default: the buffer's device; ``"auto"`` allowed).
        return_segments: Also return the H imagined states/rewards/flags (needed for λ-returns).
        data_termination: The first imagined transition re-plays the dataset's (s_t, a_t), whose
            termination is known: a segment whose real s_{t+1} is terminal is terminated from its first
            step on, even when the imagined ŝ_{t+1} lands on the healthy side of the env's rule.
            False: the rule on ŝ_{t+1} alone decides. Measured: it does not prevent the H = 1 divergence
            (docs/scores.md, "Why H = 1 diverges: the imagined next state").
        seed: Seed of the imagination generator (default: drawn from ``np.random``, so SB3's ``seed=``
            makes runs reproducible).
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        *,
        world_model: str | os.PathLike | WorldModel,
        horizon: int = 5,
        gamma: float = 0.99,
        world_model_device: str | th.device | None = None,
        return_segments: bool = False,
        data_termination: bool = False,
        seed: int | None = None,
    ) -> None:
        if optimize_memory_usage:
            raise ValueError(f"{type(self).__name__} needs optimize_memory_usage=False (it reads next states per row)")
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
            raise ValueError(f"expected a 1-D Box observation space, got {observation_space}")
        if not isinstance(action_space, spaces.Box):
            raise ValueError(f"expected a Box action space, got {action_space}")
        super().__init__(
            buffer_size, observation_space, action_space, device, n_envs, False, handle_timeout_termination
        )
        self.world_model_device = self.device if world_model_device is None else world_model_device
        if isinstance(world_model, WorldModel):
            self.model = world_model
        else:
            self.model = load_world_model(world_model, device=self.world_model_device)
        # pickling stores the path (as given; for a loaded model, the file it was read from)
        path = self.model.info.get("path") if isinstance(world_model, WorldModel) else os.fspath(world_model)
        self.world_model_path: str | None = path
        self.check_model(self.model)
        if not isinstance(horizon, (int, np.integer)) or horizon < 0:
            raise ValueError(f"horizon must be an integer >= 0, got {horizon!r}")
        if horizon > self.max_horizon:
            raise ValueError(f"horizon must be <= {self.max_horizon} for this world model, got {horizon}")
        self.horizon, self.gamma, self.return_segments = int(horizon), discount("gamma", gamma), bool(return_segments)
        self.data_termination = bool(data_termination)
        self.seed = int(np.random.randint(2**31 - 1)) if seed is None else int(seed)
        self._generator: th.Generator | None = None
        low, high = action_space.low.astype(np.float32), action_space.high.astype(np.float32)
        self._action_low, self._action_span = low, high - low
        self._policy: PolicyFn | None = None
        self._stats = ImaginationStats()
        self._offline = False  # holds offline data loaded in bulk: add() is refused
        self._gamma_confirmed = False

    # ------------------------------------------------------------------ model
    @property
    def max_horizon(self) -> int:
        """The largest H this world model supports (T - 1; unbounded for a model that steps as asked)."""
        return 10**6 if self.model.max_steps is None else int(self.model.max_steps)

    def check_model(self, model: WorldModel) -> None:
        """Raises ValueError when ``model`` does not fit the spaces; subclasses add what they need."""
        obs_dim, act_dim = self.obs_shape[0], self.action_dim
        if (model.obs_dim, model.action_dim) != (obs_dim, act_dim):
            raise ValueError(
                f"world model has obs/action sizes {model.obs_dim}/{model.action_dim}, the spaces have "
                f"{obs_dim}/{act_dim}"
            )

    @property
    def generator(self) -> th.Generator:
        """The torch generator of imagination (on the world model's device)."""
        if self._generator is None:
            self._generator = th.Generator(device=self.model.device).manual_seed(self.seed)
        return self._generator

    def to_env_actions(self, actions: np.ndarray | th.Tensor) -> th.Tensor:
        """Buffer actions (SB3 stores them scaled to [-1, 1]) → env units, on the model's device."""
        act = th.as_tensor(actions, dtype=th.float32, device=self.model.device)
        low = th.as_tensor(self._action_low, device=act.device)
        span = th.as_tensor(self._action_span, device=act.device)
        return low + 0.5 * (act + 1.0) * span

    # ------------------------------------------------------------------ the agent's hooks
    def bind_policy(self, policy: PolicyFn | None) -> None:
        """Sets the current actor: raw states ``(B, obs)`` → actions scaled to [-1, 1] (SB3's convention).

        Kept for buffers whose imagination depends on the policy (the agents bind theirs before training).
        """
        self._policy = policy

    def prepare(self, progress: bool = False) -> dict[str, float]:
        """Called once before training, after the data was loaded; returns metrics (none here)."""
        return {}

    # ------------------------------------------------------------------ subclass hook
    def imagine_rows(self, rows: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> tuple[th.Tensor, ...]:
        """Imagined ``states (B, H, obs)``, ``rewards (B, H)``, ``terminated (B, H)`` in raw units.

        Args:
            rows: Flat buffer rows ``index * n_envs + env`` of the pairs (for caches).
            obs: ``(B, obs)`` raw s_t.
            actions: ``(B, act)`` buffer actions a_t (scaled to [-1, 1]).
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ diagnostics
    def data_support(self) -> tuple[th.Tensor, th.Tensor]:
        """Per-dimension (min, max) of the stored states and next states, in raw units."""
        if self._stats.support is None:
            size = self.size()
            if size == 0:
                raise ValueError("the buffer is empty: load data before sampling")
            states = np.concatenate([self.observations[:size], self.next_observations[:size]]).reshape(
                -1, self.obs_shape[0]
            )
            self._stats.support = (self.to_torch(states.min(0)), self.to_torch(states.max(0)))
        return self._stats.support

    def on_data_loaded(self) -> None:
        """Called after the arrays were rewritten in bulk (offline data): forgets what was derived from them.

        From then on (while the buffer is not empty) :meth:`add` is refused: stock SB3 ``learn()`` would
        step the env and overwrite the offline rows.
        """
        self._stats.forget_support()
        self._offline = self.size() > 0

    def allow_online_data(self) -> None:
        """Lets :meth:`add` write into offline data (offline-to-online fine-tuning: new rows overwrite old ones)."""
        self._offline = False

    def confirm_gamma(self, gamma: float) -> None:
        """Declares the training algorithm's γ; the buffer's own must equal it.

        :func:`dwm_gym.agents.offline_learn` (and so ``TD3BC`` / ``IQL``) call it before training; a
        buffer sampled without it warns once (:class:`GammaUncheckedWarning`).

        Raises:
            ValueError: If ``gamma`` differs from the buffer's.
        """
        if abs(float(gamma) - self.gamma) > 1e-12:
            raise ValueError(
                f"the replay buffer discounts with gamma={self.gamma} but the algorithm uses {gamma}: pass "
                f"replay_buffer_kwargs=dict(..., gamma={gamma}) (the MVE target's γ^h must be the algorithm's)"
            )
        self._gamma_confirmed = True

    def pop_diagnostics(self) -> dict[str, float]:
        """Imagination statistics since the last call (:class:`ImaginationStats`); empty when nothing was sampled."""
        return self._stats.pop()

    # ------------------------------------------------------------------ SB3 hooks
    def add(self, obs, next_obs, action, reward, done, infos) -> None:
        """SB3's ``add``, after widening the cached data support (if computed) to the new states.

        Raises:
            RuntimeError: When the buffer holds offline data (see :meth:`on_data_loaded`).
        """
        if self._offline:
            raise RuntimeError(
                f"this {type(self).__name__} holds offline data (load_offline_data / load_dataset): SB3's learn() "
                "would step the env and overwrite it. Train offline with dwm_gym.agents.offline_learn(model, "
                "updates) (TD3BC and IQL do in their learn()); to fine-tune online on top of the data, call "
                "buffer.allow_online_data() first"
            )
        self._stats.widen_support(np.concatenate([obs, next_obs]).reshape(-1, self.obs_shape[0]))
        super().add(obs, next_obs, action, reward, done, infos)

    def _get_samples(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> Any:
        if self.horizon == 0:
            return super()._get_samples(batch_inds, env=env)
        if not self._gamma_confirmed:
            warnings.warn(
                GammaUncheckedWarning(
                    f"{type(self).__name__} discounts its {self.horizon}-step target with gamma={self.gamma}, never "
                    "checked against the algorithm's: train with dwm_gym.agents.offline_learn (it checks), or call "
                    "buffer.confirm_gamma(model.gamma) first"
                ),
                stacklevel=3,
            )
            self._gamma_confirmed = True  # once
        env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        obs, actions = self.observations[batch_inds, env_indices, :], self.actions[batch_inds, env_indices, :]
        states, rewards, terminated = self.imagine_rows(batch_inds * self.n_envs + env_indices, obs, actions)
        if self.data_termination:
            terminated = terminated | self.data_terminations(batch_inds, env_indices, terminated.device)
        batch = self.assemble(obs, actions, states, rewards, terminated, env)
        data_rewards = self.rewards[batch_inds, env_indices]
        with th.no_grad():
            raw_states = states.to(self.device, th.float32)
            self._stats.accumulate(self.data_support(), raw_states, rewards, batch.rewards, data_rewards)
        real_next = cast(np.ndarray, self._normalize_obs(self.next_observations[batch_inds, env_indices, :], env))
        return batch._replace(
            real_next_observations=self.to_torch(real_next),
            real_rewards=self.to_torch(self._normalize_reward(data_rewards.reshape(-1, 1), env)),
            real_dones=self.data_terminations(batch_inds, env_indices, self.device).to(th.float32),
        )

    def data_terminations(self, batch_inds: np.ndarray, env_indices: np.ndarray, device: th.device) -> th.Tensor:
        """``(B, 1)`` the data's true terminations of the sampled rows (time-limit truncations excluded)."""
        real = self.dones[batch_inds, env_indices] * (1.0 - self.timeouts[batch_inds, env_indices])
        return th.as_tensor(real > 0.5, device=device).reshape(-1, 1)

    def assemble(self, obs, actions, states, rewards, terminated, env: VecNormalize | None = None):
        """The SB3 batch (see the module docstring) from raw-unit imagined tensors."""
        states, rewards = states.to(self.device), rewards.to(self.device, th.float32)
        terminated = terminated.to(self.device)
        if env is not None:  # VecNormalize: imagined states/rewards normalized like real ones
            states = th.as_tensor(self._normalize_obs(states.cpu().numpy(), env), device=self.device)
            rewards = th.as_tensor(self._normalize_reward(rewards.cpu().numpy(), env), device=self.device)
        obs_t = self.to_torch(cast(np.ndarray, self._normalize_obs(obs, env)))  # Box observations: an array
        states = states.to(obs_t.dtype)
        batch = len(obs_t)
        reward_sum = discounted_reward_sum(rewards, terminated, self.gamma).reshape(batch, 1)
        dones = terminated[:, -1].to(th.float32).reshape(batch, 1)
        discounts = th.full((batch, 1), self.gamma**self.horizon, device=self.device)
        extra = (states, rewards, terminated.to(th.float32)) if self.return_segments else (None, None, None)
        return MVEReplayBufferSamples(
            obs_t, self.to_torch(actions), states[:, -1], dones, reward_sum, discounts, *extra
        )

    def __getstate__(self) -> dict:
        """Pickles without the world model object and generator (reloaded from ``world_model_path``)."""
        state = self.__dict__.copy()
        if self.world_model_path is None:
            raise ValueError("only buffers built from a checkpoint path can be pickled (pass world_model='path')")
        state["model"], state["_generator"], state["_policy"] = None, None, None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_policy", None)  # pickled before the policy hook was declared
        self.__dict__.setdefault("_offline", False)
        self.__dict__.setdefault("_stats", ImaginationStats())
        self.__dict__.setdefault("_gamma_confirmed", False)
        self.__dict__.setdefault("data_termination", False)  # pickled before the setting existed
        assert self.world_model_path is not None  # __getstate__ refuses to pickle a buffer without one
        self.model = load_world_model(self.world_model_path, device=self.world_model_device)
