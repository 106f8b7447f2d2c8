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
