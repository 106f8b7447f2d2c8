"""``IQLPolicy``: Gaussian actor, twin Q critic (+ target) and state-value network V for :class:`IQL`.

The actor is a Normal distribution whose mean is tanh-squashed and whose log-std is a learned,
state-independent vector (the official IQL / CORL actor; the paper's "Tanh-Normal"). Deterministic
actions are the mean. Every network has its own features extractor (normalizing by default).
"""

from __future__ import annotations

from typing import Any

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel, BasePolicy, ContinuousCritic
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor, create_mlp
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn


class GaussianActor(BaseModel):
    """π(a|s) = N(tanh(μ(s)), diag σ²), σ state-independent; outputs scaled to [-1, 1]."""

    def _features(self) -> BaseFeaturesExtractor:
        """The features extractor this network was built with."""
        if self.features_extractor is None:
            raise RuntimeError(f"{type(self).__name__} was built without a features extractor")
        return self.features_extractor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        log_std_bounds: tuple[float, float] = (-5.0, 2.0),
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        action_dim = int(action_space.shape[0])
        self.mu = nn.Sequential(*create_mlp(features_dim, action_dim, net_arch, activation_fn), nn.Tanh())
        self.log_std = nn.Parameter(th.zeros(action_dim))
        self.log_std_bounds = log_std_bounds

    def distribution(self, obs: PyTorchObs) -> th.distributions.Normal:
        """π(·|s): Normal with the tanh-squashed mean and the clamped, state-independent std."""
        mean = self.mu(self.extract_features(obs, self._features()))
        return th.distributions.Normal(mean, self.log_std.clamp(*self.log_std_bounds).exp())

    def log_prob(self, obs: PyTorchObs, actions: th.Tensor) -> th.Tensor:
        """``(B,)`` log π(a|s) of scaled actions."""
        return self.distribution(obs).log_prob(actions).sum(dim=-1)

    def forward(self, obs: PyTorchObs, deterministic: bool = True) -> th.Tensor:
        """Scaled actions in [-1, 1]: the mean, or a sample clamped to [-1, 1] when not ``deterministic``."""
        dist = self.distribution(obs)
        return dist.mean if deterministic else dist.sample().clamp(-1.0, 1.0)


class ValueNetwork(BaseModel):
    """V(s): an MLP on the extracted features."""

    def _features(self) -> BaseFeaturesExtractor:
        """The features extractor this network was built with."""
        if self.features_extractor is None:
            raise RuntimeError(f"{type(self).__name__} was built without a features extractor")
        return self.features_extractor

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.v = nn.Sequential(*create_mlp(features_dim, 1, net_arch, activation_fn))

    def forward(self, obs: PyTorchObs) -> th.Tensor:
        """``(B, 1)`` values."""
        return self.v(self.extract_features(obs, self._features()))


class IQLPolicy(BasePolicy):
    """Actor, twin critic with target, and V, each with an Adam optimizer (``.optimizer``).

    Args:
        observation_space: Observation space.
        action_space: A ``Box``.
        lr_schedule: Learning-rate schedule (constant 3e-4 in the paper).
        net_arch: Hidden layers of every network ([256, 256]).
        activation_fn: Activation (ReLU).
        features_extractor_class: Per-network extractor (the agents pass a normalizing one).
        features_extractor_kwargs: Its arguments.
        normalize_images: As in SB3.
        optimizer_class: Optimizer (Adam).
        optimizer_kwargs: Its arguments.
        n_critics: Q networks (2).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        n_critics: int = 2,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            squash_output=True,
            normalize_images=normalize_images,
        )
        self.net_arch = [256, 256] if net_arch is None else list(net_arch)
        self.activation_fn, self.n_critics = activation_fn, n_critics
        self.actor = GaussianActor(**self._kwargs(self.make_features_extractor()))
        self.critic = self._make_critic()
        self.critic_target = self._make_critic()
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.set_training_mode(False)
        self.value = ValueNetwork(**self._kwargs(self.make_features_extractor()))
        for module in (self.actor, self.critic, self.value):
            module.optimizer = self.optimizer_class(  # type: ignore[call-arg]  # as SB3's policies: Optimizer's own signature has no lr
                module.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
            )

    def _kwargs(self, extractor: BaseFeaturesExtractor) -> dict[str, Any]:
        return {
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "net_arch": self.net_arch,
            "features_extractor": extractor,
            "features_dim": extractor.features_dim,
            "activation_fn": self.activation_fn,
            "normalize_images": self.normalize_images,
        }

    def _make_critic(self) -> ContinuousCritic:
        kwargs = self._kwargs(self.make_features_extractor())
        return ContinuousCritic(**kwargs, n_critics=self.n_critics, share_features_extractor=False)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            activation_fn=self.activation_fn,
            n_critics=self.n_critics,
            features_extractor_class=self.features_extractor_class,
            features_extractor_kwargs=self.features_extractor_kwargs,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
            lr_schedule=self._dummy_schedule,
        )
        return data

    def forward(self, obs: PyTorchObs, deterministic: bool = True) -> th.Tensor:
        """Scaled actions of the actor (its mean by default), as :meth:`_predict`."""
        return self._predict(obs, deterministic)

    def _predict(self, observation: PyTorchObs, deterministic: bool = True) -> th.Tensor:
        return self.actor(observation, deterministic)

    def set_training_mode(self, mode: bool) -> None:
        """Puts the actor, the critic and V (not the critic target) in training or evaluation mode."""
        self.actor.set_training_mode(mode)
        self.critic.set_training_mode(mode)
        self.value.set_training_mode(mode)
        self.training = mode
