"""``TD3BC``: TD3+BC (Fujimoto & Gu 2021) as an offline SB3 algorithm (docs/paper.md#dwm-td3bc).

Stock SB3 ``TD3`` with the actor loss -λ Q(s, π(s)) + ‖π(s) - a‖², λ = α / mean|Q|, and states
normalized by the dataset's mean and std inside the networks. The critic target keeps SB3's
``discounts`` seam, so the model-based buffers of :mod:`dwm_gym.value_expansion` turn it into
DWM-TD3BC / OneStep-TD3BC:

    agent = TD3BC("MlpPolicy", "Hopper-v5", replay_buffer_class=DiffusionMVEReplayBuffer,
                  replay_buffer_kwargs=dict(world_model="hopper_medium_dwm.safetensors", horizon=5, rtg=0.8))
    agent.load_dataset("dwm_gym/hopper/medium-v0").learn(100_000, progress_bar=True)
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch as th
from stable_baselines3 import TD3
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import GymEnv
from torch.nn import functional as F

from dwm_gym.agents.diagnostics import TARGET_GAP_EVERY, CriticMonitor
from dwm_gym.agents.fast_update import optimizer_kwargs, polyak
from dwm_gym.agents.handover import blend_targets, check_handover, check_handover_updates, handover_weight
from dwm_gym.agents.normalization import NormalizedFlattenExtractor
from dwm_gym.agents.offline import OfflineAlgorithm
from dwm_gym.value_expansion.samples import MVEReplayBufferSamples, has_real_transitions


def offline_policy_kwargs(policy_kwargs: dict[str, Any] | None, normalize_observations: bool) -> dict[str, Any]:
    """Defaults of the paper's networks (two hidden layers of 256, ReLU), the normalizing extractor, foreach Adam."""
    kwargs = dict(policy_kwargs or {})
    kwargs.setdefault("net_arch", [256, 256])
    kwargs["optimizer_kwargs"] = optimizer_kwargs(kwargs)
    if normalize_observations:
        kwargs.setdefault("features_extractor_class", NormalizedFlattenExtractor)
    return kwargs


def actor_step_and_targets(algo: TD3, actor_loss: th.Tensor) -> None:
    """TD3's delayed half-step: one actor update on ``actor_loss``, then Polyak updates of both targets."""
    algo.actor.optimizer.zero_grad()
    actor_loss.backward()
    algo.actor.optimizer.step()
    update_targets(algo)


def update_targets(algo: TD3) -> None:
    """Polyak updates of TD3's critic and actor targets (and copies of their batch-norm statistics)."""
    polyak(
        [*algo.critic.parameters(), *algo.actor.parameters()],
        [*algo.critic_target.parameters(), *algo.actor_target.parameters()],
        algo.tau,
    )
    polyak(algo.critic_batch_norm_stats, algo.critic_batch_norm_stats_target, 1.0)
    polyak(algo.actor_batch_norm_stats, algo.actor_batch_norm_stats_target, 1.0)


class TD3BC(OfflineAlgorithm, TD3):
    """TD3+BC; accepts any ``replay_buffer_class``. Paper defaults (docs/paper.md#hyper-parameters).

    Args:
        policy: ``"MlpPolicy"`` or a TD3 policy class.
        env: The real env (or its id): gives the spaces and is never stepped during ``learn``.
        learning_rate: Adam learning rate of actor and critic (3e-4).
        buffer_size: Capacity; :meth:`load_dataset` resizes it to the dataset.
        batch_size: Minibatch (paper: 128).
        tau: Polyak coefficient (0.005).
        gamma: Discount (0.99).
        policy_delay: Critic updates per actor/target update (2).
        target_policy_noise: σ of the target policy smoothing noise (0.2).
        target_noise_clip: Clip C of that noise (0.5).
        alpha: α of λ = α / mean|Q| (2.5).
        handover_start: With ``handover_end``, the updates over which the critic target moves linearly from the
            value-expansion target to the one-step TD target (:mod:`dwm_gym.agents.handover`). None (default):
            the value-expansion target throughout, the paper's method.
        handover_end: The update from which the target is the one-step TD target alone.
        normalize_observations: Normalize states by the dataset's mean/std (fitted on the first ``learn``).
        replay_buffer_class: Any SB3 replay buffer class (e.g. ``DiffusionMVEReplayBuffer``).
        replay_buffer_kwargs: Its keyword arguments (checkpoint paths, not model objects).
        policy_kwargs: Policy arguments (default ``net_arch=[256, 256]``).
        tensorboard_log: TensorBoard folder.
        verbose: SB3 verbosity.
        seed: Seed of SB3's generators (and, by default, of the buffer's imagination generator).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
    """

    def __init__(
        self,
        policy: str | type = "MlpPolicy",
        env: GymEnv | str | None = None,
        learning_rate: float = 3e-4,
        buffer_size: int = 1_000_000,
        batch_size: int = 128,
        tau: float = 0.005,
        gamma: float = 0.99,
        policy_delay: int = 2,
        target_policy_noise: float = 0.2,
        target_noise_clip: float = 0.5,
        alpha: float = 2.5,
        handover_start: int | None = None,
        handover_end: int | None = None,
        normalize_observations: bool = True,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        handover_start, handover_end = check_handover_updates(handover_start, handover_end)
        self.alpha, self.normalize_observations = alpha, normalize_observations
        self.handover_start, self.handover_end = handover_start, handover_end
        self.critic_monitor = CriticMonitor()
        super().__init__(
            policy,
            env,  # type: ignore[arg-type]  # SB3 accepts None (load() builds without an env); its annotation does not
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=0,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            replay_buffer_class=replay_buffer_class,
            replay_buffer_kwargs=replay_buffer_kwargs,
            policy_delay=policy_delay,
            target_policy_noise=target_policy_noise,
            target_noise_clip=target_noise_clip,
            tensorboard_log=tensorboard_log,
            policy_kwargs=offline_policy_kwargs(policy_kwargs, normalize_observations),
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=_init_setup_model,
        )

    def on_offline_start(self) -> None:
        """Refuses a handover before the first update when the buffer does not expand the value."""
        check_handover(self.handover_start, self.handover_end, self.replay_buffer)

    def _one_step_target(self, data: MVEReplayBufferSamples, smoothing: bool) -> th.Tensor:
        """TD3's one-step target r_t + γ (1 - d_t) min Q'(s_{t+1}, π'(s_{t+1})) on the batch's real transition.

        ``smoothing`` adds the target-policy noise (a random draw); without it nothing random is drawn.
        """
        assert data.real_next_observations is not None and data.real_rewards is not None  # has_real_transitions
        assert data.real_dones is not None
        next_obs = data.real_next_observations
        next_actions = self.actor_target(next_obs)
        if smoothing:
            noise = next_actions.clone().normal_(0, self.target_policy_noise)
            next_actions = (next_actions + noise.clamp(-self.target_noise_clip, self.target_noise_clip)).clamp(-1, 1)
        next_q = th.cat(self.critic_target(next_obs, next_actions), dim=1).min(dim=1, keepdim=True)[0]
        return data.real_rewards + (1 - data.real_dones) * self.gamma * next_q

    def _critic_target(self, data: Any, weight: float) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        """The critic's target, its bootstrapped part, and the batch's own target (None when not computed).

        The batch's own target is the value-expansion target with an MVE buffer (γ^H-discounted); ``weight`` hands
        it over to the one-step target on the real transition, which alone is computed at weight 1.
        """
        one_step = None
        if weight > 0.0:
            if not has_real_transitions(data):
                raise RuntimeError("a target handover needs batches with their real transitions (MVE buffers)")
            assert data.real_rewards is not None  # has_real_transitions
            one_step = self._one_step_target(data, smoothing=True)
            if weight == 1.0:
                return one_step, one_step - data.real_rewards, None
        discounts = data.discounts if data.discounts is not None else self.gamma
        noise = data.actions.clone().data.normal_(0, self.target_policy_noise)
        noise = noise.clamp(-self.target_noise_clip, self.target_noise_clip)
        next_actions = (self.actor_target(data.next_observations) + noise).clamp(-1, 1)
        next_q = th.cat(self.critic_target(data.next_observations, next_actions), dim=1)
        next_q, _ = th.min(next_q, dim=1, keepdim=True)
        bootstrap = (1 - data.dones) * discounts * next_q
        target_q = data.rewards + bootstrap
        if one_step is None:
            return target_q, bootstrap, target_q
        blended_bootstrap = blend_targets(bootstrap, one_step - data.real_rewards, weight)
        return blend_targets(target_q, one_step, weight), blended_bootstrap, target_q

    def train(self, gradient_steps: int, batch_size: int = 128) -> None:
        """SB3's TD3 update with the TD3+BC actor loss -λ Q(s, π(s)) + ‖π(s) - a‖², λ = α / mean|Q|.

        The critic target uses the buffer's ``discounts`` (γ^H with an MVE buffer) and feeds
        ``critic_monitor``; the BC loss is logged next to SB3's losses.
        """
        self.enter_training_mode()
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        actor_losses, critic_losses, bc_losses = [], [], []
        for _ in range(gradient_steps):
            self._n_updates += 1
            data = self.sample_batch(batch_size)
            with th.no_grad():
                weight = handover_weight(self._n_updates, self.handover_start, self.handover_end)
                target_q, bootstrap, expanded = self._critic_target(data, weight)
                if expanded is not None and has_real_transitions(data) and self._n_updates % TARGET_GAP_EVERY == 0:
                    # the value-expansion target's own gap, before any handover; draws nothing: training unchanged
                    gap = expanded - self._one_step_target(data, smoothing=False)
                    self.critic_monitor.add_target_gap(float(gap.mean()))
            current_q = self.critic(data.observations, data.actions)
            critic_loss = cast(th.Tensor, sum(F.mse_loss(q, target_q) for q in current_q))
            critic_losses.append(critic_loss.item())
            self.critic_monitor.add(critic_losses[-1], current_q[0], target_q, bootstrap)
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            if self._n_updates % self.policy_delay == 0:
                pi = self.actor(data.observations)
                q = self.critic.q1_forward(data.observations, pi)
                lmbda = self.alpha / q.abs().mean().detach()
                bc_loss = F.mse_loss(pi, data.actions)
                actor_loss = -lmbda * q.mean() + bc_loss
                actor_losses.append(actor_loss.item())
                bc_losses.append(bc_loss.item())
                actor_step_and_targets(self, actor_loss)

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if self.handover_start is not None:
            self.logger.record(
                "train/handover_weight", handover_weight(self._n_updates, self.handover_start, self.handover_end)
            )
        if actor_losses:
            self.logger.record("train/actor_loss", np.mean(actor_losses))
            self.logger.record("train/bc_loss", np.mean(bc_losses))
