"""What a sweep does without starting Ray: the missing-extra message, the dry run, the cache stage, lazy imports."""

import ast
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dwm_gym.cli import main
from dwm_gym.data import make_dataset
from dwm_gym.sweep import RayNotInstalledError, SweepOptions, plan_trials, run_sweep, spec_from_dict
from dwm_gym.sweep.cache_stage import caches_of, fill_cache

PACKAGE = Path(__file__).resolve().parents[2] / "dwm_gym"
SPEC = (
    'name = "light"\ndatasets = ["hopper-medium"]\nmethods = ["TD3BC", "DWM-IQL"]\nseeds = [0, 1]\nrtgs = [0.6, 0.7]\n'
)


@pytest.fixture
def without_ray(monkeypatch):
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError


def test_without_ray_the_sweep_says_how_to_install_it(tmp_path, without_ray, capsys):
    spec = spec_from_dict({"name": "x", "datasets": ["hopper-medium"], "methods": ["TD3BC"], "seeds": [0]})
    with pytest.raises(RayNotInstalledError, match=r'pip install "dwm_gym\[sweep\]"'):
        run_sweep(spec, SweepOptions(storage=tmp_path))
    (tmp_path / "x.toml").write_text(SPEC)
    assert main(["sweep", str(tmp_path / "x.toml"), "--storage", str(tmp_path)]) == 2
    assert 'pip install "dwm_gym[sweep]"' in capsys.readouterr().err


def test_dry_run_lists_the_trials_without_ray(tmp_path, without_ray, capsys):
    (tmp_path / "light.toml").write_text(SPEC)
    assert main(["sweep", str(tmp_path / "light.toml"), "--storage", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "hopper-medium/TD3BC_s1" in out and "hopper-medium/DWM-IQL_rtg0.7_s0" in out
    assert "6 trials, 2 shared imagination caches" in out


def test_bad_spec_on_the_command_line_is_an_error_message(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text(SPEC.replace('"DWM-IQL"', '"DWM-SAC"'))
    assert main(["sweep", str(tmp_path / "bad.toml"), "--dry-run"]) == 2
    assert "unknown method 'DWM-SAC'" in capsys.readouterr().err


def test_the_package_never_needs_ray():
    code = (
        "import sys, dwm_gym, dwm_gym.sweep, dwm_gym.sweep.trial, dwm_gym.sweep.cache_stage\n"
        "from dwm_gym.cli import build_parser\n"
        "build_parser()\n"
        "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    for path in PACKAGE.rglob("*.py"):  # ray only inside functions: importing a module never needs it
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n == "ray" or n.startswith("ray.") for n in names), f"{path} imports ray at the top"


def test_concurrent_cache_fills_fill_once(tmp_path):
    make_dataset("hopper-medium", steps=200, seed=0, num_envs=2, overwrite=True, progress=False)
    spec = spec_from_dict({"name": "c", "datasets": ["hopper-medium"], "methods": ["DWM-TD3BC"], "seeds": [0, 1]})
    trials = plan_trials(spec, cache_dir=tmp_path / "caches")
    [first] = caches_of(trials)  # two seeds, one (dataset, model, RTG): one cache
    results = []
    workers = [threading.Thread(target=lambda: results.append(fill_cache(first.to_dict()))) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted("loaded" in r for r in results) == [False, True]  # one filled it, the other waited and loaded it
    assert next(r for r in results if "loaded" not in r)["segments"] == 200
    assert Path(first.config.cache_file).is_file()


def test_a_finished_cache_is_loaded_while_another_process_holds_the_fill_lock(tmp_path):
    from dwm_gym.utils.run_lock import RunLock

    make_dataset("hopper-medium", steps=200, seed=0, num_envs=2, overwrite=True, progress=False)
    spec = spec_from_dict({"name": "c", "datasets": ["hopper-medium"], "methods": ["DWM-TD3BC"], "seeds": [0]})
    [trial] = plan_trials(spec, cache_dir=tmp_path / "caches")
    assert "segments" in fill_cache(trial.to_dict())
    with RunLock(f"{trial.config.cache_file}.lock", "another filler"):  # trials starting together only read it
        assert fill_cache(trial.to_dict()) == {"loaded": 1.0}


def test_sweep_options_refuse_bad_values_saying_what_is_expected(tmp_path):
    with pytest.raises(ValueError, match="num_cpus .* at least 1"):
        SweepOptions(num_cpus=0)
    with pytest.raises(ValueError, match="max_concurrent_trials is 0 .* got -1"):
        SweepOptions(max_concurrent_trials=-1)
    with pytest.raises(ValueError, match="verbose is 0 .* got 3"):
        SweepOptions(verbose=3)
    assert SweepOptions(storage=tmp_path / "a" / ".." / "b").storage_path == (tmp_path / "b").resolve()


def test_the_command_line_gives_the_runner_its_options(tmp_path, monkeypatch):
    import dwm_gym.sweep

    seen = {}

    def fake_run_sweep(spec, options):
        seen["spec"], seen["options"] = spec, options
        raise dwm_gym.sweep.SweepFailedError("stopped by the test")

    monkeypatch.setattr(dwm_gym.sweep, "run_sweep", fake_run_sweep)
    (tmp_path / "x.toml").write_text(SPEC)
    argv = ["sweep", str(tmp_path / "x.toml"), "--storage", str(tmp_path), "--address", "127.0.0.1:1"]
    argv += ["--records", str(tmp_path / "rec"), "--num-cpus", "3", "--max-concurrent", "2", "--tune-verbose", "0"]
    assert main(argv) == 1
    assert seen["options"] == SweepOptions(
        storage=tmp_path.resolve(),
        address="127.0.0.1:1",
        records=str(tmp_path / "rec"),
        num_cpus=3,
        max_concurrent_trials=2,
        verbose=0,
    )
    assert seen["spec"].name == "light"


def test_a_cluster_that_refuses_the_connection_gets_a_message_with_what_to_check(tmp_path, monkeypatch, capsys):
    ray = pytest.importorskip("ray")

    def refused(**settings):
        raise ConnectionError(f"Failed to connect to Ray cluster at {settings['address']}")

    monkeypatch.setattr(ray, "init", refused)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    (tmp_path / "x.toml").write_text(SPEC.replace('"TD3BC", "DWM-IQL"', '"TD3BC"'))
    assert main(["sweep", str(tmp_path / "x.toml"), "--storage", str(tmp_path), "--address", "10.0.0.9:6379"]) == 2
    error = capsys.readouterr().err
    assert "could not connect to the Ray cluster at '10.0.0.9:6379'" in error and "RAY_AUTH_MODE=token" in error
