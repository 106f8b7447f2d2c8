import json

from dwm_gym.cli import main


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
    assert isinstance(model, OneStepModel) and model.checkpoint_info["train_steps"] == 5


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
