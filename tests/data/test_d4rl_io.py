import h5py
import numpy as np
import pytest

from dwm_gym.data import DatasetError, OfflineDataset


def write_d4rl(path, n=12, drop=None):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n, 11))
    data = {
        "observations": obs,
        "actions": rng.uniform(-1, 1, size=(n, 3)).astype(np.float32),
        "rewards": rng.normal(size=n),
        "next_observations": np.roll(obs, -1, axis=0),
        "terminals": np.zeros(n, bool),
        "timeouts": np.zeros(n, bool),
    }
    data["terminals"][4] = True
    data["timeouts"][9] = True
    with h5py.File(path, "w") as handle:
        for key, value in data.items():
            if key != drop:
                handle.create_dataset(key, data=value)
    return data


def test_loads_tiny_d4rl_file(tmp_path):
    path = tmp_path / "hopper-medium-v2.hdf5"
    data = write_d4rl(path)
    dataset = OfflineDataset.from_d4rl(path, env_id="Hopper-v5")
    assert [len(e) for e in dataset.episodes] == [5, 5, 2]
    assert [e.terminated for e in dataset.episodes] == [True, False, False]
    np.testing.assert_allclose(dataset.transitions["rewards"], data["rewards"])
    np.testing.assert_allclose(dataset.episodes[1].observations[-1], data["next_observations"][9])
    assert dataset.task.name == "hopper"


def test_d4rl_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        OfflineDataset.from_d4rl(tmp_path / "missing.hdf5")
    not_hdf5 = tmp_path / "x.hdf5"
    not_hdf5.write_text("hello")
    with pytest.raises(DatasetError, match="not a readable HDF5"):
        OfflineDataset.from_d4rl(not_hdf5)
    path = tmp_path / "v0.hdf5"
    write_d4rl(path, drop="next_observations")
    with pytest.raises(DatasetError, match="next_observations"):
        OfflineDataset.from_d4rl(path)
