"""Rewrites the generated tables of the docs from the committed results.

docs/scores.md's tables come from the run records (``benchmarks/results/records/<dataset>.jsonl``) and the paper's
reference rows (``benchmarks/results/paper_scores.json``); docs/benchmarks.md's figures from each benchmark's
result JSON; docs/world_model.md's error and RTG tables and docs/envs.md's action-response table from theirs;
docs/envs.md's and README's lists of the paper's envs from the models bundled in the package. Only the text
between ``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->`` is rewritten; the prose around
it is the page's own. ``--check`` writes nothing and exits 1 when a page differs
from its results (tests/test_docs_generated.py runs the same check).

python benchmarks/render_docs.py [--check] [--results benchmarks/results] [--docs docs] [--readme README.md]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dwm_gym.benchmarking.benchmarks_page import render_benchmarks
from dwm_gym.benchmarking.doc_regions import fill_regions, stale_regions
from dwm_gym.benchmarking.envs_page import render_envs, render_readme
from dwm_gym.benchmarking.scores_page import render_scores
from dwm_gym.benchmarking.sweeps_page import render_sweeps
from dwm_gym.benchmarking.world_model_page import render_world_model
from dwm_gym.utils.atomic import atomic_write_text

REPOSITORY = Path(__file__).resolve().parent.parent


def rendered_pages(results: Path, docs: Path, readme: Path) -> dict[Path, dict[str, str]]:
    """Each generated page and its regions' fresh text."""
    return {
        docs / "scores.md": render_scores(results),
        docs / "benchmarks.md": render_benchmarks(results),
        docs / "world_model.md": render_world_model(results, REPOSITORY / "studies" / "results"),
        docs / "envs.md": render_envs(results),
        docs / "sweeps.md": render_sweeps(results),
        readme: render_readme(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is out of date")
    parser.add_argument("--results", default=str(REPOSITORY / "benchmarks" / "results"))
    parser.add_argument("--docs", default=str(REPOSITORY / "docs"))
    parser.add_argument("--readme", default=str(REPOSITORY / "README.md"))
    args = parser.parse_args()
    stale = {}
    for page, regions in rendered_pages(Path(args.results), Path(args.docs), Path(args.readme)).items():
        text = page.read_text()
        if args.check:
            stale[page] = stale_regions(text, regions)
        else:
            filled = fill_regions(text, regions)
            if filled != text:
                atomic_write_text(page, filled)
                print(f"rewrote {page}")
    drifted = {page: names for page, names in stale.items() if names}
    for page, names in drifted.items():
        print(f"{page}: regions {names} differ from the results; run python benchmarks/render_docs.py")
    sys.exit(1 if drifted else 0)


if __name__ == "__main__":
    main()
