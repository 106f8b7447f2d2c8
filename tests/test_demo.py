"""``dwm-gym demo`` with tiny budgets writes a valid video, GIF, plots, agent and summary."""

import json

import imageio.v2 as imageio
import numpy as np
import pytest

from dwm_gym.cli import main

pytestmark = pytest.mark.smoke  # a command, script or benchmark end to end at tiny sizes


def test_demo_tiny_budget_writes_everything(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["demo", "--out", str(out), "--dataset-steps", "3000", "--video-steps", "10", "--env-steps", "20"]
    assert main([*argv, "--agent-updates", "300", "--eval-episodes", "1", "--device", "cpu"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    stages = summary["stages"]
    assert list(stages) == ["dataset", "imagined env", "video", "TD3BC", "DWM-TD3BC"]
    assert stages["dataset"]["transitions"] == 3000
    for name in ("TD3BC", "DWM-TD3BC"):  # both agents: same budget, finite scores
        assert stages[name]["updates"] == 300 and np.isfinite(stages[name]["normalized_v5"])
    assert imageio.imread(out / "learning_curves.png").ndim == 3
    assert (out / "td3bc" / "model.safetensors").is_file()
    frames = stages["video"]["frames"]
    assert 2 <= frames <= 11
    assert imageio.get_reader(out / "real_vs_imagined.mp4").count_frames() == frames
    assert len(imageio.mimread(out / "real_vs_imagined.gif")) == frames
    assert imageio.imread(out / "error_vs_horizon.png").ndim == 3
    assert (out / "dwm_td3bc" / "model.safetensors").is_file()
    table = (out / "summary.md").read_text()
    assert table.startswith("| stage |") and "| TD3BC |" in table and "| DWM-TD3BC |" in table
    assert "DWM-TD3BC" in capsys.readouterr().out
    # the user's own datasets folder was not touched
    assert not (tmp_path / "minari").exists() or not any((tmp_path / "minari").rglob("*.hdf5"))
