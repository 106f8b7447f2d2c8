import numpy as np
import pytest

from dwm_gym.data import reference_scores
from dwm_gym.data.behavior.shipped import load_behavior_policy
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


@pytest.mark.parametrize("task", ["hopper", "walker2d", "halfcheetah"])
def test_v5_expert_reference_is_the_shipped_experts_measured_return(task):
    _, expert = reference_scores(task, "v5")
    assert expert == pytest.approx(load_behavior_policy(task, "expert").info.mean_return, abs=1e-3)
    assert normalized_score(task, expert, refs="v5") == pytest.approx(1.0)


def test_score_tables_name_a_budget_short_of_the_standard_as_early_training():
    from dwm_gym.benchmarking.score_markdown import STANDARD_UPDATES, budget_label

    assert budget_label([50_000, 10_000]) == (
        " (early training: 5 % of the 1,000,000 updates behind published TD3+BC and IQL scores)"
    )
    assert "12.5 %" in budget_label([125_000])
    assert budget_label([STANDARD_UPDATES]) == budget_label([2 * STANDARD_UPDATES]) == ""
