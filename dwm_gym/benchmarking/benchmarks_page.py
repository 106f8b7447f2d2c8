"""The generated figures of ``docs/benchmarks.md``: each benchmark's latest result, read from its JSON.

:func:`render_benchmarks` returns one region per benchmark (``bench-<name>``, see
:mod:`dwm_gym.benchmarking.doc_regions`): a small table of the result's headline figures, the result file and
the machine it was measured on (from the file's ``machine`` record).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

WHOLE_RUN_TRANSITIONS = 1_000_000  # the size of the medium datasets
WHOLE_RUN_UPDATES = (200_000, 500_000, 1_000_000)


def _table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _machine(result: Mapping[str, Any]) -> str:
    m = result.get("machine") or {}
    gpu = f"GPU {m['cuda']}" if m.get("cuda") else "no GPU"
    processor = m.get("processor")
    cpu = processor if processor and processor not in ("x86_64", "aarch64", "arm64") else "CPU model not recorded"
    return f"{cpu}, {m.get('cpu_count', '?')} CPUs, {gpu}, torch {m.get('torch', '?')}"


def _sampler(r: Mapping) -> list[str]:
    rows = [(row["sampler"], f"{row['batch']:,}", f"{row['segments_per_s']:,.0f}") for row in r["rows"]]
    return [*_table(("sampler", "batch", "segments/s"), rows), "", f"Best batched / naive: **{r['speedup']:.1f}×**."]


def _imagined_env(results: Mapping[str, Mapping]) -> list[str]:
    rows, ratios = [], []
    for result in results.values():
        rows += [(row["env"], f"{row['num_envs']:,}", f"{row['steps_per_s']:,.0f}") for row in result["rows"]]
        ratios.append(f"{result['kind']}: {result['ratios']['vector/dummy at N=16']:.1f}×")
    return [*_table(("env", "N", "steps/s"), rows), "", f"Vector env / DummyVecEnv at N = 16: {', '.join(ratios)}."]


def _mve_cost(r: Mapping) -> list[str]:
    rows = [(row["method"], f"{row['updates_per_s']:.1f}", f"{row['slowdown_vs_td3bc']:.2f}") for row in r["rows"]]
    cache = next(row for row in r["rows"] if "cache_fill_s" in row)
    td3bc = next(row for row in r["rows"] if row["method"] == "TD3BC")["updates_per_s"]
    fill_1m = WHOLE_RUN_TRANSITIONS / cache["cache_segments_per_s"]
    whole = []
    for updates in WHOLE_RUN_UPDATES:
        model_free, cached = updates / td3bc, updates / cache["updates_per_s"]
        ratios = f"{(fill_1m + cached) / model_free:.2f}", f"{cached / model_free:.2f}"
        whole.append((f"{updates:,}", f"{model_free / 60:.0f}", f"{(fill_1m + cached) / 60:.0f}", *ratios))
    header = ("updates", "TD3BC, min", "DWM-TD3BC with the fill, min", "ratio", "ratio, cache file reused")
    return [
        *_table(("method", "updates/s", "cost vs TD3BC"), rows),
        "",
        f"Filling the imagination cache: {cache['cache_fill_s']:.1f} s ({cache['cache_segments_per_s']:,.0f} "
        f"segments/s, {cache['cache_mb']:.1f} MB), once per dataset, model and RTG: the file is shared by every "
        "later run on them (a sweep fills it once for all its trials).",
        "",
        f"Whole runs on a {WHOLE_RUN_TRANSITIONS:,}-transition dataset, computed from these rates (not timed "
        "end to end): the fill grows with the data, the updates with the budget.",
        "",
        *_table(header, whole),
    ]


def _update_speed(r: Mapping) -> list[str]:
    rows = [
        (row["method"], f"{row['updates_per_cpu_s']:.0f}", f"{row['updates_per_s']:.0f}", f"{row['cost_vs_td3bc']:.2f}")
        for row in r["rows"]
    ]
    lines = [*_table(("method", "updates per CPU second", "updates/s (wall)", "cost vs TD3BC"), rows), ""]
    load = (r.get("machine") or {}).get("load_average") or [float("nan")]
    plain, dwm = f"**{r['td3bc_vs_plain']:.2f}×**", f"**{r['dwm_cost_vs_td3bc']:.2f}×**"
    lines.append(f"TD3BC / plain PyTorch TD3+BC: {plain}; DWM-TD3BC costs {dwm} a TD3BC update.")
    lines.append(f"Load average while measured: {load[0]:.1f}.")
    for name in ("TD3BC", "DWM-TD3BC"):
        phases = r["profiles"].get(name, [])
        shares = ", ".join(f"{p['phase']} {100 * p['share']:.0f} %" for p in phases if p["share"] >= 0.01)
        lines += ["", f"Where a {name} update's time goes: {shares}."] if phases else []
    return lines


def _seed_batching(r: Mapping) -> list[str]:
    """Seed-updates per CPU second of K seeds in one stacked network, beside the one-seed agents."""
    rows = [
        (row["seeds"], f"{row['seed_updates_per_cpu_s']:.0f}", f"{row['speedup_vs_separate']:.2f}",
         f"{row['speedup_vs_library']:.2f}")
        for row in r["rows"]
    ]  # fmt: skip
    header = ("seeds per process", "seed-updates per CPU second", "vs the stacked code at K = 1", "vs library TD3BC")
    load = (r.get("machine") or {}).get("load_average") or [float("nan")]
    return [
        *_table(header, rows),
        "",
        f"One seed: library TD3BC {r['library_td3bc_updates_per_cpu_s']:.0f}, plain PyTorch TD3+BC "
        f"{r['plain_updates_per_cpu_s']:.0f} updates per CPU second. Load average while measured: {load[0]:.1f}.",
    ]


def _dataset_throughput(r: Mapping) -> list[str]:
    rows = [(name, f"{row['steps']:,}", f"{row['steps_per_s']:,.0f}") for name, row in r["rows"].items()]
    ratio = f"Shipped policy / random: **{r['ratio']:.2f}**."
    return [*_table(("policy", "env steps", "env steps/s"), rows), "", ratio]


def _world_model_errors(r: Mapping) -> list[str]:
    models = ("DWM", "one-step, true actions", "one-step, policy actions", "noise floor")
    rows = []
    for entry in r["datasets"]:
        for table in entry["tables"]:
            label = entry["dataset"].split("/")[1] + "/" + entry["dataset"].split("/")[2].removesuffix("-v0")
            label += f" ({table['policy']} episodes)" if len(entry["tables"]) > 1 else ""
            rows.append((label, *(f"{table[m]['mean_state_mse']:.4f}" if m in table else "—" for m in models)))
    return _table(("dataset", *models), rows)


def _half_precision_name(row: Mapping) -> str:
    """``walker2d_medium_dwm.safetensors``: the bundled name of the measured model (its file's own name before)."""
    if row.get("dataset_id"):
        _, task, quality = row["dataset_id"].removesuffix("-v0").split("/")
        return f"{task}_{quality.replace('-', '_')}_{row['kind']}.safetensors"
    return Path(row["checkpoint"]).name


def _half_precision(loaded: Mapping[str, Mapping]) -> list[str]:
    # one row per model name: a later file's measurement replaces an earlier one (a model retrained and re-bundled)
    latest = {_half_precision_name(row): row for result in loaded.values() for row in result["rows"]}
    rows = []
    for row in latest.values():
        errors = row["errors"]
        rows.append(
            (
                _half_precision_name(row),
                f"{row['size_float32'] / 1e6:.2f} → {row['size_float16'] / 1e6:.2f}",
                f"{errors['float32']['mean_state_mse']:.5f}",
                f"{errors['float16']['mean_state_mse']:.5f}",
                f"{row['other_seed_minus_float32']['mean_state_mse']:+.5f}",
            )
        )
    header = ("checkpoint", "MB, float32 → float16", "state MSE, float32", "float16", "another seed, Δ")
    return _table(header, rows)


def _fidelity(r: Mapping) -> list[str]:
    s = r["summary"]
    rows = [("real Hopper-v5", f"{s['real']['mean_return']:.1f}", "–")]
    rows += [(f"{k} env", f"{s[k]['mean_return']:.1f}", f"{s[k]['mean_abs_error']:.1f}") for k in ("dwm", "onestep")]
    return _table(("env", "mean return", "mean abs. error vs real"), rows)


def _behavior_curves(r: Mapping) -> list[str]:
    rows = []
    for task in r["tasks"].values():
        shipped = task["shipped"]
        rows.append(
            (
                task["env_id"],
                f"{task['sac_steps']:,}",
                f"{task['wall_s'] / 60:.0f} min",
                f"{task['best_snapshot']['mean_return']:.0f}",
                " / ".join(f"{shipped[k]['mean_return']:.1f}" for k in ("expert", "medium") if k in shipped),
            )
        )
    return _table(("env", "SAC steps", "wall time", "best snapshot", "shipped expert / medium"), rows)


#: name -> (result files under benchmarks/results, the figure's renderer)
BENCHMARKS: dict[str, tuple[tuple[str, ...], Callable]] = {
    "dataset_throughput": (("dataset_throughput.json",), _dataset_throughput),
    "behavior_curves": (("behavior_curves.json",), _behavior_curves),
    "sampler": (("sampler.json",), _sampler),
    "imagined_env": (("imagined_env.json", "imagined_env_onestep.json"), _imagined_env),
    "fidelity": (("fidelity.json",), _fidelity),
    "mve_cost": (("mve_cost.json",), _mve_cost),
    "update_speed": (("update_speed.json",), _update_speed),
    "seed_batching": (("seed_batching.json",), _seed_batching),
    "world_model_errors": (("world_model_errors.json",), _world_model_errors),
    "half_precision": (
        (
            "half_precision.json",
            "half_precision_walker2d_halfcheetah.json",
            "half_precision_x0_dwms.json",
            "half_precision_walker2d_medium_expert.json",
        ),
        _half_precision,
    ),
}


def render_benchmarks(results: str | Path) -> dict[str, str]:
    """Every generated region of ``docs/benchmarks.md``, from the result JSONs under ``results``.

    Raises:
        FileNotFoundError: If a benchmark's result file is missing (run the benchmark, or restore the file).
    """
    results = Path(results)
    regions = {}
    for name, (files, render) in BENCHMARKS.items():
        loaded = {}
        for file in files:
            path = results / file
            if not path.is_file():
                raise FileNotFoundError(f"{path}: the result of benchmarks/{name}.py is missing; run the benchmark")
            loaded[file] = json.loads(path.read_text())
        first = next(iter(loaded.values()))
        lines = render(loaded) if len(files) > 1 else render(first)
        sources = ", ".join(f"`benchmarks/results/{f}`" for f in files)
        lines += ["", f"Result: {sources}. Machine: {_machine(first)}."]
        regions[f"bench-{name}"] = "\n".join(lines)
    return regions
