"""examples/train_in_imagination.py runs end to end with a tiny budget, evaluates on the real env and resumes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import TD3

from dwm_gym.agents import AnchoredTD3
from dwm_gym.data import make_dataset

pytestmark = pytest.mark.smoke  # a command, script or benchmark end to end at tiny sizes

EXAMPLE = Path(__file__).parents[2] / "examples" / "train_in_imagination.py"


STOCK_TD3 = ["--bc-init", "0", "--critic-warmup", "0", "--critic-pretrain", "0", "--data-ratio", "0", "--alpha", "none"]


def run(out: Path, steps: int, options: list[str], name: str) -> dict:
    cmd = [sys.executable, str(EXAMPLE), "--steps", str(steps), "--envs", "4", "--eval-every", "48"]
    cmd += ["--eval-episodes", "1", "--seeds", "0", "--horizon", "3", "--out", str(out), "--device", "cpu", *options]
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    return json.loads((out / name / "results.json").read_text())


def test_train_in_imagination_tiny_budget_evaluates_on_the_real_env_and_resumes(tmp_path):
    result = run(tmp_path, 96, STOCK_TD3, "dwm_pair_support")  # stock TD3 in the (default) halting env
    curve = result["curves"]["0"]
    assert result["settings"]["pessimism"] == {"signal": "pair_support", "threshold": "auto"}
    assert result["settings"]["alpha"] is None and result["settings"]["critic_pretrain"] == 0
    assert [point[0] for point in curve] == [48.0, 96.0] and np.isfinite(result["final_mean"])
    agent = TD3.load(tmp_path / "dwm_pair_support" / "seed0" / "model.zip", device="cpu")
    assert agent.gamma == 0.99**3 and agent.num_timesteps == 96
    resumed = run(tmp_path, 144, STOCK_TD3, "dwm_pair_support")  # continues: the first two evaluations kept
    assert [point[0] for point in resumed["curves"]["0"]] == [48.0, 96.0, 144.0]
    assert resumed["curves"]["0"][:2] == curve
    assert TD3.load(tmp_path / "dwm_pair_support" / "seed0" / "model.zip", device="cpu").num_timesteps == 144


def test_anchored_agent_mixes_the_dataset_and_resumes_with_it(tmp_path):
    make_dataset("hopper-medium", steps=600, seed=0, num_envs=2, progress=False)
    options = ["--bc-init", "20", "--critic-warmup", "40", "--critic-pretrain", "30", "--pessimism", "none"]
    name = "dwm_bc_mix0.5_alpha2.5_qpre30"  # the defaults' data ratio and α, in the plain env
    result = run(tmp_path, 96, options, name=name)
    assert [point[0] for point in result["curves"]["0"]] == [48.0, 96.0]
    saved = tmp_path / name / "seed0" / "model.zip"
    agent = AnchoredTD3.load(saved, device="cpu")
    assert (agent.data_ratio, agent.alpha, agent.gamma, agent.actor_warmup) == (0.5, 2.5, 0.99**3, 40)
    assert agent.data_discount == 0.99 and agent.dataset_id == "dwm_gym/hopper/medium-v0"
    records = [json.loads(line) for line in (tmp_path / name / "seed0" / "training_episodes.jsonl").open()]
    assert [r["timesteps"] for r in records] == [48.0, 96.0] and all(r["q_max"] > 0 for r in records)
    resumed = run(tmp_path, 144, options, name=name)  # reloads the dataset to resume
    assert [point[0] for point in resumed["curves"]["0"]] == [48.0, 96.0, 144.0]
