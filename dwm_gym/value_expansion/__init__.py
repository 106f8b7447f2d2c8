"""Diffusion-MVE: pure target functions and SB3 replay buffers that carry the model-based target."""

from dwm_gym.value_expansion.base_buffer import GammaUncheckedWarning, MVEReplayBuffer, MVEReplayBufferSamples
from dwm_gym.value_expansion.cache import ImaginationCache
from dwm_gym.value_expansion.diffusion_buffer import DiffusionMVEReplayBuffer
from dwm_gym.value_expansion.offline_data import buffer_from_dataset, load_offline_data, scale_actions
from dwm_gym.value_expansion.one_step_buffer import BindPolicyCallback, OneStepMVEReplayBuffer, policy_function
from dwm_gym.value_expansion.targets import (
    alive_mask,
    bootstrap_discount,
    discounted_reward_sum,
    lambda_return,
    mve_target,
)

__all__ = [
    "BindPolicyCallback",
    "DiffusionMVEReplayBuffer",
    "GammaUncheckedWarning",
    "ImaginationCache",
    "MVEReplayBuffer",
    "MVEReplayBufferSamples",
    "OneStepMVEReplayBuffer",
    "alive_mask",
    "bootstrap_discount",
    "buffer_from_dataset",
    "discounted_reward_sum",
    "lambda_return",
    "load_offline_data",
    "mve_target",
    "policy_function",
    "scale_actions",
]
