"""State and reward normalizers of the DWM (PAPER.md: CDF states, min-max rewards, both to [-1, 1]).

Both work on numpy arrays and on torch tensors (any device) and round-trip through
``state_dict()`` / ``load_state_dict()``, whose values are plain arrays that fit in safetensors.
"""

from __future__ import annotations

import numpy as np
import torch

Array = np.ndarray | torch.Tensor


def _to_tensor(x: Array) -> tuple[torch.Tensor, bool]:
    if isinstance(x, torch.Tensor):
        return x, False
    return torch.as_tensor(np.asarray(x, dtype=np.float64)), True


def _back(y: torch.Tensor, was_numpy: bool, like: Array) -> Array:
    if not was_numpy:
        return y
    return y.numpy().astype(np.asarray(like).dtype if np.asarray(like).dtype.kind == "f" else np.float64)


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation (like ``np.interp``) for strictly increasing ``xp``, x within range."""
    idx = torch.searchsorted(xp, x.contiguous()).clamp(1, len(xp) - 1)
    x0, x1, y0, y1 = xp[idx - 1], xp[idx], fp[idx - 1], fp[idx]
    return y0 + (x - x0) * (y1 - y0) / (x1 - x0)


class CDFNormalizer:
    """Maps each dimension through its empirical CDF to [-1, 1] (Diffuser's ``CDFNormalizer``).

    The CDF is stored as ``num_knots`` quantiles per dimension (not every sample), so a
    checkpoint stays small; between knots it is linear. Constant dimensions map to 0.

    Args:
        num_knots: Quantile levels kept per dimension.
    """

    def __init__(self, num_knots: int = 1001) -> None:
        if num_knots < 2:
            raise ValueError("num_knots must be >= 2")
        self.num_knots = num_knots
        self.knots: np.ndarray | None = None  # (dim, num_knots) quantile values
        self._tables: list[tuple[np.ndarray, np.ndarray]] = []

    def fit(self, data: np.ndarray) -> CDFNormalizer:
        """Fits on ``data`` of shape ``(N, dim)``."""
        data = np.asarray(data, dtype=np.float64)
        if data.ndim != 2 or len(data) == 0:
            raise ValueError(f"expected a non-empty (N, dim) array, got shape {data.shape}")
        if not np.all(np.isfinite(data)):
            raise ValueError("cannot fit a normalizer on NaN/inf values")
        levels = np.linspace(0.0, 1.0, self.num_knots)
        self.knots = np.quantile(data, levels, axis=0).T.copy()
        self._build_tables()
        return self

    def _build_tables(self) -> None:
        levels = np.linspace(0.0, 1.0, self.num_knots)
        self._tables = []
        for row in self.knots:
            values, inverse = np.unique(row, return_inverse=True)
            probs = np.bincount(inverse, weights=levels) / np.bincount(inverse)  # mean level of tied knots
            self._tables.append((values, probs))

    @property
    def dim(self) -> int:
        self._check_fitted()
        return self.knots.shape[0]

    def _check_fitted(self) -> None:
        if self.knots is None:
            raise RuntimeError("the normalizer is not fitted; call fit() or load_state_dict() first")

    def _apply(self, x: Array, inverse: bool) -> Array:
        self._check_fitted()
        tensor, was_numpy = _to_tensor(x)
        if tensor.shape[-1] != self.dim:
            raise ValueError(f"expected last dimension {self.dim}, got shape {tuple(tensor.shape)}")
        out = torch.empty_like(tensor, dtype=tensor.dtype if tensor.is_floating_point() else torch.float64)
        for d, (values, probs) in enumerate(self._tables):
            xp = torch.as_tensor(values, dtype=out.dtype, device=tensor.device)
            fp = torch.as_tensor(probs, dtype=out.dtype, device=tensor.device)
            col = tensor[..., d].to(out.dtype)
            if len(values) == 1:
                out[..., d] = 0.0 if not inverse else xp[0]
            elif inverse:
                out[..., d] = _interp(((col + 1) / 2).clamp(fp[0], fp[-1]), fp, xp)
            else:
                out[..., d] = 2 * _interp(col.clamp(xp[0], xp[-1]), xp, fp) - 1
        return _back(out, was_numpy, x)

    def normalize(self, x: Array) -> Array:
        """Raw -> [-1, 1] (values outside the data range are clipped to it)."""
        return self._apply(x, inverse=False)

    def unnormalize(self, y: Array) -> Array:
        """[-1, 1] -> raw."""
        return self._apply(y, inverse=True)

    def state_dict(self) -> dict[str, np.ndarray]:
        self._check_fitted()
        return {"knots": self.knots.astype(np.float64)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> CDFNormalizer:
        knots = np.asarray(state["knots"], dtype=np.float64)
        if knots.ndim != 2 or knots.shape[1] < 2 or np.any(np.diff(knots, axis=1) < 0):
            raise ValueError(f"invalid CDF normalizer state: knots of shape {knots.shape} must be (dim, >=2), sorted")
        self.num_knots = knots.shape[1]
        self.knots = knots
        self._build_tables()
        return self


class MinMaxNormalizer:
    """Maps ``[min, max]`` (per dimension, or a scalar range) linearly to [-1, 1]."""

    def __init__(self) -> None:
        self.low: np.ndarray | None = None
        self.high: np.ndarray | None = None

    def fit(self, data: np.ndarray) -> MinMaxNormalizer:
        """Fits on ``data``; a 1-D array gives a scalar range."""
        data = np.asarray(data, dtype=np.float64)
        if data.size == 0:
            raise ValueError("cannot fit a normalizer on an empty array")
        if not np.all(np.isfinite(data)):
            raise ValueError("cannot fit a normalizer on NaN/inf values")
        self.low = np.atleast_1d(data.min(axis=0))
        self.high = np.atleast_1d(data.max(axis=0))
        return self

    def _range(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.low is None:
            raise RuntimeError("the normalizer is not fitted; call fit() or load_state_dict() first")
        low = torch.as_tensor(self.low, dtype=like.dtype, device=like.device)
        span = torch.as_tensor(
            np.where(self.high > self.low, self.high - self.low, 1.0), dtype=like.dtype, device=like.device
        )
        if len(self.low) == 1:
            low, span = low[0], span[0]
        return low, span

    def normalize(self, x: Array) -> Array:
        """Raw -> [-1, 1] on the fitted range (not clipped)."""
        tensor, was_numpy = _to_tensor(x)
        tensor = tensor if tensor.is_floating_point() else tensor.double()
        low, span = self._range(tensor)
        return _back(2 * (tensor - low) / span - 1, was_numpy, x)

    def unnormalize(self, y: Array) -> Array:
        """[-1, 1] -> raw."""
        tensor, was_numpy = _to_tensor(y)
        tensor = tensor if tensor.is_floating_point() else tensor.double()
        low, span = self._range(tensor)
        return _back((tensor + 1) / 2 * span + low, was_numpy, y)

    def state_dict(self) -> dict[str, np.ndarray]:
        if self.low is None:
            raise RuntimeError("the normalizer is not fitted")
        return {"low": self.low.copy(), "high": self.high.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> MinMaxNormalizer:
        low, high = (
            np.atleast_1d(np.asarray(state["low"], np.float64)),
            np.atleast_1d(np.asarray(state["high"], np.float64)),
        )
        if low.shape != high.shape or np.any(high < low):
            raise ValueError(f"invalid min-max state: low {low} / high {high}")
        self.low, self.high = low, high
        return self
