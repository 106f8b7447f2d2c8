"""Fault suite, by class (docs/reliability.md): options checked before work, no silent truncation, flags
without effect refused, errors naming their cause, env inputs, interrupted runs, nothing outside the run
folders, vector-env seeding. One test per class; each failed on the code before the fix.
"""

import json
import shutil
import tempfile

import gymnasium as gym
import numpy as np
import pytest

import dwm_gym  # noqa: F401  (registers the envs)
from dwm_gym.agents import IQL, TD3BC
from dwm_gym.agents.agent_files import AgentFileError
from dwm_gym.agents.run_checks import SettingWithoutEffectWarning
from dwm_gym.agents.run_config import AgentRunConfig
from dwm_gym.agents.runs import train_agent
from dwm_gym.cli import main
from dwm_gym.data import make_dataset
from dwm_gym.envs.start_states import StartStateWarning
from dwm_gym.world_model import preset
from dwm_gym.world_model.training import TrainingRun, train_world_model


def cli(argv: str, capsys) -> tuple[int, str]:
    """Exit code and stderr of ``dwm-gym argv`` (argparse's own refusals exit through SystemExit)."""
    capsys.readouterr()
    try:
        code = main(argv.split())
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def tiny_world_model(data, out, resume=False, **changes):
    config = preset("small", dim=8, dim_mults=(1, 2), batch_size=16, ema_every=2)
    settings = dict(steps=4, checkpoint_every=4, eval_every=2, held_out_fraction=0.2, held_out_samples=64)
    return train_world_model(data, config, TrainingRun(**{**settings, **changes}), out, resume=resume, progress=False)


# ------------------------------------------------------------- every numeric option checked at parse time
@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        ("dataset make hopper-medium --seed -1", "--seed"),
        ("dataset make hopper-medium --num-envs 0", "--num-envs"),
        ("world-model eval --checkpoint c --dataset d --seed -1", "--seed"),
        ("world-model eval --checkpoint c --dataset d --windows 0", "--windows"),
        ("world-model train --dataset d --out OUT --held-out-samples 0", "--held-out-samples"),
        ("agent eval --model m --seed -1", "--seed"),
        ("agent eval --model m --episodes 0", "--episodes"),
        ("agent train --dataset hopper-medium --out OUT --seed -1", "--seed"),
        ("demo --out OUT --agent-updates 0", "--agent-updates"),
        ("demo --out OUT --eval-episodes 0", "--eval-episodes"),
        ("demo --out OUT --rtg nan", "--rtg"),
        ("demo --out OUT --horizon 9", "--horizon"),
        ("demo --out OUT --video-steps -1", "--video-steps"),
    ],
)
def test_every_numeric_option_is_checked_before_any_work_naming_its_flag(tmp_path, capsys, argv, flag):
    code, err = cli(argv.replace("OUT", str(tmp_path / "out")), capsys)
    assert code == 2 and flag in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "minari").exists()  # nothing was built


# ------------------------------------------------------------------------- outputs checked before work
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ("world-model eval --checkpoint c --dataset d --json FOLDER", "--json FOLDER is a folder"),
        ("world-model eval --checkpoint c --dataset d --plot FOLDER", "--plot FOLDER is a folder"),
        ("agent eval --model m --json FOLDER", "--json FOLDER is a folder"),
        ("demo --out FILE", "--out FILE is a file"),
        ("behavior train --task hopper --steps 10 --run-dir FILE", "--run-dir FILE is a file"),
    ],
)
def test_outputs_are_checked_before_the_work(tmp_path, capsys, argv, message):
    folder, file = tmp_path / "folder", tmp_path / "file"
    folder.mkdir()
    file.write_text("mine")
    code, err = cli(argv.replace("FOLDER", str(folder)).replace("FILE", str(file)), capsys)
    assert code == 2 and message.replace("FOLDER", str(folder)).replace("FILE", str(file)) in err
    assert file.read_text() == "mine" and not list(folder.iterdir())


# ----------------------------------------------------------------- no silent truncation, no false claims
def test_no_silent_truncation_and_no_false_claims(tmp_path, caplog):
    from dwm_gym.evaluation.model_error import FewerWindowsWarning, evaluation_windows
    from dwm_gym.value_expansion.cache_file import fill_estimate

    data = make_dataset("hopper-medium", steps=300, num_envs=2, progress=False)
    with pytest.warns(FewerWindowsWarning, match=r"100000 windows asked, but .* holds only \d+ windows"):
        _, chosen = evaluation_windows(data, 8, 100_000, 0)
    assert len(chosen) < 100_000
    with caplog.at_level("WARNING"):
        tiny_world_model(data, tmp_path / "wm", held_out_samples=10**9)
    rule = json.loads((tmp_path / "wm" / "selection.json").read_text())["rule"]
    assert "1000000000" not in rule and "all are used" in caplog.text
    assert "days" in fill_estimate(50, 10**6 * 100_000, 1.0, 100_000)  # said after the first batch
    assert fill_estimate(50, 1000, 1.0, 1) is None  # a short fill says nothing


def test_a_tiny_dataset_make_prints_no_nan(capsys):
    code = main("dataset make hopper-medium --steps 3 --num-envs 1".split())
    printed = capsys.readouterr().out
    assert code == 0 and "nan" not in printed.lower() and "every episode was cut by the step budget" in printed


# ------------------------------------------------------------------ flags without effect: refused or warned
def test_flags_without_effect_are_refused_on_the_command_line_and_warned_in_python(tmp_path, capsys):
    out = tmp_path / "run"
    code, err = cli(f"agent train --dataset hopper-medium --horizon 3 --out {out}", capsys)
    assert code == 2 and "--horizon 3: it applies only with --world-model" in err
    argv = f"agent train --dataset hopper-medium --world-model onestep --cache-samples 4 --cache-file c --out {out}"
    code, err = cli(argv, capsys)
    assert code == 2 and "--cache-samples 4" in err and "--cache-file 'c'" in err and "without RTG or cache" in err
    code, err = cli(f"agent train --dataset hopper-medium --td-lambda 0.5 --out {out}", capsys)
    assert code == 2 and "--td-lambda 0.5: it is an IQL setting" in err
    assert not out.exists()
    data = make_dataset("hopper-medium", steps=300, num_envs=2, progress=False)
    config = AgentRunConfig(dataset="hopper-medium", horizon=3, steps=2, eval_episodes=1, device="cpu")
    with pytest.warns(SettingWithoutEffectWarning, match="--horizon 3"):
        train_agent(config, out, progress_bar=False, dataset=data)
    recorded = json.loads((out / "agent.json").read_text())
    assert recorded["settings_without_effect"] == {"horizon": "it applies only with --world-model"}


# ---------------------------------------------------------------------- agent eval errors name the cause
def test_agent_eval_errors_name_their_cause(tmp_path, capsys):
    saved = tmp_path / "td3bc.safetensors"
    TD3BC("MlpPolicy", "Hopper-v5", device="cpu").save(saved)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(saved.read_bytes()[:1000])
    code, err = cli(f"agent eval --model {cut} --env Hopper-v5", capsys)
    assert code == 2 and "is not a readable agent file" in err
    cut_zip = tmp_path / "cut.zip"
    TD3BC("MlpPolicy", "Hopper-v5", device="cpu").save(tmp_path / "whole.safetensors")
    from stable_baselines3 import TD3

    TD3("MlpPolicy", "Hopper-v5", device="cpu").save(tmp_path / "whole.zip")
    cut_zip.write_bytes((tmp_path / "whole.zip").read_bytes()[:2000])
    code, err = cli(f"agent eval --model {cut_zip} --algo td3 --env Hopper-v5 --allow-pickle", capsys)
    assert code == 2 and "could not be read as an SB3 TD3 .zip" in err
    code, err = cli(f"agent eval --model {saved} --env Walker2d-v5", capsys)
    assert code == 2 and "observation space has shape (11,) but Walker2d-v5's has (17,)" in err
    code, err = cli(f"agent eval --model {saved} --algo iql --env Hopper-v5", capsys)
    assert code == 2 and "holds a TD3BC agent, not one of IQL" in err
    with pytest.raises(AgentFileError, match="holds a TD3BC agent, not one of IQL"):
        IQL.load(saved)


# ------------------------------------------------------------------------------------------ env inputs
def test_env_inputs_get_clear_messages():
    with pytest.raises(ValueError, match="start_states is a mode name"):
        gym.make("DWM-hopper-medium-v0", kind="onestep", start_states=np.array([]), device="cpu")
    with pytest.raises(TypeError, match="pessimism must be a dict of settings.*got 'on'"):
        gym.make("DWM-hopper-medium-v0", kind="onestep", pessimism="on", device="cpu")
    with pytest.raises(ValueError, match="horizon must be an integer >= 1, got 0"):  # named as the caller spelled it
        gym.make("DWM-hopper-medium-v0", kind="onestep", horizon=0, device="cpu")
    with pytest.raises(TypeError, match=r"unknown keyword arguments \['segment_length'\]; accepted: .*horizon"):
        gym.make("DWM-hopper-medium-v0", kind="onestep", segment_length=3, device="cpu")
    env = gym.make("DWM-hopper-medium-v0", kind="onestep", device="cpu")
    with pytest.raises(TypeError, match=r"takes a dict, e.g. options=\{'state': obs\}, got list"):
        env.reset(options=[1, 2])
    fallen = env.reset(seed=0)[0].copy()
    fallen[0] = 0.3  # torso height below Hopper-v5's healthy range
    with pytest.warns(StartStateWarning, match="already unhealthy for Hopper-v5"):
        env.reset(options={"state": fallen})


# ------------------------------------------------------------------------------------- interrupted runs
def test_interrupted_agent_runs_say_how_to_go_on_and_can_be_restarted(tmp_path, capsys, monkeypatch):
    data = make_dataset("hopper-medium", steps=300, num_envs=2, progress=False)
    out = tmp_path / "run"
    out.mkdir()
    (out / "agent.json").write_text("{}")  # what a run killed before its first checkpoint leaves
    base = f"agent train --dataset hopper-medium --steps 2 --checkpoint-every 1 --eval-episodes 1 --out {out}"
    base += " --device cpu --no-progress"
    code, err = cli(f"{base} --resume", capsys)
    assert code == 2 and "nothing to resume" in err and "--force" in err
    code, err = cli(base, capsys)
    assert code == 2 and "--force to replace it" in err
    assert cli(f"{base} --force", capsys)[0] == 0
    assert json.loads((out / "agent.json").read_text())["updates"] == 2
    assert data.num_transitions == 300

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("dwm_gym.cli.agent_commands.train_agent", interrupted)
    code, err = cli(f"{base} --resume", capsys)
    assert code == 130 and "add --resume to continue it" in err and "Traceback" not in err
    shutil.rmtree(out / "checkpoints")
    code, err = cli(f"{base} --resume", capsys)
    assert code == 130 and "it has no checkpoint yet" in err and "--force" in err


def test_interrupted_world_model_runs_keep_one_metrics_line_per_step_and_name_a_cut_state(tmp_path):
    data = make_dataset("hopper-random", steps=300, num_envs=2, progress=False)
    out = tmp_path / "wm"
    tiny_world_model(data, out)  # evaluations at 2 and 4, checkpoint at 4
    with open(out / "metrics.jsonl", "a") as handle:  # killed after the evaluation at 6, before the checkpoint
        handle.write(json.dumps({"step": 6, "train_loss": 1.0, "held_out_loss": 1.0}) + "\n" + '{"step": 8, "tr')
    tiny_world_model(data, out, resume=True, steps=8, checkpoint_every=4)
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8]  # 6 written again by the resumed run, once
    assert len((out / "metrics.dropped.jsonl").read_text().splitlines()) == 2
    state = out / "train_state.pt"
    state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    with pytest.raises(ValueError, match="train_state.pt is truncated or corrupt.*--force"):
        tiny_world_model(data, out, resume=True, steps=10)


# ----------------------------------------------------------------------- nothing outside the run folders
def test_offline_learn_writes_nothing_to_the_temp_folder(tmp_path, monkeypatch):
    temp = tmp_path / "system_tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    data = make_dataset("hopper-medium", steps=300, num_envs=2, progress=False)
    TD3BC("MlpPolicy", "Hopper-v5", batch_size=16, device="cpu").load_dataset(data).learn(3)
    IQL("MlpPolicy", "Hopper-v5", batch_size=16, device="cpu").load_dataset(data).learn(3)
    assert list(temp.iterdir()) == []


# ----------------------------------------------------------------------------------- vector-env seeding
def test_vector_env_seeding_is_reproducible_and_first_starts_do_not_depend_on_num_envs():
    def rollout(num_envs: int) -> list[np.ndarray]:
        env = gym.make_vec("DWM-hopper-medium-v0", num_envs, vectorization_mode="vector_entry_point", device="cpu")
        observations = [env.reset(seed=3)[0]]
        for _ in range(2):
            observations.append(env.step(np.zeros((num_envs, 3), np.float32))[0])
        return observations

    first, again, single = rollout(3), rollout(3), rollout(1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)  # same seed, same num_envs: the same rollouts
    np.testing.assert_array_equal(first[0][0], single[0][0])  # sub-env 0's start state: independent of num_envs
    from dwm_gym.envs.vector_env import DiffusionImaginedVectorEnv

    assert "One stream per sub-env would mean one world-model call per sub-env" in DiffusionImaginedVectorEnv.__doc__
