import numpy as np
import pytest
import torch

from dwm_gym.data import CDFNormalizer, MinMaxNormalizer


def test_cdf_normalizer_maps_to_uniform_range_and_round_trips(rng):
    data = np.stack([rng.normal(size=5000), rng.exponential(size=5000) * 10, np.full(5000, 3.0)], axis=1)
    norm = CDFNormalizer().fit(data)
    y = norm.normalize(data)
    assert y.min() >= -1 and y.max() <= 1
    # the CDF makes marginals ~uniform: the median maps to ~0
    assert abs(np.median(y[:, 0])) < 0.01 and abs(np.median(y[:, 1])) < 0.01
    np.testing.assert_array_equal(y[:, 2], 0.0)  # constant dimension
    back = norm.unnormalize(y)
    np.testing.assert_allclose(back[:, :2], data[:, :2], atol=0.05)
    np.testing.assert_allclose(back[:, 2], 3.0)


def test_cdf_normalizer_torch_matches_numpy_and_state_dict_round_trip(rng):
    data = rng.normal(size=(2000, 4))
    norm = CDFNormalizer(num_knots=101).fit(data)
    restored = CDFNormalizer().load_state_dict(norm.state_dict())
    x = rng.normal(size=(7, 3, 4))
    np.testing.assert_allclose(restored.normalize(x), norm.normalize(x))
    tensor_out = norm.normalize(torch.as_tensor(x, dtype=torch.float32))
    assert isinstance(tensor_out, torch.Tensor) and tensor_out.dtype == torch.float32
    np.testing.assert_allclose(tensor_out.numpy(), norm.normalize(x), atol=1e-5)


def test_cdf_normalizer_handles_discrete_values():
    data = np.repeat(np.array([[0.0], [1.0], [2.0]]), 100, axis=0)
    norm = CDFNormalizer().fit(data)
    y = norm.normalize(np.array([[0.0], [1.0], [2.0]]))
    assert np.all(np.diff(y[:, 0]) > 0)
    np.testing.assert_allclose(norm.unnormalize(y), [[0.0], [1.0], [2.0]])


def test_normalizer_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        CDFNormalizer().normalize(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="NaN"):
        CDFNormalizer().fit(np.array([[np.nan, 1.0]]))
    norm = CDFNormalizer().fit(np.random.default_rng(0).normal(size=(10, 2)))
    with pytest.raises(ValueError, match="last dimension 2"):
        norm.normalize(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="invalid CDF"):
        CDFNormalizer().load_state_dict({"knots": np.array([[2.0, 1.0]])})


def test_minmax_normalizer_round_trip(rng):
    rewards = rng.uniform(-3, 5, size=1000)
    norm = MinMaxNormalizer().fit(rewards)
    y = norm.normalize(rewards)
    assert y.min() == pytest.approx(-1) and y.max() == pytest.approx(1)
    np.testing.assert_allclose(norm.unnormalize(y), rewards)
    restored = MinMaxNormalizer().load_state_dict(norm.state_dict())
    t = torch.tensor([rewards.min(), rewards.max()], dtype=torch.float32)
    np.testing.assert_allclose(restored.normalize(t).numpy(), [-1, 1], atol=1e-6)
    with pytest.raises(ValueError, match="empty"):
        MinMaxNormalizer().fit(np.array([]))


def test_cdf_unnormalize_clip_tails_keeps_overshoot_off_the_single_most_extreme_value(rng):
    # one far outlier at -50 owns the outermost knot interval of a 101-knot CDF
    data = np.concatenate([rng.normal(size=(999, 1)), [[-50.0]]])
    norm = CDFNormalizer(num_knots=101).fit(data)
    overshoot = np.array([[-1.0], [-1.3]])  # a sample at or beyond the normalized range
    np.testing.assert_allclose(norm.unnormalize(overshoot), -50.0)  # plain inverse: the outlier
    clipped = norm.unnormalize(overshoot, clip_tails=True)
    np.testing.assert_allclose(clipped, norm.knots[0, 1])  # the 1 % quantile instead
    assert clipped.min() > -4.0
    inner = norm.normalize(np.array([[-1.0], [0.0], [1.5]]))
    np.testing.assert_allclose(norm.unnormalize(inner, clip_tails=True), norm.unnormalize(inner))


def test_cdf_unnormalize_clip_tails_keeps_a_tied_extreme_reachable():
    # an env's clip value: 30 % of the samples sit exactly at the bound -10
    data = np.concatenate([np.full((300, 1), -10.0), np.linspace(-5, 5, 700)[:, None]])
    norm = CDFNormalizer(num_knots=101).fit(data)
    np.testing.assert_allclose(norm.unnormalize(np.array([[-1.2]]), clip_tails=True), -10.0)
