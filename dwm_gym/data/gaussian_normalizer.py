"""Per-dimension standardization of states, an alternative to the DWM's CDF normalizer.

The CDF normalizer makes every dimension uniform on [-1, 1], so a rare region of a heavy-tailed
dimension (a fast joint velocity) gets a sliver of the range and a small error there comes back as
a large raw one. Standardizing, ``(x - mean) / std``, keeps one scale everywhere: a normalized
error is the same raw error, in the data's std units, wherever it happens (docs/world_model.md).
"""

from __future__ import annotations

import numpy as np
import torch

from dwm_gym.data.normalizers import Array, ArrayT, _back, _to_tensor, fit_data

TAIL_QUANTILE = 0.001  # clip_tails maps back within the data's 0.1 % .. 99.9 % quantiles


class GaussianNormalizer:
    """Maps each dimension to ``(x - mean) / std``; maps back within the data's range.

    Normalized values are not bounded to [-1, 1]: :meth:`normalized_bounds` gives the data's range
    in normalized units, which a sampler can clip its estimates to. Constant dimensions get std 1.
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.low: np.ndarray | None = None  # the data's min, max and inner quantiles, raw units
        self.high: np.ndarray | None = None
        self.inner_low: np.ndarray | None = None
        self.inner_high: np.ndarray | None = None

    def fit(self, data: np.ndarray) -> GaussianNormalizer:
        """Fits on ``data`` of shape ``(N, dim)``."""
        data = fit_data(data)
        std = data.std(axis=0)
        self.mean, self.std = data.mean(axis=0), np.where(std > 1e-8, std, 1.0)
        self.low, self.high = data.min(axis=0), data.max(axis=0)
        self.inner_low, self.inner_high = np.quantile(data, [TAIL_QUANTILE, 1 - TAIL_QUANTILE], axis=0)
        return self

    @property
    def dim(self) -> int:
        """Number of dimensions."""
        return len(self._fitted("mean"))

    def _fitted(self, name: str) -> np.ndarray:
        """The fitted statistic ``name`` (raises if the normalizer is not fitted)."""
        value = getattr(self, name)
        if value is None:
            raise RuntimeError("the normalizer is not fitted; call fit() or load_state_dict() first")
        return value

    def _as(self, value: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(value, dtype=like.dtype, device=like.device)

    def _tensor(self, x: Array) -> tuple[torch.Tensor, bool]:
        tensor, was_numpy = _to_tensor(x)
        if tensor.shape[-1] != self.dim:
            raise ValueError(f"expected last dimension {self.dim}, got shape {tuple(tensor.shape)}")
        return (tensor if tensor.is_floating_point() else tensor.double()), was_numpy

    def normalize(self, x: ArrayT) -> ArrayT:
        """Raw -> standardized (not clipped)."""
        tensor, was_numpy = self._tensor(x)
        mean, std = self._as(self._fitted("mean"), tensor), self._as(self._fitted("std"), tensor)
        return _back((tensor - mean) / std, was_numpy, x)

    def unnormalize(self, y: ArrayT, clip_tails: bool = False) -> ArrayT:
        """Standardized -> raw, within the data's range.

        Args:
            y: Normalized values.
            clip_tails: Map only onto the data's inner quantile range (0.1 % to 99.9 %), as
                ``CDFNormalizer.unnormalize`` does, instead of out to its single most extreme values.
        """
        tensor, was_numpy = self._tensor(y)
        raw = tensor * self._as(self._fitted("std"), tensor) + self._as(self._fitted("mean"), tensor)
        prefix = "inner_" if clip_tails else ""
        low, high = self._fitted(f"{prefix}low"), self._fitted(f"{prefix}high")
        return _back(raw.clamp(self._as(low, raw), self._as(high, raw)), was_numpy, y)

    def normalized_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The data's per-dimension min and max in normalized units."""
        mean, std = self._fitted("mean"), self._fitted("std")
        return (self._fitted("low") - mean) / std, (self._fitted("high") - mean) / std

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted statistics (float64 copies), for a checkpoint."""
        return {name: np.asarray(self._fitted(name), dtype=np.float64).copy() for name in self.state_dict_keys()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> GaussianNormalizer:
        """Restores the statistics of :meth:`state_dict` and returns ``self``."""
        values = {name: np.asarray(state[name], dtype=np.float64) for name in self.state_dict_keys()}
        shapes = {value.shape for value in values.values()}
        low, high = values["low"], values["high"]
        if (
            len(shapes) != 1
            or values["mean"].ndim != 1
            or np.any(values["std"] <= 0)
            or np.any(high < low)
            or np.any(values["inner_low"] < low)
            or np.any(values["inner_high"] > high)
        ):
            raise ValueError(
                "invalid Gaussian normalizer state: expected equal-length 1-D mean, std > 0 and "
                "low <= inner_low, inner_high <= high"
            )
        for name, value in values.items():
            setattr(self, name, value)
        return self

    @staticmethod
    def state_dict_keys() -> tuple[str, ...]:
        """The keys :meth:`state_dict` writes and :meth:`load_state_dict` reads."""
        return ("mean", "std", "low", "high", "inner_low", "inner_high")
