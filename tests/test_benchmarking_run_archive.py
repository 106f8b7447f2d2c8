"""dwm_gym.benchmarking.run_archive: a run's record is archived and reused only under the same budget, settings
and world model."""

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from dwm_gym.agents.runs import AgentRunConfig
from dwm_gym.benchmarking.run_archive import archive_finished, archived_record, finished, same_run
from dwm_gym.evaluation.run_records import read_records, record_from_run_folder


def config(steps: int, **changes) -> AgentRunConfig:
    base = AgentRunConfig(algo="td3bc", dataset="dwm_gym/hopper/medium-v0", steps=steps, seed=0, device="cpu")
    return dataclasses.replace(base, **changes)


def write_run(folder: Path, run: AgentRunConfig, scores: list[float], digest: str | None = None, critic=None) -> Path:
    folder.mkdir(parents=True)
    final = {"normalized_score": scores[-1], "mean_return": 1000 * scores[-1], "returns": [1000 * scores[-1]]}
    summary = {
        "config": dataclasses.asdict(run),
        "updates": run.steps,
        "world_model_digest": digest,
        "final_evaluation": {**final, "timesteps": float(run.steps)},
        "critic": critic or {},
    }
    (folder / "agent.json").write_text(json.dumps(summary))
    rows = [
        {"timesteps": 1000.0 * (i + 1), "normalized_score": s, "mean_return": 1000 * s, "returns": [1000 * s]}
        for i, s in enumerate(scores)
    ]
    (folder / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def record(tmp_path: Path, run: AgentRunConfig, digest: str | None = None):
    return record_from_run_folder(write_run(tmp_path / "TD3BC_s0", run, [0.3, 0.4], digest))


def test_same_run_needs_the_budget_and_the_settings(tmp_path):
    stored = record(tmp_path, config(50_000))
    assert same_run(stored, 50_000, config(50_000), None)
    assert not same_run(stored, 5_000, config(50_000), None)
    assert not same_run(stored, 50_000, config(50_000, horizon=3), None)
    assert same_run(stored, 50_000, config(50_000, eval_every=5_000), None)  # changes nothing learned


def test_same_run_needs_the_same_world_model(tmp_path):
    dwm = config(50_000, world_model="dwm")
    stored = record(tmp_path, dwm, "a" * 64)
    assert same_run(stored, 50_000, dwm, "a" * 64)
    assert not same_run(stored, 50_000, dwm, "b" * 64)  # "dwm" now resolves to other weights
    path = dataclasses.replace(dwm, world_model="/models/hopper_medium_dwm.safetensors")
    assert same_run(stored, 50_000, path, "a" * 64)  # the same model, named by its file instead of "dwm"
    assert not same_run(stored, 50_000, dataclasses.replace(path, horizon=3), "a" * 64)
    undigested = dataclasses.replace(stored, world_model_digest=None)
    assert not same_run(undigested, 50_000, dwm, "a" * 64)  # a record from before digests: its model is unknown


def test_a_short_run_never_replaces_the_archived_long_one(tmp_path, capsys):
    archive = tmp_path / "records" / "hopper-medium.jsonl"
    long_run = write_run(tmp_path / "long" / "TD3BC_s0", config(50_000), [0.3, 0.4])
    assert archive_finished(long_run, archive, 50_000, config(50_000), None).updates == 50_000
    short = write_run(tmp_path / "short" / "TD3BC_s0", config(5_000), [0.1])
    assert archive_finished(short, archive, 5_000, config(5_000), None) is None
    assert "not archived" in capsys.readouterr().out
    assert [r.updates for r in read_records(archive)] == [50_000]
    again = archive_finished(long_run, archive, 50_000, config(50_000), None)  # the same run: kept once
    assert again == archived_record(archive, "TD3BC_s0") and len(read_records(archive)) == 1


def test_an_archived_record_carries_this_checkouts_provenance(tmp_path):
    archive = tmp_path / "hopper-medium.jsonl"
    stored = archive_finished(
        write_run(tmp_path / "TD3BC_s0", config(50_000), [0.3]), archive, 50_000, config(50_000), None
    )
    assert stored.date and stored.machine["cpu_count"] and "load_average" not in stored.machine
    assert stored.commit is None or len(stored.commit) == 40


def test_a_finished_run_reports_its_critics_first_and_last_window_and_the_protocol_lists_them(tmp_path):
    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from paper_protocol import summarize

    history = [[1000, 0.5, 15.0, 4.9], [2000, 0.8, 270.0, 10.4], [50000, 22.7, 268.1, 170.3]]
    scores = [0.3, 0.4, 0.5]
    held = finished(
        record_from_run_folder(write_run(tmp_path / "a", config(50_000), scores, critic={"history": history}))
    )
    assert held["critic_ends"] == [
        {"updates": 1000, "loss": 0.5, "max_q": 15.0, "mean_abs_target": 4.9},
        {"updates": 50000, "loss": 22.7, "max_q": 268.1, "mean_abs_target": 170.3},
    ]
    assert held["critic_max_q"] == 270.0  # the largest window maximum, not the last window's
    old = finished(record_from_run_folder(write_run(tmp_path / "b", config(50_000), scores)))  # no monitor history
    assert old["critic_ends"] == [] and old["divergence"] is None and old["critic_max_q"] is None
    three = [r[:3] for r in history]  # a monitor from before mean |target|
    short = finished(
        record_from_run_folder(write_run(tmp_path / "c", config(50_000), scores, critic={"history": three}))
    )
    assert short["critic_ends"][-1] == {"updates": 50000, "loss": 22.7, "max_q": 268.1}
    row = summarize([{**held, "seed": 0}, {**old, "seed": 1}, {**short, "seed": 2}])
    assert row["critic_loss_first"] == [0.5, None, 0.5] and row["critic_loss_last"] == [22.7, None, 22.7]
    assert row["mean_abs_target_last"] == [170.3, None, None] and row["final_scores"] == [0.5, 0.5, 0.5]
    assert row["last3_mean"] == pytest.approx(0.4)
    lower = [{**point, "normalized_score": point["normalized_score"] - 0.3} for point in held["curve"]]
    curve = summarize([{**held, "seed": 0}, {**held, "seed": 1, "curve": lower}])["curve"]
    assert [p["updates"] for p in curve] == [p["updates"] for p in held["curve"]]
    assert [p["mean"] for p in curve] == pytest.approx([0.15, 0.25, 0.35])
    assert [p["std"] for p in curve] == pytest.approx([0.15] * 3) and {p["runs"] for p in curve} == {2}
