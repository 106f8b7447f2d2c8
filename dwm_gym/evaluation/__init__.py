"""Scores and evaluation of policies and world models."""

from dwm_gym.evaluation.scores import normalized_score

__all__ = ["normalized_score"]
