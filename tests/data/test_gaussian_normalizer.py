"""GaussianNormalizer: standardizes, maps back within the data's range, round-trips through a state dict."""

import numpy as np
import pytest
import torch

from dwm_gym.data.gaussian_normalizer import GaussianNormalizer


@pytest.fixture
def data(rng):
    heavy = rng.standard_t(df=2, size=(5000, 1))  # a heavy-tailed dimension (a fast joint's velocity)
    return np.concatenate([rng.normal(3.0, 0.5, size=(5000, 1)), heavy, np.full((5000, 1), 7.0)], axis=1)


def test_standardizes_and_maps_back(data):
    norm = GaussianNormalizer().fit(data)
    z = norm.normalize(data)
    np.testing.assert_allclose(z[:, :2].mean(0), 0.0, atol=1e-9)
    np.testing.assert_allclose(z[:, :2].std(0), 1.0, atol=1e-9)
    assert np.all(z[:, 2] == 0.0)  # a constant dimension: std 1, so it maps to 0
    np.testing.assert_allclose(norm.unnormalize(z), data, atol=1e-9)
    t = torch.as_tensor(data[:10], dtype=torch.float32)
    torch.testing.assert_close(norm.unnormalize(norm.normalize(t)), t)  # tensors stay tensors, dtype kept


def test_one_error_scale_everywhere_unlike_the_cdf(data):
    """The same normalized error is the same raw error in the tail as in the bulk."""
    norm = GaussianNormalizer().fit(data)
    bulk, tail = np.median(data, axis=0), np.quantile(data, 0.995, axis=0)
    for point in (bulk, tail):
        moved = norm.unnormalize(norm.normalize(point[None]) + 0.01)[0]
        np.testing.assert_allclose((moved - point)[:2], 0.01 * data[:, :2].std(0), rtol=1e-6)


def test_maps_back_within_the_data_range_and_clip_tails_within_the_inner_quantiles(data):
    norm = GaussianNormalizer().fit(data)
    far = np.array([[1e3, -1e3, 1e3]])
    np.testing.assert_allclose(norm.unnormalize(far)[0, :2], [data[:, 0].max(), data[:, 1].min()])
    inner = norm.unnormalize(far, clip_tails=True)[0]
    assert inner[0] == pytest.approx(np.quantile(data[:, 0], 0.999))
    assert inner[1] == pytest.approx(np.quantile(data[:, 1], 0.001))
    low, high = norm.normalized_bounds()
    np.testing.assert_allclose(low, norm.normalize(data.min(0, keepdims=True))[0])
    np.testing.assert_allclose(high, norm.normalize(data.max(0, keepdims=True))[0])


def test_state_dict_round_trip_and_errors(data):
    norm = GaussianNormalizer().fit(data)
    loaded = GaussianNormalizer().load_state_dict(norm.state_dict())
    np.testing.assert_array_equal(loaded.normalize(data), norm.normalize(data))
    broken = {**norm.state_dict(), "std": -norm.std}
    with pytest.raises(ValueError, match="std > 0"):
        GaussianNormalizer().load_state_dict(broken)
    with pytest.raises(RuntimeError, match="not fitted"):
        GaussianNormalizer().normalize(data)
    with pytest.raises(ValueError, match="last dimension 3"):
        norm.normalize(data[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        GaussianNormalizer().fit(np.array([[np.nan, 1.0]]))
