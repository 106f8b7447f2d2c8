"""Every benchmark and study script runs end to end with ``--tiny`` and writes the shared run and machine records.

The scripts run as subprocesses from an empty working folder, so a ``--tiny`` run that wrote to a default
location (``benchmarks/results``, ``studies/results``, ``docs/img``, ``runs/``) would leave it there and fail the test.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dwm_gym.evaluation.run_records import read_records

pytestmark = pytest.mark.smoke  # a command, script or benchmark end to end at tiny sizes

REPOSITORY = Path(__file__).resolve().parent.parent
BENCHMARKS = REPOSITORY / "benchmarks"
STUDIES = REPOSITORY / "studies"


def run_script(cwd: Path, script: str, *args: str, timeout: float = 180) -> dict:
    """Runs ``benchmarks/<script>`` (else ``studies/<script>``) with ``--tiny`` and the arguments; returns its JSON."""
    out = cwd / f"{Path(script).stem}.json"
    env = {**os.environ, "MUJOCO_GL": "egl", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    path = BENCHMARKS / script if (BENCHMARKS / script).is_file() else STUDIES / script
    command = [sys.executable, str(path), *args, "--tiny", "--json", str(out)]
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(command)}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return json.loads(out.read_text())


def numbers(value) -> list[float]:
    """Every number inside ``value`` (nested dicts and lists; booleans and None skipped)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [n for item in value for n in numbers(item)]
    return []


def check_records(result: dict, key: str) -> None:
    """The harness's records are there and the script's main result holds only finite numbers."""
    import dwm_gym

    assert result["run"]["version"] == dwm_gym.__version__
    assert "commit" in result["run"] and "date" in result["run"] and result["run"]["arguments"]["tiny"] is True
    assert {"platform", "processor", "cpu_count", "torch", "torch_threads", "cuda", "python"} <= set(result["machine"])
    found = numbers(result[key])
    assert found, f"no numbers under {key!r}"
    assert all(math.isfinite(n) for n in found), f"non-finite numbers under {key!r}: {result[key]}"


SCRIPTS = [  # (script and its arguments, the main result key)
    pytest.param(["action_pull.py"], "rows", id="action_pull"),
    pytest.param(["action_response.py"], "rows", id="action_response"),
    pytest.param(["behavior_curves.py"], "tasks", id="behavior_curves"),
    pytest.param(["data_scores.py"], "datasets", id="data_scores"),
    pytest.param(["dataset_throughput.py"], "ratio", id="dataset_throughput"),
    pytest.param(["error_tails.py"], "z_mean", id="error_tails"),
    pytest.param(["denoiser_channels.py"], "models", id="denoiser_channels"),
    pytest.param(["fidelity.py"], "summary", id="fidelity"),
    pytest.param(["half_precision.py"], "rows", id="half_precision"),
    pytest.param(["imagined_env.py"], "rows", id="imagined_env"),
    pytest.param(["imagined_terminations.py"], "shares", id="imagined_terminations"),
    pytest.param(["mve_cost.py"], "rows", id="mve_cost"),
    pytest.param(["update_speed.py"], "profiles", id="update_speed"),
    pytest.param(["seed_batching.py"], "rows", id="seed_batching"),
    pytest.param(["rtg_futures.py"], "parts", id="rtg_futures"),
    pytest.param(["mve_target_noise.py"], "datasets", id="mve_target_noise"),
    pytest.param(["mve_divergence.py", "sampler"], "results", id="mve_divergence_sampler"),
    pytest.param(["mve_divergence.py", "critic"], "log", id="mve_divergence_critic"),
    pytest.param(["sampler.py"], "speedup", id="sampler"),
    pytest.param(["state_normalization.py"], "models", id="state_normalization"),
    pytest.param(["world_model_errors.py"], "datasets", id="world_model_errors"),
    # 3 training runs of 1,000 updates each (train_agent logs the critic loss every 1,000) in 2 spawned workers
    pytest.param(["mve_stability.py"], "variants", id="mve_stability", marks=pytest.mark.slow),
    # a 2-trial sweep through a local Ray (~45 s on 2 busy cores: Ray's start and two workers importing torch)
    pytest.param(["ray_overhead.py"], "summary", id="ray_overhead", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("command", "key"), SCRIPTS)
def test_tiny_run(tmp_path, command, key):
    result = run_script(tmp_path, *command)
    check_records(result, key)
    assert not {"benchmarks", "studies", "docs", "runs"} & {p.name for p in tmp_path.iterdir()}, (
        "wrote to a default path"
    )


@pytest.mark.parametrize(
    ("script", "key", "kept"),
    [
        ("world_model_errors.py", "datasets", {"dataset": "dwm_gym/walker2d/medium-expert-v0", "tables": []}),
        ("rtg_default.py", "datasets", {"walker2d-medium-expert": {"rtg": {}}}),
        ("action_response_by_id.py", "ids", {"DWM-walker2d-medium-expert-v0": {"policies": {}}}),
    ],
    ids=["world_model_errors", "rtg_default", "action_response_by_id"],
)
def test_data_driven_benchmarks_keep_the_entries_they_did_not_measure(tmp_path, script, key, kept):
    (tmp_path / f"{Path(script).stem}.json").write_text(
        json.dumps({key: [kept] if isinstance(kept, dict) and "dataset" in kept else kept})
    )
    result = run_script(tmp_path, script)  # also the tiny run of the two scripts not in SCRIPTS
    check_records(result, key)
    assert not {"benchmarks", "studies", "docs", "runs"} & {p.name for p in tmp_path.iterdir()}
    entries = result[key]
    if isinstance(entries, list):
        assert [e["dataset"] for e in entries] == ["dwm_gym/hopper/medium-v0", "dwm_gym/walker2d/medium-expert-v0"]
        assert entries[1] == kept
    else:
        assert list(entries)[-1] == next(iter(kept)) and len(entries) == 2
        assert entries[next(iter(kept))] == kept[next(iter(kept))]


@pytest.mark.slow  # 6 training runs and two worker processes (~10 s of CPU), then a second invocation
def test_tiny_scores_then_report_only(tmp_path):
    runs, archive = tmp_path / "scores_runs", tmp_path / "scores_archive"
    result = run_script(tmp_path, "scores.py", "--runs", str(runs), "--archive", str(archive))
    check_records(result, "methods")
    assert set(result["methods"]) == {"TD3BC", "OneStep-TD3BC", "DWM-TD3BC", "IQL", "OneStep-IQL", "DWM-IQL"}
    assert result["dataset"] == "dwm_gym/hopper/medium-v0"  # what the report labels the row with
    archived = read_records(archive / "hopper-medium.jsonl")  # one compact record per finished run
    assert sorted(r.name for r in archived) == sorted(f"{m}_s0" for m in result["methods"])
    assert all(r.updates == 20 and r.commit is not None and r.machine for r in archived)
    shutil.rmtree(runs)  # a fresh --runs folder: --report-only reports the finished runs from their records
    report = run_script(tmp_path, "scores.py", "--runs", str(runs), "--archive", str(archive), "--report-only")
    check_records(report, "methods")
    assert report["missing_runs"] == [] and len(report["runs"]) == 6
    assert not {"benchmarks", "studies", "docs", "runs"} & {p.name for p in tmp_path.iterdir()}, (
        "wrote to a default path"
    )


@pytest.mark.slow  # 4 training runs in two worker processes
def test_tiny_paper_protocol_chooses_a_configuration_per_method(tmp_path):
    result = run_script(tmp_path, "paper_protocol.py")
    check_records(result, "methods")
    for method in ("DWM-TD3BC", "OneStep-TD3BC"):
        row = result["methods"][method]
        scores = {(c["horizon"], c["rtg"]): c["final_mean"] for c in row["configs"]}
        chosen = (row["chosen"]["horizon"], row["chosen"]["rtg"])
        assert scores[chosen] == max(scores.values()) and row["chosen_runs"]["seeds"] == [0]
    assert result["missing_runs"] == [] and "selection on test returns" in result["label"]
    assert "--horizon " not in result["command"]  # the recorded command is the protocol's own (it has --horizons)


def test_harness_records(tmp_path, monkeypatch):
    from dwm_gym.benchmarking import harness

    parser = harness.make_parser("doc", "benchmarks/results/x.json", device=None)
    parser.add_argument("--steps", type=int, default=1000)
    assert harness.parse_args(parser, {"steps": 2}, []).steps == 1000
    tiny = harness.parse_args(parser, lambda: {"steps": 2}, ["--tiny"])
    assert tiny.steps == 2 and not tiny.json.startswith("benchmarks/results")
    assert harness.parse_args(parser, {"steps": 2}, ["--tiny", "--steps", "5"]).steps == 5  # explicit flags win
    assert harness.parse_args(harness.make_parser("doc", None), None, ["--tiny"]).json.endswith(".json")
    assert "--tiny" in harness.command_line(tiny)
    assert "--tiny" not in harness.command_line(harness.parse_args(parser, argv=[]))  # no "--tiny False"

    monkeypatch.setattr(harness, "REPOSITORY", tmp_path)  # not a git checkout
    path = harness.write_result(tmp_path / "out" / "r.json", {"value": 1.5}, tiny)
    result = json.loads(path.read_text())
    assert result["value"] == 1.5 and result["run"]["commit"] is None and result["run"]["arguments"]["steps"] == 2
    package = result["run"]["package"]  # the code that ran, recorded apart from the scripts' checkout
    import dwm_gym

    folder = Path(dwm_gym.__file__).resolve().parent
    assert package["path"] == str(folder)
    if (folder.parent / ".git").exists():  # an editable install: its own checkout's commit, not None
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder.parent, capture_output=True, text=True)
        assert package["commit"] == head.stdout.strip() and isinstance(package["dirty"], bool)
    else:
        assert package["commit"] is None and package["dirty"] is None
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temp file left behind
    with pytest.raises(ValueError, match="run"):
        harness.write_result(tmp_path / "bad.json", {"run": 1}, tiny)


def test_the_paper_protocol_never_chooses_a_diverged_configuration(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from paper_protocol import choose

    def config(h, g, score, diverged, seeds=(0, 1)):
        return {"horizon": h, "rtg": g, "final_mean": score, "seeds": list(seeds), "diverged": diverged}

    grid = [config(1, 0.6, 0.9, 1), config(3, 0.6, 0.5, 0), config(5, 0.6, 0.5, 0), config(5, 0.7, 0.4, 0)]
    assert choose(grid, 2) == {"horizon": 3, "rtg": 0.6}  # the best score diverged; the tie goes to the smaller H
    assert choose([config(1, 0.6, 0.9, 2), config(3, 0.6, 0.5, 1)], 2) is None  # nothing sound to choose
    assert choose([*grid, config(7, 0.6, 0.8, 0, seeds=(0,))], 2) is None  # one configuration is unfinished
    assert choose([*grid, config(7, 0.6, None, 0, seeds=())], 2) is None


@pytest.mark.slow  # 12 training runs of 20 updates in two worker processes
def test_tiny_h1_divergence(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(STUDIES))
    from h1_divergence import VARIANTS

    result = run_script(tmp_path, "h1_divergence.py", timeout=600)
    check_records(result, "variants")
    assert list(result["variants"]) == list(VARIANTS)
    assert all(row["seeds"] == [0] and len(row["curve"]) == 2 for row in result["variants"].values())


def test_unmasking_falls_turns_a_share_of_terminations_into_truncations(monkeypatch):
    import numpy as np

    from dwm_gym.benchmarking.altered_targets import unmask_falls
    from dwm_gym.data import Episode, OfflineDataset

    def episode(k: int, falls: bool) -> Episode:
        end = np.zeros(5, bool)
        end[-1] = True
        obs = np.full((6, 11), float(k))
        never = np.zeros(5, bool)
        return Episode(obs, np.zeros((5, 3)), np.ones(5), end if falls else never, never if falls else end)

    dataset = OfflineDataset([episode(k, falls=k < 6) for k in range(8)], env_id="Hopper-v5")
    altered, unmasked = unmask_falls(dataset, 0.5)
    assert unmasked == 3
    assert sum(e.terminated for e in altered.episodes) == 3 and sum(e.terminated for e in dataset.episodes) == 6
    assert altered.transitions["truncations"].sum() == 5  # 2 cut before + 3 falls now cut
    np.testing.assert_array_equal(altered.transitions["observations"], dataset.transitions["observations"])
    again, _ = unmask_falls(dataset, 0.5)  # the same falls every time (one fixed generator)
    np.testing.assert_array_equal(again.transitions["terminations"], altered.transitions["terminations"])
