"""dwm_gym: a Diffusion World Model as Gymnasium envs and Stable-Baselines3 plug-ins."""

__version__ = "0.1.0"
