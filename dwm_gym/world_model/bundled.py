"""Where world-model checkpoints are found: an explicit path, the user's cache, the package.

Resolution order for ``{task}_{quality}_{kind}.safetensors`` (``kind``: a registered world-model kind,
``dwm`` or ``onestep`` for the built-in ones):

1. an explicit ``checkpoint=`` path;
2. ``$DWM_GYM_HOME/world_models/`` (default ``~/.cache/dwm_gym/world_models/``);
3. the checkpoints bundled in the package (``dwm_gym/world_model/assets/``);
4. otherwise :class:`CheckpointNotFoundError`, whose message is the exact command that trains one.
"""

from __future__ import annotations

import os
from pathlib import Path

from dwm_gym.data.specs import QUALITIES, TASKS, dataset_id
from dwm_gym.utils.paths import dwm_gym_home
from dwm_gym.world_model.registry import kind_names

BUNDLED = Path(__file__).parent / "assets"

# The DWM settings the bundled models of a task were trained with beyond the `small` preset, as `world-model train`
# options: on walker2d and halfcheetah an eps-predicting denoiser drops the velocity channels it cannot predict, and
# the sampler multiplies that error ~100-fold (docs/world_model.md, "Prediction target"); hopper's predict eps.
DWM_TRAIN_OPTIONS: dict[str, dict[str, str]] = {
    "hopper": {},
    "walker2d": {"prediction": "x0"},
    "halfcheetah": {"prediction": "x0"},
}


class CheckpointNotFoundError(FileNotFoundError):
    """No checkpoint for a task/quality/kind; the message says how to make one."""


def user_checkpoint_dir() -> Path:
    """``$DWM_GYM_HOME/world_models``: where trained checkpoints are picked up by name."""
    return dwm_gym_home() / "world_models"


def checkpoint_filename(task: str, quality: str, kind: str = "dwm") -> str:
    """``hopper_medium_dwm.safetensors`` style names (``-`` in qualities becomes ``_``)."""
    if kind not in kind_names():
        raise ValueError(f"kind must be one of {kind_names()}, got {kind!r}")
    return f"{task}_{quality.replace('-', '_')}_{kind}.safetensors"


def bundled_models() -> list[tuple[str, str, str]]:
    """(task, quality, kind) of every checkpoint shipped in the package, in task, quality and kind order.

    Dropping a ``{task}_{quality}_{kind}.safetensors`` file into ``dwm_gym/world_model/assets/`` adds it here.
    """
    return [
        (task, quality, kind)
        for task in TASKS
        for quality in QUALITIES
        for kind in kind_names()
        if (BUNDLED / checkpoint_filename(task, quality, kind)).is_file()
    ]


def train_command(task: str, quality: str, kind: str = "dwm") -> str:
    """The shell commands that make the checkpoint :func:`resolve_checkpoint` looks for."""
    run_dir = f"runs/{task}_{quality.replace('-', '_')}_{kind}"
    target = user_checkpoint_dir() / checkpoint_filename(task, quality, kind)
    settings = DWM_TRAIN_OPTIONS[task] if kind == "dwm" else {}
    options = "".join(f"--{name.replace('_', '-')} {value} " for name, value in settings.items())
    return (
        f"dwm-gym dataset make {task}-{quality} && "
        f"dwm-gym world-model train --dataset {dataset_id(task, quality)} --kind {kind} --preset small "
        f"{options}--out {run_dir} && "
        f"mkdir -p {target.parent} && cp {run_dir}/model.safetensors {target}"
    )


def resolve_checkpoint(task: str, quality: str, kind: str = "dwm", checkpoint: str | os.PathLike | None = None) -> Path:
    """The checkpoint file to use for ``task``/``quality``/``kind``.

    Raises:
        FileNotFoundError: If an explicit ``checkpoint`` does not exist.
        CheckpointNotFoundError: If none is found; the message holds the command that trains one.
    """
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint={str(checkpoint)!r} does not exist")
        return path
    name = checkpoint_filename(task, quality, kind)
    for folder in (user_checkpoint_dir(), BUNDLED):
        if (folder / name).is_file():
            return folder / name
    raise CheckpointNotFoundError(
        f"no {kind} checkpoint for {task}-{quality}: looked for {name} in {user_checkpoint_dir()} and in the "
        f"package. Train one (or pass checkpoint='path/to/model.safetensors'):\n  {train_command(task, quality, kind)}"
    )
