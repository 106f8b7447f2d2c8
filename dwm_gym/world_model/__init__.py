"""World models: the Diffusion World Model (paper) and, later, the one-step baseline."""

from dwm_gym.world_model.config import PRESETS, DWMConfig, preset
from dwm_gym.world_model.model import DiffusionWorldModel, Segment

__all__ = ["PRESETS", "DWMConfig", "DiffusionWorldModel", "Segment", "preset"]
