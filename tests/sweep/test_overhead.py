"""Ray's overhead per trial, read from a Tune experiment's state: launch, Tune's span and the run's own wall time."""

import json

import pytest

from dwm_gym.sweep.overhead import OverheadError, overhead_report, trial_times


def trial(name: str, start: float, end: float, run_s: float | None, done: int = 100, steps: int = 100) -> list[str]:
    """One ``trial_data`` entry as Tune writes it: (trial state, run metadata), each a JSON text."""
    result = {"done_updates": done, "time_total_s": end - start - 0.5, "config": {"trial": {"name": name,
              "config": {"steps": steps}}}}  # fmt: skip
    if run_s is not None:
        result["run_wall_s"] = run_s
    metadata = {"start_time": start, "last_result_time": end, "last_result": result}
    return [json.dumps({"trial_id": name}), json.dumps(metadata)]


def write_state(folder, *trials, begun: float = 100.0):
    folder.mkdir(parents=True, exist_ok=True)
    state = {"trial_data": list(trials), "runner_data": {}, "stats": {"start_time": begun}}
    (folder / "experiment_state-2000-01-01_00-00-00.json").write_text(json.dumps(state))


def test_each_finished_trial_gets_its_launch_span_run_time_and_overhead(tmp_path):
    write_state(
        tmp_path,
        trial("d/A_s0", start=110.0, end=210.0, run_s=90.0),  # launched 10 s after the experiment began
        trial("d/A_s1", start=112.0, end=200.0, run_s=80.0),
        trial("d/A_s2", start=204.0, end=304.0, run_s=99.0),  # its slot freed at 200 (A_s1's end)
        trial("d/A_s3", start=300.0, end=330.0, run_s=None, done=50),  # unfinished: left out
    )
    rows = {row.name: row for row in trial_times(tmp_path)}
    assert sorted(rows) == ["d/A_s0", "d/A_s1", "d/A_s2"]
    a, c = rows["d/A_s0"], rows["d/A_s2"]
    assert (a.launch_s, a.trial_s, a.run_s, a.trainable_s) == (10.0, 100.0, 90.0, 99.5)
    assert a.overhead == pytest.approx(20 / 110) and a.overhead_in_trial == pytest.approx(0.1)
    assert c.launch_s == 4.0 and c.overhead == pytest.approx(5 / 104)
    summary = overhead_report(tmp_path)["summary"]
    assert summary["trials"] == 3 and summary["overhead_max"] == pytest.approx(20 / 100)  # A_s1: 12 + 88 - 80
    assert summary["run_s_mean"] == pytest.approx((90 + 80 + 99) / 3)


def test_a_folder_without_tune_state_or_without_the_runs_time_is_refused_saying_why(tmp_path):
    with pytest.raises(OverheadError, match="not a Tune experiment folder"):
        trial_times(tmp_path)
    write_state(tmp_path / "old", trial("d/A_s0", start=110.0, end=210.0, run_s=None))
    with pytest.raises(OverheadError, match="reports no run_wall_s"):
        trial_times(tmp_path / "old")
    write_state(tmp_path / "running", trial("d/A_s0", start=110.0, end=210.0, run_s=5.0, done=10))
    with pytest.raises(OverheadError, match="no finished trial"):
        trial_times(tmp_path / "running")


def test_a_resumed_trial_adds_its_earlier_segments_run_time(tmp_path):
    import time

    from dwm_gym.sweep.trial import RUN_WALL, TIMING, ReportCheckpoints, _run_seconds

    (tmp_path / TIMING).write_text(json.dumps({RUN_WALL: 12.5}))  # what the restored Tune checkpoint holds
    assert _run_seconds(tmp_path) == 12.5 and _run_seconds(tmp_path / "older") == 0.0
    report = ReportCheckpoints(tmp_path, every=10, rng_state=None, run_s=_run_seconds(tmp_path))
    time.sleep(0.1)
    assert 12.6 <= report.run_seconds() < 20


def test_the_newest_state_file_is_chosen_by_its_name_not_its_modification_time(tmp_path):
    import os

    write_state(tmp_path, trial("d/A_s0", start=110.0, end=210.0, run_s=90.0))
    newer = tmp_path / "experiment_state-2000-01-01_00-05-00.json"
    (tmp_path / "experiment_state-2000-01-01_00-00-00.json").rename(newer)
    write_state(tmp_path, trial("d/A_s0", start=110.0, end=130.0, run_s=5.0, done=20))  # the first driver's state
    os.utime(tmp_path / "experiment_state-2000-01-01_00-00-00.json", (4e9, 4e9))  # touched last, as Tune does
    assert [row.run_s for row in trial_times(tmp_path)] == [90.0]


def test_a_trial_restored_after_an_interruption_is_marked_and_left_out_of_the_summary(tmp_path):
    restored = trial("d/A_s1", start=100.0, end=400.0, run_s=100.0)
    metadata = json.loads(restored[1])
    metadata["last_result"].update(training_iteration=5, iterations_since_restore=4)
    write_state(tmp_path, trial("d/A_s0", start=110.0, end=210.0, run_s=90.0), [restored[0], json.dumps(metadata)])
    report = overhead_report(tmp_path)
    assert [row["restored"] for row in report["trials"]] == [False, True]
    assert report["summary"]["trials"] == 1 and report["summary"]["overhead_max"] == pytest.approx(20 / 110)
