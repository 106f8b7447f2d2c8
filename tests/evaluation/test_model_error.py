import numpy as np
import torch

from dwm_gym.data import DWMWindows, OfflineDataset
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.evaluation import model_error_by_horizon
from dwm_gym.evaluation.model_error import evaluation_windows, state_scale
from dwm_gym.world_model import Segment


class LookupModel:
    """A fake DWM that returns the real future of the window starting at s_t, shifted by ``offset`` stds."""

    device = torch.device("cpu")
    segment_length = 8

    def __init__(self, data: OfflineDataset, offset: float) -> None:
        self.windows = DWMWindows(data, 8)
        every = self.windows.batch(np.arange(len(self.windows)))
        self.truth = {s.tobytes(): (f, r) for s, f, r in zip(every.states, every.future_states, every.rewards)}
        self.std = data.transitions["observations"].std(0) + 1e-6
        self.offset = offset

    def rollout(self, obs, action, steps, *, rtg=None, policy=None, generator=None, sampler=None):
        futures, rewards = zip(*(self.truth[np.asarray(s, np.float32).tobytes()] for s in obs))
        states = np.stack(futures)[:, :steps] + self.offset * self.std
        return Segment(torch.as_tensor(states), torch.as_tensor(np.stack(rewards)[:, :steps]) + self.offset, None)


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
    np.testing.assert_allclose(off["state_median"][1:], 1.0, rtol=1e-3)
    np.testing.assert_allclose(off["reward_mse"], 1.0, rtol=1e-5)
    assert len(off["state_mse"]) == 8 and len(off["reward_mse"]) == 7  # s_t .. s_{t+7}; r_t .. r_{t+6}


class ZeroPolicy:
    """A behaviour policy that always samples the zero action (and records the calls)."""

    def __init__(self) -> None:
        self.calls = 0

    def act(self, obs, rng=None):
        self.calls += 1
        assert rng is not None  # sampled with the evaluation's own generator
        return np.zeros((len(obs), 3), np.float32)


def test_one_step_model_rolled_out_with_behaviour_policy_actions():
    from dwm_gym.data.normalizers import MinMaxNormalizer
    from dwm_gym.world_model.onestep.model import OneStepModel

    rng = np.random.default_rng(0)
    episodes = collect_episodes("Hopper-v5", lambda o: rng.uniform(-1, 1, (len(o), 3)), num_steps=2000)
    data = OfflineDataset(episodes, env_id="Hopper-v5")
    states = data.transitions["observations"]
    torch.manual_seed(0)
    model = OneStepModel(
        11, 3, MinMaxNormalizer().fit(states), MinMaxNormalizer().fit(data.transitions["rewards"]), hidden=32
    )
    model.env_id = None  # no termination rule: keep the comparison about actions only
    policy = ZeroPolicy()
    on_policy = model_error_by_horizon(model, data, num_windows=40, batch_size=40, behaviour_policy=policy)
    assert policy.calls == 6  # one call per action after a_t (T - 1 = 7 transitions)

    # the same rollout by hand: a_t, then zero actions, the same generator seed
    windows, idx = evaluation_windows(data, 8, 40, 0)
    batch = windows.batch(idx)
    seg = model.rollout(
        batch.states, batch.actions, 7, policy=np.zeros((40, 6, 3)), generator=torch.Generator().manual_seed(0)
    )
    mean, std = state_scale(data)
    by_hand = (((seg.states.numpy() - batch.future_states) / std) ** 2).mean(-1).mean(0)
    np.testing.assert_allclose(on_policy["state_mse"][1:], by_hand, rtol=1e-4)
    true_actions = model_error_by_horizon(model, data, num_windows=40, batch_size=40)
    assert true_actions["state_mse"][1] == on_policy["state_mse"][1]  # s_{t+1} depends on (s_t, a_t) only
    assert true_actions["state_mse"][-1] != on_policy["state_mse"][-1]


def test_error_summary_median_is_not_moved_by_one_bad_window():
    from dwm_gym.evaluation.model_error import error_summary

    state_err = np.zeros((10, 3))
    state_err[0, 1] = 10.0
    summary = error_summary(state_err, np.zeros((10, 3)))
    assert summary["state_mse"] == [0.0, 1.0, 0.0] and summary["state_median"] == [0.0, 0.0, 0.0]
    assert summary["windows"] == 10


def test_format_table_prints_means_then_medians():
    from dwm_gym.evaluation.error_report import format_table
    from dwm_gym.evaluation.model_error import error_summary

    state = np.array([[0.0, 0.1, 0.2], [0.0, 0.1, 0.2], [0.0, 0.7, 5.0]])
    report = {"a": error_summary(state, np.zeros((3, 3))), "b": error_summary(state / 10, np.ones((3, 3)))}
    text = format_table(report)
    means, medians = text.split("state MSE, median over windows")
    assert "0.3000" in means and "1.8000" in means  # per-step means of a: 0.3 and 1.8
    median_rows = medians.strip().splitlines()[1:]
    assert median_rows[1].split() == ["2", "0.1000", "0.0100"] and median_rows[2].split() == ["3", "0.2000", "0.0200"]
    assert median_rows[-1].split()[0] == "mean" and float(median_rows[-1].split()[1]) == 0.1
