import argparse
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from dwm_gym.cli import build_parser, main

pytestmark = pytest.mark.smoke  # a command, script or benchmark end to end at tiny sizes


def test_dataset_make_list_info(capsys):
    assert main(["dataset", "make", "hopper-random", "--steps", "60", "--num-envs", "2"]) == 0
    out = capsys.readouterr().out
    assert "dwm_gym/hopper/random-v0: " in out and "60 steps" in out
    assert main(["dataset", "list"]) == 0
    assert "dwm_gym/hopper/random-v0" in capsys.readouterr().out
    assert main(["dataset", "info", "hopper-random"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["transitions"] == 60 and info["provenance"]["quality"] == "random"


def test_cli_errors_are_messages_not_tracebacks(capsys):
    assert main(["dataset", "info", "hopper-expert"]) == 2
    err = capsys.readouterr().err
    assert "error: no Minari dataset 'dwm_gym/hopper/expert-v0'" in err and "dataset make hopper-expert" in err
    assert main(["dataset", "make", "hopper-bad"]) == 2
    assert "unknown dataset name" in capsys.readouterr().err


def wm_train(out, *extra: str) -> int:
    """``dwm-gym world-model train`` on the tiny random dataset."""
    return main(["world-model", "train", "--dataset", "dwm_gym/hopper/random-v0", "--out", str(out), *extra])


def test_world_model_train_and_resume(tmp_path):
    assert main("dataset make hopper-random --steps 400 --num-envs 2".split()) == 0
    out = tmp_path / "wm"
    assert wm_train(out, *"--steps 4 --checkpoint-every 2 --eval-every 2".split()) == 0
    assert (out / "model.safetensors").is_file() and (out / "last_step.txt").read_text().strip() == "4"
    assert wm_train(out, *"--steps 6 --checkpoint-every 2 --eval-every 2 --resume".split()) == 0
    assert (out / "last_step.txt").read_text().strip() == "6"


def test_world_model_train_one_step(tmp_path):
    from dwm_gym.world_model import OneStepModel, load_world_model

    assert main("dataset make hopper-random --steps 300 --num-envs 2".split()) == 0
    assert wm_train(tmp_path / "onestep", *"--kind onestep --steps 5 --eval-every 5".split()) == 0
    model = load_world_model(tmp_path / "onestep" / "model.safetensors", env="Hopper-v5")
    assert isinstance(model, OneStepModel) and model.info["train_steps"] == 5


def test_state_normalization_is_the_presets_unless_chosen_and_only_a_dwm_setting(tmp_path):
    from dwm_gym.world_model import load_world_model, preset

    assert main("dataset make hopper-random --steps 300 --num-envs 2".split()) == 0
    assert wm_train(tmp_path / "default", *"--steps 2 --eval-every 2".split()) == 0
    model = load_world_model(tmp_path / "default" / "model.safetensors")
    assert model.config.state_normalization == preset("small").state_normalization
    other = next(name for name in ("cdf", "gaussian") if name != preset("small").state_normalization)
    assert wm_train(tmp_path / "other", *f"--steps 2 --eval-every 2 --state-normalization {other}".split()) == 0
    assert load_world_model(tmp_path / "other" / "model.safetensors").config.state_normalization == other
    with pytest.raises(SystemExit, match="state_normalization: not a setting of the onestep model"):
        wm_train(tmp_path / "onestep", *"--kind onestep --steps 2 --state-normalization cdf".split())


def test_prediction_is_the_presets_unless_chosen_and_only_a_dwm_setting(tmp_path):
    from dwm_gym.world_model import load_world_model, preset

    assert main("dataset make hopper-random --steps 300 --num-envs 2".split()) == 0
    assert wm_train(tmp_path / "default", *"--steps 2 --eval-every 2".split()) == 0
    assert load_world_model(tmp_path / "default" / "model.safetensors").config.prediction == preset("small").prediction
    assert wm_train(tmp_path / "v", *"--steps 2 --eval-every 2 --prediction v".split()) == 0
    assert load_world_model(tmp_path / "v" / "model.safetensors").config.prediction == "v"
    with pytest.raises(SystemExit, match="prediction: not a setting of the onestep model.*drop --prediction"):
        wm_train(tmp_path / "onestep", *"--kind onestep --steps 2 --prediction x0".split())


def test_world_model_eval_writes_table_json_and_plot(tmp_path, capsys):
    assert main("dataset make hopper-random --steps 3000 --num-envs 4".split()) == 0
    for kind in ("dwm", "onestep"):
        assert wm_train(tmp_path / kind, "--kind", kind, *"--steps 2 --eval-every 2".split()) == 0
    capsys.readouterr()
    args = f"world-model eval --checkpoint {tmp_path}/dwm/model.safetensors --dataset dwm_gym/hopper/random-v0"
    args += f" --baseline {tmp_path}/onestep/model.safetensors --windows 20"
    args += f" --json {tmp_path}/err.json --plot {tmp_path}/err.png --noise-floor medium"
    assert main(args.split()) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[1].split()[0] == "1" and "mean" in table
    report = json.loads((tmp_path / "err.json").read_text())
    assert len(report["dwm"]["state_mse"]) == 8 and report["dwm"]["state_mse"][0] == 0.0
    assert report["baseline"]["kind"] == "onestep" and report["baseline"]["windows"] > 0
    assert list(report) == ["dwm", "baseline", "baseline, policy actions", "behaviour noise floor"]
    assert report["baseline, policy actions"]["state_mse"][1] == report["baseline"]["state_mse"][1]  # a_t is shared
    assert (tmp_path / "err.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_world_model_export_half_precision_halves_the_weights_and_keeps_the_model(tmp_path, capsys):
    import torch

    from dwm_gym.world_model import load_world_model
    from dwm_gym.world_model.bundled import BUNDLED
    from dwm_gym.world_model.checkpoint import save_world_model

    source = save_world_model(
        load_world_model(BUNDLED / "hopper_medium_onestep.safetensors"), tmp_path / "full.safetensors"
    )
    out = tmp_path / "half.safetensors"
    assert main(["world-model", "export", str(source), str(out)]) == 0
    full, half = load_world_model(source), load_world_model(out, env="Hopper-v5")
    assert half.info["weights_dtype"] == "float16" and full.info.get("weights_dtype", "float32") == "float32"
    weight_bytes = sum(p.numel() for p in full.parameters()) * 2  # what float16 saves: 2 of 4 bytes per weight
    assert out.stat().st_size <= source.stat().st_size - 0.95 * weight_bytes
    for p, q in zip(full.parameters(), half.parameters()):
        assert q.dtype == torch.float32  # loaded back into float32
        torch.testing.assert_close(q, p, atol=2e-3, rtol=1e-3)
    assert half.info["dataset_id"] == full.info["dataset_id"] and half.info["sha256"] != full.info["sha256"]
    for name in ("state_normalizer", "reward_normalizer"):  # normalizers stay float32, bit for bit
        a, b = getattr(full, name).state_dict(), getattr(half, name).state_dict()
        assert all(np.array_equal(a[k], b[k]) for k in a)
    assert all(np.array_equal(v, half.start_states[k]) for k, v in full.start_states.items())
    assert main(["world-model", "export", str(source), str(out)]) == 2  # never overwrites without --force
    assert "exists: pass --force" in capsys.readouterr().err


def all_parsers(parser, name="dwm-gym"):
    """(command name, parser) for ``parser`` and every sub-command below it."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from all_parsers(sub, f"{name} {sub_name}")


def test_every_option_of_every_command_has_help():
    missing = []
    for name, parser in all_parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                missing += [f"{name} {sub}" for sub in action.choices if not (helps.get(sub) or "").strip()]
            elif not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
        parser.format_help()  # every help string formats (no stray %)
    assert not missing, f"options without help: {missing}"


def test_agent_train_options_are_the_run_config_fields():
    from dwm_gym.agents.runs import AgentRunConfig
    from dwm_gym.cli.agent_commands import agent_train
    from dwm_gym.utils.cli_fields import dataclass_from_args

    args = build_parser().parse_args("agent train --dataset hopper-medium --out runs/x".split())
    assert args.func is agent_train and not args.resume and not args.no_progress
    assert dataclass_from_args(AgentRunConfig, args) == AgentRunConfig(dataset="hopper-medium")
    argv = "agent train --algo iql --dataset hopper-medium --world-model dwm --horizon 3 --rtg 0.8 --fresh"
    argv += " --cache-samples 2 --steps 10 --batch-size 32 --td-lambda 0.9 --seed 1 --device cpu --eval-every 5"
    argv += " --eval-episodes 2 --refs v5 --checkpoint-every 5 --cache-file c.npz --out runs/x --resume --no-progress"
    args = build_parser().parse_args(argv.split())
    config = dataclass_from_args(AgentRunConfig, args)
    assert config == AgentRunConfig(
        "iql", "hopper-medium", "dwm", 3, 0.8, False, 2, 10, 32, 0.9, 1, "cpu", 5, 2, "v5", 5, "c.npz"
    )
    assert args.resume and args.no_progress and args.out == "runs/x"
    assert not build_parser().parse_args("agent train --dataset d --out o --no-cache".split()).cache


def test_world_model_train_and_demo_options_are_dataclass_fields():
    from dwm_gym.demo import DemoConfig
    from dwm_gym.utils.cli_fields import dataclass_from_args
    from dwm_gym.world_model.training import TrainingRun

    args = build_parser().parse_args("world-model train --dataset d --out o --held-out-fraction 0.1".split())
    assert args.steps is None  # the preset's train_steps
    assert dataclass_from_args(TrainingRun, args, steps=7) == TrainingRun(steps=7, held_out_fraction=0.1)
    args = build_parser().parse_args("demo --agent-updates 300 --rtg 0.7".split())
    assert dataclass_from_args(DemoConfig, args) == DemoConfig(agent_updates=300, rtg=0.7)


def documented_commands() -> list[str]:
    """The ``dwm-gym ...`` commands of README.md's and docs/*.md's shell blocks, and of the missing-checkpoint error."""
    from dwm_gym.world_model.bundled import train_command

    commands, root = [], Path(__file__).parents[1]
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        fenced = re.findall(r"^```(?:bash|sh|shell|console)\n(.*?)^```", page.read_text(), re.S | re.M)
        for line in "\n".join(fenced).replace("\\\n", " ").splitlines():
            commands += [part.strip() for part in line.split("&&")]
    for task, kind in (("walker2d", "onestep"), ("walker2d", "dwm"), ("hopper", "dwm")):
        commands += [part.strip() for part in train_command(task, "medium-replay", kind).split("&&")]
    return [c for c in commands if c.startswith("dwm-gym ")]


def test_documented_commands_parse():
    commands = documented_commands()
    assert any(c.startswith("dwm-gym agent train") for c in commands)
    for command in commands:
        build_parser().parse_args(shlex.split(command, comments=True)[1:])


def test_world_model_export_rederives_the_data_sample_with_its_actions(tmp_path, capsys):
    from dwm_gym.data import OfflineDataset
    from dwm_gym.world_model import load_world_model

    assert main("dataset make hopper-random --steps 300 --num-envs 2".split()) == 0
    assert wm_train(tmp_path / "onestep", *"--kind onestep --steps 2 --eval-every 2".split()) == 0
    source = load_world_model(tmp_path / "onestep" / "model.safetensors")
    data = OfflineDataset.from_minari("dwm_gym/hopper/random-v0")
    out = tmp_path / "with_actions.safetensors"
    args = ["world-model", "export", str(tmp_path / "onestep" / "model.safetensors"), str(out)]
    assert main([*args, "--data", "dwm_gym/hopper/random-v0"]) == 0
    model = load_world_model(out)
    np.testing.assert_allclose(model.start_states["states"], source.start_states["states"])
    states, actions = data.transitions["observations"], data.transitions["actions"]
    for s, a in zip(model.start_states["states"][:20], model.start_states["actions"][:20]):
        row = np.flatnonzero(np.all(np.isclose(states, s), axis=1))[0]
        np.testing.assert_allclose(actions[row], a)  # each state's own action
    assert main("dataset make hopper-random --steps 200 --num-envs 2 --seed 7 --force".split()) == 0  # other data
    capsys.readouterr()
    assert main([*args, "--force", "--data", "dwm_gym/hopper/random-v0"]) == 2
    assert "it was not trained on this data" in capsys.readouterr().err
    assert main([*args, "--force", "--data", "dwm_gym/hopper/random-v0", "--resample-data"]) == 0
    assert "resampled from dwm_gym/hopper/random-v0" in load_world_model(out).info["data_sample"]
