"""dwm_gym.evaluation.run_records: a finished run folder becomes one compact record; records files round-trip,
are written atomically and refuse bad input with a message saying what is wrong."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from dwm_gym.evaluation import normalized_score
from dwm_gym.evaluation.run_records import (
    RunRecord,
    RunRecordError,
    append_records,
    read_records,
    record_from_run_folder,
)

HISTORY = [[1000, 44.0, 61.9, 26.9], [2000, 15.2, 110.2, 55.7], [3000, 4.3, 80.0, 264.1]]


def run_folder(folder: Path, evaluations=((1000, [100.0, 300.0]), (2000, [1000.0, 1200.0])), **summary) -> Path:
    folder.mkdir(parents=True)
    rows = [
        {"timesteps": float(t), "mean_return": float(np.mean(r)), "std_return": float(np.std(r)), "returns": r}
        | {"normalized_score": float(np.mean(normalized_score("hopper", r)))}
        for t, r in evaluations
    ]
    config = {
        "algo": "td3bc",
        "dataset": "dwm_gym/hopper/medium-v0",
        "world_model": "/somewhere/hopper_medium_dwm.safetensors",
        "horizon": 5,
        "rtg": 0.7,
        "seed": 3,
        "steps": 2000,
        "eval_every": 1000,
        "eval_episodes": 2,
        "cache_file": "/somewhere/cache.safetensors",
    }
    agent = {
        "config": config,
        "env_id": "Hopper-v5",
        "dataset_id": "dwm_gym/hopper/medium-v0",
        "world_model_digest": "a" * 64,
        "updates": 2000,
        "final_evaluation": rows[-1],
        "critic": {"divergence": None, "history": HISTORY},
        **summary,
    }
    (folder / "agent.json").write_text(json.dumps(agent))
    (folder / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_a_run_folder_becomes_a_record_with_its_settings_curve_critic_and_provenance(tmp_path):
    folder = run_folder(tmp_path / "DWM-TD3BC_h5_rtg0.7_s3")
    record = record_from_run_folder(folder, commit="c" * 40, date="2026-01-01T00:00:00+00:00", machine={"cpu": 2})
    assert (record.name, record.method, record.algo, record.seed) == ("DWM-TD3BC_h5_rtg0.7_s3", "DWM-TD3BC", "td3bc", 3)
    assert (record.horizon, record.rtg, record.updates, record.eval_every) == (5, 0.7, 2000, 1000)
    assert record.world_model == "hopper_medium_dwm.safetensors"  # the machine's path is not kept
    assert "cache_file" not in record.settings and record.settings["dataset"] == "dwm_gym/hopper/medium-v0"
    assert record.world_model_digest == "a" * 64 and record.dataset_hash is None
    assert [p.updates for p in record.curve] == [1000, 2000] and record.final == record.curve[-1]
    spread = np.std(normalized_score("hopper", [1000.0, 1200.0]))
    assert record.final.normalized_std == pytest.approx(spread) and record.final_returns == (1000.0, 1200.0)
    assert record.critic.first == {"updates": 1000, "loss": 44.0, "max_q": 61.9, "mean_abs_target": 26.9}
    assert record.critic.last["loss"] == 4.3 and record.critic.max_q == 110.2  # the largest window's, not the last
    # the windows that end at an evaluation (1000, 2000), not the one after the last evaluation (3000)
    assert [w["updates"] for w in record.critic.curve] == [1000, 2000] and record.critic.curve[1]["loss"] == 15.2
    assert (record.commit, record.machine) == ("c" * 40, {"cpu": 2})


def test_a_resumed_runs_repeated_evaluation_counts_once(tmp_path):
    folder = run_folder(tmp_path / "TD3BC_s0", evaluations=((1000, [0.0]), (1000, [500.0]), (2000, [900.0])))
    record = record_from_run_folder(folder)
    assert [p.updates for p in record.curve] == [1000, 2000] and record.curve[0].mean_return == 500.0


def test_records_round_trip_through_a_file_written_atomically(tmp_path):
    a = record_from_run_folder(run_folder(tmp_path / "runs" / "TD3BC_s0"))
    b = record_from_run_folder(run_folder(tmp_path / "runs" / "TD3BC_s1"))
    path = tmp_path / "records" / "hopper-medium.jsonl"
    append_records(path, [a])
    append_records(path, [b])
    assert read_records(path) == [a, b]
    assert [p.name for p in path.parent.iterdir()] == ["hopper-medium.jsonl"]  # no temp file left behind
    assert read_records(tmp_path / "none.jsonl") == []


def test_a_name_is_unique_in_its_file(tmp_path):
    record = record_from_run_folder(run_folder(tmp_path / "TD3BC_s0"))
    path = append_records(tmp_path / "r.jsonl", [record])
    before = path.read_text()
    with pytest.raises(RunRecordError, match="two records named 'TD3BC_s0'"):
        append_records(path, [dataclasses.replace(record, seed=4)])
    assert path.read_text() == before  # nothing written


def test_a_bad_line_names_its_file_line_and_fields(tmp_path):
    good = record_from_run_folder(run_folder(tmp_path / "TD3BC_s0")).to_dict()
    path = tmp_path / "r.jsonl"
    del good["updates"]
    path.write_text("\n" + json.dumps(good) + "\n")
    with pytest.raises(RunRecordError, match=r"r\.jsonl:2: .*missing fields \['updates'\]"):
        read_records(path)
    path.write_text("{not json\n")
    with pytest.raises(RunRecordError, match=r"r\.jsonl:1:"):
        read_records(path)
    with pytest.raises(RunRecordError, match="schema 99"):
        RunRecord.from_dict({**good, "updates": 1, "schema": 99})
    with pytest.raises(RunRecordError, match="unknown fields \\['colour'\\]"):
        RunRecord.from_dict({**good, "updates": 1, "colour": "red"})
    with pytest.raises(RunRecordError, match="wrong seed"):
        RunRecord.from_dict({**good, "updates": 1, "seed": "0"})


def test_an_unfinished_or_missing_run_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(RunRecordError, match="no agent.json"):
        record_from_run_folder(tmp_path)
    folder = run_folder(tmp_path / "TD3BC_s0")
    agent = json.loads((folder / "agent.json").read_text())
    del agent["final_evaluation"]
    (folder / "agent.json").write_text(json.dumps(agent))
    with pytest.raises(RunRecordError, match="did not finish"):
        record_from_run_folder(folder)


def test_a_run_made_outside_train_agent_gets_its_missing_settings_explicitly(tmp_path):
    folder = run_folder(tmp_path / "DWM-TD3BC_h1_imagined-reward_s2", config={}, variant="imagined-reward")
    with pytest.raises(RunRecordError, match=r"lacks the settings \['algo', 'seed'\]"):
        record_from_run_folder(folder)
    record = record_from_run_folder(folder, settings={"algo": "td3bc", "seed": 2, "horizon": 1})
    assert (record.seed, record.horizon, record.method) == (2, 1, "DWM-TD3BC")


def test_writers_side_by_side_lose_no_record(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    base = record_from_run_folder(run_folder(tmp_path / "TD3BC_s0"))
    path = tmp_path / "records" / "hopper-medium.jsonl"
    names = [f"TD3BC_w{w}_s{k}" for w in range(6) for k in range(5)]

    def write(worker: int) -> None:
        for k in range(5):
            append_records(path, [dataclasses.replace(base, name=f"TD3BC_w{worker}_s{k}")])

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))
    assert sorted(r.name for r in read_records(path)) == sorted(names)


def test_a_version_1_record_reads_and_writes_back_unchanged_and_new_records_are_version_2(tmp_path):
    import json

    line = (Path(__file__).parents[2] / "benchmarks/results/records/hopper-medium.jsonl").read_text().splitlines()[0]
    old = json.loads(line)
    assert old["schema"] == 1 and "curve" not in old["critic"]
    record = RunRecord.from_dict(old)
    assert record.critic.curve == () and json.loads(json.dumps(record.to_dict())) == old
    assert record_from_run_folder(run_folder(tmp_path / "TD3BC_s0")).to_dict()["schema"] == 2
