import numpy as np
import pytest
import torch

from dwm_gym.data.normalizers import CDFNormalizer, MinMaxNormalizer
from dwm_gym.world_model import DiffusionWorldModel, preset
from dwm_gym.world_model.checkpoint import read_header, save_world_model
from dwm_gym.world_model.errors import CheckpointError
from dwm_gym.world_model.registry import load_world_model


@pytest.fixture
def model():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    config = preset("small", dim=8, dim_mults=(1, 2))
    sn = config.new_state_normalizer().fit(rng.normal(size=(500, 11)))
    rn = MinMaxNormalizer().fit(rng.uniform(-1, 4, 500))
    return DiffusionWorldModel(config, 11, 3, sn, rn, env_id="Hopper-v5")


def test_round_trip_gives_identical_samples(model, tmp_path):
    path = save_world_model(model, tmp_path / "dwm.safetensors", dataset_id="dwm_gym/hopper/medium-v0", train_steps=5)
    loaded = load_world_model(path, env="Hopper-v5")
    assert loaded.info["train_steps"] == 5 and loaded.config == model.config
    obs, act = np.full((2, 11), 0.3), np.zeros((2, 3))
    a = model.rollout(obs, act, rtg=0.6, generator=torch.Generator().manual_seed(1))
    b = loaded.rollout(obs, act, rtg=0.6, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a.states, b.states)
    torch.testing.assert_close(a.rewards, b.rewards)
    assert not list(tmp_path.glob(".*.tmp"))


def test_mismatch_and_corruption_errors(model, tmp_path):
    path = save_world_model(model, tmp_path / "dwm.safetensors")
    with pytest.raises(CheckpointError, match=r"observation shape \(17,\)"):
        load_world_model(path, env="Walker2d-v5")
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_world_model(truncated)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError):
        read_header(garbage)
    with pytest.raises(FileNotFoundError):
        load_world_model(tmp_path / "missing.safetensors")


def test_one_step_round_trip(tmp_path):
    from dwm_gym.world_model.onestep.model import OneStepModel

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sn, rn = MinMaxNormalizer().fit(rng.normal(size=(100, 11))), MinMaxNormalizer().fit(rng.normal(size=100))
    model = OneStepModel(11, 3, sn, rn, hidden=16, layers=2, env_id="Hopper-v5")
    path = save_world_model(model, tmp_path / "onestep.safetensors", train_steps=3)
    loaded = load_world_model(path, env="Hopper-v5")
    assert isinstance(loaded, OneStepModel) and loaded.info["kind"] == "onestep"
    obs, act = torch.zeros(2, 11), torch.zeros(2, 3)
    a = model.rollout(obs, act, 7, policy=torch.zeros(2, 6, 3), generator=torch.Generator().manual_seed(0))
    b = loaded.rollout(obs, act, 7, policy=torch.zeros(2, 6, 3), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a.states, b.states)


def test_sampler_settings_travel_with_the_checkpoint_and_old_headers_still_load(model, tmp_path):
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    from dwm_gym.world_model import SamplerConfig

    model.sampler = SamplerConfig(guidance_weight=1.0, clip_state_tails=False)
    path = save_world_model(model, tmp_path / "dwm.safetensors", rtg_median=0.5)
    assert load_world_model(path).sampler == model.sampler
    # the layout before SamplerConfig: sampler keys inside "config", T named "horizon", an "extra" dict
    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        header = json.loads(handle.metadata()["dwm_gym"])
    config = dict(header.pop("config"))
    config["horizon"] = config.pop("segment_length")
    header["config"] = {**config, **header.pop("sampler"), "extra": {}}
    old = tmp_path / "old.safetensors"
    save_file(tensors, str(old), metadata={"dwm_gym": json.dumps(header)})
    loaded = load_world_model(old)
    assert loaded.config == model.config and loaded.sampler == model.sampler and loaded.segment_length == 8


def test_unknown_kind_is_a_clear_error(model, tmp_path):
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    path = save_world_model(model, tmp_path / "dwm.safetensors")
    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        header = json.loads(handle.metadata()["dwm_gym"])
    header["kind"] = "mystery"
    odd = tmp_path / "odd.safetensors"
    save_file(tensors, str(odd), metadata={"dwm_gym": json.dumps(header)})
    with pytest.raises(CheckpointError, match="unknown world-model kind 'mystery'; known kinds: dwm, onestep"):
        load_world_model(odd)


def test_resaving_a_loaded_model_keeps_its_provenance(model, tmp_path):
    first = load_world_model(save_world_model(model, tmp_path / "a.safetensors", rtg_median=0.5, train_steps=3))
    again = load_world_model(save_world_model(first, tmp_path / "b.safetensors", note="copied"))
    assert again.info["rtg_median"] == 0.5 and again.info["train_steps"] == 3 and again.info["note"] == "copied"
    assert again.info["path"].endswith("b.safetensors") and again.info["sha256"] != first.info["sha256"]


def test_a_gaussian_state_normalization_round_trips_and_clips_to_the_data_range(tmp_path):
    from dwm_gym.data.gaussian_normalizer import GaussianNormalizer

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    states = rng.normal(size=(500, 11))
    config = preset("small", dim=8, dim_mults=(1, 2), state_normalization="gaussian")
    rn = MinMaxNormalizer().fit(rng.uniform(-1, 4, 500))
    with pytest.raises(ValueError, match="needs a GaussianNormalizer"):
        DiffusionWorldModel(config, 11, 3, CDFNormalizer().fit(states), rn)
    model = DiffusionWorldModel(config, 11, 3, GaussianNormalizer().fit(states), rn, env_id="Hopper-v5")
    low, high = model.state_normalizer.normalized_bounds()
    assert np.all(low < -1) and np.all(high > 1)  # standardized data reaches beyond [-1, 1]: the clip follows it
    torch.testing.assert_close(model.x0_low[:11], torch.as_tensor(low, dtype=torch.float32))
    path = save_world_model(model, tmp_path / "dwm.safetensors", dataset_id="dwm_gym/hopper/medium-v0")
    loaded = load_world_model(path, env="Hopper-v5")
    assert isinstance(loaded.state_normalizer, GaussianNormalizer) and loaded.config.state_normalization == "gaussian"
    obs, act = states[:4], np.zeros((4, 3))
    a = model.rollout(obs, act, rtg=0.6, generator=torch.Generator().manual_seed(1))
    b = loaded.rollout(obs, act, rtg=0.6, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a.states, b.states)
    assert np.all(a.states.numpy() >= states.min(0) - 1e-5) and np.all(a.states.numpy() <= states.max(0) + 1e-5)
