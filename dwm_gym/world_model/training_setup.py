"""What a world-model kind hands the generic training loop: ``TrainingSetup`` and its batches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from dwm_gym.data.offline_dataset import OfflineDataset

if TYPE_CHECKING:
    from dwm_gym.world_model.base import WorldModel


class TrainingBatches(Protocol):
    """Training data of one model kind: ``batch(idx)`` gives the keyword arguments of its ``loss``."""

    def __len__(self) -> int: ...

    def batch(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """The raw-unit arrays of examples ``idx``, keyed by the loss's argument names."""
        ...


@dataclass
class TrainingSetup:
    """What the generic training loop needs from a model kind (see ``WorldModel.training_setup``).

    Attributes:
        model: A fresh model, normalizers fitted on the training data.
        train_batches: Batches of the training part.
        held_batches: Batches of the held-out part (for the held-out loss).
        ema: ``(decay, every)`` of an EMA copy that is saved and sampled, or None (the model itself).
    """

    model: WorldModel
    train_batches: TrainingBatches
    held_batches: TrainingBatches
    ema: tuple[float, int] | None


def dataset_start_states(dataset: OfflineDataset, rng: np.random.Generator, size: int = 4096) -> dict[str, np.ndarray]:
    """A model's ``start_states``: episode starts (up to ``size``) and a sample of ``size`` dataset transitions.

    The sample is ``states`` with the ``actions`` taken in them (row by row), so it describes the data's
    support in (s, a), which the imagined envs' pessimistic mode measures distances to.
    """
    starts = np.stack([e.observations[0] for e in dataset.episodes])
    episode_starts = starts[rng.permutation(len(starts))[:size]]
    rows = rng.choice(dataset.num_transitions, size=min(size, dataset.num_transitions), replace=False)
    return {
        "episode_starts": episode_starts,
        "states": dataset.transitions["observations"][rows],
        "actions": dataset.transitions["actions"][rows],
    }
