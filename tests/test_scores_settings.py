"""The score runs' method settings (dwm_gym.benchmarking.score_runs): the drivers' defaults, and a labelled DWM
checkpoint's runs and cache."""

import argparse
import sys
from pathlib import Path

import pytest

from dwm_gym.benchmarking.score_runs import method_settings, run_config, run_name, shared_cache_file

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))


def test_method_settings_fill_the_defaults_and_name_a_labelled_checkpoints_runs_and_cache():
    base = argparse.Namespace(dataset="dwm_gym/hopper/medium-replay-v0", runs="runs", updates=50_000)
    base.eval_every, base.eval_episodes = 10_000, 10
    args = method_settings(base)  # a driver's own Namespace gets every method setting, at scores.py's defaults
    assert run_name("DWM-TD3BC", 0, args) == "DWM-TD3BC_s0" and run_config("DWM-TD3BC", 0, args).world_model == "dwm"
    labelled = method_settings(base, dwm_checkpoint="wm/gaussian.safetensors", dwm_label="gaussian", horizon=1)
    assert run_name("DWM-TD3BC", 0, labelled) == "DWM-TD3BC_gaussian_h1_s0"
    assert run_name("OneStep-TD3BC", 0, labelled) == "OneStep-TD3BC_s0"  # the label is the DWM's
    assert run_config("TD3BC", 0, labelled) == run_config("TD3BC", 0, args)  # H=1 leaves model-free runs alone
    assert run_config("DWM-IQL", 0, labelled).world_model == "wm/gaussian.safetensors"
    assert Path(shared_cache_file(labelled)).name == "dwm_cache_gaussian_rtgdefault.safetensors"
    assert shared_cache_file(labelled) != shared_cache_file(args)  # never overwrites the dataset DWM's cache
    with pytest.raises(ValueError, match="not method settings"):
        method_settings(base, horizn=3)


def test_the_protocols_configurations_keep_a_labelled_dwm():
    from paper_protocol import config_args

    base = argparse.Namespace(dataset="dwm_gym/hopper/medium-replay-v0", runs="runs", updates=50_000)
    base.eval_every, base.eval_episodes = 10_000, 10
    args = method_settings(base, dwm_checkpoint="wm/cdf.safetensors", dwm_label="cdf")
    dwm = config_args(args, "DWM-TD3BC", {"horizon": 3, "rtg": 0.7})
    assert run_name("DWM-TD3BC", 0, dwm) == "DWM-TD3BC_cdf_h3_rtg0.7_s0"
    assert run_config("DWM-TD3BC", 0, dwm).world_model == "wm/cdf.safetensors"
    assert Path(shared_cache_file(dwm)).name == "dwm_cache_cdf_rtg0.7.safetensors"
    onestep = config_args(args, "OneStep-TD3BC", {"horizon": 3, "rtg": None})
    assert run_name("OneStep-TD3BC", 0, onestep) == "OneStep-TD3BC_h3_s0"
    assert run_name("DWM-TD3BC", 0, config_args(method_settings(base), "DWM-TD3BC", {"horizon": 5, "rtg": None})) == (
        "DWM-TD3BC_s0"
    )


def test_another_cache_seed_gets_its_own_cache_and_run_names():
    base = argparse.Namespace(dataset="dwm_gym/hopper/medium-replay-v0", runs="runs", updates=50_000)
    base.eval_every, base.eval_episodes = 10_000, 10
    default, other = method_settings(base), method_settings(base, cache_seed=1)
    assert run_name("DWM-IQL", 0, other) == "DWM-IQL_cache1_s0"
    assert run_name("TD3BC", 0, other) == "TD3BC_s0" and run_name("OneStep-TD3BC", 0, other) == "OneStep-TD3BC_s0"
    assert Path(shared_cache_file(other)).name == "dwm_cache_rtgdefault_seed1.safetensors"
    assert run_config("DWM-IQL", 0, other).cache_file != run_config("DWM-IQL", 0, default).cache_file
    assert run_config("IQL", 0, other) == run_config("IQL", 0, default)  # the cache seed is the DWM runs' only


def test_a_negative_cache_seed_is_refused_with_what_is_expected():
    import subprocess

    script = Path(__file__).parents[1] / "benchmarks" / "scores.py"
    done = subprocess.run(
        [sys.executable, str(script), "--cache-seed", "-1", "--report-only"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "--cache-seed must be 0 or a positive integer (got -1)" in done.stderr
