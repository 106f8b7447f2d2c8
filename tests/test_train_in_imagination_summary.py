"""studies/train_in_imagination_summary.py: the per-config table and the mean learning curve."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "studies" / "train_in_imagination_summary.py"


def write_seed(folder: Path, scores: list[float], q_max: float) -> None:
    folder.mkdir(parents=True)
    steps = [1000 * (i + 1) for i in range(len(scores))]
    evaluations = [{"timesteps": float(t), "normalized_score": s} for t, s in zip(steps, scores)]
    training = [{"timesteps": float(t), "return": 100.0 * t, "length": 10.0, "q_max": q_max} for t in steps]
    (folder / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evaluations))
    (folder / "training_episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in training))


def test_summary_averages_seeds_and_prints_the_curve(tmp_path):
    write_seed(tmp_path / "cfg" / "seed0", [0.2, 0.4, 0.6], q_max=10.0)
    write_seed(tmp_path / "cfg" / "seed1", [0.4, 0.6, 0.2], q_max=30.0)
    write_seed(tmp_path / "cfg" / "seed2", [0.5], q_max=1.0)  # did not reach --steps: left out
    cmd = [sys.executable, str(SCRIPT), "--runs", str(tmp_path), "--steps", "3000", "--frozen", "1000", "--curve"]
    printed = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    row = json.loads((tmp_path / "summary.json").read_text())["runs"]["cfg"]
    assert row["seeds"] == 2
    assert row["score_frozen"] == pytest.approx([0.3, 0.1])
    assert row["score_final"] == pytest.approx([0.4, 0.2])
    assert row["q_max_final"] == pytest.approx([20.0, 10.0])
    assert {int(k): v[0] for k, v in row["curve"].items()} == pytest.approx({1000: 0.3, 2000: 0.5, 3000: 0.4})
    assert "| cfg (2 seeds) | 0.300 ± 0.100 | 0.500 ± 0.100 | 0.400 ± 0.200 |" in printed
