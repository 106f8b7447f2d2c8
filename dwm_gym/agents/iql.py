"""``IQL``: Implicit Q-Learning (Kostrikov et al. 2022) as an offline SB3 algorithm (docs/paper.md#dwm-iql).

Per update, on a dataset minibatch (s, a):

* V: expectile regression (τ = 0.7) of V(s) towards min_i Q̄_i(s, a);
* Q: both critics regress to r + (1 - d) · discount · V(s') — with an MVE buffer this is DWM-IQL's
  target Σ γ^h r̂ + γ^H V(ŝ_{t+H}); when the buffer also returns the imagined segment (it is asked
  to when ``td_lambda < 1``), the λ-return over V(ŝ_{t+1..t+H}) replaces it (λ = 0.95 by default);
* π: advantage-weighted regression, weights exp(β (min_i Q̄_i(s, a) - V(s))) clipped at 100;
* Polyak update of the critic target.

Rewards are scaled by 1000 / (max episode return - min episode return) of the data (IQL's
locomotion normalization); imagined rewards get the same scale.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv
from torch.nn import functional as F

from dwm_gym.agents.diagnostics import TARGET_GAP_EVERY, CriticMonitor
from dwm_gym.agents.fast_update import polyak
from dwm_gym.agents.handover import blend_targets, check_handover, check_handover_updates, handover_weight
from dwm_gym.agents.iql_policy import IQLPolicy
from dwm_gym.agents.offline import OfflineAlgorithm
from dwm_gym.agents.td3bc import offline_policy_kwargs
from dwm_gym.value_expansion import MVEReplayBuffer, MVEReplayBufferSamples, lambda_return
from dwm_gym.value_expansion.samples import has_real_transitions
from dwm_gym.value_expansion.targets import discounted_reward_sum


def buffer_episode_returns(buffer: ReplayBuffer) -> np.ndarray:
    """Undiscounted returns of the episodes stored in ``buffer`` (split at terminations and timeouts)."""
    size = buffer.size()
    rewards = buffer.rewards[:size].reshape(-1)
    ends = np.flatnonzero((buffer.dones[:size] + buffer.timeouts[:size]).reshape(-1) > 0)
    bounds = np.concatenate([[0], ends + 1, [size]])
    return np.array([rewards[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:]) if b > a])


def expectile_loss(diff: th.Tensor, expectile: float) -> th.Tensor:
    """Mean of |τ - 1(diff < 0)| diff²: minimized by the τ-expectile of the targets (diff = target - V)."""
    weight = th.abs(expectile - (diff < 0).float())
    return (weight * diff.pow(2)).mean()


def segment_request(
    buffer_class: type[ReplayBuffer] | None, kwargs: dict[str, Any] | None, td_lambda: float
) -> dict[str, Any] | None:
    """The buffer kwargs with ``return_segments=True`` when the λ-return needs the imagined segments.

    Raises:
        ValueError: When ``return_segments=False`` was passed explicitly with ``td_lambda < 1``.
    """
    if td_lambda >= 1.0 or buffer_class is None or not issubclass(buffer_class, MVEReplayBuffer):
        return kwargs
    kwargs = dict(kwargs or {})
    if kwargs.get("return_segments") is False:
        raise ValueError("td_lambda < 1 needs the imagined segments: drop return_segments=False or set td_lambda=1")
    kwargs["return_segments"] = True
    return kwargs


class IQL(OfflineAlgorithm, OffPolicyAlgorithm):
    """IQL / DWM-IQL; accepts any ``replay_buffer_class``. Paper defaults (docs/paper.md#hyper-parameters).

    Args:
        policy: ``"MlpPolicy"`` or :class:`IQLPolicy`.
        env: The real env (or its id): spaces only, never stepped during ``learn``.
        learning_rate: Adam learning rate of all networks (3e-4).
        buffer_size: Capacity; :meth:`load_dataset` resizes it to the dataset.
        batch_size: Minibatch (paper: 128).
        tau: Polyak coefficient of the critic target (0.005).
        gamma: Discount (0.99).
        expectile: τ of the V expectile loss (0.7).
        beta: Inverse temperature β of the advantage weights (3.0).
        max_weight: Clip of the advantage weights (100).
        td_lambda: λ of the λ-return over imagined segments (0.95); 1.0 gives vanilla Diffusion-MVE.
            Used only with buffers that can return segments (the MVE buffers).
        handover_start: With ``handover_end``, the updates over which the Q target moves linearly from the
            value-expansion target to the one-step target r_t + γ V(s_{t+1}) on the real transition
            (:mod:`dwm_gym.agents.handover`). None (default): the value-expansion target throughout, the paper's.
        handover_end: The update from which the Q target is the one-step target alone.
        normalize_observations: Normalize states by the dataset's mean/std.
        normalize_rewards: Scale rewards by 1000 / (max - min episode return).
        replay_buffer_class: Any SB3 replay buffer class (e.g. ``DiffusionMVEReplayBuffer``).
        replay_buffer_kwargs: Its keyword arguments (checkpoint paths, not model objects).
        policy_kwargs: :class:`IQLPolicy` arguments (default ``net_arch=[256, 256]``).
        tensorboard_log: TensorBoard folder.
        verbose: SB3 verbosity.
        seed: Seed of SB3's generators (and, by default, of the buffer's imagination generator).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": IQLPolicy}
    policy: IQLPolicy

    def __init__(
        self,
        policy: str | type[IQLPolicy] = "MlpPolicy",
        env: GymEnv | str | None = None,
        learning_rate: float = 3e-4,
        buffer_size: int = 1_000_000,
        batch_size: int = 128,
        tau: float = 0.005,
        gamma: float = 0.99,
        expectile: float = 0.7,
        beta: float = 3.0,
        max_weight: float = 100.0,
        td_lambda: float = 0.95,
        handover_start: int | None = None,
        handover_end: int | None = None,
        normalize_observations: bool = True,
        normalize_rewards: bool = True,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if not 0.0 < expectile < 1.0:
            raise ValueError(f"expectile must be in (0, 1), got {expectile}")
        if not 0.0 <= td_lambda <= 1.0:
            raise ValueError(f"td_lambda must be in [0, 1], got {td_lambda}")
        handover_start, handover_end = check_handover_updates(handover_start, handover_end)
        self.expectile, self.beta, self.max_weight, self.td_lambda = expectile, beta, max_weight, td_lambda
        self.handover_start, self.handover_end = handover_start, handover_end
        replay_buffer_kwargs = segment_request(replay_buffer_class, replay_buffer_kwargs, td_lambda)
        self.normalize_observations, self.normalize_rewards = normalize_observations, normalize_rewards
        self.reward_scale: float | None = None
        self.critic_monitor = CriticMonitor()
        super().__init__(
            policy,
            env,  # type: ignore[arg-type]  # SB3 accepts None (load() builds without an env); its annotation does not
            learning_rate,
            buffer_size,
            learning_starts=0,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            policy_kwargs=offline_policy_kwargs(policy_kwargs, normalize_observations),
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            sde_support=False,
            supported_action_spaces=(spaces.Box,),
            support_multi_env=False,
        )
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        """SB3's setup, with the λ-return's segment request (re)applied to the buffer kwargs first.

        SB3's ``load`` builds the buffer from the saved kwargs, which may predate the request.
        """
        request = segment_request(self.replay_buffer_class, self.replay_buffer_kwargs, self.td_lambda)
        self.replay_buffer_kwargs = request if request is not None else {}
        super()._setup_model()

    @property
    def critic_reward_scale(self) -> float:
        """The reward scale of the critic's targets (fixed by :meth:`on_offline_start`)."""
        return self.reward_scale or 1.0

    def on_offline_start(self) -> None:
        """Checks the handover against the buffer, then fixes the reward scale from the data's returns (once)."""
        check_handover(self.handover_start, self.handover_end, self.replay_buffer)
        if self.reward_scale is None:
            assert self.replay_buffer is not None  # the data is loaded before this hook
            returns = buffer_episode_returns(self.replay_buffer)
            spread = float(returns.max() - returns.min()) if len(returns) else 0.0
            self.reward_scale = 1000.0 / spread if self.normalize_rewards and spread > 0 else 1.0

    def _expanded_target(self, data: Any, scale: float) -> tuple[th.Tensor, th.Tensor]:
        """The Q target of the batch and its bootstrapped part.

        The λ-return over the imagined segment when the buffer returns one and ``td_lambda < 1``, else
        r + discounts · V(next) (γ^H-discounted with an MVE buffer).
        """
        value = self.policy.value
        segment = (
            (data.segment_states, data.segment_rewards, data.segment_terminated)
            if isinstance(data, MVEReplayBufferSamples)
            else (None, None, None)
        )
        segments, segment_rewards, segment_terminated = segment
        if (
            segments is not None
            and segment_rewards is not None
            and segment_terminated is not None
            and self.td_lambda < 1
        ):
            b, h, _ = segments.shape
            values = value(segments.reshape(b * h, *segments.shape[2:])).reshape(b, h)
            rewards = segment_rewards * scale
            y = lambda_return(rewards, values, segment_terminated, self.gamma, self.td_lambda).reshape(b, 1)
            return y, y - discounted_reward_sum(rewards, segment_terminated, self.gamma).reshape(b, 1)
        discounts = data.discounts if data.discounts is not None else self.gamma
        bootstrap = (1 - data.dones) * discounts * value(data.next_observations)
        return data.rewards * scale + bootstrap, bootstrap

    def train(self, gradient_steps: int, batch_size: int = 128) -> None:
        """Runs ``gradient_steps`` IQL updates (V expectile, Q, advantage-weighted actor, Polyak) and logs the means.

        Rewards are multiplied by ``reward_scale``; the Q target uses the buffer's ``discounts`` (γ^H with an
        MVE buffer), or the λ-return over the imagined segment when the buffer returns one and ``td_lambda < 1``.
        """
        self.enter_training_mode()
        optimizers = [self.policy.actor.optimizer, self.policy.critic.optimizer, self.policy.value.optimizer]
        self._update_learning_rate(optimizers)
        actor, critic, critic_target, value = (
            self.policy.actor,
            self.policy.critic,
            self.policy.critic_target,
            self.policy.value,
        )
        scale = self.reward_scale or 1.0
        logs: dict[str, list[float]] = {"value_loss": [], "actor_loss": [], "advantage": []}
        for _ in range(gradient_steps):
            self._n_updates += 1
            data = self.sample_batch(batch_size)
            with th.no_grad():
                target_q = th.min(th.cat(critic_target(data.observations, data.actions), dim=1), dim=1, keepdim=True)[0]
            v = value(data.observations)
            advantage = target_q - v
            value_loss = expectile_loss(advantage, self.expectile)
            value.optimizer.zero_grad()
            value_loss.backward()
            value.optimizer.step()

            with th.no_grad():
                weight = handover_weight(self._n_updates, self.handover_start, self.handover_end)
                gap_now = has_real_transitions(data) and self._n_updates % TARGET_GAP_EVERY == 0
                one_step = None
                if weight > 0.0 or gap_now:
                    if not has_real_transitions(data):
                        raise RuntimeError("a target handover needs batches with their real transitions (MVE buffers)")
                    assert data.real_rewards is not None and data.real_dones is not None
                    real_next = data.real_next_observations
                    one_step = data.real_rewards * scale + (1 - data.real_dones) * self.gamma * value(real_next)
                expanded = None
                if weight == 1.0 and one_step is not None:
                    y, bootstrap = one_step, one_step - data.real_rewards * scale
                else:
                    expanded, bootstrap = self._expanded_target(data, scale)
                    y = expanded
                    if one_step is not None and weight > 0.0:
                        y = blend_targets(expanded, one_step, weight)
                        bootstrap = blend_targets(bootstrap, one_step - data.real_rewards * scale, weight)
                if gap_now and one_step is not None and expanded is not None:  # the value-expansion target's own
                    self.critic_monitor.add_target_gap(float((expanded - one_step).mean()))
            current_q = critic(data.observations, data.actions)
            critic_loss = cast(th.Tensor, sum(F.mse_loss(q, y) for q in current_q))
            self.critic_monitor.add(float(critic_loss.detach()), current_q[0], y, bootstrap)
            critic.optimizer.zero_grad()
            critic_loss.backward()
            critic.optimizer.step()

            exp_advantage = th.exp(self.beta * advantage.detach()).clamp(max=self.max_weight).reshape(-1)
            actor_loss = -(exp_advantage * actor.log_prob(data.observations, data.actions)).mean()
            actor.optimizer.zero_grad()
            actor_loss.backward()
            actor.optimizer.step()
            polyak(critic.parameters(), critic_target.parameters(), self.tau)
            for key, val in zip(logs, (value_loss, actor_loss, advantage.mean())):
                logs[key].append(float(val.detach()))

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if self.handover_start is not None:
            self.logger.record(
                "train/handover_weight", handover_weight(self._n_updates, self.handover_start, self.handover_end)
            )
        for key, values in logs.items():
            self.logger.record(f"train/{key}", np.mean(values))

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "policy.actor.optimizer", "policy.critic.optimizer", "policy.value.optimizer"], []
