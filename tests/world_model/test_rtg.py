"""The default RTG rule: the median RTG of the DWM's training data, everywhere a default is used."""

import gymnasium as gym
import numpy as np
import pytest

import dwm_gym  # noqa: F401  (registers the envs)
from dwm_gym.world_model.bundled import resolve_checkpoint
from dwm_gym.world_model.checkpoint import read_header
from dwm_gym.world_model.rtg import default_rtg, rtg_statistics


def test_statistics_and_rule():
    rtg = np.array([0.1, 0.2, 0.5, 0.6, 0.9])
    stats = rtg_statistics(rtg)
    assert stats["rtg_median"] == 0.5 and stats["rtg_max"] == 0.9
    assert default_rtg(stats) == 0.5
    assert default_rtg(stats, 0.8) == 0.8  # an explicit target wins
    with pytest.raises(ValueError, match="finite"):
        default_rtg(stats, float("nan"))
    with pytest.raises(ValueError, match="pass rtg= explicitly"):
        default_rtg({"rtg_max": 0.9})
    with pytest.raises(ValueError, match="no RTG values"):
        rtg_statistics(np.array([]))


def test_bundled_dwm_default_is_its_median_not_its_maximum(tmp_path):
    from dwm_gym.data import OfflineDataset
    from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, buffer_from_dataset

    header = read_header(resolve_checkpoint("hopper", "medium", "dwm"))
    assert header["rtg_median"] < header["rtg_p90"] < header["rtg_max"]
    env = gym.make("DWM-hopper-medium-v0", device="cpu")
    assert env.unwrapped.rtg == header["rtg_median"]
    rng = np.random.default_rng(0)
    states = rng.normal(size=(21, 11))
    data = OfflineDataset.from_arrays(
        observations=states[:-1],
        actions=rng.uniform(-1, 1, (20, 3)),
        rewards=np.ones(20),
        next_observations=states[1:],
        terminations=np.zeros(20, bool),
        truncations=np.r_[np.zeros(19, bool), True],
        env_id="Hopper-v5",
        dataset_id="test/hopper",
    )
    buffer = buffer_from_dataset(
        data, DiffusionMVEReplayBuffer, device="cpu", world_model=str(resolve_checkpoint("hopper", "medium", "dwm"))
    )
    assert buffer.rtg == header["rtg_median"]


def test_every_caller_resolves_the_rtg_through_the_model(tmp_path):
    """Envs and buffers share one rule: an explicit RTG must be finite, None means the median."""
    import gymnasium as gym

    env = gym.make("DWM-hopper-medium-v0")
    assert env.unwrapped.rtg == pytest.approx(env.unwrapped.model.info["rtg_median"])
    with pytest.raises(ValueError, match="rtg must be a finite number"):
        gym.make("DWM-hopper-medium-v0", rtg=float("nan"))
    assert gym.make("DWM-hopper-medium-v0", kind="onestep", rtg=0.5).unwrapped.rtg is None  # no RTG there
