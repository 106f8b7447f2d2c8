"""benchmarks/run_archive.py: a run's records are archived, restored and reused only under the same budget,
settings and world model."""

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from dwm_gym.agents.runs import AgentRunConfig

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from run_archive import archive_finished, restore_finished, same_run  # noqa: E402


def config(steps: int) -> AgentRunConfig:
    return AgentRunConfig(algo="td3bc", dataset="dwm_gym/hopper/medium-v0", steps=steps, seed=0, device="cpu")


def write_run(folder: Path, steps: int, scores: list[float]) -> None:
    folder.mkdir(parents=True)
    summary = {"config": dataclasses.asdict(config(steps)), "updates": steps, "final_evaluation": {"score": scores[-1]}}
    (folder / "agent.json").write_text(json.dumps(summary))
    rows = [{"timesteps": 1000.0 * (i + 1), "normalized_score": s, "mean_return": s} for i, s in enumerate(scores)]
    (folder / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_same_run_needs_the_budget_and_the_settings():
    summary = {"config": dataclasses.asdict(config(50_000)), "updates": 50_000}
    assert same_run(summary, 50_000, config(50_000), None)
    assert not same_run(summary, 5_000, config(50_000), None)
    assert not same_run(summary, 50_000, dataclasses.replace(config(50_000), horizon=3), None)


def test_same_run_needs_the_same_world_model():
    dwm = dataclasses.replace(config(50_000), world_model="dwm")
    summary = {"config": dataclasses.asdict(dwm), "updates": 50_000, "world_model_digest": "a" * 64}
    assert same_run(summary, 50_000, dwm, "a" * 64)
    assert not same_run(summary, 50_000, dwm, "b" * 64)  # "dwm" now resolves to other weights
    path = dataclasses.replace(dwm, world_model="/models/hopper_medium_dwm.safetensors")
    assert same_run(summary, 50_000, path, "a" * 64)  # the same model, named by its file instead of "dwm"
    assert not same_run(summary, 50_000, dataclasses.replace(path, horizon=3), "a" * 64)
    del summary["world_model_digest"]
    assert not same_run(summary, 50_000, dwm, "a" * 64)  # a record from before digests: its model is unknown


def test_a_short_run_neither_overwrites_nor_restores_the_archived_long_one(tmp_path, capsys):
    archive, runs = tmp_path / "archive", tmp_path / "runs"
    write_run(archive / "TD3BC_s0", 50_000, [0.3, 0.4])
    long_records = (archive / "TD3BC_s0" / "evaluations.jsonl").read_text()

    restore_finished(runs / "TD3BC_s0", archive, 5_000, config(5_000), None)
    assert not (runs / "TD3BC_s0").exists()  # the 50k curve must not seed the 5k run's folder

    write_run(runs / "TD3BC_s0", 5_000, [0.1])
    archive_finished(runs / "TD3BC_s0", archive, 5_000, config(5_000), None)
    assert (archive / "TD3BC_s0" / "evaluations.jsonl").read_text() == long_records
    assert "not archived" in capsys.readouterr().out


@pytest.mark.parametrize("archived", [False, True])
def test_a_run_with_the_same_budget_is_archived_and_restored(tmp_path, archived):
    archive, runs, fresh = tmp_path / "archive", tmp_path / "runs", tmp_path / "fresh"
    if archived:  # an earlier copy of the same run is refreshed
        write_run(archive / "TD3BC_s0", 50_000, [0.0, 0.0])
    write_run(runs / "TD3BC_s0", 50_000, [0.3, 0.4])
    archive_finished(runs / "TD3BC_s0", archive, 50_000, config(50_000), None)
    restore_finished(fresh / "TD3BC_s0", archive, 50_000, config(50_000), None)
    restored = (fresh / "TD3BC_s0" / "evaluations.jsonl").read_text()
    assert restored == (runs / "TD3BC_s0" / "evaluations.jsonl").read_text()


def test_a_resumed_runs_earlier_log_part_is_archived_and_restored(tmp_path):
    archive, runs, fresh = tmp_path / "archive", tmp_path / "runs", tmp_path / "fresh"
    write_run(runs / "TD3BC_s0", 50_000, [0.3, 0.4])
    (runs / "TD3BC_s0" / "progress.1.csv").write_text("time/total_timesteps\n1000\n")  # before the resumption
    (runs / "TD3BC_s0" / "progress.csv").write_text("time/total_timesteps\n30000\n")  # after it
    archive_finished(runs / "TD3BC_s0", archive, 50_000, config(50_000), None)
    restore_finished(fresh / "TD3BC_s0", archive, 50_000, config(50_000), None)
    for name in ("progress.1.csv", "progress.csv"):
        assert (fresh / "TD3BC_s0" / name).read_text() == (runs / "TD3BC_s0" / name).read_text()


def test_a_finished_run_reports_its_critics_first_and_last_window_and_the_protocol_lists_them(tmp_path):
    from paper_protocol import summarize
    from run_archive import finished

    write_run(tmp_path / "DWM-TD3BC_s0", 50_000, [0.3, 0.4, 0.5])
    summary = json.loads((tmp_path / "DWM-TD3BC_s0" / "agent.json").read_text())
    summary["final_evaluation"] = {"normalized_score": 0.5}
    history = [[1000, 0.5, 15.0, 4.9], [2000, 0.8, 270.0, 10.4], [50000, 22.7, 268.1, 170.3]]
    summary["critic"] = {"divergence": None, "history": history}
    held = finished(tmp_path / "DWM-TD3BC_s0", summary)
    assert held["critic_ends"] == [
        {"updates": 1000, "loss": 0.5, "max_q": 15.0, "mean_abs_target": 4.9},
        {"updates": 50000, "loss": 22.7, "max_q": 268.1, "mean_abs_target": 170.3},
    ]
    old = finished(tmp_path / "DWM-TD3BC_s0", {**summary, "critic": {}})  # archived before the monitor's history
    assert held["critic_max_q"] == 270.0  # the largest window maximum, not the last window's
    assert old["critic_ends"] == [] and old["divergence"] is None and old["critic_max_q"] is None
    three = finished(tmp_path / "DWM-TD3BC_s0", {**summary, "critic": {"history": [r[:3] for r in history]}})
    assert three["critic_ends"][-1] == {"updates": 50000, "loss": 22.7, "max_q": 268.1}  # a monitor before |target|
    row = summarize([{**held, "seed": 0}, {**old, "seed": 1}, {**three, "seed": 2}])
    assert row["critic_loss_first"] == [0.5, None, 0.5] and row["critic_loss_last"] == [22.7, None, 22.7]
    assert row["mean_abs_target_last"] == [170.3, None, None] and row["final_scores"] == [0.5, 0.5, 0.5]
    assert row["last3_mean"] == pytest.approx(0.4)
    lower = [{**point, "normalized_score": point["normalized_score"] - 0.3} for point in held["curve"]]
    curve = summarize([{**held, "seed": 0}, {**held, "seed": 1, "curve": lower}])["curve"]
    assert [p["updates"] for p in curve] == [p["updates"] for p in held["curve"]]
    assert [p["mean"] for p in curve] == pytest.approx([0.15, 0.25, 0.35])
    assert [p["std"] for p in curve] == pytest.approx([0.15] * 3) and {p["runs"] for p in curve} == {2}
