"""DDP smoke test: two CPU processes (gloo) under torchrun train and write one checkpoint."""

import json
import os
import subprocess
import sys

import pytest

from dwm_gym.data import make_dataset
from dwm_gym.world_model import load_world_model


@pytest.mark.slow  # tens of seconds: kept out of the default suite (run with -m slow)
def test_torchrun_two_processes_gloo(tmp_path):
    make_dataset("hopper-random", steps=600, num_envs=2, progress=False)
    out = tmp_path / "ddp"
    cmd = [sys.executable, *"-m torch.distributed.run --standalone --nproc_per_node 2 -m dwm_gym.cli".split()]
    cmd += "world-model train --dataset dwm_gym/hopper/random-v0 --steps 4".split()
    cmd += ["--out", str(out), *"--eval-every 2 --checkpoint-every 2 --device cpu".split()]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [2, 4]  # written once (rank 0), not once per rank
    assert load_world_model(out / "last.safetensors").info["train_steps"] == 4
