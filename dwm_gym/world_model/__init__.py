"""World models: the Diffusion World Model (paper) and the one-step Gaussian baseline."""

from dwm_gym.world_model.checkpoint import CheckpointError, load_world_model, save_world_model
from dwm_gym.world_model.config import PRESETS, DWMConfig, preset
from dwm_gym.world_model.model import DiffusionWorldModel, Segment
from dwm_gym.world_model.one_step import OneStepModel

__all__ = [
    "PRESETS",
    "CheckpointError",
    "DWMConfig",
    "DiffusionWorldModel",
    "OneStepModel",
    "Segment",
    "load_world_model",
    "preset",
    "save_world_model",
]
