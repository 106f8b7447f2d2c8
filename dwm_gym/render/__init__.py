"""Rendering: real and imagined rollouts as MuJoCo frames, side-by-side videos, comparison plots."""

from dwm_gym.render.rollouts import Rollout, imagined_rollout, real_rollout
from dwm_gym.render.video import label_frame, side_by_side, write_gif, write_mp4

__all__ = ["Rollout", "imagined_rollout", "label_frame", "real_rollout", "side_by_side", "write_gif", "write_mp4"]
