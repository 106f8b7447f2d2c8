"""``DiffusionWorldModel``: p_θ(r_t, s_{t+1}, r_{t+1}, ..., s_{t+T-1}, r_{t+T-1} | s_t, a_t, g).

Rows of the diffused sequence are ``[s, a, r]``: row h holds s_{t+h} and r_{t+h}; row 0 also holds
a_t, the action slots of later rows are 0 (the DWM does not model future actions). s_t and a_t
are inpainted into row 0 before every denoising step (docs/paper.md#conditioning), a_t also enters through
its own embedding, and the RTG through classifier-free guidance. States are CDF-normalized and
rewards min-max-normalized to [-1, 1]; actions are used as they are (the envs' box is [-1, 1]).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import torch
from numpy.typing import ArrayLike

from dwm_gym.data.gaussian_normalizer import GaussianNormalizer
from dwm_gym.data.normalizers import CDFNormalizer, MinMaxNormalizer
from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.data.windows import DWMWindows
from dwm_gym.world_model.base import ActionSource, Segment, WorldModel
from dwm_gym.world_model.dwm.config import (
    STATE_NORMALIZERS,
    DWMConfig,
    SamplerConfig,
    split_stored_config,
    stored_config,
)
from dwm_gym.world_model.dwm.diffusion import (
    PosteriorTable,
    cosine_alphas_cumprod,
    prediction_target,
    q_sample,
    respaced_timesteps,
)
from dwm_gym.world_model.dwm.unet import TemporalUnet
from dwm_gym.world_model.rtg import rtg_statistics
from dwm_gym.world_model.training_setup import TrainingSetup, dataset_start_states


class WindowBatches:
    """DWM training batches: windows of length T with their RTG (``loss`` keyword arguments)."""

    def __init__(self, windows: DWMWindows) -> None:
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def batch(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """States, actions, future states, rewards and RTG of windows ``idx``."""
        w = self.windows.batch(idx)
        return {
            "states": w.states,
            "actions": w.actions,
            "future_states": w.future_states,
            "rewards": w.rewards,
            "rtg": w.rtg,
        }


class DiffusionWorldModel(WorldModel):
    """The DWM: a temporal U-Net denoiser (ε-, x0- or v-prediction) plus its normalizers and sampler.

    Args:
        config: Model settings (see :mod:`dwm_gym.world_model.dwm.config`).
        obs_dim: State size.
        action_dim: Action size.
        state_normalizer: Fitted normalizer of states, of the kind ``config.state_normalization`` names.
        reward_normalizer: Fitted min-max normalizer of rewards.
        env_id: Gymnasium id (selects the termination rule), optional.
        info: The checkpoint's JSON header (holds the RTG statistics of the training data).
        start_states: Dataset states that travel with the model (see :class:`WorldModel`).
        sampler: Default sampler settings (:class:`SamplerConfig`).

    Attributes:
        generated_slots: ``(T, row_dim)`` buffer, 1 where the sampler generates a value and the loss
            applies, 0 where the sampler writes it (row 0's s_t and a_t, later rows' action slots).
    """

    kind = "dwm"
    uses_rtg = True
    needs_policy = False
    sampler_class = SamplerConfig

    def __init__(
        self,
        config: DWMConfig,
        obs_dim: int,
        action_dim: int,
        state_normalizer: CDFNormalizer | GaussianNormalizer,
        reward_normalizer: MinMaxNormalizer,
        env_id: str | None = None,
        info: Mapping[str, Any] | None = None,
        start_states: Mapping[str, ArrayLike] | None = None,
        sampler: SamplerConfig | None = None,
    ) -> None:
        expected = STATE_NORMALIZERS[config.state_normalization]
        if not isinstance(state_normalizer, expected):
            raise ValueError(
                f"state_normalization={config.state_normalization!r} needs a {expected.__name__}, "
                f"got a {type(state_normalizer).__name__}"
            )
        super().__init__(obs_dim, action_dim, state_normalizer, reward_normalizer, env_id, info, start_states)
        self.state_normalizer: CDFNormalizer | GaussianNormalizer = state_normalizer
        self.config = config
        self.sampler = sampler or SamplerConfig()
        self.row_dim = obs_dim + action_dim + 1
        self.net = TemporalUnet(
            config.segment_length, self.row_dim, action_dim, config.dim, config.dim_mults, config.kernel_size
        )
        alphas_cumprod = cosine_alphas_cumprod(config.diffusion_steps)
        self.alphas_cumprod: torch.Tensor
        self.generated_slots: torch.Tensor
        self.x0_low: torch.Tensor
        self.x0_high: torch.Tensor
        self.register_buffer("alphas_cumprod", torch.tensor(alphas_cumprod, dtype=torch.float32), persistent=False)
        steps = respaced_timesteps(config.diffusion_steps, config.sampling_steps)
        generated = torch.ones(config.segment_length, self.row_dim)
        generated[0, : obs_dim + action_dim] = 0.0  # s_t, a_t: inpainted
        generated[1:, obs_dim : obs_dim + action_dim] = 0.0  # future actions: not modeled, held at 0
        self.register_buffer("generated_slots", generated, persistent=False)
        low, high = torch.full((self.row_dim,), -1.0), torch.full((self.row_dim,), 1.0)  # actions, rewards
        state_low, state_high = state_normalizer.normalized_bounds()
        low[:obs_dim], high[:obs_dim] = torch.as_tensor(state_low), torch.as_tensor(state_high)
        self.register_buffer("x0_low", low, persistent=False)  # clip_denoised: the data's range, normalized
        self.register_buffer("x0_high", high, persistent=False)
        self._posterior = PosteriorTable.build(alphas_cumprod, steps)
        self._posterior_by_device: dict[torch.device, PosteriorTable] = {}
        self._compiled_net = None

    @property
    def segment_length(self) -> int:
        """T: the sampled sequence holds s_t and T - 1 future states, and T rewards."""
        return self.config.segment_length

    def config_dict(self) -> dict[str, Any]:
        """The model settings (:class:`DWMConfig`) as JSON-able values (those at older checkpoints' value left out)."""
        return stored_config(self.config)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], sampler: Mapping[str, Any] | None, **common: Any
    ) -> DiffusionWorldModel:
        """A DWM from a checkpoint's ``config`` and ``sampler`` (older layouts included)."""
        model_config, legacy_sampler = split_stored_config(dict(config))
        settings = SamplerConfig(**{**legacy_sampler, **(sampler or {})})
        obs_dim, action_dim = common.pop("obs_dim"), common.pop("action_dim")
        state_norm, reward_norm = common.pop("state_normalizer"), common.pop("reward_normalizer")
        return cls(model_config, obs_dim, action_dim, state_norm, reward_norm, sampler=settings, **common)

    # ------------------------------------------------------------------ training
    @classmethod
    def training_setup(
        cls, train: OfflineDataset, held: OfflineDataset, config: DWMConfig, info: dict[str, Any], seed: int
    ) -> TrainingSetup:
        """A DWM with its state normalizer fitted, window batches, an EMA copy; RTG statistics go into ``info``."""
        windows = DWMWindows(train, config.segment_length, config.gamma)
        held_windows = DWMWindows(held, config.segment_length, config.gamma, rtg_scale=windows.rtg_scale)
        info.update(rtg_scale=windows.rtg_scale, **rtg_statistics(windows.start_rtg))
        states = np.concatenate([e.observations for e in train.episodes])
        model = cls(
            config,
            train.obs_dim,
            train.action_dim,
            config.new_state_normalizer().fit(states),
            MinMaxNormalizer().fit(train.transitions["rewards"]),
            env_id=train.env_id,
            info=info,
            start_states=dataset_start_states(train, np.random.default_rng(seed)),
        )
        ema = (config.ema_decay, config.ema_every)
        return TrainingSetup(model, WindowBatches(windows), WindowBatches(held_windows), ema)

    def build_x0(
        self, states: torch.Tensor, actions: torch.Tensor, future_states: torch.Tensor, rewards: torch.Tensor
    ) -> torch.Tensor:
        """Normalized sequence ``(B, T, row_dim)`` from a raw window batch."""
        batch, length = rewards.shape
        x0 = torch.zeros(batch, length, self.row_dim, device=rewards.device)
        all_states = torch.cat([states[:, None], future_states], dim=1)
        x0[..., : self.obs_dim] = self.state_normalizer.normalize(all_states)
        x0[:, 0, self.obs_dim : self.obs_dim + self.action_dim] = actions
        x0[..., -1] = self.reward_normalizer.normalize(rewards)
        return x0

    def loss(
        self,
        states: torch.Tensor,
        actions: torch.Tensor,
        future_states: torch.Tensor,
        rewards: torch.Tensor,
        rtg: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """MSE of ``config.prediction``'s target with RTG dropout (p = ``condition_dropout``), generated slots only.

        The slots that :meth:`_impose` overwrites (s_t and a_t in row 0, the zero action slots of
        rows 1..T-1) carry no trace of the noise in x_k, so their ε is unpredictable: they are left
        out of the loss, which would otherwise add an irreducible unit-variance term to it and
        noise to every gradient.

        All inputs are raw-unit tensors on the model's device: ``states (B, obs)``, ``actions (B, act)``,
        ``future_states (B, T-1, obs)``, ``rewards (B, T)``, ``rtg (B,)``.
        """
        x0 = self.build_x0(states, actions, future_states, rewards)
        batch = x0.shape[0]
        k = torch.randint(0, self.config.diffusion_steps, (batch,), device=x0.device, generator=generator)
        noise = torch.randn(x0.shape, device=x0.device, generator=generator)
        xk = self._impose(q_sample(x0, k, noise, self.alphas_cumprod), x0[:, 0, : self.obs_dim + self.action_dim])
        keep = (torch.rand(batch, 1, device=x0.device, generator=generator) >= self.config.condition_dropout).float()
        output = self.net(xk, k, rtg.view(-1, 1).float(), actions.float(), keep)
        target = prediction_target(self.config.prediction, x0, noise, self.alphas_cumprod[k])
        weight = self.generated_slots
        return ((output - target) ** 2 * weight).sum() / (weight.sum() * batch)

    # ------------------------------------------------------------------ sampling
    def _impose(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Zeroes every slot outside ``generated_slots``, then writes (s_t, a_t) into row 0."""
        x = x * self.generated_slots
        x[:, 0, : self.obs_dim + self.action_dim] = condition
        return x

    def _guided_output(
        self, x: torch.Tensor, k: torch.Tensor, rtg: torch.Tensor, actions: torch.Tensor, sampler: SamplerConfig
    ) -> torch.Tensor:
        batch = x.shape[0]
        keep = torch.cat([torch.ones(batch, 1, device=x.device), torch.zeros(batch, 1, device=x.device)])
        net = self.net if self._compiled_net is None else self._compiled_net
        bf16 = sampler.precision == "bf16" or (sampler.precision == "auto" and x.device.type == "cuda")
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            out = net(torch.cat([x, x]), torch.cat([k, k]), torch.cat([rtg, rtg]), torch.cat([actions, actions]), keep)
        out = out.float()
        cond, uncond = out[:batch], out[batch:]
        return uncond + sampler.guidance_weight * (cond - uncond)

    def compile_sampler(self, mode: str | None = None) -> DiffusionWorldModel:
        """Compiles the denoiser for sampling with ``torch.compile`` (first calls are slow).

        Args:
            mode: ``torch.compile`` mode; default ``"reduce-overhead"`` (CUDA graphs) on CUDA,
                ``"default"`` elsewhere. Batch sizes are treated as static: each new size recompiles.

        Returns:
            ``self``, for chaining.
        """
        mode = mode or ("reduce-overhead" if self.device.type == "cuda" else "default")
        # a plain attribute, not a submodule: the compiled wrapper must not enter the state dict
        object.__setattr__(self, "_compiled_net", torch.compile(self.net, mode=mode, dynamic=False))
        return self

    @torch.no_grad()
    def rollout(
        self,
        obs: ArrayLike,
        action: ArrayLike,
        steps: int | None = None,
        *,
        rtg: float | ArrayLike | None = None,
        policy: ActionSource | None = None,
        generator: torch.Generator | None = None,
        sampler: SamplerConfig | Mapping[str, Any] | None = None,
    ) -> Segment:
        """Samples one future per row of ``obs`` in a single (respaced, guided) diffusion pass.

        Args:
            obs: s_t, ``(B, obs_dim)`` or ``(obs_dim,)`` raw states (numpy or torch).
            action: a_t, ``(B, action_dim)``.
            steps: Transitions kept, 1 .. T - 1 (default T - 1).
            rtg: Target scaled return-to-go, a float or ``(B,)``; default :attr:`default_rtg`.
            policy: Ignored: the DWM imagines the actions after a_t itself (they are the data's
                behaviour, not the agent's), which is what makes its segments cacheable.
            generator: Torch generator on the model's device for reproducible samples.
            sampler: Sampler settings for this call (a :class:`SamplerConfig` or overrides of
                :attr:`sampler`, e.g. ``{"guidance_weight": 1.0}``).

        Returns:
            The :class:`Segment` (raw units, on the model's device).
        """
        steps = self.check_steps(steps)
        settings = self.sampler_settings(sampler)
        target = cast(float, self.default_rtg) if rtg is None else rtg  # a DWM uses RTG: its default is a float
        x = self.sample_sequence(obs, action, target, generator, settings)
        normalized = x[:, 1 : steps + 1, : self.obs_dim]
        states = self.state_normalizer.unnormalize(normalized, clip_tails=settings.clip_state_tails)
        rewards = self.reward_normalizer.unnormalize(x[:, :steps, -1])
        return Segment(states, rewards, self.terminated(states))

    @torch.no_grad()
    def sample_sequence(
        self,
        obs: ArrayLike,
        action: ArrayLike,
        rtg: float | ArrayLike,
        generator: torch.Generator | None = None,
        sampler: SamplerConfig | Mapping[str, Any] | None = None,
    ) -> torch.Tensor:
        """The normalized sampled sequence ``(B, T, row_dim)`` behind :meth:`rollout` (rows ``[s, a, r]``)."""
        settings = self.sampler_settings(sampler)
        device = self.device
        obs_t, act_t = self.as_batch(obs, action)
        batch = obs_t.shape[0]
        rtg_t = torch.as_tensor(rtg, dtype=torch.float32, device=device).reshape(-1, 1).expand(batch, 1)
        condition = torch.cat([self.state_normalizer.normalize(obs_t), act_t], dim=-1)
        if device not in self._posterior_by_device:  # moved once per device, not once per call
            self._posterior_by_device[device] = self._posterior.to(device)
        table = self._posterior_by_device[device]
        shape = (batch, self.config.segment_length, self.row_dim)
        x = settings.start_noise_scale * torch.randn(shape, device=device, generator=generator)
        x = self._impose(x, condition)
        for i in reversed(range(len(table.timesteps))):
            k = table.timesteps[i].expand(batch)
            output = self._guided_output(x, k, rtg_t, act_t, settings)
            x0 = table.x0_hat(self.config.prediction, i, x, output)
            if settings.clip_denoised:
                x0 = x0.clamp(self.x0_low, self.x0_high)
            x = table.coef_x0[i] * x0 + table.coef_xt[i] * x
            if i > 0:
                noise = torch.randn(shape, device=device, generator=generator)
                x = x + settings.temperature * table.std[i] * noise
            x = self._impose(x, condition)
        return x
