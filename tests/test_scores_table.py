"""benchmarks/scores_table.py: per-dataset scores, ratios between matched runs, and the mean over datasets."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "scores_table.py"


def result(dataset: str, scores: dict[str, tuple[float, list[int]]]) -> dict:
    """A scores.py result whose methods score ``scores[m] = (final = last3 mean, seeds)``."""
    methods = {
        m: {
            "seeds": seeds,
            "d4rl_mean": s,
            "d4rl_std": 0.1,
            "last3_mean": s / 2,
            "last3_std": 0.05,
            "curve": [{"updates": 10_000, "mean": s / 4, "std": 0.01}, {"updates": 20_000, "mean": s, "std": 0.1}],
        }
        for m, (s, seeds) in scores.items()
    }
    return {"dataset": f"dwm_gym/hopper/{dataset}-v0", "methods": methods}


def test_ratios_per_dataset_and_over_datasets(tmp_path):
    five = [0, 1, 2, 3, 4]
    inputs = {
        "medium": {"TD3BC": (0.4, five), "OneStep-TD3BC": (0.5, five), "DWM-TD3BC": (0.6, five)},
        "medium-replay": {"TD3BC": (0.2, five), "OneStep-TD3BC": (0.1, [0, 1]), "DWM-TD3BC": (0.4, five)},
    }
    paths = []
    for name, scores in inputs.items():
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(result(name, scores)))
    out = tmp_path / "table.json"
    cmd = [sys.executable, str(SCRIPT), "--inputs", *map(str, paths), "--json", str(out)]
    printed = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    summary = json.loads(out.read_text())
    medium, replay = summary["ratios"]["hopper-medium"], summary["ratios"]["hopper-medium-replay"]
    assert medium["final"]["DWM-TD3BC / OneStep-TD3BC"] == pytest.approx(1.2)
    assert medium["last3"]["DWM-TD3BC / TD3BC"] == pytest.approx(1.5)
    assert "DWM-TD3BC / OneStep-TD3BC" not in replay["final"]  # the one-step runs have other seeds
    assert replay["final"]["DWM-TD3BC / TD3BC"] == pytest.approx(2.0)
    assert summary["mean_over_datasets"]["TD3BC"]["final"] == pytest.approx(0.3)
    assert summary["mean_ratios"]["final"]["DWM-TD3BC / TD3BC"] == pytest.approx(0.5 / 0.3)
    assert "DWM-TD3BC / OneStep-TD3BC" not in summary["mean_ratios"]["final"]
    assert "| hopper-medium-replay, last 3 | 0.100 ± 0.050 | 0.050 (2 seeds) |" in printed
    assert "| hopper-medium, DWM-TD3BC | 0.150 ± 0.010 | 0.600 ± 0.100 |" in printed  # the learning curve
    assert "| hopper-medium-replay, OneStep-TD3BC |" not in printed  # too few seeds for a curve
    assert "0.300 (unequal seeds)" in printed  # OneStep-TD3BC's mean over datasets: 5 seeds on one, 2 on the other
    assert "| DWM-TD3BC / TD3BC | 1.50 / 1.50 | 2.00 / 2.00 | 1.67 / 1.67 |" in printed


def test_a_missing_input_says_how_to_make_it(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--inputs", str(tmp_path / "none.json")]
    failed = subprocess.run(cmd, capture_output=True, text=True)
    assert failed.returncode != 0 and "--report-only" in failed.stderr


def test_a_result_without_its_dataset_says_how_to_rebuild_it(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"command": "python benchmarks/scores.py", "methods": {}}))
    cmd = [sys.executable, str(SCRIPT), "--inputs", str(old)]
    protocol = tmp_path / "protocol.json"
    protocol.write_text(json.dumps({"dataset": "dwm_gym/hopper/medium-v0", "methods": {}}))
    for args in ([], ["--protocol", str(protocol)]):
        failed = subprocess.run([*cmd, *args], capture_output=True, text=True)
        assert failed.returncode != 0 and "'dataset' field" in failed.stderr and "--report-only" in failed.stderr


def test_the_protocols_chosen_runs_replace_the_defaults_rows_of_the_methods_it_covers(tmp_path):
    five = [0, 1, 2, 3, 4]
    defaults = result(
        "medium",
        {"TD3BC": (0.4, five), "OneStep-TD3BC": (0.5, five), "DWM-TD3BC": (0.6, five), "DWM-IQL": (0.7, five)},
    )
    chosen_runs = {
        "seeds": five,
        "final_mean": 0.8,
        "final_std": 0.2,
        "last3_mean": 0.3,
        "last3_std": 0.1,
        "curve": [{"updates": 10_000, "mean": 0.25, "std": 0.05}],
    }
    protocol = {
        "dataset": "dwm_gym/hopper/medium-v0",
        "methods": {
            "DWM-TD3BC": {"configs": [], "chosen": {"horizon": 3, "rtg": 0.6}, "chosen_runs": chosen_runs},
            "OneStep-TD3BC": {"configs": [], "chosen": None},  # unfinished: left out, not the defaults' row
        },
    }
    (tmp_path / "medium.json").write_text(json.dumps(defaults))
    (tmp_path / "protocol.json").write_text(json.dumps(protocol))
    out = tmp_path / "table.json"
    cmd = [sys.executable, str(SCRIPT), "--inputs", str(tmp_path / "medium.json"), "--json", str(out)]
    printed = subprocess.run(
        [*cmd, "--protocol", str(tmp_path / "protocol.json")], check=True, capture_output=True, text=True
    ).stdout
    summary = json.loads(out.read_text())
    assert summary["protocol"] == {"hopper-medium": {"DWM-TD3BC": {"horizon": 3, "rtg": 0.6}, "OneStep-TD3BC": None}}
    assert list(summary["datasets"]["hopper-medium"]) == ["TD3BC", "DWM-TD3BC"]  # IQL: not in the protocol
    assert summary["ratios"]["hopper-medium"]["final"] == {"DWM-TD3BC / TD3BC": pytest.approx(2.0)}
    assert summary["ratios"]["hopper-medium"]["last3"]["DWM-TD3BC / TD3BC"] == pytest.approx(1.5)
    assert "selection on test returns" in printed and "| hopper-medium, DWM-TD3BC | 0.250 ± 0.050 |" in printed
    partial = {**protocol, "methods": {"DWM-TD3BC": protocol["methods"]["DWM-TD3BC"]}}  # OneStep-TD3BC not run yet
    (tmp_path / "protocol.json").write_text(json.dumps(partial))
    subprocess.run([*cmd, "--protocol", str(tmp_path / "protocol.json")], check=True, capture_output=True)
    summary = json.loads(out.read_text())
    assert summary["protocol"]["hopper-medium"]["OneStep-TD3BC"] is None
    assert list(summary["datasets"]["hopper-medium"]) == ["TD3BC", "DWM-TD3BC"]  # not the defaults' OneStep row
    other = {**protocol, "dataset": "dwm_gym/hopper/medium-replay-v0"}
    (tmp_path / "protocol.json").write_text(json.dumps(other))
    failed = subprocess.run([*cmd, "--protocol", str(tmp_path / "protocol.json")], capture_output=True, text=True)
    assert failed.returncode != 0 and "none of --inputs" in failed.stderr


def test_a_datasets_td3bc_and_iql_protocols_combine_and_every_dataset_needs_one(tmp_path):
    five = [0, 1, 2, 3, 4]
    scores = {"TD3BC": (0.4, five), "DWM-TD3BC": (0.6, five), "IQL": (0.5, five), "DWM-IQL": (0.7, five)}
    for name in ("medium", "medium-replay"):
        (tmp_path / f"{name}.json").write_text(json.dumps(result(name, scores)))

    def chosen(final: float) -> dict:
        runs = {"seeds": five, "final_mean": final, "final_std": 0.1, "last3_mean": final, "last3_std": 0.1}
        return {"configs": [], "chosen": {"horizon": 3, "rtg": 0.6}, "chosen_runs": runs}

    def protocol(dataset: str, method: str, final: float) -> str:
        path = tmp_path / f"{dataset}_{method}.json"
        path.write_text(json.dumps({"dataset": f"dwm_gym/hopper/{dataset}-v0", "methods": {method: chosen(final)}}))
        return str(path)

    out = tmp_path / "table.json"
    cmd = [sys.executable, str(SCRIPT), "--inputs", str(tmp_path / "medium.json"), "--json", str(out), "--protocol"]
    td3bc, iql = protocol("medium", "DWM-TD3BC", 0.8), protocol("medium", "DWM-IQL", 1.0)
    subprocess.run([*cmd, td3bc, iql], check=True, capture_output=True, text=True)
    summary = json.loads(out.read_text())
    assert summary["ratios"]["hopper-medium"]["final"] == {
        "DWM-TD3BC / TD3BC": pytest.approx(2.0),
        "DWM-IQL / IQL": pytest.approx(2.0),
    }
    twice = subprocess.run([*cmd, td3bc, protocol("medium", "DWM-TD3BC", 0.9)], capture_output=True, text=True)
    assert twice.returncode != 0 and "'DWM-TD3BC'" in twice.stderr and "pass one" in twice.stderr
    inputs = [str(tmp_path / f"{name}.json") for name in ("medium", "medium-replay")]
    both = [sys.executable, str(SCRIPT), "--inputs", *inputs]
    missing = subprocess.run([*both, "--protocol", td3bc], capture_output=True, text=True)
    assert missing.returncode != 0 and "dwm_gym/hopper/medium-replay-v0" in missing.stderr
