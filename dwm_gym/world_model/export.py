"""``export_checkpoint``: a checkpoint copied for shipping (``dwm-gym world-model export``).

The copy can store its weights in float16 (half the file; normalizers and the data sample stay
float32), and can re-derive the data sample it carries from its training data (``data=``): the
split and seed in its header give the same ``states`` again, now with their ``actions``, which
the pessimistic mode of the imagined envs needs. The stored states must come out the same, which
also checks that ``data`` is the dataset the model was trained on. A model trained on another
generation of the same dataset can instead get a fresh sample of it (``resample=True``); its
header then says so (``data_sample``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.world_model.base import WorldModel
from dwm_gym.world_model.checkpoint import WeightsDtype, save_world_model
from dwm_gym.world_model.errors import CheckpointError
from dwm_gym.world_model.registry import load_world_model
from dwm_gym.world_model.training_setup import dataset_start_states


def rederive_start_states(info: dict, dataset: OfflineDataset) -> dict[str, np.ndarray]:
    """The ``start_states`` of a model trained on ``dataset``, re-derived from its header's split and seed.

    Checkpoints written before the sample carried actions get them this way (``world-model export --data``).

    Args:
        info: The checkpoint's header (``held_out_fraction``, ``split_seed``).
        dataset: The dataset the model was trained on (all of it; the split is redone).

    Raises:
        CheckpointError: When the header lacks the split's settings.
    """
    missing = [key for key in ("held_out_fraction", "split_seed") if key not in info]
    if missing:
        raise CheckpointError(f"the checkpoint's header lacks {missing}: its training split cannot be redone")
    train, _ = dataset.split(float(info["held_out_fraction"]), np.random.default_rng(int(info["split_seed"])))
    return dataset_start_states(train, np.random.default_rng(int(info["split_seed"])))


def refresh_data_sample(model: WorldModel, dataset: OfflineDataset, resample: bool = False) -> None:
    """Replaces ``model.start_states`` with the sample re-derived from ``dataset`` (adds ``actions``).

    Args:
        model: A trained model whose header records its split (``held_out_fraction``, ``split_seed``).
        dataset: Its training data (an :class:`~dwm_gym.data.OfflineDataset`).
        resample: Draw a fresh sample of ``dataset`` (seeded by the header's ``split_seed``) instead of
            re-deriving the stored one; for a model trained on another generation of the same dataset.

    Raises:
        CheckpointError: When the re-derived states differ from the stored ones (other data).
    """
    if resample:
        if dataset.env_id != model.env_id:
            raise CheckpointError(
                f"the model imagines {model.env_id}, but {dataset.dataset_id} is {dataset.env_id} data"
            )
        fresh = dataset_start_states(dataset, np.random.default_rng(int(model.info.get("split_seed", 0))))
        model.start_states = {key: np.asarray(value, dtype=np.float32) for key, value in fresh.items()}
        model.info["data_sample"] = f"resampled from {dataset.dataset_id} ({dataset.num_transitions} transitions)"
        return
    fresh = rederive_start_states(model.info, dataset)
    stored = model.start_states.get("states")
    if stored is not None and (
        stored.shape != fresh["states"].shape or not np.allclose(stored, fresh["states"], atol=1e-3)
    ):
        raise CheckpointError(
            f"the states of {dataset.dataset_id} at the checkpoint's split and seed differ from the ones it carries: "
            f"it was not trained on this data (header: dataset_id={model.info.get('dataset_id')!r}); for another "
            "generation of the same dataset, draw a fresh sample instead (--resample-data)"
        )
    model.start_states = {key: np.asarray(value, dtype=np.float32) for key, value in fresh.items()}


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    weights_dtype: WeightsDtype = "float16",
    data: OfflineDataset | str | None = None,
    resample: bool = False,
    force: bool = False,
) -> WorldModel:
    """Writes a copy of ``checkpoint`` to ``out`` and returns the model written.

    Args:
        checkpoint: A DWM or one-step ``.safetensors`` file.
        out: The new ``.safetensors`` file.
        weights_dtype: ``"float16"`` or ``"float32"`` storage of the network weights.
        data: The model's training dataset (an ``OfflineDataset`` or a Minari id) to re-derive the
            data sample from, or None to keep the stored one.
        resample: With ``data``, draw a fresh sample instead (see :func:`refresh_data_sample`).
        force: Replace an existing ``out``.

    Raises:
        FileExistsError: When ``out`` exists and ``force`` is False.
        ValueError: When ``out`` is not a ``.safetensors`` path.
    """
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists: pass --force to replace it")
    if out.suffix != ".safetensors":
        raise ValueError(f"out must be a .safetensors file, got {out}")
    model = load_world_model(checkpoint)
    if data is not None:
        if isinstance(data, str):
            data = OfflineDataset.from_minari(data)
        refresh_data_sample(model, data, resample)
    save_world_model(model, out, weights_dtype=weights_dtype)
    return model
