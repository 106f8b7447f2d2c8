"""The datasets' own scores: the mean return of their episodes, normalized as the agents' evaluations are.

For every paper dataset on this machine: its content digest, its episodes, the mean undiscounted return of those
not cut by the collection budget (of all of them when every episode was cut), and that mean normalized with both
reference sets (``d4rl``, the agents' default, and ``v5``). The score tables use it as a threshold: how many
updates each method needs to reach the data's score.

Merged like the other data-driven benchmarks: a dataset that is not on this machine is skipped with a message and
its committed entry kept; each entry records the run that measured it.

python benchmarks/data_scores.py [--datasets all | hopper-medium,...] [--json benchmarks/results/data_scores.json]
                                 [--tiny]

``--tiny``: a 400-transition hopper-medium dataset generated into a temporary folder.
"""

from __future__ import annotations

import numpy as np

from dwm_gym.benchmarking.harness import entry_run, make_parser, parse_args, tiny_dataset, write_dataset_entries
from dwm_gym.data import OfflineDataset
from dwm_gym.data.content_hash import dataset_digest
from dwm_gym.data.minari_io import list_local_datasets
from dwm_gym.data.specs import dataset_id, paper_datasets, parse_dataset_name
from dwm_gym.evaluation import normalized_score


def measure(name: str, data_id: str | None = None) -> dict:
    """The episodes, mean return and normalized scores of dataset ``name`` (``hopper-medium``)."""
    spec, quality = parse_dataset_name(name)
    dataset = OfflineDataset.from_minari(data_id or dataset_id(spec.name, quality))
    returns = dataset.episode_returns(finished_only=True)
    every = len(returns) == 0  # only budget-cut episodes (a tiny dataset): their returns, said so
    returns = dataset.episode_returns() if every else returns
    mean = float(np.mean(returns))
    row = {
        "dataset": dataset_id(spec.name, quality),
        "data_digest": dataset_digest(dataset),
        "transitions": dataset.num_transitions,
        "episodes": dataset.num_episodes,
        "episodes_averaged": len(returns),
        "budget_cut_included": every,
        "mean_return": mean,
        "normalized": {refs: float(normalized_score(spec.name, mean, refs=refs)) for refs in ("d4rl", "v5")},
    }
    print(f"{name}: {len(returns)} episodes, mean return {mean:.1f}, normalized {row['normalized']}")
    return row


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/data_scores.json", device=None, seed=None)
    parser.add_argument("--datasets", default="all", help="'all' (the paper's nine) or comma-separated names")
    args = parse_args(parser, tiny={"datasets": "hopper-medium"})
    data_id = tiny_dataset() if args.tiny else None
    names = [f"{t}-{q}" for t, q in paper_datasets()] if args.datasets == "all" else args.datasets.split(",")
    here = set(list_local_datasets())
    results = {}
    for name in names:
        spec, quality = parse_dataset_name(name)
        if not args.tiny and dataset_id(spec.name, quality) not in here:
            print(f"skipping {name}: not on this machine (dwm-gym dataset make {name}); its entry, if any, is kept")
            continue
        results[name] = {**measure(name, data_id), "run": entry_run(args)}
    write_dataset_entries(args.json, results, args)


if __name__ == "__main__":
    main()
