"""Where imagined states sit against the data's edges, for both state normalizers."""

import numpy as np
import pytest

from dwm_gym.data.gaussian_normalizer import GaussianNormalizer
from dwm_gym.data.normalizers import CDFNormalizer
from dwm_gym.evaluation.state_edges import data_edges, edge_shares


@pytest.mark.parametrize("normalizer_class", [CDFNormalizer, GaussianNormalizer])
def test_edge_shares_find_states_at_the_edges_and_skip_tied_dimensions(normalizer_class):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(5000, 3))
    data[:, 2] = np.clip(data[:, 2], -0.5, None)  # a clip value shared by many rows: a tied low edge
    edges = data_edges(normalizer_class().fit(data))
    assert edges.tied.tolist() == [False, False, True]
    assert np.all(edges.low <= edges.inner_low) and np.all(edges.inner_high <= edges.high)
    inside = np.zeros((10, 3))
    at_max = inside.copy()
    at_max[:5, 0] = edges.high[0]
    at_quantile = inside.copy()
    at_quantile[:2, 1] = edges.inner_low[1]
    at_tied = inside.copy()
    at_tied[:, 2] = edges.low[2]
    assert edge_shares(edges, inside) == {"at_data_extreme": 0.0, "at_inner_quantile": 0.0}
    assert edge_shares(edges, at_max)["at_data_extreme"] == 0.5
    assert edge_shares(edges, at_quantile) == {"at_data_extreme": 0.0, "at_inner_quantile": 0.2}
    assert edge_shares(edges, at_tied)["at_data_extreme"] == 0.0
    steps = np.stack([inside, at_max], axis=1)  # (rows, steps, obs): one share per step
    np.testing.assert_allclose(edge_shares(edges, steps)["at_data_extreme"], [0.0, 0.5])
