"""Stock SB3 TD3 trains with the MVE buffers through the ``discounts`` seam, no subclassing."""

import numpy as np
import torch
from stable_baselines3 import TD3
from stable_baselines3.common.logger import configure

from dwm_gym.data import OfflineDataset
from dwm_gym.value_expansion import (
    BindPolicyCallback,
    DiffusionMVEReplayBuffer,
    OneStepMVEReplayBuffer,
    load_offline_data,
)


def make_td3(buffer_class=None, **buffer_kwargs):
    return TD3(
        "MlpPolicy",
        "Hopper-v5",
        learning_starts=0,
        buffer_size=1000,
        batch_size=64,
        learning_rate=1e-3,
        policy_kwargs=dict(net_arch=[32, 32]),
        replay_buffer_class=buffer_class,
        replay_buffer_kwargs=buffer_kwargs or None,
        device="cpu",
        seed=0,
    )


def test_stock_td3_learns_saves_and_loads_with_the_dwm_buffer(dataset, dwm_path, tmp_path):
    model = make_td3(DiffusionMVEReplayBuffer, world_model=dwm_path, horizon=3, rtg=0.8)
    load_offline_data(model.replay_buffer, dataset)
    model.replay_buffer.allow_online_data()  # offline-to-online: real steps may overwrite offline rows
    model.learn(40)  # stock online loop: real steps are added to the buffer and imagined from, too
    buffer = model.replay_buffer
    assert isinstance(buffer, DiffusionMVEReplayBuffer) and buffer.size() == dataset.num_transitions + 40
    assert buffer.cache.segments_imagined >= 40 * 1  # every update imagined its unseen rows
    model.save(tmp_path / "td3.zip")
    loaded = TD3.load(tmp_path / "td3.zip", device="cpu")
    assert isinstance(loaded.replay_buffer, DiffusionMVEReplayBuffer)
    assert loaded.replay_buffer.world_model_path == dwm_path and loaded.replay_buffer.horizon == 3


def test_the_critic_regresses_to_the_imagined_rewards(dataset, scripted_dwm):
    # dataset rewards are 0 and the scripted model imagines r̂_{t+h} = h + 1: only the MVE target is > 0
    data = dataset.transitions
    zero = OfflineDataset.from_arrays(**{**{k: data[k] for k in list(data)[:6]}, "rewards": 0 * data["rewards"]})
    q_means = {}
    for name, cls, kwargs in [
        ("plain", None, {}),
        ("mve", DiffusionMVEReplayBuffer, dict(world_model=scripted_dwm, horizon=3, cache=False)),
    ]:
        model = make_td3(cls, **kwargs)
        model.set_logger(configure(None, []))
        load_offline_data(model.replay_buffer, zero)
        if cls is not None:
            model.replay_buffer.confirm_gamma(model.gamma)
        model.train(gradient_steps=300, batch_size=64)
        obs, act = torch.as_tensor(data["observations"]).float(), torch.as_tensor(data["actions"]).float()
        with torch.no_grad():
            q_means[name] = float(model.critic.q1_forward(obs, act).mean())
    assert abs(q_means["plain"]) < 0.5 and q_means["mve"] > 2.0, q_means


def test_stock_td3_with_the_one_step_buffer_and_bind_policy_callback(dataset, onestep_path):
    model = make_td3(OneStepMVEReplayBuffer, world_model=onestep_path, horizon=3)
    load_offline_data(model.replay_buffer, dataset)
    model.replay_buffer.allow_online_data()
    model.learn(10, callback=BindPolicyCallback())
    states = torch.as_tensor(np.tile(dataset.transitions["observations"][:1], (4, 1)), dtype=torch.float32)
    with torch.no_grad():
        torch.testing.assert_close(model.replay_buffer._policy(states), model.actor(states))
