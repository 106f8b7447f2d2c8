"""A sweep's records file: a trial measured again replaces its record; another run of the same name never does."""

import dataclasses

from dwm_gym.evaluation.run_records import Evaluation, RunRecord, read_records
from dwm_gym.sweep.records import write_records


def record(name: str, updates: int = 300, seed: int = 0, score: float = 0.1) -> RunRecord:
    point = Evaluation(updates=updates, normalized_score=score, normalized_std=0.0, mean_return=1.0, std_return=0.0)
    settings = {"algo": "td3bc", "seed": seed, "steps": updates, "device": "cpu", "eval_every": 100}
    return RunRecord(
        name=name,
        method=name.split("_")[0],
        algo="td3bc",
        dataset_id="dwm_gym/hopper/medium-v0",
        seed=seed,
        updates=updates,
        final=point,
        curve=(point,),
        settings=settings,
    )


def test_records_are_replaced_only_by_the_same_trial(tmp_path):
    write_records(
        tmp_path,
        [("hopper-medium", record("TD3BC_s0").to_dict()), ("hopper-medium", record("TD3BC_s1", seed=1).to_dict())],
    )
    again = dataclasses.replace(
        record("TD3BC_s0", score=0.2), settings={**record("TD3BC_s0").settings, "device": "cuda"}
    )
    check = record("TD3BC_s1", updates=20, seed=1, score=0.9)  # a short check run under a committed run's name
    [path] = write_records(tmp_path, [("hopper-medium", again.to_dict()), ("hopper-medium", check.to_dict())])
    stored = {r.name: r for r in read_records(path)}
    assert stored["TD3BC_s0"].final.normalized_score == 0.2  # measured again: replaced
    assert stored["TD3BC_s1"].updates == 300  # another budget: the committed record stays
    assert len(stored) == 2


def _write_many(folder: str, writer: int) -> None:
    for k in range(8):
        write_records(folder, [("hopper-medium", record(f"TD3BC_w{writer}_{k}", seed=k).to_dict())])


def test_sweeps_writing_one_records_file_side_by_side_lose_nothing(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(str(tmp_path), w)) for w in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0, 0]
    assert len(read_records(tmp_path / "hopper-medium.jsonl")) == 24


class FakeTrial:
    """What the callback reads of a Tune trial: its config's name and its last checkpoint."""

    def __init__(self, name: str, checkpoint) -> None:
        self.config, self._checkpoint = {"trial": {"name": name}}, checkpoint

    @property
    def checkpoint(self):
        if isinstance(self._checkpoint, Exception):
            raise self._checkpoint
        return self._checkpoint


def test_the_live_callback_writes_to_the_folder_the_experiment_names_now_and_never_stops_the_sweep(tmp_path, caplog):
    import json

    import pytest

    tune = pytest.importorskip("ray.tune", reason='the sweep tests need the sweep extra: pip install -e ".[sweep]"')
    from dwm_gym.sweep.live_records import RECORDS_POINTER, record_each_finished_trial

    experiment, first, second = tmp_path / "experiment", tmp_path / "first", tmp_path / "second"
    experiment.mkdir()
    checkpoint_dir = tmp_path / "checkpoint"
    checkpoint_dir.mkdir()
    (checkpoint_dir / "finished.json").write_text(json.dumps({"record": record("TD3BC_s0").to_dict()}))
    callback = record_each_finished_trial(tune, {"hopper-medium/TD3BC_s0": "hopper-medium"}, experiment)
    trial = FakeTrial("hopper-medium/TD3BC_s0", tune.Checkpoint.from_directory(str(checkpoint_dir)))

    (experiment / RECORDS_POINTER).write_text(str(first))
    callback.on_trial_complete(0, [], trial)
    (experiment / RECORDS_POINTER).write_text(str(second))  # a restored experiment, driven with another --records
    callback.on_trial_complete(0, [], trial)
    assert [r.name for r in read_records(first / "hopper-medium.jsonl")] == ["TD3BC_s0"]
    assert [r.name for r in read_records(second / "hopper-medium.jsonl")] == ["TD3BC_s0"]

    callback.on_trial_complete(0, [], FakeTrial("hopper-medium/TD3BC_s0", OSError("checkpoint storage gone")))
    assert "could not write the record of hopper-medium/TD3BC_s0" in caplog.text  # logged, not raised
