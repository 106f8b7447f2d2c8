"""``OneStepMVEReplayBuffer``: the one-step baseline's MVE target, rolled out with the current policy.

Standard MVE (docs/paper.md#one-step-mve-baseline): from the dataset pair (s_t, a_t), the Gaussian one-step model steps
H times, with a_{t+h} = π(ŝ_{t+h}) for h >= 1. Since the rollout depends on the policy being trained,
segments are imagined fresh for every minibatch (no cache) and the buffer needs the actor, which
:class:`BindPolicyCallback` gives it:

    model = TD3("MlpPolicy", env, replay_buffer_class=OneStepMVEReplayBuffer,
                replay_buffer_kwargs=dict(world_model="hopper_medium_onestep.safetensors", horizon=3))
    model.learn(..., callback=BindPolicyCallback())

The offline agents of :mod:`dwm_gym.agents` bind their policy themselves.
"""

from __future__ import annotations

import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from dwm_gym.utils.sb3_adapter import predict_actions
from dwm_gym.value_expansion.base_buffer import MVEReplayBuffer, PolicyFn
from dwm_gym.world_model import WorldModel


class OneStepMVEReplayBuffer(MVEReplayBuffer):
    """Replay buffer imagining H steps with a world model that steps with the bound policy.

    Takes the arguments of :class:`~dwm_gym.value_expansion.base_buffer.MVEReplayBuffer`;
    ``world_model`` is a model that needs a policy (``needs_policy``), e.g. a one-step checkpoint.
    Any H >= 0 works when the model steps as often as asked.
    """

    def check_model(self, model: WorldModel) -> None:
        """A model that imagines without a policy belongs in the cached :class:`DiffusionMVEReplayBuffer`."""
        super().check_model(model)
        if not model.needs_policy:
            raise ValueError(
                f"OneStepMVEReplayBuffer rolls out with the current policy, but a {model.kind!r} world model "
                "imagines without one: use DiffusionMVEReplayBuffer for it (its segments can be cached)"
            )

    def imagine(self, obs: np.ndarray | th.Tensor, actions: np.ndarray | th.Tensor) -> tuple[th.Tensor, ...]:
        """Rolls out H steps: ``states (B, H, obs)``, ``rewards (B, H)``, ``terminated (B, H)`` (raw units)."""
        policy = self._policy
        if policy is None and self.horizon > 1:
            raise RuntimeError(
                "OneStepMVEReplayBuffer rolls out with the current policy, but none is bound: pass "
                "callback=BindPolicyCallback() to learn(), or call buffer.bind_policy(fn)"
            )

        def env_policy(states: th.Tensor) -> th.Tensor:
            assert policy is not None  # checked above; only called for steps after the first
            return self.to_env_actions(policy(states))

        seg = self.model.rollout(
            obs, self.to_env_actions(actions), self.horizon, policy=env_policy, generator=self.generator
        )
        return seg.states, seg.rewards, seg.terminated

    def imagine_rows(self, rows: np.ndarray, obs: np.ndarray, actions: np.ndarray) -> tuple[th.Tensor, ...]:
        """Fresh rollouts for every minibatch (they depend on the current policy)."""
        return self.imagine(obs, actions)


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
            actions = predict_actions(model.policy, inputs.to(model.device))
        return actions.to(states.device, th.float32)

    return act


class BindPolicyCallback(BaseCallback):
    """Binds the algorithm's current actor to its replay buffer when training starts (one-step MVE)."""

    def _on_training_start(self) -> None:
        buffer = getattr(self.model, "replay_buffer", None)  # an off-policy algorithm's; None for others
        if not isinstance(buffer, MVEReplayBuffer):
            raise ValueError(f"BindPolicyCallback needs an MVEReplayBuffer, got {type(buffer).__name__}")
        buffer.bind_policy(policy_function(self.model))

    def _on_step(self) -> bool:
        return True
