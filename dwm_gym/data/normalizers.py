"""State and reward normalizers of the DWM (docs/paper.md#normalization: CDF states, min-max rewards, both to [-1, 1]).

Both work on numpy arrays and on torch tensors (any device) and round-trip through
``state_dict()`` / ``load_state_dict()``, whose values are plain arrays that fit in safetensors.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import torch

Array = np.ndarray | torch.Tensor
# what a normalizer returns is what it was given: a numpy array or a tensor
ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def _to_tensor(x: Array) -> tuple[torch.Tensor, bool]:
    if isinstance(x, torch.Tensor):
        return x, False
    return torch.as_tensor(np.asarray(x, dtype=np.float64)), True


def _back(y: torch.Tensor, was_numpy: bool, like: ArrayT) -> ArrayT:
    """``y`` as the kind of array ``like`` is (a tensor as given, numpy in ``like``'s float dtype)."""
    out: Any = y
    if was_numpy:
        out = y.numpy().astype(np.asarray(like).dtype if np.asarray(like).dtype.kind == "f" else np.float64)
    return out


def fit_data(data: np.ndarray) -> np.ndarray:
    """``data`` as a float64 ``(N, dim)`` array to fit a per-dimension normalizer on.

    Raises:
        ValueError: If it is not a non-empty 2-D array of finite values.
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"expected a non-empty (N, dim) array, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("cannot fit a normalizer on NaN/inf values")
    return data


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
        data = fit_data(data)
        levels = np.linspace(0.0, 1.0, self.num_knots)
        self.knots = np.quantile(data, levels, axis=0).T.copy()
        self._build_tables()
        return self

    def _build_tables(self) -> None:
        """Per-dimension (value, probability) tables, ties merged, padded to one (dim, K) array.

        Tied knots (discrete values) become one knot at their mean level, so values and levels are
        strictly increasing on each dimension's real part; padding beyond it is never reached
        because inputs are clamped to each dimension's real range first.
        """
        levels = np.linspace(0.0, 1.0, self.num_knots)
        knots = self._fitted_knots()
        dim, width = knots.shape
        values = np.zeros((dim, width))
        probs = np.ones((dim, width))
        bounds = np.zeros((dim, 4))  # value min/max, prob min/max of the real part
        for d, row in enumerate(knots):
            uniq, inverse = np.unique(row, return_inverse=True)
            p = np.bincount(inverse, weights=levels) / np.bincount(inverse)  # mean level of tied knots
            n = len(uniq)
            values[d, :n], probs[d, :n] = uniq, p
            values[d, n:] = uniq[-1] + np.arange(1, width - n + 1)
            probs[d, n:] = p[-1] + np.arange(1, width - n + 1)
            bounds[d] = uniq[0], uniq[-1], p[0], p[-1]
        self._values, self._probs, self._bounds = values, probs, bounds
        self._constant = bounds[:, 0] == bounds[:, 1]
        self._cache: dict = {}

    def _tensors(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        key = (device, dtype)
        if key not in self._cache:
            as_t = lambda a: torch.as_tensor(a, dtype=dtype, device=device).contiguous()  # noqa: E731
            self._cache[key] = (
                as_t(self._values),
                as_t(self._probs),
                as_t(self._bounds.T),
                torch.as_tensor(self._constant, device=device),
            )
        return self._cache[key]

    @property
    def dim(self) -> int:
        """Number of dimensions the normalizer was fitted on (raises if it is not fitted)."""
        return self._fitted_knots().shape[0]

    def _fitted_knots(self) -> np.ndarray:
        if self.knots is None:
            raise RuntimeError("the normalizer is not fitted; call fit() or load_state_dict() first")
        return self.knots

    def _apply(self, x: ArrayT, inverse: bool, clip_tails: bool = False) -> ArrayT:
        tensor, was_numpy = _to_tensor(x)
        if tensor.shape[-1] != self.dim:
            raise ValueError(f"expected last dimension {self.dim}, got shape {tuple(tensor.shape)}")
        dtype = tensor.dtype if tensor.is_floating_point() else torch.float64
        values, probs, bounds, constant = self._tensors(tensor.device, dtype)
        flat = tensor.to(dtype).reshape(-1, self.dim).T.contiguous()  # (dim, N)
        if inverse:
            xp, fp = probs, values
            low, high = bounds[2][:, None], bounds[3][:, None]
            if clip_tails:  # skip the outermost knot interval, unless a tie (e.g. an env's clip value) spans it
                step = 1.0 / (self.num_knots - 1)
                low, high = low.clamp(min=step), high.clamp(max=1.0 - step)
            flat = ((flat + 1) / 2).clamp(low, high)
        else:
            xp, fp = values, probs
            flat = flat.clamp(bounds[0][:, None], bounds[1][:, None])
        idx = torch.searchsorted(xp, flat).clamp(1, xp.shape[1] - 1)
        x0, x1 = xp.gather(1, idx - 1), xp.gather(1, idx)
        y0, y1 = fp.gather(1, idx - 1), fp.gather(1, idx)
        out = y0 + (flat - x0) * (y1 - y0) / (x1 - x0)
        if not inverse:
            out = 2 * out - 1
        const_value = bounds[0][:, None] if inverse else torch.zeros_like(bounds[0])[:, None]
        out = torch.where(constant[:, None], const_value.expand_as(out), out)
        return _back(out.T.reshape(tensor.shape), was_numpy, x)

    def normalize(self, x: ArrayT) -> ArrayT:
        """Raw -> [-1, 1] (values outside the data range are clipped to it)."""
        return self._apply(x, inverse=False)

    def unnormalize(self, y: ArrayT, clip_tails: bool = False) -> ArrayT:
        """[-1, 1] -> raw.

        Args:
            y: Normalized values.
            clip_tails: Map only onto the data's inner quantile range, from the second to the
                second-last knot (0.1 % to 99.9 % with 1001 knots). The outermost knot interval
                holds 1/(K-1) of the data but can span several standard deviations (it ends at the
                data's single most extreme value), so a generated value that overshoots ±1 by any
                amount would otherwise land there. A value shared by many samples (a tie, such as
                an env's clip bound) stays reachable.
        """
        return self._apply(y, inverse=True, clip_tails=clip_tails)

    def normalized_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The data's per-dimension range in normalized units: [-1, 1] for every dimension."""
        return -np.ones(self.dim), np.ones(self.dim)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted quantiles, ``{"knots": (dim, num_knots) float64}``, for a checkpoint."""
        return {"knots": self._fitted_knots().astype(np.float64)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> CDFNormalizer:
        """Restores the knots of :meth:`state_dict` (``num_knots`` follows them) and returns ``self``."""
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

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.low is None or self.high is None:
            raise RuntimeError("the normalizer is not fitted; call fit() or load_state_dict() first")
        return self.low, self.high

    def _range(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fitted_low, fitted_high = self._fitted()
        low = torch.as_tensor(fitted_low, dtype=like.dtype, device=like.device)
        span = torch.as_tensor(
            np.where(fitted_high > fitted_low, fitted_high - fitted_low, 1.0), dtype=like.dtype, device=like.device
        )
        if len(fitted_low) == 1:
            low, span = low[0], span[0]
        return low, span

    def normalize(self, x: ArrayT) -> ArrayT:
        """Raw -> [-1, 1] on the fitted range (not clipped)."""
        tensor, was_numpy = _to_tensor(x)
        tensor = tensor if tensor.is_floating_point() else tensor.double()
        low, span = self._range(tensor)
        return _back(2 * (tensor - low) / span - 1, was_numpy, x)

    def unnormalize(self, y: ArrayT) -> ArrayT:
        """[-1, 1] -> raw."""
        tensor, was_numpy = _to_tensor(y)
        tensor = tensor if tensor.is_floating_point() else tensor.double()
        low, span = self._range(tensor)
        return _back((tensor + 1) / 2 * span + low, was_numpy, y)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted range, ``{"low": ..., "high": ...}`` (copies), for a checkpoint."""
        low, high = self._fitted()
        return {"low": low.copy(), "high": high.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> MinMaxNormalizer:
        """Restores the range of :meth:`state_dict` and returns ``self``."""
        low, high = (
            np.atleast_1d(np.asarray(state["low"], np.float64)),
            np.atleast_1d(np.asarray(state["high"], np.float64)),
        )
        if low.shape != high.shape or np.any(high < low):
            raise ValueError(f"invalid min-max state: low {low} / high {high}")
        self.low, self.high = low, high
        return self
