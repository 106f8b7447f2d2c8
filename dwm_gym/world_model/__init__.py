"""World models: the Diffusion World Model (paper) and the one-step Gaussian baseline."""

from dwm_gym.world_model.base import Segment, WorldModel
from dwm_gym.world_model.checkpoint import CheckpointError, load_world_model, save_world_model
from dwm_gym.world_model.config import PRESETS, DWMConfig, SamplerConfig, preset
from dwm_gym.world_model.kinds import model_class, register_kind
from dwm_gym.world_model.model import DiffusionWorldModel
from dwm_gym.world_model.one_step import OneStepModel

__all__ = [
    "PRESETS",
    "CheckpointError",
    "DWMConfig",
    "DiffusionWorldModel",
    "OneStepModel",
    "SamplerConfig",
    "Segment",
    "WorldModel",
    "load_world_model",
    "model_class",
    "preset",
    "register_kind",
    "save_world_model",
]
