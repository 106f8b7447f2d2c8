"""Tiny sweeps through a local Ray: trials, shared cache, records, reuse, and resumption after kill -9."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray.tune", reason='the sweep tests need the sweep extra: pip install -e ".[sweep]"')

from dwm_gym.data import make_dataset  # noqa: E402
from dwm_gym.sweep import Budget, SweepOptions, load_spec, run_sweep  # noqa: E402
from dwm_gym.sweep.runner import SweepFailedError  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
SPEC = """
name = "{name}"
datasets = ["hopper-medium"]
methods = {methods}
seeds = [0, 1]
[budget]
updates = {updates}
eval_every = 100
eval_episodes = 1
"""
PROVENANCE = ("date", "machine", "commit")  # where and when a record was made: differs between sweeps


def write_spec(folder: Path, name: str, methods: list[str], updates: int) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(SPEC.format(name=name, methods=json.dumps(methods), updates=updates))
    return path


def records(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["name"]: {k: v for k, v in r.items() if k not in PROVENANCE} for r in rows}


@pytest.fixture
def tiny_data():
    make_dataset("hopper-medium", steps=400, seed=0, num_envs=4, overwrite=True, progress=False)


# slow: 43 s on 2 cores under load (Ray's start ~10 s, two workers starting and importing torch ~20 s, the two
# 100-update runs ~10 s), above what the default suite affords
@pytest.mark.slow
def test_smallest_sweep_runs_each_seed_through_a_local_ray(tmp_path):
    make_dataset("hopper-medium", steps=200, seed=0, num_envs=2, overwrite=True, progress=False)
    spec = load_spec(write_spec(tmp_path, "mini", ["TD3BC"], updates=100))
    result = run_sweep(
        dataclasses.replace(spec, budget=Budget(updates=100, eval_every=50, eval_episodes=1)),
        SweepOptions(storage=tmp_path / "sweeps", num_cpus=2, verbose=0),
    )
    assert sorted(result.records) == ["hopper-medium/TD3BC_s0", "hopper-medium/TD3BC_s1"]
    curves = [[(p["updates"], p["mean_return"]) for p in r["curve"]] for r in result.records.values()]
    assert [[u for u, _ in c] for c in curves] == [[50, 100], [50, 100]] and curves[0] != curves[1]
    assert all(r["updates"] == 100 and r["commit"] is not None for r in result.records.values())


@pytest.mark.slow
def test_tiny_sweep_trains_every_trial_shares_one_cache_and_reuses_finished_trials(tmp_path, tiny_data):
    spec = load_spec(write_spec(tmp_path, "tiny", ["TD3BC", "DWM-TD3BC"], updates=300))
    storage = tmp_path / "sweeps"
    result = run_sweep(spec, SweepOptions(storage=storage, num_cpus=2, verbose=0))

    assert sorted(result.records) == sorted(t.name for t in result.trials) and len(result.records) == 4
    for record in result.records.values():
        assert record["updates"] == 300
        assert [point["updates"] for point in record["curve"]] == [100, 200, 300]
    dwm = [r for r in result.records.values() if r["method"] == "DWM-TD3BC"]
    assert {r["world_model_digest"] for r in dwm} == {result.trials[-1].digest} and None not in {
        r["horizon"] for r in dwm
    }
    caches = list((storage / "caches").rglob("*.safetensors"))
    assert len(caches) == 1  # both DWM seeds read one cache, filled by the first stage
    [records_file] = result.record_files
    assert set(records(records_file)) == {"TD3BC_s0", "TD3BC_s1", "DWM-TD3BC_s0", "DWM-TD3BC_s1"}
    # the seeds differ: a sweep that ran one trial twice would not
    assert records(records_file)["TD3BC_s0"]["curve"] != records(records_file)["TD3BC_s1"]["curve"]

    summaries = sorted(result.experiment.glob("runs/*/*/agent.json"))
    stamps = {p: p.stat().st_mtime_ns for p in summaries}
    again = run_sweep(
        spec, SweepOptions(storage=storage, num_cpus=2, verbose=0)
    )  # the same spec: nothing is trained again
    assert again.experiment == result.experiment
    assert {p: p.stat().st_mtime_ns for p in summaries} == stamps
    assert {k: {f: v for f, v in r.items() if f not in PROVENANCE} for k, r in again.records.items()} == {
        k: {f: v for f, v in r.items() if f not in PROVENANCE} for k, r in result.records.items()
    }

    # another machine with the records but not the experiment: only the trial without a record is trained
    kept = [line for line in records_file.read_text().splitlines() if '"TD3BC_s1"' not in line]
    records_file.write_text("\n".join(kept) + "\n")
    elsewhere = run_sweep(spec, SweepOptions(storage=tmp_path / "elsewhere", records=records_file.parent, verbose=0))
    trained = sorted(p.parent.name for p in elsewhere.experiment.glob("runs/*/*/agent.json"))
    assert trained == ["TD3BC_s1"]
    assert set(records(records_file)) == {"TD3BC_s0", "TD3BC_s1", "DWM-TD3BC_s0", "DWM-TD3BC_s1"}
    assert records(records_file)["TD3BC_s1"] == {
        k: v for k, v in result.records["hopper-medium/TD3BC_s1"].items() if k not in PROVENANCE
    }  # the same trial trained again gives the same record
    assert sorted(elsewhere.records) == sorted(result.records)

    # that experiment holds TD3BC_s1 only: with TD3BC_s0's record gone too, nothing trains it: an error says so
    kept = [line for line in records_file.read_text().splitlines() if '"TD3BC_s0"' not in line]
    records_file.write_text("\n".join(kept) + "\n")
    with pytest.raises(SweepFailedError, match="lacks 1 trials.*hopper-medium/TD3BC_s0"):
        run_sweep(spec, SweepOptions(storage=tmp_path / "elsewhere", records=records_file.parent, verbose=0))


def sweep_command(spec: Path, storage: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dwm_gym.cli",
        "sweep",
        str(spec),
        "--storage",
        str(storage),
        "--num-cpus",
        "2",
        "--max-concurrent",
        "1",
        "--tune-verbose",
        "0",
    ]


def environment() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPOSITORY), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


@pytest.mark.slow
def test_killed_driver_resumes_finished_trials_kept_and_results_equal_an_uninterrupted_sweep(tmp_path, tiny_data):
    spec = write_spec(tmp_path, "resume", ["TD3BC"], updates=400)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    driver = subprocess.Popen(sweep_command(spec, killed), env=environment(), start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and driver.poll() is None:
        finished = list(killed.glob("resume-*/*/checkpoint_*/finished.json"))
        done_trials = {p.parent.parent for p in finished}
        started = [p for p in killed.glob("resume-*/*/checkpoint_*") if p.parent not in done_trials]
        if finished and started:  # one trial done, the other one past its first checkpoint
            break
        time.sleep(0.2)
    assert driver.poll() is None, "the sweep ended before it could be killed mid-way"
    assert finished and started, "no trial finished within 300 s"
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    [experiment] = killed.glob("resume-*")
    [done] = [p.parent.parent.name.split("__")[1] for p in finished]
    done_summary = experiment / "runs" / "hopper-medium" / done / "agent.json"
    stamp = done_summary.stat().st_mtime_ns
    # the finished trial's record is on disk already, the unfinished one's is not
    assert set(records(experiment / "records" / "hopper-medium.jsonl")) == {done}

    subprocess.run(sweep_command(spec, killed), env=environment(), check=True, timeout=600)
    assert done_summary.stat().st_mtime_ns == stamp  # the finished trial was not trained again
    [resumed] = {"TD3BC_s0", "TD3BC_s1"} - {done}
    assert (experiment / "runs" / "hopper-medium" / resumed / "progress.1.csv").is_file()  # it continued

    subprocess.run(sweep_command(spec, whole), env=environment(), check=True, timeout=600)
    [uninterrupted] = whole.glob("resume-*")
    assert uninterrupted.name == experiment.name
    after_kill = records(experiment / "records" / "hopper-medium.jsonl")
    assert after_kill == records(uninterrupted / "records" / "hopper-medium.jsonl")
    assert len(after_kill) == 2 and all(r["updates"] == 400 for r in after_kill.values())
