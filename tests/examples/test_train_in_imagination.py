"""examples/train_in_imagination.py runs end to end with a tiny budget."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from stable_baselines3 import TD3

EXAMPLE = Path(__file__).parents[2] / "examples" / "train_in_imagination.py"


def test_train_in_imagination_tiny_budget(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, str(EXAMPLE), "--steps", "200", "--envs", "4", "--eval-episodes", "1", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    result = json.loads((out / "result.json").read_text())
    assert result["horizon"] == 3 and result["gamma"] == 0.99**3 and result["imagined_steps"] == 200
    assert np.isfinite(result["normalized_score_v5"]) and result["real_mean_length"] >= 1
    agent = TD3.load(out / "td3_imagined.zip", device="cpu")
    assert agent.gamma == 0.99**3 and agent.num_timesteps >= 200
