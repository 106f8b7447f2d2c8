"""The generated regions of the docs (scores, benchmarks, world models, envs) and README match their sources."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dwm_gym.benchmarking.benchmarks_page import render_benchmarks
from dwm_gym.benchmarking.doc_regions import RegionError, fill_regions, regions, stale_regions
from dwm_gym.benchmarking.envs_page import render_envs, render_readme
from dwm_gym.benchmarking.score_tables import SEEDS, defaults_table
from dwm_gym.benchmarking.scores_page import ENVIRONMENTS, render_scores
from dwm_gym.benchmarking.sweeps_page import render_sweeps
from dwm_gym.benchmarking.world_model_page import render_world_model
from dwm_gym.evaluation.run_records import read_records

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FIX = "run `python benchmarks/render_docs.py` and commit the page"


@pytest.mark.parametrize(
    ("page", "render"),
    [
        ("scores.md", render_scores),
        ("benchmarks.md", render_benchmarks),
        ("world_model.md", lambda results: render_world_model(results, ROOT / "studies" / "results")),
        ("envs.md", render_envs),
        ("sweeps.md", render_sweeps),
    ],
    ids=["scores", "benchmarks", "world_model", "envs", "sweeps"],
)
def test_each_page_matches_its_results(page, render):
    text = (ROOT / "docs" / page).read_text()
    rendered = render(RESULTS)
    assert regions(text), f"docs/{page} has no generated regions"
    assert stale_regions(text, rendered) == [], f"docs/{page} differs from benchmarks/results: {FIX}"


def test_the_readme_matches_the_bundled_models():
    text = (ROOT / "README.md").read_text()
    assert stale_regions(text, render_readme()) == [], f"README.md differs from the bundled models: {FIX}"


def test_a_changed_record_makes_the_scores_page_stale(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(RESULTS / "records", results / "records")
    shutil.copy(RESULTS / "paper_scores.json", results)
    shutil.copy(RESULTS / "data_scores.json", results)
    path = results / "records" / "hopper-medium.jsonl"
    lines = path.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if json.loads(line)["name"] == "DWM-TD3BC_s0")
    record = json.loads(lines[k])
    record["final"]["normalized_score"] += 0.5
    lines[k] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    text = (ROOT / "docs" / "scores.md").read_text()
    stale = stale_regions(text, render_scores(results))
    # the protocol chose H 7, g 0.8 for DWM-TD3BC: not this run; the threshold table moves if the mean crosses it
    assert {"scores-hopper-defaults", "scores-nine-datasets"} <= set(stale)
    assert set(stale) <= {"scores-hopper-defaults", "scores-nine-datasets", "scores-updates-to-data-score"}


def test_the_nine_dataset_ratios_take_an_environment_once_its_three_datasets_are_complete(tmp_path):
    results = tmp_path / "results"
    (results / "records").mkdir(parents=True)
    shutil.copy(RESULTS / "paper_scores.json", results)
    for quality in ("medium", "medium-replay", "medium-expert"):  # hopper's records, as walker2d's too
        shutil.copy(RESULTS / "records" / f"hopper-{quality}.jsonl", results / "records")
        shutil.copy(RESULTS / "records" / f"hopper-{quality}.jsonl", results / "records" / f"walker2d-{quality}.jsonl")
    nine = render_scores(results)["scores-nine-datasets"]
    header, *rows = [line for line in nine.splitlines() if line.startswith("| ratio") or "/ " in line[:40]]
    assert len(rows) == 4  # every ratio of the table
    assert header.split(" | ")[1:5] == ["hopper (3)", "walker2d (3)", "halfcheetah (3)", "all 9"]
    for row in rows:
        cells = row.strip("| ").split(" | ")
        assert cells[1] == cells[2] != "—"  # the same records give the same ratios
        assert cells[3] == cells[4] == "—"  # no halfcheetah run: neither its group nor all nine
    (results / "records" / "walker2d-medium.jsonl").unlink()
    incomplete = render_scores(results)["scores-nine-datasets"]
    assert all(row.strip("| ").split(" | ")[2] == "—" for row in incomplete.splitlines() if row.startswith("| DWM-"))


def test_the_check_command_fails_on_a_stale_page(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for page in ("scores.md", "benchmarks.md", "world_model.md", "envs.md", "sweeps.md"):
        shutil.copy(ROOT / "docs" / page, docs)
    shutil.copy(ROOT / "README.md", tmp_path)
    script = ROOT / "benchmarks" / "render_docs.py"
    check = [sys.executable, str(script), "--check", "--docs", str(docs), "--readme", str(tmp_path / "README.md")]
    text = (docs / "benchmarks.md").read_text()
    (docs / "benchmarks.md").write_text(text.replace("| fast | 256 |", "| fast | 257 |"))
    failed = subprocess.run(check, capture_output=True, text=True)
    assert failed.returncode == 1 and "bench-sampler" in failed.stdout and "render_docs.py" in failed.stdout
    write = [sys.executable, str(script), "--docs", str(docs), "--readme", str(tmp_path / "README.md")]
    subprocess.run(write, check=True, capture_output=True)
    assert (docs / "benchmarks.md").read_text() == text  # rewritten from the results


def test_regions_are_filled_between_their_markers_and_bad_markers_are_refused():
    page = "intro\n<!-- BEGIN GENERATED: a -->\nold\n<!-- END GENERATED: a -->\noutro\n"
    assert fill_regions(page, {"a": "new"}) == page.replace("old", "new")
    assert stale_regions(page, {"a": "old"}) == [] and stale_regions(page, {"a": "new"}) == ["a"]
    with pytest.raises(RegionError, match=r"differ from the rendered ones \['a', 'b'\]"):
        fill_regions(page, {"a": "x", "b": "y"})
    with pytest.raises(RegionError, match="no '<!-- END GENERATED"):
        regions("<!-- BEGIN GENERATED: a -->\ntext\n")
    with pytest.raises(RegionError, match="appears twice"):
        regions(page + page)


def test_every_committed_record_file_is_valid_and_the_defaults_have_five_seeds():
    files = sorted((RESULTS / "records").rglob("*.jsonl"))
    assert files
    for path in files:
        assert read_records(path), f"{path} holds no records"
    for env, datasets in ENVIRONMENTS.items():
        for dataset in datasets:
            table = defaults_table(read_records(RESULTS / "records" / f"{dataset}.jsonl"))
            if env == "hopper":  # complete; the other environments' rows fill as their sweeps run
                assert all(cell is not None and cell.seeds == SEEDS for cell in table.values()), dataset
            assert all(set(cell.seeds) <= set(SEEDS) for cell in table.values() if cell is not None), dataset


def test_the_defaults_table_was_made_with_todays_bundled_models():
    from dwm_gym.agents.run_identity import world_model_digest
    from dwm_gym.agents.runs import AgentRunConfig

    for env, datasets in ENVIRONMENTS.items():
        for dataset in datasets:
            task, quality = dataset.split("-", 1)
            records = {r.name: r for r in read_records(RESULTS / "records" / f"{dataset}.jsonl")}
            for prefix, kind in (("DWM", "dwm"), ("OneStep", "onestep")):
                names = [f"{prefix}-{algo}_s{seed}" for algo in ("TD3BC", "IQL") for seed in SEEDS]
                if env != "hopper" and not any(n in records for n in names):
                    continue  # not scored yet (hopper's table is complete: every name must be there)
                config = AgentRunConfig(algo="td3bc", dataset=f"dwm_gym/{task}/{quality}-v0", world_model=kind)
                digest = world_model_digest(config)
                for name in names:
                    if env == "hopper" or name in records:
                        assert records[name].world_model_digest == digest, f"{dataset} {name}: another model"


def test_updates_to_the_data_score_are_the_first_evaluation_whose_mean_reaches_it(tmp_path):
    results = tmp_path / "results"
    (results / "records").mkdir(parents=True)
    shutil.copy(RESULTS / "paper_scores.json", results)
    shutil.copy(RESULTS / "records" / "hopper-medium.jsonl", results / "records")
    cell = defaults_table(read_records(results / "records" / "hopper-medium.jsonl"))["DWM-TD3BC"]
    (t0, m0, _), (t1, m1, _) = cell.curve[:2]
    assert m1 > m0, "the committed curve no longer rises between its first two evaluations: pick another pair"

    def row(threshold: float) -> list[str]:
        (results / "data_scores.json").write_text(
            json.dumps({"datasets": {"hopper-medium": {"normalized": {"d4rl": threshold}}}})
        )
        [line] = [r for r in render_scores(results)["scores-updates-to-data-score"].splitlines() if "hopper" in r]
        return line.strip("| ").split(" | ")

    assert set(row(-1.0)[2:]) == {f"{t0:,}"}  # every method is above it at the first evaluation
    assert set(row(10.0)[2:]) == {f"not by {cell.curve[-1][0]:,}"}
    between = row((m0 + m1) / 2)
    assert between[1] == f"{(m0 + m1) / 2:.3f}" and between[2 + list(defaults_table([])).index("DWM-TD3BC")] == (
        f"{t1:,}"
    )


def test_the_long_curves_show_each_method_with_its_critic_beside(tmp_path):
    results = tmp_path / "results"
    (results / "records" / "long").mkdir(parents=True)
    shutil.copy(RESULTS / "paper_scores.json", results)
    rows = []
    for line in (RESULTS / "records" / "hopper-medium.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["name"] not in {f"{m}_s{s}" for m in ("TD3BC", "DWM-TD3BC") for s in (0, 1, 2)}:
            continue
        gap = -float(record["seed"]) if record["method"] == "DWM-TD3BC" else None
        record["critic"]["curve"] = [
            {"updates": p["updates"], "loss": 1.0 + record["seed"], "max_q": 1.0, "mean_abs_target": 1.0}
            | {"mve_minus_td": gap}
            for p in record["curve"]
        ]
        rows.append(json.dumps(record))
    (results / "records" / "long" / "hopper-medium.jsonl").write_text("\n".join(rows) + "\n")
    text = render_scores(results)["scores-long-curves"]
    assert "Seeds: 0–2 (6 runs)" in text and "walker2d-medium**\n\nNo runs recorded yet." in text
    assert "| hopper-medium, TD3BC | " in text and "| hopper-medium, DWM-TD3BC | " in text
    table = text[text.index("| method: critic loss") :].splitlines()[2:]
    critic = {cells[0]: cells[1:] for cells in (line.strip("| ").split(" | ") for line in table)}
    assert critic["TD3BC"] == ["2"] * 5  # loss 1 + seed, mean over seeds 0-2; no gap without value expansion
    assert critic["DWM-TD3BC"] == ["2 / -1"] * 5  # and the gap, -seed on average


def test_the_whole_run_table_adds_the_fill_of_a_million_transitions_to_the_updates(tmp_path):
    result = json.loads((RESULTS / "mve_cost.json").read_text())
    for row in result["rows"]:
        row["updates_per_s"] = {"TD3BC": 200.0, "DWM-TD3BC (cache)": 100.0}.get(row["method"], row["updates_per_s"])
        if "cache_segments_per_s" in row:
            row["cache_segments_per_s"] = 1000.0  # a 1,000-second fill
    (tmp_path / "mve_cost.json").write_text(json.dumps(result))
    for other in RESULTS.glob("*.json"):
        if other.name != "mve_cost.json":
            shutil.copy(other, tmp_path)
    text = render_benchmarks(tmp_path)["bench-mve_cost"]
    # 200k updates: TD3BC 1,000 s; DWM-TD3BC 1,000 s of fill + 2,000 s of updates = 3.00x, 2.00x with the file reused
    assert "| 200,000 | 17 | 50 | 3.00 | 2.00 |" in text
    assert "| 1,000,000 | 83 | 183 | 2.20 | 2.00 |" in text


def test_the_standing_sorts_each_dataset_by_both_readings_of_its_ratio():
    from dwm_gym.benchmarking.score_tables import Cell
    from dwm_gym.benchmarking.scores_page import _standing

    def cell(final: float, last3: float, seeds: int = 5) -> Cell:
        return Cell(seeds=tuple(range(seeds)), final=(final, 0.1), last3=(last3, 0.1), curve=[], diverged=0)

    tables = {
        "up": {"TD3BC": cell(0.4, 0.4), "DWM-TD3BC": cell(0.6, 0.5)},
        "down": {"TD3BC": cell(0.4, 0.4), "DWM-TD3BC": cell(0.2, 0.3)},
        "split": {"TD3BC": cell(0.4, 0.4), "DWM-TD3BC": cell(0.6, 0.2)},
        "short": {"TD3BC": cell(0.4, 0.4, seeds=2), "DWM-TD3BC": cell(0.9, 0.9, seeds=2)},
        "negative": {"TD3BC": cell(-0.1, 0.2), "DWM-TD3BC": cell(0.3, 0.3)},  # a ratio's sign would mislead
    }
    line = next(x for x in _standing(tables) if x.startswith("- DWM-TD3BC against TD3BC"))
    assert line == (
        "- DWM-TD3BC against TD3BC: ahead on up (1.50 / 1.25); behind on down (0.50 / 0.75); "
        "neither (split or level) on split (1.50 / 0.50)."
    )
    assert "no dataset with both cells complete yet" in next(x for x in _standing(tables) if "against IQL" in x)
