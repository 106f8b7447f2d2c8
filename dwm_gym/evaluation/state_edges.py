"""Where imagined states sit against the edges of the data a DWM was trained on.

A DWM maps sampled states back to raw units within the data's range (with the sampler's tail rule, within its
0.1-99.9 % quantiles), so a sample beyond the normalized range lands exactly on an edge. These helpers find the
edges through the state normalizer's interface, for CDF and standardized models alike.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class DataEdges(NamedTuple):
    """Per state dimension: the data's extreme values, its 0.1 / 99.9 % quantiles, and which are tied."""

    low: np.ndarray
    high: np.ndarray
    inner_low: np.ndarray
    inner_high: np.ndarray
    tied: np.ndarray  # an extreme equal to its quantile: an env clip value, legitimately reached


def data_edges(normalizer) -> DataEdges:
    """The edges of a fitted state normalizer (``CDFNormalizer`` or ``GaussianNormalizer``)."""
    bounds = np.stack(normalizer.normalized_bounds())
    low, high = normalizer.unnormalize(bounds)
    inner_low, inner_high = normalizer.unnormalize(bounds, clip_tails=True)
    return DataEdges(low, high, inner_low, inner_high, (inner_low == low) | (inner_high == high))


def edge_shares(edges: DataEdges, states: np.ndarray) -> dict[str, np.ndarray]:
    """Shares over the first axis of ``states`` (rows, ..., obs) with a non-tied dimension exactly at an edge.

    Returns:
        ``{"at_data_extreme": ..., "at_inner_quantile": ...}``, each of the shape of ``states`` without its
        first and last axes (a float for 2-D ``states``).
    """
    free = ~edges.tied
    at_extreme = (np.isclose(states, edges.low) | np.isclose(states, edges.high))[..., free].any(-1)
    at_inner = (np.isclose(states, edges.inner_low) | np.isclose(states, edges.inner_high))[..., free].any(-1)
    return {"at_data_extreme": at_extreme.mean(0), "at_inner_quantile": at_inner.mean(0)}
