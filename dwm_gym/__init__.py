"""dwm_gym: a Diffusion World Model as Gymnasium envs and Stable-Baselines3 plug-ins.

Importing the package registers the ``DWM-{hopper,walker2d,halfcheetah}-{quality}-v0`` envs.
"""

from dwm_gym.envs.registration import register_envs

__version__ = "0.1.0"

register_envs()
