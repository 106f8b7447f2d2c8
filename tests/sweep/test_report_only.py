"""benchmarks/scores.py --report-only: the archive check reads each planned trial's digest; no model is loaded again."""

import dataclasses
import json
import sys
from pathlib import Path

from dwm_gym.evaluation.run_records import Evaluation, RunRecord, append_records
from dwm_gym.sweep import spec_from_dict
from dwm_gym.sweep.trials import plan_trials

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
METHODS = ["TD3BC", "DWM-TD3BC", "OneStep-TD3BC", "DWM-IQL"]


def record_of(trial, score: float) -> RunRecord:
    point = Evaluation(updates=trial.config.steps, normalized_score=score, normalized_std=0.0, mean_return=1000.0,
                       std_return=0.0)  # fmt: skip
    return RunRecord(
        name=trial.name.split("/", 1)[1],
        method=trial.method,
        algo=trial.config.algo,
        dataset_id=trial.config.dataset,
        seed=trial.seed,
        updates=trial.config.steps,
        final=point,
        curve=(point,),
        final_returns=(1000.0,),
        world_model_digest=trial.digest,
        horizon=trial.horizon,
        settings=dataclasses.asdict(trial.config),
    )


def count_model_loads(monkeypatch) -> list[str]:
    """Counts every call of the registry's ``load_world_model``, through whichever module imported it."""
    from dwm_gym.world_model import registry

    original, calls = registry.load_world_model, []

    def counted(path, *args, **kwargs):
        calls.append(str(path))
        return original(path, *args, **kwargs)

    for module in list(sys.modules.values()):
        if getattr(module, "load_world_model", None) is original:
            monkeypatch.setattr(module, "load_world_model", counted)
    return calls


def test_report_only_loads_each_world_model_once_for_the_plan_and_never_for_the_archive(tmp_path, monkeypatch):
    runs, archive = tmp_path / "runs", tmp_path / "archive"
    spec = spec_from_dict({"name": "s", "datasets": ["hopper-medium"], "methods": METHODS, "seeds": [0, 1],
                           "budget": {"updates": 50000, "eval_every": 10000, "eval_episodes": 10}})  # fmt: skip
    trials = plan_trials(spec, cache_dir=runs / "caches")
    append_records(archive / "hopper-medium.jsonl", [record_of(t, 0.1 * k) for k, t in enumerate(trials) if t.seed])
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import scores

    calls = count_model_loads(monkeypatch)
    out = tmp_path / "report.json"
    argv = ["scores.py", "--methods", ",".join(METHODS), "--seeds", "0,1", "--runs", str(runs), "--archive",
            str(archive), "--report-only", "--json", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    scores.main()

    assert sorted(Path(c).name for c in calls) == ["hopper_medium_dwm.safetensors", "hopper_medium_onestep.safetensors"]
    report = json.loads(out.read_text())
    assert sorted(report["missing_runs"]) == sorted(f"{m}_s0" for m in METHODS)  # seed 0 has no record
    assert sorted((r["method"], r["seed"]) for r in report["runs"]) == sorted((m, 1) for m in METHODS)
