"""The fault suite (docs/reliability.md): every fault a careful user found gets a clear error, never a silent result.

One test per row of the table in docs/reliability.md; each failed on the code before the fix.
"""

import json
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from stable_baselines3 import TD3

import dwm_gym  # noqa: F401
from dwm_gym.agents import offline_learn
from dwm_gym.cli import main
from dwm_gym.data import OfflineDataset
from dwm_gym.utils.device import resolve_device
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, GammaUncheckedWarning, load_offline_data
from dwm_gym.world_model import load_world_model
from dwm_gym.world_model.bundled import BUNDLED
from dwm_gym.world_model.checkpoint import save_world_model
from dwm_gym.world_model.dwm.config import SamplerConfig
from dwm_gym.world_model.errors import CheckpointError
from dwm_gym.world_model.rtg import RTGRangeWarning
from dwm_gym.world_model.training import TrainingRun

HOPPER_ONESTEP = BUNDLED / "hopper_medium_onestep.safetensors"


@pytest.fixture
def dataset() -> OfflineDataset:
    from dwm_gym.data import make_dataset

    return make_dataset("hopper-medium", steps=200, num_envs=2, overwrite=True, progress=False)


@pytest.fixture
def dwm_path() -> str:
    return str(BUNDLED / "hopper_medium_dwm.safetensors")


def rewrite_header(source, target, change) -> None:
    """Copies checkpoint ``source`` to ``target`` with its JSON header string passed through ``change``."""
    with safe_open(str(source), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        raw = handle.metadata()["dwm_gym"]
    save_file(tensors, str(target), metadata={"dwm_gym": change(raw)})


# ---------------------------------------------------------------- silent wrong results and lost work
def test_a_checkpoint_of_another_task_is_refused_by_every_env_path(tmp_path):
    for make in (
        lambda: gym.make("DWM-walker2d-medium-v0", checkpoint=str(HOPPER_ONESTEP), device="cpu"),
        lambda: gym.make("DWM-halfcheetah-medium-v0", checkpoint=str(HOPPER_ONESTEP), device="cpu"),
        lambda: gym.make_vec(
            "DWM-walker2d-medium-v0", 2, vectorization_mode="vector_entry_point", checkpoint=str(HOPPER_ONESTEP)
        ),
        lambda: gym.make("DWM-walker2d-medium-v0", model=load_world_model(HOPPER_ONESTEP)),
    ):
        with pytest.raises(CheckpointError, match="Walker2d-v5|HalfCheetah-v5"):
            make()
    walker_header = tmp_path / "walker_header.safetensors"
    rewrite_header(HOPPER_ONESTEP, walker_header, lambda raw: raw.replace('"Hopper-v5"', '"Walker2d-v5"'))
    with pytest.raises(CheckpointError, match="env id 'Hopper-v5' vs checkpoint 'Walker2d-v5'"):
        gym.make("DWM-hopper-medium-v0", checkpoint=str(walker_header), kind="onestep", device="cpu")


def test_an_mve_buffer_refuses_data_of_another_env_than_its_world_model(tmp_path):
    from dwm_gym.data.episode import Episode

    rng = np.random.default_rng(0)
    episode = Episode(
        rng.normal(size=(6, 17)),
        rng.uniform(-1, 1, (5, 6)).astype(np.float32),
        np.ones(5),
        np.zeros(5, bool),
        np.r_[np.zeros(4, bool), True],
    )
    cheetah = OfflineDataset([episode], env_id="HalfCheetah-v5")
    walker_model = tmp_path / "walker.safetensors"  # walker2d and halfcheetah share their sizes (17 / 6)
    save_world_model(_sized_onestep(17, 6, "Walker2d-v5"), walker_model)
    box = gym.spaces.Box(-np.inf, np.inf, (17,))
    from dwm_gym.value_expansion import OneStepMVEReplayBuffer

    mve = OneStepMVEReplayBuffer(10, box, gym.spaces.Box(-1, 1, (6,)), "cpu", world_model=str(walker_model))
    with pytest.raises(ValueError, match="imagines Walker2d-v5 but the dataset comes from HalfCheetah-v5"):
        load_offline_data(mve, cheetah)


def _sized_onestep(obs_dim: int, action_dim: int, env_id: str):
    from dwm_gym.data.normalizers import MinMaxNormalizer
    from dwm_gym.world_model import OneStepModel

    rng = np.random.default_rng(0)
    states, rewards = (
        MinMaxNormalizer().fit(rng.normal(size=(50, obs_dim))),
        MinMaxNormalizer().fit(rng.normal(size=50)),
    )
    return OneStepModel(obs_dim, action_dim, states, rewards, hidden=8, layers=1, env_id=env_id)


def wm_train(out, *extra: str) -> int:
    return main(["world-model", "train", "--dataset", "dwm_gym/hopper/random-v0", "--out", str(out), *extra])


def test_world_model_train_refuses_to_overwrite_a_run_and_force_replaces_it(tmp_path, capsys):
    assert main("dataset make hopper-random --steps 300 --num-envs 2".split()) == 0
    out = tmp_path / "run"
    assert wm_train(out, *"--kind onestep --steps 4 --eval-every 2 --checkpoint-every 2".split()) == 0
    before = (out / "metrics.jsonl").read_text()
    capsys.readouterr()
    assert wm_train(out, *"--kind onestep --steps 2 --eval-every 2".split()) == 2
    assert "already holds a world-model run" in capsys.readouterr().err
    assert (out / "metrics.jsonl").read_text() == before and (out / "last_step.txt").read_text().strip() == "4"
    assert wm_train(out, *"--kind onestep --steps 2 --eval-every 2 --force".split()) == 0
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [2]  # the old run's metrics are gone, not mixed in
    assert wm_train(out, *"--kind dwm --steps 4 --resume".split()) == 2  # another kind: refused, not a state_dict dump
    assert "cannot resume" in capsys.readouterr().err


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_world_model_train_refuses_zero_and_negative_steps(tmp_path, capsys, steps):
    assert main("dataset make hopper-random --steps 300 --num-envs 2".split()) == 0
    assert wm_train(tmp_path / "run", "--steps", steps) == 2
    assert f"steps must be an integer >= 1, got {steps}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_nan_and_absurd_rtg_and_gamma_are_refused_or_warned():
    with pytest.raises(ValueError, match="rtg must be a finite number"):
        gym.make("DWM-hopper-medium-v0", kind="onestep", rtg=float("nan"))
    model = load_world_model(BUNDLED / "hopper_medium_dwm.safetensors")
    with pytest.raises(ValueError, match="rtg must be a finite number"):
        model.resolve_rtg(float("nan"))
    for absurd in (50.0, -3.0):
        with pytest.warns(RTGRangeWarning, match=f"rtg={absurd:g} is far outside"):
            model.resolve_rtg(absurd)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.resolve_rtg(0.9)  # the paper's optimistic targets pass quietly
    for gamma in (1.5, -0.1, 0.0):
        with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\]"):
            gym.make("DWM-hopper-medium-v0", gamma=gamma)
    box = gym.spaces.Box(-1, 1, (11,))
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\]"):
        DiffusionMVEReplayBuffer(10, box, gym.spaces.Box(-1, 1, (3,)), "cpu", world_model=model, gamma=1.5)


def stock_td3(dataset, dwm_path, **buffer_kwargs):
    model = TD3(
        "MlpPolicy",
        "Hopper-v5",
        learning_starts=0,
        buffer_size=dataset.num_transitions,
        batch_size=16,
        policy_kwargs=dict(net_arch=[16, 16]),
        replay_buffer_class=DiffusionMVEReplayBuffer,
        replay_buffer_kwargs=dict(world_model=dwm_path, horizon=2, cache=False, **buffer_kwargs),
        device="cpu",
        seed=0,
        gamma=0.9,
    )
    load_offline_data(model.replay_buffer, dataset)
    return model


def test_stock_td3_with_another_gamma_than_the_buffer_is_caught(dataset, dwm_path):
    model = stock_td3(dataset, dwm_path)  # the buffer keeps its default 0.99
    with pytest.raises(ValueError, match=r"gamma=0.99 but the algorithm uses 0.9"):
        offline_learn(model, 2)
    with pytest.warns(GammaUncheckedWarning, match="never checked"):
        model.replay_buffer.sample(4)
    assert offline_learn(stock_td3(dataset, dwm_path, gamma=0.9), 2).num_timesteps == 2


def test_stock_td3_learn_cannot_overwrite_offline_rows(dataset, dwm_path):
    model = stock_td3(dataset, dwm_path, gamma=0.9)
    rows = model.replay_buffer.observations.copy()
    with pytest.raises(RuntimeError, match="holds offline data.*offline_learn"):
        model.learn(10)
    np.testing.assert_array_equal(model.replay_buffer.observations, rows)
    offline_learn(model, 5)  # the documented offline path steps no env and writes nothing
    np.testing.assert_array_equal(model.replay_buffer.observations, rows)
    assert model.num_timesteps == 5


# ---------------------------------------------------------------- clear errors instead of tracebacks
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw[:-5], "not valid JSON"),
        (lambda raw: json.dumps({k: v for k, v in json.loads(raw).items() if k != "obs_dim"}), "lacks 'obs_dim'"),
        (
            lambda raw: json.dumps({**json.loads(raw), "config": {**json.loads(raw)["config"], "widht": 3}}),
            "unknown one-step config keys \\['widht'\\]",
        ),
        (lambda raw: json.dumps({**json.loads(raw), "kind": "dwm"}), "do not fit kind 'dwm'"),
    ],
    ids=["broken-json", "missing-key", "unknown-config-key", "kind-vs-config"],
)
def test_broken_checkpoint_headers_raise_checkpoint_error_naming_file_and_field(tmp_path, change, message):
    path = tmp_path / "broken.safetensors"
    rewrite_header(HOPPER_ONESTEP, path, change)
    with pytest.raises(CheckpointError, match=message) as err:
        load_world_model(path)
    assert str(path) in str(err.value)


def test_bad_setting_values_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="checkpoint_every must be an integer >= 1, got 0"):
        TrainingRun(steps=10, checkpoint_every=0)
    with pytest.raises(ValueError, match="num_envs must be an integer >= 1, got 2.5"):
        gym.make_vec("DWM-hopper-medium-v0", num_envs=2.5, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match=r"temperature must be in \[0, inf\], got -1"):
        SamplerConfig(temperature=-1)
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device; use device='auto' or 'cpu'"):
            gym.make("DWM-hopper-medium-v0", device="cuda")


def test_world_model_train_out_through_a_file_is_a_message(tmp_path, capsys):
    assert main("dataset make hopper-random --steps 300 --num-envs 2".split()) == 0
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert wm_train(blocker / "run", "--steps", "2") == 2
    assert f"--out {blocker / 'run'} goes through the file {blocker}" in capsys.readouterr().err


def test_half_precision_export_keeps_a_loadable_model(tmp_path):
    model = load_world_model(HOPPER_ONESTEP)
    with pytest.raises(ValueError, match="weights_dtype must be one of"):
        save_world_model(model, tmp_path / "x.safetensors", weights_dtype="int8")


def test_dataset_with_wrong_next_observation_size_is_a_dataset_error():
    from dwm_gym.data.episode import DatasetError

    n = 5
    arrays = dict(
        observations=np.zeros((n, 11)),
        actions=np.zeros((n, 3)),
        rewards=np.zeros(n),
        next_observations=np.zeros((n, 12)),
        terminations=np.zeros(n, bool),
        truncations=np.r_[np.zeros(n - 1, bool), True],
    )
    with pytest.raises(DatasetError, match="next_observations"):
        OfflineDataset.from_arrays(**arrays)


def test_agent_train_that_fails_during_setup_leaves_nothing_and_can_be_retried(tmp_path, capsys):
    assert main("dataset make hopper-medium --steps 300 --num-envs 2".split()) == 0
    out = tmp_path / "agent"
    command = f"agent train --dataset hopper-medium --world-model dwm --horizon 9 --steps 2 --out {out}"
    assert main(command.split()) == 2
    assert "horizon must be <= 7" in capsys.readouterr().err
    assert not out.exists()  # no half-made run: neither "already holds a run" nor "nothing to resume" next time
    assert (
        main(command.replace("--horizon 9", "--horizon 2").split() + ["--eval-every", "0", "--eval-episodes", "1"]) == 0
    )


def test_agent_eval_refuses_zero_episodes():
    from dwm_gym.evaluation.policy_eval import evaluate_agent

    with pytest.raises(ValueError, match="episodes must be an integer >= 1, got 0"):
        evaluate_agent(None, "Hopper-v5", episodes=0)


def test_unwritable_minari_root_fails_before_collecting(tmp_path, monkeypatch):
    import time

    from dwm_gym.data import make_dataset

    blocker = tmp_path / "file"
    blocker.write_text("x")  # a root below a file can never be written, whoever runs the test
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(blocker / "datasets"))
    start = time.perf_counter()
    with pytest.raises(PermissionError, match="set MINARI_DATASETS_PATH to a writable folder"):
        make_dataset("hopper-medium", steps=100_000, num_envs=2, progress=False)
    assert time.perf_counter() - start < 5  # 100k steps were never collected


def test_a_killed_writes_staging_folder_is_removed_by_the_next_make(tmp_path):
    from dwm_gym.data import make_dataset
    from dwm_gym.data.minari_io import datasets_root

    root = datasets_root()
    root.mkdir(parents=True, exist_ok=True)
    stale = root / ".staging-999999999-abc"  # no such process
    (stale / "dwm_gym").mkdir(parents=True)
    make_dataset("hopper-random", steps=50, num_envs=2, progress=False)
    assert not stale.exists() and (root / "dwm_gym" / "hopper" / "random-v0").is_dir()


def test_dataset_arrays_of_another_env_and_unknown_ids_give_clear_messages():
    from dwm_gym.data.episode import DatasetError

    n = 4
    obs = np.zeros((n, 11))
    arrays = dict(
        observations=obs,
        actions=np.zeros((n, 3)),
        rewards=np.zeros(n),
        next_observations=obs,
        terminations=np.zeros(n, bool),
        truncations=np.r_[np.zeros(n - 1, bool), True],
    )
    with pytest.raises(DatasetError, match="env_id='Walker2d-v5' has obs/action sizes 17/6 but the data has 11/3"):
        OfflineDataset.from_arrays(**arrays, env_id="Walker2d-v5")
    with pytest.raises(DatasetError) as err:
        OfflineDataset.from_minari("dwm_gym/hopper/mediu-v0")
    assert "dataset make hopper-mediu" not in str(err.value) and "Did you mean dwm_gym/hopper/medium-v0" in str(
        err.value
    )


def test_env_options_and_render_without_mode(caplog):
    from dwm_gym.envs.start_states import StartStateWarning

    env = gym.make("DWM-hopper-medium-v0", kind="onestep", device="cpu")
    with pytest.raises(ValueError, match=r"unknown options \['satte'\]; accepted: state, start_states"):
        env.reset(seed=0, options={"satte": np.zeros(11)})
    with pytest.warns(StartStateWarning, match="far outside"):
        env.reset(options={"state": np.full(11, 1e6)})
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert env.render() is None
    venv = gym.make_vec("DWM-hopper-medium-v0", 3, vectorization_mode="vector_entry_point", kind="onestep")
    start = env.unwrapped.model.start_states["episode_starts"][0]
    obs, _ = venv.reset(seed=0, options={"state": start})
    np.testing.assert_allclose(obs, np.tile(start, (3, 1)), atol=1e-6)  # no longer ignored
    with pytest.raises(ValueError, match="unknown options"):
        venv.reset(options={"sate": start})


def test_both_normalized_scores_are_labelled(capsys):
    assert main("dataset make hopper-medium --steps 300 --num-envs 2".split()) == 0
    out = capsys.readouterr().out
    assert "with the v5 references (Minari's ref_min/max_score" in out and "with D4RL's" in out
    data = OfflineDataset.from_minari("dwm_gym/hopper/medium-v0")
    import minari

    description = minari.load_dataset(data.dataset_id).storage.metadata["description"]
    assert "`minari download` line of `minari show` does not apply" in description
