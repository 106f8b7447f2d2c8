"""World models: the Diffusion World Model (paper) and the one-step Gaussian baseline.

The generic layer (the :class:`WorldModel` interface, checkpoints, the kind registry, training, export)
sits here; each kind lives in its own subpackage (:mod:`dwm_gym.world_model.dwm`,
:mod:`dwm_gym.world_model.onestep`).
"""

from dwm_gym.world_model.base import Segment, WorldModel
from dwm_gym.world_model.checkpoint import save_world_model
from dwm_gym.world_model.dwm import PRESETS, DiffusionWorldModel, DWMConfig, SamplerConfig, preset
from dwm_gym.world_model.errors import CheckpointError
from dwm_gym.world_model.onestep import OneStepConfig, OneStepModel
from dwm_gym.world_model.registry import load_world_model, model_class, register_kind

__all__ = [
    "PRESETS",
    "CheckpointError",
    "DWMConfig",
    "DiffusionWorldModel",
    "OneStepConfig",
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
