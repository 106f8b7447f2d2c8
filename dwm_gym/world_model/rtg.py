"""The default RTG target of a DWM: the median scaled return-to-go of its training data.

A DWM imagines futures conditioned on a target return-to-go g (classifier-free guidance). Which g
to use when the caller gives none is a rule, not a per-dataset pick:

    g_default = median over the training windows of the scaled discounted RTG g_t.

Why the median and not the data's maximum (the rule before): the conditional model is trained
where the data is. Few windows reach the maximum (on hopper-medium the top 1 % lie between 0.87
and 0.91), so p(future | s, a, g_max) is learned from a handful of episodes and, pushed further by
guidance, imagines a world that rarely fails: with the bundled hopper-medium DWM, within H = 5
imagined steps 0.49 % of segments fall at g = max against 1.32 % of the data's, while every g from
0.6 to 0.8, the median 0.74 included, gives 1.25-1.35 % (``studies/imagined_terminations.py``,
docs/concepts.md). The median is the centre of that faithful band for any dataset and needs no
evaluation on the real env to choose. An explicit ``rtg=`` still overrides it everywhere.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dwm_gym.utils.validation import finite

#: Header key (checkpoint JSON) of the training data's median scaled RTG.
RTG_MEDIAN_KEY = "rtg_median"
#: How far outside the training data's RTG range [min, max] a target may lie without a warning, as a
#: fraction of that range's width (the paper's optimistic targets lie up to ~0.5 widths above the max).
RTG_MARGIN = 0.5


class RTGRangeWarning(UserWarning):
    """An RTG target far outside the RTGs the DWM was trained on (its futures there are extrapolation)."""


def rtg_statistics(rtg: np.ndarray) -> dict[str, float]:
    """The RTG figures a DWM checkpoint stores about its training data (max, p90, median)."""
    rtg = np.asarray(rtg, dtype=np.float64)
    if rtg.size == 0:
        raise ValueError("no RTG values: the training data has no windows")
    return {
        "rtg_min": float(rtg.min()),
        "rtg_max": float(rtg.max()),
        "rtg_p90": float(np.quantile(rtg, 0.9)),
        RTG_MEDIAN_KEY: float(np.median(rtg)),
    }


def check_rtg_range(info: dict[str, Any], rtg: float) -> None:
    """Warns (:class:`RTGRangeWarning`) when ``rtg`` lies outside the data's range by more than :data:`RTG_MARGIN`.

    The range is the header's ``rtg_min``..``rtg_max``; a header without ``rtg_min`` (checkpoints
    before 2026-12-02) counts from min(0, median).
    """
    if "rtg_max" not in info:
        return
    high = float(info["rtg_max"])
    low = float(info["rtg_min"]) if "rtg_min" in info else min(0.0, float(info.get(RTG_MEDIAN_KEY, high)))
    margin = RTG_MARGIN * max(high - low, 1e-6)
    if not low - margin <= rtg <= high + margin:
        warnings.warn(
            RTGRangeWarning(
                f"rtg={rtg:g} is far outside the training data's RTG range [{low:.3g}, {high:.3g}] (targets within "
                f"[{low - margin:.3g}, {high + margin:.3g}] pass without this warning): the DWM never saw such "
                "returns, so what it imagines there is extrapolation. RTGs are scaled returns-to-go, as in "
                "training; the default is the data's median"
            ),
            stacklevel=4,
        )


def default_rtg(info: dict[str, Any], rtg: float | None = None) -> float:
    """``rtg`` when given, else the checkpoint's median training RTG (see the module docstring).

    Args:
        info: The checkpoint's header (``WorldModel.info``).
        rtg: An explicit target, which wins.

    Raises:
        ValueError: On a non-finite ``rtg``, or when neither ``rtg`` nor the header's median is there.

    Warns:
        RTGRangeWarning: For an ``rtg`` far outside the training data's RTGs (:func:`check_rtg_range`).
    """
    if rtg is not None:
        value = finite("rtg", rtg)
        check_rtg_range(info, value)
        return value
    if RTG_MEDIAN_KEY not in info:
        raise ValueError(
            "this DWM checkpoint predates the median-RTG default (its header has no 'rtg_median'): pass rtg= "
            "explicitly, or retrain it with `dwm-gym world-model train`"
        )
    return float(info[RTG_MEDIAN_KEY])
