"""The same spec, unchanged, against a Ray cluster address: a head started by ``ray start --head`` on this machine.

The cluster is this test's own: its own temporary folder and free ports, so it never meets another Ray of the
machine. ``ray stop`` would stop every Ray of the machine, so the test ends its cluster by the processes that
name its temporary folder (and their children), whatever the test's outcome.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray.tune", reason='the sweep tests need the sweep extra: pip install -e ".[sweep]"')

from dwm_gym.data import make_dataset  # noqa: E402
from dwm_gym.sweep.overhead import trial_times  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
SPEC = """
name = "cluster"
datasets = ["hopper-medium"]
methods = ["TD3BC"]
seeds = [0, 1]
[budget]
updates = 100
eval_every = 100
eval_episodes = 1
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_of(marker: str) -> dict[int, str]:
    """Processes whose command line names ``marker``, and their descendants: pid -> start time (clock ticks)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        table[int(entry.name)] = (command, int(fields[1]), fields[19])  # command, parent, start time
    ours = {pid for pid, (command, _, _) in table.items() if marker in command}
    while True:
        children = {pid for pid, (_, parent, _) in table.items() if parent in ours} - ours
        if not children:
            return {pid: table[pid][2] for pid in ours}
        ours |= children


def end_processes(marker: str, grace_s: float = 5.0) -> None:
    """SIGTERM, then after ``grace_s`` SIGKILL, every process of ``marker`` (found again before each signal)."""
    known: dict[int, str] = {}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        known |= processes_of(marker)
        for pid, started in known.items():
            try:
                same = (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]) == started
                if same:  # not a new process that took a freed pid
                    os.kill(pid, sig)
            except (OSError, IndexError):
                pass
        deadline = time.monotonic() + grace_s
        while sig == signal.SIGTERM and time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in known):
            time.sleep(0.2)


@pytest.fixture
def environment(tmp_path) -> dict[str, str]:
    """The environment of the cluster's processes and of the driver: this checkout, the test's data, no auth token.

    A head started where ``~/.ray/auth_token`` exists turns token authentication on unless ``RAY_AUTH_MODE`` says
    otherwise; this private cluster turns it off for itself and its driver.
    """
    path = os.pathsep.join(p for p in (str(REPOSITORY), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    env.pop("RAY_ADDRESS", None)
    return env


@pytest.fixture
def cluster(environment):
    """A one-CPU Ray head of its own (temporary folder, free ports); yields (address, temporary folder)."""
    folder = Path(tempfile.mkdtemp(prefix="dwmray_", dir="/tmp"))  # short: Ray's socket paths live under it
    port = free_port()
    command = ["ray", "start", "--head", "--num-cpus", "1", "--port", str(port), "--include-dashboard=false"]
    command += ["--disable-usage-stats", "--temp-dir", str(folder), "--ray-client-server-port", str(free_port())]
    command += ["--dashboard-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port())]
    try:
        started = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=180)
        assert started.returncode == 0, f"ray start failed:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}"
        yield f"127.0.0.1:{port}", folder
    finally:
        end_processes(str(folder))
        shutil.rmtree(folder, ignore_errors=True)
    assert processes_of(str(folder)) == {}, "a process of the test's cluster outlived it"


@pytest.mark.slow  # ~2 min on 2 busy cores: the head's start, then two trials one after the other on its one CPU
def test_the_same_spec_runs_unchanged_against_a_ray_cluster_address(tmp_path, environment, cluster):
    address, folder = cluster
    make_dataset("hopper-medium", steps=200, seed=0, num_envs=2, overwrite=True, progress=False)
    spec, storage = tmp_path / "cluster.toml", tmp_path / "sweeps"
    spec.write_text(SPEC)
    command = [sys.executable, "-m", "dwm_gym.cli", "sweep", str(spec), "--storage", str(storage)]
    command += ["--address", address, "--tune-verbose", "0"]
    driver = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
    assert driver.returncode == 0, f"{driver.stdout[-3000:]}\n{driver.stderr[-3000:]}"

    [experiment] = storage.glob("cluster-*")
    rows = [json.loads(line) for line in (experiment / "records" / "hopper-medium.jsonl").read_text().splitlines()]
    assert sorted(r["name"] for r in rows) == ["TD3BC_s0", "TD3BC_s1"]
    assert all(r["updates"] == 100 and [p["updates"] for p in r["curve"]] == [100] for r in rows)
    assert rows[0]["curve"] != rows[1]["curve"]  # two seeds, two runs
    # each trial ran in a worker of this cluster: its process wrote its log into the cluster's folder
    state = max(experiment.glob("experiment_state-*.json"), key=lambda p: p.stat().st_mtime)
    pids = [json.loads(meta)["last_result"]["pid"] for _, meta in json.loads(state.read_text())["trial_data"]]
    logs = {p.name for p in folder.glob("session_*/logs/*")}
    assert len(pids) == 2 and all(any(name.endswith(f"_{pid}.log") for name in logs) for pid in pids), (pids, logs)
    # the run's own wall time travels back to the driver with each trial's results
    times = trial_times(experiment)
    assert [t.name for t in times] == ["hopper-medium/TD3BC_s0", "hopper-medium/TD3BC_s1"]
    assert all(0 < t.run_s <= t.trainable_s + 1.0 and t.launch_s >= 0 for t in times)
