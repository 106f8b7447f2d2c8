"""Behaviour policies that generate the D4RL-recipe datasets (SB3 SAC actors, exported without SB3)."""

from dwm_gym.data.behavior.actor import BehaviorPolicy, load_actor
from dwm_gym.data.behavior.shipped import load_behavior_policy

__all__ = ["BehaviorPolicy", "load_actor", "load_behavior_policy"]
