"""The paper's protocol: the grid of (H, g_eval) configurations per method and the choice among them.

The choice is made on test returns (what the paper reports), so its results are kept apart from the library's
defaults and labelled so wherever they are quoted (``benchmarks/paper_protocol.py`` trains the grid,
:mod:`dwm_gym.benchmarking.score_tables` tabulates it).
"""

from __future__ import annotations

HORIZONS = (1, 3, 5, 7)
#: g_eval grid of each dataset (docs/paper.md, "Return-to-go"): deliberately optimistic targets.
G_EVAL = {
    "hopper-medium": (0.6, 0.7, 0.8),
    "walker2d-medium": (0.6, 0.7, 0.8),
    "halfcheetah-medium": (0.4, 0.5, 0.6),
    "hopper-medium-replay": (0.6, 0.7, 0.8),
    "walker2d-medium-replay": (0.6, 0.7, 0.8),
    "halfcheetah-medium-replay": (0.4, 0.5, 0.6),
    "hopper-medium-expert": (0.7, 0.8, 0.9),
    "walker2d-medium-expert": (0.8, 0.9, 1.0),
    "halfcheetah-medium-expert": (0.6, 0.7, 0.8),
}


def grid(method: str, name: str, horizons: tuple[int, ...], g_evals: tuple[float, ...] | None) -> list[dict]:
    """The configurations of ``method`` on dataset ``name``: ``{"horizon": H, "rtg": g}`` (rtg None: none)."""
    prefix = method.rpartition("-")[0]
    if prefix == "DWM":
        return [{"horizon": h, "rtg": g} for h in horizons for g in (g_evals or G_EVAL[name])]
    if prefix == "OneStep":
        return [{"horizon": h, "rtg": None} for h in horizons]
    return [{"horizon": 5, "rtg": None}]


def choose(per_config: list[dict], n_seeds: int) -> dict | None:
    """The configuration with the best mean final score among those whose runs all held.

    A configuration counts once its ``n_seeds`` runs all finished; one with a diverged critic is never chosen
    (its score is not trustworthy). Ties: the smaller H, then the smaller g_eval. None when a configuration is
    unfinished or every one diverged.
    """
    if any(c["final_mean"] is None or len(c["seeds"]) < n_seeds for c in per_config):
        return None
    sound = [c for c in per_config if c["diverged"] == 0]
    if not sound:
        return None
    best = max(sound, key=lambda c: (c["final_mean"], -c["horizon"], -(c["rtg"] or 0.0)))
    return {"horizon": best["horizon"], "rtg": best["rtg"]}
