"""``OneStepMVEReplayBuffer``: the one-step baseline's MVE target, rolled out with the current policy.

Standard MVE (PAPER.md 3.1): from the dataset pair (s_t, a_t), the Gaussian one-step model steps H
times, with a_{t+h} = π(ŝ_{t+h}) for h >= 1. Since the rollout depends on the policy being trained,
segments are imagined fresh for every minibatch (no cache) and the buffer needs the actor, which
:class:`BindPolicyCallback` gives it:

    model = TD3("MlpPolicy", env, replay_buffer_class=OneStepMVEReplayBuffer,
                replay_buffer_kwargs=dict(world_model="hopper_medium_onestep.safetensors", horizon=3))
    model.learn(..., callback=BindPolicyCallback())

The offline agents of :mod:`dwm_gym.agents` bind their policy themselves.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from dwm_gym.value_expansion.base_buffer import MVEReplayBuffer
from dwm_gym.world_model import OneStepModel
from dwm_gym.world_model.termination import segment_terminated

PolicyFn = Callable[[th.Tensor], th.Tensor]


class OneStepMVEReplayBuffer(MVEReplayBuffer):
    """Replay buffer imagining H steps with a one-step model and the bound policy.

    Takes the arguments of :class:`~dwm_gym.value_expansion.base_buffer.MVEReplayBuffer`;
    ``world_model`` is a one-step checkpoint. Any H >= 0 works (the model steps as often as asked).
    """

    model_class = OneStepModel

    @property
    def max_horizon(self) -> int:
        return 10**6

    def bind_policy(self, policy: PolicyFn | None) -> None:
        """Sets the rollout policy: raw states ``(B, obs)`` → actions scaled to [-1, 1] (SB3's convention)."""
        self._policy = policy

    def imagine(self, obs: np.ndarray | th.Tensor, actions: np.ndarray | th.Tensor) -> tuple[th.Tensor, ...]:
        """Rolls out H steps: ``states (B, H, obs)``, ``rewards (B, H)``, ``terminated (B, H)`` (raw units)."""
        policy = getattr(self, "_policy", None)
        if policy is None and self.horizon > 1:
            raise RuntimeError(
                "OneStepMVEReplayBuffer rolls out with the current policy, but none is bound: pass "
                "callback=BindPolicyCallback() to learn(), or call buffer.bind_policy(fn)"
            )
        state = th.as_tensor(obs, dtype=th.float32, device=self.model.device)
        act = self.to_env_actions(actions)
        states, rewards = [], []
        for h in range(self.horizon):
            state, reward = self.model.step(state, act, self.generator)
            states.append(state)
            rewards.append(reward)
            if h < self.horizon - 1:
                with th.no_grad():
                    act = self.to_env_actions(policy(state))
        states_t = th.stack(states, dim=1)
        terminated = segment_terminated(self.model.env_id, states_t)[:, : self.horizon]
        return states_t, th.stack(rewards, dim=1), terminated

    def imagine_rows(self, rows: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> tuple[th.Tensor, ...]:
        return self.imagine(obs, actions)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_policy"] = None
        return state


def policy_function(model: BaseAlgorithm) -> PolicyFn:
    """The deterministic actor of an SB3 algorithm as ``raw states → scaled actions`` (torch in, torch out).

    Observations are normalized with the algorithm's ``VecNormalize`` first, when it has one.
    """

    def act(states: th.Tensor) -> th.Tensor:
        vec_normalize = model.get_vec_normalize_env()
        inputs = states
        if vec_normalize is not None:
            inputs = th.as_tensor(vec_normalize.normalize_obs(states.cpu().numpy()), dtype=th.float32)
        with th.no_grad():
            actions = model.policy._predict(inputs.to(model.device), deterministic=True)
        return actions.to(states.device, th.float32)

    return act


class BindPolicyCallback(BaseCallback):
    """Binds the algorithm's current actor to its replay buffer when training starts (one-step MVE)."""

    def _on_training_start(self) -> None:
        buffer = self.model.replay_buffer
        if not hasattr(buffer, "bind_policy"):
            raise ValueError(f"BindPolicyCallback needs a buffer with bind_policy(), got {type(buffer).__name__}")
        buffer.bind_policy(policy_function(self.model))

    def _on_step(self) -> bool:
        return True
