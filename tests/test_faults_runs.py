"""Fault suite, runs you can trust (docs/reliability.md): identity on resume, one writer, no file destroyed,
no code run from an agent file, finite checkpoints. One test per fault; each failed on the code before the fix.
"""

import base64
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.torch import save_file

from dwm_gym.agents import IQL, TD3BC
from dwm_gym.agents.agent_files import AgentFileError
from dwm_gym.agents.run_config import AgentRunConfig
from dwm_gym.agents.runs import train_agent
from dwm_gym.cli import main
from dwm_gym.data import make_dataset
from dwm_gym.data.content_hash import dataset_digest
from dwm_gym.utils.run_lock import LockedError, RunLock
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer
from dwm_gym.world_model import load_world_model, preset
from dwm_gym.world_model.bundled import BUNDLED
from dwm_gym.world_model.checkpoint import CheckpointError
from dwm_gym.world_model.training import TrainingRun, train_world_model

DWM = BUNDLED / "hopper_medium_dwm.safetensors"


def tiny_agent_config(**changes) -> AgentRunConfig:
    settings = dict(dataset="hopper-medium", steps=20, batch_size=16, eval_every=0, eval_episodes=1, device="cpu")
    return AgentRunConfig(**{**settings, "checkpoint_every": 10, **changes})


def tiny_world_model_run(data, out, resume=False, **changes):
    config = preset("small", dim=8, dim_mults=(1, 2), batch_size=16, ema_every=2)
    settings = dict(steps=4, checkpoint_every=2, eval_every=2, held_out_fraction=0.2, held_out_samples=64)
    run = TrainingRun(**{**settings, **changes})
    return train_world_model(data, config, run, out, resume=resume, progress=False)


# ------------------------------------------------------------------------------------------- one writer
def test_a_second_writer_of_a_run_folder_or_cache_file_is_refused_naming_the_first(tmp_path):
    data = make_dataset("hopper-medium", steps=300, num_envs=2, progress=False)
    out = tmp_path / "ag" / "dup"
    with RunLock(out / ".lock", "held by this test"):
        with pytest.raises(LockedError, match=rf"pid {os.getpid()} on host .*since .*wait for that one"):
            train_agent(tiny_agent_config(seed=2), out, progress_bar=False, dataset=data)
        assert not (out / "agent.json").exists()
    with RunLock(tmp_path / "wm" / ".lock", "held by this test"):
        with pytest.raises(LockedError, match=f"pid {os.getpid()}"):
            tiny_world_model_run(data, tmp_path / "wm")
    cache_file = tmp_path / "cache.safetensors"
    buffer = DiffusionMVEReplayBuffer(
        data.num_transitions, *spaces(), device="cpu", world_model=str(DWM), horizon=2, cache_file=str(cache_file)
    )
    from dwm_gym.value_expansion import load_offline_data

    load_offline_data(buffer, data)
    with RunLock(f"{cache_file}.lock", "held by this test"):
        with pytest.raises(LockedError, match="the cache file"):
            buffer.prepare_cache()
    assert not cache_file.exists()
    from dwm_gym.data.behavior.sac_training import SACTrainingConfig, train_behavior_sac

    with RunLock(tmp_path / "sac" / ".lock", "held by this test"):
        with pytest.raises(LockedError, match="the behaviour run"):
            train_behavior_sac(SACTrainingConfig(total_steps=10), tmp_path / "sac", progress_bar=False)
    assert not (tmp_path / "sac" / "config.json").exists()


def spaces():
    import gymnasium as gym

    env = gym.make("Hopper-v5")
    return env.observation_space, env.action_space


def test_a_killed_writer_leaves_no_lock_behind(tmp_path):
    lock = tmp_path / "run" / ".lock"
    code = "import sys, time; from dwm_gym.utils.run_lock import RunLock; RunLock(sys.argv[1], 'x').acquire(); "
    code += "print('locked', flush=True); time.sleep(120)"
    holder = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=f"pid {holder.pid}"):
            RunLock(lock, "the run").acquire()
    finally:
        holder.kill()  # SIGKILL: no clean-up code runs
        holder.wait()
    RunLock(lock, "the run").acquire().release()  # the operating system released the dead process's lock


# ----------------------------------------------------------------------------------- nothing overwritten
@pytest.mark.parametrize("victim", ["world_model", "agent_zip", "text"])
def test_cache_file_refuses_to_overwrite_anything_but_a_cache(tmp_path, capsys, victim):
    assert main("dataset make hopper-medium --steps 300 --num-envs 2".split()) == 0
    path = tmp_path / {"world_model": "my_dwm.safetensors", "agent_zip": "model.zip", "text": "notes.txt"}[victim]
    if victim == "world_model":
        shutil.copy(DWM, path)
    elif victim == "agent_zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("data", "{}")
    else:
        path.write_text("my notes")
    before = path.read_bytes()
    model = path if victim == "world_model" else DWM
    command = f"agent train --dataset hopper-medium --world-model {model} --horizon 2 --cache-file {path} --steps 2"
    assert main([*command.split(), "--out", str(tmp_path / "run"), "--eval-episodes", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "is only replaced when it is an imagination cache" in err and str(path) in err
    assert path.read_bytes() == before and not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------------------------- identity
def test_a_world_model_resume_keeps_its_split_and_refuses_other_split_settings_or_data(tmp_path):
    data = make_dataset("hopper-random", steps=600, num_envs=4, progress=False)
    out = tmp_path / "wm"
    tiny_world_model_run(data, out, held_out_fraction=0.2)
    split = json.loads((out / "split.json").read_text())
    assert split["episodes"] == data.num_episodes and len(split["held_out_episodes"]) >= 1
    for change, named in (({"seed": 5}, "seed: run 0, now 5"), ({"held_out_fraction": 0.3}, "held_out_fraction")):
        with pytest.raises(ValueError, match=f"cannot resume .*{named}"):
            tiny_world_model_run(data, out, resume=True, **{"steps": 6, **change})
    remade = make_dataset("hopper-random", steps=600, num_envs=4, seed=1, overwrite=True, progress=False)
    assert remade.dataset_id == data.dataset_id
    with pytest.raises(ValueError, match="dataset_sha256: run"):
        tiny_world_model_run(remade, out, resume=True, steps=6)
    (out / "split.json").write_text(json.dumps({**split, "held_out_episodes": [0]}))  # the stored split is used
    resumed = tiny_world_model_run(data, out, resume=True, steps=6)  # the data the run started with
    assert resumed.info["dataset_sha256"] == dataset_digest(data) != dataset_digest(remade)
    assert json.loads((out / "split.json").read_text())["held_out_episodes"] == [0]
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [2, 4, 6]


def test_an_agent_resume_on_a_remade_dataset_is_refused(tmp_path):
    data = make_dataset("hopper-medium", steps=300, num_envs=2, progress=False)
    out = tmp_path / "agent"
    summary = train_agent(tiny_agent_config(), out, progress_bar=False, dataset=data)
    assert summary["dataset_sha256"] == dataset_digest(data) and len(summary["dataset_sha256"]) == 64
    remade = make_dataset("hopper-medium", steps=300, num_envs=2, seed=1, overwrite=True, progress=False)
    with pytest.raises(ValueError, match="other data than the run was started with.*remade"):
        train_agent(tiny_agent_config(steps=30), out, resume=True, progress_bar=False, dataset=remade)
    assert json.loads((out / "agent.json").read_text())["updates"] == 20  # the run is untouched


# -------------------------------------------------------------------------------------- no code from files
def crafted_zip(tmp_path, marker):
    """A TD3BC .zip whose ``data`` entry, when unpickled, creates ``marker`` (any code could run there)."""

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    saved = tmp_path / "real.zip"
    from stable_baselines3 import TD3

    TD3("MlpPolicy", "Hopper-v5", device="cpu").save(saved)
    with zipfile.ZipFile(saved) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(entries["data"])
    serialized = base64.b64encode(pickle.dumps(Payload())).decode()
    data["learning_rate"] = {":type:": "<class 'function'>", ":serialized:": serialized}
    entries["data"] = json.dumps(data).encode()
    crafted = tmp_path / "model.zip"
    with zipfile.ZipFile(crafted, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return crafted


def test_an_agent_file_runs_no_code_unless_pickle_is_allowed(tmp_path, capsys):
    marker = tmp_path / "code_ran"
    crafted = crafted_zip(tmp_path, marker)
    assert main(["agent", "eval", "--model", str(crafted), "--algo", "td3", "--env", "Hopper-v5"]) == 2
    assert "--allow-pickle" in capsys.readouterr().err
    for cls in (TD3BC, IQL):
        with pytest.raises(AgentFileError, match="is a pickle"):
            cls.load(crafted, env="Hopper-v5")
    assert not marker.exists()
    from stable_baselines3 import TD3

    from dwm_gym.agents.agent_files import load_sb3_zip

    with pytest.raises(AgentFileError, match="could not be read as an SB3 TD3"):  # after unpickling: too late
        load_sb3_zip(TD3, crafted, allow_pickle=True, device="cpu")
    assert marker.exists()  # the opt-in did run the crafted file's code: the refusal above is what protects


def test_a_behaviour_run_resume_reads_no_pickle(tmp_path):
    from dwm_gym.data.behavior.sac_training import SACTrainingConfig, train_behavior_sac

    config = SACTrainingConfig(total_steps=40, eval_every=20, checkpoint_every=20, eval_episodes=1, learning_starts=10)
    run = tmp_path / "sac"
    train_behavior_sac(config, run, progress_bar=False)
    assert sorted(p.name for p in (run / "sb3").iterdir()) == ["replay_buffer.npz", "sac_state.safetensors"]
    with np.load(run / "sb3" / "replay_buffer.npz", allow_pickle=False) as stored:
        assert int(stored["pos"]) == 40
    longer = SACTrainingConfig(**{**config.__dict__, "total_steps": 60})
    train_behavior_sac(longer, run, resume=True, progress_bar=False)
    assert json.loads((run / "state.json").read_text()) == {"step": 60, "finished": True}
    for name in ("replay_buffer.npz", "sac_state.safetensors"):  # an earlier version's pickles instead
        (run / "sb3" / name).unlink()
    (run / "sb3" / "model.zip").write_bytes(b"PK")
    with pytest.raises(ValueError, match="--allow-pickle"):
        train_behavior_sac(SACTrainingConfig(**{**config.__dict__, "total_steps": 80}), run, resume=True)


# -------------------------------------------------------------------------------------- finite checkpoints
@pytest.mark.parametrize("prefix", ["state_normalizer.", "model.", "data.states"])
def test_a_checkpoint_with_nan_is_refused_naming_the_tensor(tmp_path, prefix):
    with safe_open(str(DWM), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
        metadata = handle.metadata()
    name = next(k for k in sorted(tensors) if k.startswith(prefix) and tensors[k].is_floating_point())
    tensors[name] = tensors[name].clone()
    tensors[name].view(-1)[0] = float("nan")
    path = tmp_path / "nan.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    with pytest.raises(CheckpointError, match=f"tensor '{name}' holds NaN"):
        load_world_model(path)


def test_an_agent_file_with_nan_is_refused_naming_the_tensor(tmp_path):
    agent = TD3BC("MlpPolicy", "Hopper-v5", device="cpu")
    path = tmp_path / "agent.safetensors"
    agent.save(path)
    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k).clone() for k in handle.keys()}  # noqa: SIM118
        metadata = handle.metadata()
    name = next(k for k in tensors if k.endswith("features_extractor.mean"))
    tensors[name][0] = float("nan")
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(AgentFileError, match=f"tensor {name} holds NaN"):
        TD3BC.load(path)


# ------------------------------------------------------------------------------------------------ demo
def test_demo_with_zero_env_steps_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--env-steps", "0"]) == 2
    assert "--env-steps must be an integer >= 1, got 0" in capsys.readouterr().err
    assert not out.exists()


def test_an_sb3_zip_of_an_earlier_version_converts_to_the_pickle_free_file_on_request(tmp_path):
    from stable_baselines3.common.base_class import BaseAlgorithm

    agent = TD3BC("MlpPolicy", "Hopper-v5", device="cpu")
    BaseAlgorithm.save(agent, tmp_path / "latest.zip")  # what earlier versions wrote
    with pytest.raises(AgentFileError, match="is a pickle"):
        TD3BC.load(tmp_path / "latest.zip")
    TD3BC.load(tmp_path / "latest.zip", allow_pickle=True).save(tmp_path / "latest.safetensors")
    converted = TD3BC.load(tmp_path / "latest.safetensors", env="Hopper-v5")
    observation = np.zeros((1, 11), np.float32)
    np.testing.assert_array_equal(converted.predict(observation)[0], agent.predict(observation)[0])
