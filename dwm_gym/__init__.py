"""dwm_gym: a Diffusion World Model as Gymnasium envs and Stable-Baselines3 plug-ins.

Importing the package registers the ``DWM-{hopper,walker2d,halfcheetah}-{quality}-v0`` envs.
"""

from dwm_gym._version import __version__
from dwm_gym.envs.registration import register_envs

__all__ = ["__version__", "bundled_checkpoint"]


def bundled_checkpoint(task: str, quality: str, kind: str = "dwm") -> str:
    """Path of the world-model checkpoint ``gym.make("DWM-{task}-{quality}-v0")`` would use (user cache first).

    Raises:
        FileNotFoundError: With the command that trains one, when there is none.
    """
    from dwm_gym.world_model.bundled import resolve_checkpoint

    return str(resolve_checkpoint(task, quality, kind))


register_envs()
