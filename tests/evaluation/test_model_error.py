import numpy as np
import torch

from dwm_gym.data import DWMWindows, OfflineDataset
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.evaluation import model_error_by_horizon
from dwm_gym.world_model import Segment


class LookupModel:
    """A fake DWM that returns the real future of the window starting at s_t, shifted by ``offset`` stds."""

    device = torch.device("cpu")

    def __init__(self, data: OfflineDataset, offset: float) -> None:
        self.windows = DWMWindows(data, 8)
        every = self.windows.batch(np.arange(len(self.windows)))
        self.truth = {s.tobytes(): (f, r) for s, f, r in zip(every.states, every.future_states, every.rewards)}
        self.std = data.transitions["observations"].std(0) + 1e-6
        self.offset = offset

    def imagine(self, obs, action, rtg, generator=None):
        futures, rewards = zip(*(self.truth[np.asarray(s, np.float32).tobytes()] for s in obs))
        states = np.stack(futures) + self.offset * self.std
        return Segment(torch.as_tensor(states), torch.as_tensor(np.stack(rewards)) + self.offset, None)


def test_error_by_horizon_is_zero_for_the_truth_and_measures_offsets():
    rng = np.random.default_rng(0)
    episodes = collect_episodes("Hopper-v5", lambda o: rng.uniform(-1, 1, (len(o), 3)) * 0.2, num_steps=2000)
    data = OfflineDataset(episodes, env_id="Hopper-v5")
    exact = model_error_by_horizon(LookupModel(data, 0.0), data, num_windows=50)
    np.testing.assert_allclose(exact["state_mse"], 0.0, atol=1e-8)
    np.testing.assert_allclose(exact["reward_mse"], 0.0, atol=1e-8)
    off = model_error_by_horizon(LookupModel(data, 1.0), data, num_windows=50)
    assert off["state_mse"][0] == 0.0  # s_t is given
    np.testing.assert_allclose(off["state_mse"][1:], 1.0, rtol=1e-3)  # one std on every dimension
    np.testing.assert_allclose(off["reward_mse"], 1.0, rtol=1e-5)
