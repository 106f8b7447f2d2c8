"""examples/visualize.py writes a valid MP4, GIF and PNGs with one frame per step (+ the start)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

pytestmark = pytest.mark.smoke  # a command, script or benchmark end to end at tiny sizes

EXAMPLE = Path(__file__).parents[2] / "examples" / "visualize.py"


def test_visualize_writes_videos_and_plots(tmp_path):
    out = tmp_path / "vis"
    cmd = [sys.executable, str(EXAMPLE), "--steps", "12", "--size", "96", "--device", "cpu", "--out", str(out)]
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"), "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=300)
    summary = json.loads((out / "summary.json").read_text())
    frames = summary["steps"] + 1
    assert summary["frames"] == frames and summary["steps"] >= 1
    reader = imageio.get_reader(out / "real_vs_imagined.mp4")
    assert reader.count_frames() == frames and reader.get_meta_data()["size"] == (3 * 96, 96)
    gif = imageio.mimread(out / "real_vs_imagined.gif")
    assert len(gif) == frames and gif[0].shape[:2] == (48, 144)
    for name in ("error_vs_horizon.png", "reward_imagined_vs_real.png"):
        image = imageio.imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 100 and np.ptp(image) > 0
    assert summary["dwm_mean_state_error"] > 0 and summary["onestep_mean_state_error"] > 0
