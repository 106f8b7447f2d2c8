"""The Diffusion World Model (the paper's): its model, temporal U-Net, diffusion schedule and settings."""

from dwm_gym.world_model.dwm.config import PRESETS, STATE_NORMALIZERS, DWMConfig, SamplerConfig, preset
from dwm_gym.world_model.dwm.model import DiffusionWorldModel

__all__ = ["PRESETS", "STATE_NORMALIZERS", "DWMConfig", "DiffusionWorldModel", "SamplerConfig", "preset"]
