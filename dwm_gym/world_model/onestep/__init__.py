"""The paper's one-step baseline: a Gaussian model of (s_{t+1}, r_t) given (s_t, a_t)."""

from dwm_gym.world_model.onestep.model import ONESTEP_PRESETS, OneStepConfig, OneStepModel

__all__ = ["ONESTEP_PRESETS", "OneStepConfig", "OneStepModel"]
