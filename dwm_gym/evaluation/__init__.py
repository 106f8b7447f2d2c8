"""Scores and evaluation of policies and world models."""

from dwm_gym.evaluation.model_error import model_error_by_horizon
from dwm_gym.evaluation.scores import normalized_score

__all__ = ["model_error_by_horizon", "normalized_score"]
