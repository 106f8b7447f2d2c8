import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from dwm_gym.data import OfflineDataset
from dwm_gym.data.behavior.collect import collect_episodes
from dwm_gym.world_model import preset
from dwm_gym.world_model.registry import load_world_model
from dwm_gym.world_model.training import TrainingRun, train_world_model


def small_hopper_dataset() -> OfflineDataset:
    rng = np.random.default_rng(0)
    episodes = collect_episodes("Hopper-v5", lambda o: rng.uniform(-1, 1, (len(o), 3)), num_steps=600, num_envs=4)
    return OfflineDataset(episodes, env_id="Hopper-v5", dataset_id="test/hopper-random")


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    data = small_hopper_dataset()
    config = preset("small", dim=8, dim_mults=(1, 2), batch_size=16, ema_every=2)

    def train(steps: int, folder: str, resume: bool = False):
        run = TrainingRun(steps=steps, checkpoint_every=6, eval_every=6, held_out_fraction=0.2)
        return train_world_model(data, config, run, tmp_path / folder, resume=resume, progress=False)

    straight = train(12, "a")
    train(6, "b")
    resumed = train(12, "b", resume=True)
    for p, q in zip(straight.net.parameters(), resumed.net.parameters()):
        torch.testing.assert_close(p, q)
    loaded = load_world_model(tmp_path / "b" / "last.safetensors", env="Hopper-v5")
    assert loaded.info["train_steps"] == 12
    assert loaded.info["dataset_id"] == "test/hopper-random"
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 and '"step": 12' in lines[-1]
    # the checkpoint carries start states and the data's RTG range, so envs work without the dataset
    starts = loaded.start_states["episode_starts"]
    assert starts.shape[1] == 11 and np.all(np.abs(starts[:, 0] - 1.25) <= 5e-3)
    states, dataset_states = loaded.start_states["states"], data.transitions["observations"].astype(np.float32)
    assert 0 < len(states) <= len(dataset_states)
    assert all((np.abs(dataset_states - s).max(axis=1) < 1e-6).any() for s in states[:20])
    assert 0 < loaded.info["rtg_p90"] <= loaded.info["rtg_max"]


def test_saved_model_is_the_lowest_held_out_loss_and_resume_keeps_the_selection(tmp_path):
    data = small_hopper_dataset()
    config = preset("small", dim=8, dim_mults=(1, 2), batch_size=16, ema_every=2, learning_rate=3e-2)

    def train(steps: int, folder: str, resume: bool = False):
        run = TrainingRun(steps=steps, checkpoint_every=4, eval_every=2, held_out_fraction=0.2, held_out_samples=64)
        return train_world_model(data, config, run, tmp_path / folder, resume=resume, progress=False)

    train(12, "straight")
    train(4, "resumed")
    train(12, "resumed", resume=True)
    for folder in ("straight", "resumed"):
        metrics = [json.loads(line) for line in (tmp_path / folder / "metrics.jsonl").read_text().splitlines()]
        losses = [m["held_out_loss"] for m in metrics]
        best = metrics[int(np.argmin(losses))]  # argmin returns the earliest of equal values
        selected = load_world_model(tmp_path / folder / "model.safetensors", env="Hopper-v5")
        assert selected.info["selected_step"] == selected.info["train_steps"] == best["step"]
        assert selected.info["selected_held_out_loss"] == best["held_out_loss"]
        assert json.loads((tmp_path / folder / "selection.json").read_text())["step"] == best["step"]
        assert load_world_model(tmp_path / folder / "last.safetensors").info["train_steps"] == 12
    for name in ("model.safetensors", "last.safetensors"):
        a = load_world_model(tmp_path / "straight" / name)
        b = load_world_model(tmp_path / "resumed" / name)
        for p, q in zip(a.net.parameters(), b.net.parameters()):
            torch.testing.assert_close(p, q)


def test_a_run_recorded_before_a_model_setting_existed_resumes_with_its_default(tmp_path):
    data = small_hopper_dataset()
    # such a run used the setting's default (DWMConfig's, "cdf"), not the small preset's
    config = preset("small", dim=8, dim_mults=(1, 2), batch_size=16, ema_every=2, state_normalization="cdf")
    run = TrainingRun(steps=4, checkpoint_every=4, eval_every=4, held_out_fraction=0.2)
    train_world_model(data, config, run, tmp_path / "a", progress=False)
    state_path = tmp_path / "a" / "train_state.pt"
    state = torch.load(state_path, weights_only=True)
    settings = json.loads(state["settings"])
    del settings["config"]["state_normalization"]  # as a run started before the setting existed recorded it
    state["settings"] = json.dumps(settings)
    torch.save(state, state_path)
    longer = TrainingRun(steps=8, checkpoint_every=4, eval_every=4, held_out_fraction=0.2)
    with pytest.raises(ValueError, match="state_normalization"):  # the default is what that run used
        train_world_model(data, replace(config, state_normalization="gaussian"), longer, tmp_path / "a", resume=True)
    assert train_world_model(data, config, longer, tmp_path / "a", resume=True, progress=False).config == config
