import numpy as np
import pytest

from dwm_gym.evaluation import normalized_score


def test_d4rl_normalized_score_uses_published_constants():
    assert normalized_score("hopper", 3234.3) == pytest.approx(1.0)
    assert normalized_score("Hopper-v5", -20.272305) == pytest.approx(0.0)
    assert normalized_score("walker2d", (4592.3 + 1.629008) / 2) == pytest.approx(0.5)
    scores = normalized_score("halfcheetah", np.array([-280.178953, 12135.0]))
    np.testing.assert_allclose(scores, [0.0, 1.0])


def test_v5_refs_and_errors():
    with pytest.raises(ValueError, match="refs must be"):
        normalized_score("hopper", 1.0, refs="v9")
    with pytest.raises(KeyError, match="unknown task"):
        normalized_score("ant", 1.0)
    # no expert policy for walker2d is shipped or trained in the isolated test home
    with pytest.raises(ValueError, match="dataset make walker2d-expert"):
        normalized_score("walker2d", 1.0, refs="v5")
