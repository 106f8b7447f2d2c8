"""The cross-dataset score table: several ``benchmarks/scores.py`` results side by side, with the ratios.

Reads one ``scores.py`` JSON per dataset (``--inputs``, each made with ``--report-only`` over the finished runs)
and prints four markdown tables: every method's D4RL-normalized score per dataset (final evaluation, and the mean
of each run's last three evaluations; mean ± std over seeds), the ratios DWM / OneStep and DWM / model-free per
algorithm on each dataset and of the scores averaged over the datasets (the quantity the paper's "x times" claims
are about), and the learning curves (mean ± std over seeds at every evaluation). A ratio is only formed between
methods with the same seeds, at least ``--min-seeds`` of them (5: a claim needs five), and the average over
datasets only over methods present on every dataset with the same seeds; a method with fewer seeds is shown as
``mean (n seeds)``, without a ±. Writes the same to ``--json``.

With ``--protocol`` (``paper_protocol.py`` JSONs matched to the inputs by their ``dataset``: every input dataset
needs at least one, and a dataset may have several, e.g. one for TD3BC and one for IQL, as long as no method is in
two), the methods the protocols cover are shown with their chosen configurations' runs instead of the defaults'
(selection on test returns: label the table so); the model-free baselines of the same algorithms keep their
defaults' rows (the protocol has no grid for them), and the other algorithms are left out. A covered model-based
method whose protocol is unfinished, or absent from the dataset's protocols, is left out of that dataset, and
listed (never shown with its defaults' row under the protocol's label).

python benchmarks/scores_table.py --inputs benchmarks/results/scores_hopper-medium.json \\
    benchmarks/results/scores_hopper-medium-replay.json benchmarks/results/scores_hopper-medium-expert.json \\
    [--json benchmarks/results/scores_hopper.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scores import ALGOS, dataset_label

from dwm_gym.utils.atomic import atomic_write_text

STATS = ("final", "last3")


def dataset_of(result: dict) -> str:
    """``hopper-medium-replay`` from the ``dataset`` (``dwm_gym/hopper/medium-replay-v0``) of a result.

    Raises:
        ValueError: If the result has no ``dataset`` field (a report written before scores.py recorded it).
    """
    if "dataset" not in result:
        raise ValueError(
            "a scores.py result without a 'dataset' field; rebuild it with "
            "`python benchmarks/scores.py --report-only --dataset ... --json ...` from its finished runs"
        )
    return dataset_label(result["dataset"])


def method_stats(row: dict) -> dict:
    """Final and last-three scores of one method: mean, std and seeds."""
    return {
        "seeds": row["seeds"],
        "curve": [(point["updates"], point["mean"], point["std"]) for point in row.get("curve", [])],
        "final": (row["d4rl_mean"], row["d4rl_std"]),
        "last3": (row["last3_mean"], row["last3_std"]),
    }


def same_seeds(seeds: list[list[int]]) -> list[int] | None:
    """The seeds of a method if every dataset ran the same ones, else None (no ratio is formed)."""
    return list(seeds[0]) if all(s == seeds[0] for s in seeds) else None


def with_protocol(result: dict, protocol: dict) -> tuple[dict, dict]:
    """``result`` with each method the ``protocol`` covers replaced by its chosen configuration's runs, and the
    chosen configurations (None: unfinished, the method left out).

    Raises:
        ValueError: If the two are not about the same dataset.
    """
    if protocol.get("dataset") != result["dataset"]:
        raise ValueError(
            f"a paper_protocol.py result for {protocol.get('dataset')!r} given for {result['dataset']!r}; "
            "pass one --protocol JSON per --inputs dataset"
        )
    covered = {m.rpartition("-")[2] for m in protocol["methods"]}  # TD3BC, IQL: the algorithms it ran
    chosen = {m: e["chosen"] if e.get("chosen_runs") else None for m, e in protocol["methods"].items()}
    for method in result["methods"]:  # a model-based method the protocol has not run yet: unfinished too
        model, _, algorithm = method.rpartition("-")
        if model and algorithm in covered:
            chosen.setdefault(method, None)
    methods = {}
    for method, row in result["methods"].items():
        if method.rpartition("-")[2] not in covered or (method in chosen and chosen[method] is None):
            continue
        runs = protocol["methods"][method]["chosen_runs"] if method in chosen else None
        methods[method] = (
            row
            if runs is None
            else {
                "seeds": runs["seeds"],
                "d4rl_mean": runs["final_mean"],
                "d4rl_std": runs["final_std"],
                "last3_mean": runs["last3_mean"],
                "last3_std": runs["last3_std"],
                "curve": runs.get("curve", []),
            }
        )
    return {**result, "methods": methods}, chosen


def merged_protocols(paths: list[str], datasets: list[str]) -> dict[str, dict]:
    """The ``paper_protocol.py`` JSONs at ``paths`` merged per dataset (their ``methods`` joined); empty if none.

    Raises:
        SystemExit: If a protocol's dataset is in none of ``datasets``, a method is in two protocols of one
            dataset, or (given any) a dataset has none: a table mixing protocol and defaults rows would mislead.
    """
    merged: dict[str, dict] = {}
    for path in paths:
        protocol = json.loads(Path(path).read_text())
        dataset = protocol.get("dataset")
        if dataset not in datasets:
            raise SystemExit(f"{path}: its dataset {dataset!r} is in none of --inputs")
        into = merged.setdefault(dataset, {"dataset": dataset, "methods": {}})
        twice = sorted(set(into["methods"]) & set(protocol["methods"]))
        if twice:
            raise SystemExit(f"{path}: {twice} already come from another --protocol JSON for {dataset!r}; pass one")
        into["methods"].update(protocol["methods"])
    missing = [d for d in datasets if d not in merged]
    if merged and missing:
        raise SystemExit(
            f"no --protocol JSON for {missing}: pass one per --inputs dataset, or leave those datasets out of --inputs"
        )
    return merged


def ratios(table: dict[str, dict], stat: str, min_seeds: int) -> dict[str, float]:
    """DWM / OneStep and DWM / model-free per algorithm, between methods run with the same ``min_seeds``+ seeds."""
    out = {}
    for algo in ALGOS:
        dwm = table.get(f"DWM-{algo}")
        for base in (f"OneStep-{algo}", algo):
            other = table.get(base)
            if not (dwm and other and dwm["seeds"] is not None and len(dwm["seeds"]) >= min_seeds):
                continue
            if dwm["seeds"] == other["seeds"] and other[stat][0] > 0:
                out[f"DWM-{algo} / {base}"] = dwm[stat][0] / other[stat][0]
    return out


def build(results: list[dict], min_seeds: int) -> dict:
    """The per-dataset tables, their ratios, and the scores and ratios averaged over the datasets."""
    datasets = {dataset_of(r): {m: method_stats(row) for m, row in r["methods"].items()} for r in results}
    common = [m for m in next(iter(datasets.values())) if all(m in t for t in datasets.values())]
    mean = {
        m: {
            "seeds": same_seeds([t[m]["seeds"] for t in datasets.values()]),
            **{stat: (float(np.mean([t[m][stat][0] for t in datasets.values()])), 0.0) for stat in STATS},
        }
        for m in common
    }
    return {
        "datasets": datasets,
        "min_seeds": min_seeds,
        "ratios": {name: {stat: ratios(t, stat, min_seeds) for stat in STATS} for name, t in datasets.items()},
        "mean_over_datasets": {
            m: {"seeds": mean[m]["seeds"], **{stat: mean[m][stat][0] for stat in STATS}} for m in mean
        },
        "mean_ratios": {stat: ratios(mean, stat, min_seeds) for stat in STATS},
    }


def cell(row: dict, stat: str, min_seeds: int) -> str:
    """``mean ± std``, or ``mean (n seeds)`` for a method with fewer than ``min_seeds`` finished runs."""
    mean, std = row[stat]
    n = len(row["seeds"])
    return f"{mean:.3f} ± {std:.3f}" if n >= min_seeds else f"{mean:.3f} ({n} seed{'s' if n > 1 else ''})"


def markdown(summary: dict) -> str:
    """The four tables as markdown."""
    names = list(summary["datasets"])
    methods = list(dict.fromkeys(m for t in summary["datasets"].values() for m in t))
    lines = ["| dataset | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for name, table in summary["datasets"].items():
        for stat, label in (("final", "final"), ("last3", "last 3")):
            cells = [cell(table[m], stat, summary["min_seeds"]) if m in table else "—" for m in methods]
            lines.append(f"| {name}, {label} | " + " | ".join(cells) + " |")
    mean = summary["mean_over_datasets"]

    def full(seeds: list[int] | None) -> bool:
        return seeds is not None and len(seeds) >= summary["min_seeds"]

    for stat, label in (("final", "final"), ("last3", "last 3")):
        cells = [
            f"{mean[m][stat]:.3f}{'' if full(mean[m]['seeds']) else ' (unequal seeds)'}" if m in mean else "—"
            for m in methods
        ]
        lines.append(f"| mean of the {len(names)} datasets, {label} | " + " | ".join(cells) + " |")
    pairs = list(dict.fromkeys(p for r in summary["ratios"].values() for p in r["final"]))
    pairs += [p for p in summary["mean_ratios"]["final"] if p not in pairs]
    lines += ["", "| ratio | " + " | ".join(f"{n}, final / last 3" for n in names) + " | mean over datasets |"]
    lines.append("|---|" + "---|" * (len(names) + 1))
    for pair in pairs:
        cells = [summary["ratios"][n] for n in names] + [summary["mean_ratios"]]
        text = [" / ".join(f"{c[s][pair]:.2f}" if pair in c[s] else "—" for s in STATS) for c in cells]
        lines.append(f"| {pair} | " + " | ".join(text) + " |")
    steps = sorted({t for table in summary["datasets"].values() for row in table.values() for t, _, _ in row["curve"]})
    lines += ["", "| dataset, method | " + " | ".join(f"{t // 1000}k" for t in steps) + " |"]
    lines.append("|---|" + "---|" * len(steps))
    for name, table in summary["datasets"].items():
        for method, row in table.items():
            if len(row["seeds"]) >= summary["min_seeds"]:
                at = {t: f"{mean:.3f} ± {std:.3f}" for t, mean, std in row["curve"]}
                lines.append(f"| {name}, {method} | " + " | ".join(at.get(t, "—") for t in steps) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", nargs="+", required=True, help="one scores.py JSON per dataset")
    parser.add_argument("--protocol", nargs="*", default=[], help="paper_protocol.py JSONs, one per dataset")
    parser.add_argument("--json", default=None, help="where to write the tables as JSON")
    parser.add_argument("--min-seeds", type=int, default=5, help="fewest seeds for a ± and a ratio")
    args = parser.parse_args()
    results = []
    for path in args.inputs:
        if not Path(path).is_file():
            raise SystemExit(f"{path}: no such scores.py result; make it with benchmarks/scores.py --report-only")
        results.append(json.loads(Path(path).read_text()))
        dataset_of(results[-1])  # a result without its dataset fails here, saying how to rebuild it
    chosen = {}
    protocols = merged_protocols(args.protocol, [r["dataset"] for r in results])
    for k, result in enumerate(results if protocols else []):
        results[k], chosen[dataset_of(result)] = with_protocol(result, protocols[result["dataset"]])
    summary = {**build(results, args.min_seeds), "protocol": chosen}
    if chosen:
        print(
            "The paper's protocol (selection on test returns) for the model-based methods, the model-free ones at "
            "their defaults; chosen configurations (None: unfinished):"
        )
        print("\n".join(f"- {name}: {configs}" for name, configs in chosen.items()) + "\n")
    print(markdown(summary))
    if args.json:
        atomic_write_text(Path(args.json), json.dumps({"inputs": args.inputs, **summary}, indent=2))


if __name__ == "__main__":
    main()
