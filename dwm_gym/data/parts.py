"""Which behaviour policy made each episode of a multi-part dataset (medium-expert: medium, then expert).

``dataset make`` writes the parts in order and records each part's exact step budget in the provenance
(``parts``), so an episode's part follows from where its first transition lies.
"""

from __future__ import annotations

import numpy as np

from dwm_gym.data.offline_dataset import OfflineDataset


def episode_parts(dataset: OfflineDataset) -> np.ndarray:
    """The part (``"medium"``, ``"expert"``...) of every episode, in order.

    Raises:
        ValueError: If the dataset carries no ``parts`` provenance (it was not made by ``dataset make``),
            or its parts do not add up to its size.
    """
    parts = dataset.metadata.get("parts") or []
    if not parts or any("part" not in p or "steps" not in p for p in parts):
        raise ValueError(
            f"{dataset.dataset_id} has no 'parts' provenance with steps: only datasets made by "
            "`dwm-gym dataset make` record which policy made which episodes"
        )
    bounds = np.cumsum([int(p["steps"]) for p in parts])
    if bounds[-1] != dataset.num_transitions:
        raise ValueError(
            f"{dataset.dataset_id}: its parts hold {bounds[-1]} steps but the dataset has {dataset.num_transitions}"
        )
    starts = np.cumsum([0] + [len(e.rewards) for e in dataset.episodes])[:-1]
    return np.array([parts[i]["part"] for i in np.searchsorted(bounds, starts, side="right")])
