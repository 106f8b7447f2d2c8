"""The committed sweep specs load, carry the paper's grids, and name the committed runs as they were named."""

from pathlib import Path

import pytest

from dwm_gym.benchmarking.protocol import G_EVAL, HORIZONS
from dwm_gym.sweep import load_spec, plan_trials
from dwm_gym.sweep.records import finished_records

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "sweeps").glob("*.toml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_committed_spec_loads(path):
    assert load_spec(path).name


def test_the_table_and_the_protocol_cover_the_nine_datasets_with_the_papers_grids():
    table, protocol = load_spec(ROOT / "sweeps/paper_table.toml"), load_spec(ROOT / "sweeps/paper_protocol_select.toml")
    assert set(table.datasets) == set(G_EVAL) == set(protocol.datasets) and len(table.seeds) == 5
    assert {k: tuple(v) for k, v in protocol.rtgs.items()} == G_EVAL and protocol.horizons == HORIZONS
    assert protocol.seeds == (0, 1) and "selection on test returns" in protocol.label


def test_the_hopper_cell_names_the_committed_runs(tmp_path):
    trials = plan_trials(load_spec(ROOT / "sweeps/hopper_medium_dwm_td3bc.toml"), tmp_path)
    found, missing = finished_records(ROOT / "benchmarks/results/records", trials)
    assert missing == [] and sorted(r.name for r in found.values()) == [f"DWM-TD3BC_s{s}" for s in range(5)]
