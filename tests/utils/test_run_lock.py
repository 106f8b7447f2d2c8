"""The one lock, in its two modes: refusing names the holder; waiting takes its turn (or times out, saying so)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dwm_gym.utils.run_lock import LockedError, LockTimeoutError, RunLock, hold_lock

MODULE = Path(__file__).resolve().parents[2] / "dwm_gym" / "utils" / "run_lock.py"
# holds the lock on argv[1] (a folder with argv[3] == "folder"), says so, then releases it after argv[2] seconds,
# writing argv[1] + ".released" just before releasing it; it loads the lock's module alone (the package is slow to
# import on a busy machine)
HOLDER = """
import importlib.util, sys, time
from pathlib import Path
spec = importlib.util.spec_from_file_location("run_lock", sys.argv[4])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
lock = module.RunLock(sys.argv[1], "the test's file", folder=sys.argv[3] == "folder").acquire()
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
Path(sys.argv[1] + ".released").write_text(str(time.time()))
lock.release()
time.sleep(60)
"""


def start_holder(path: Path, hold_s: float, kind: str = "file") -> subprocess.Popen:
    command = [sys.executable, "-c", HOLDER, str(path), str(hold_s), kind, str(MODULE)]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


@pytest.fixture
def holders():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_the_refusing_mode_raises_at_once_naming_the_holder(tmp_path, holders):
    lock = tmp_path / "run" / ".lock"
    holders.append(start_holder(lock, 60))
    start = time.monotonic()
    with pytest.raises(LockedError, match=rf"the run folder x is being written .*pid {holders[0].pid} on host"):
        RunLock(lock, "the run folder x").acquire()
    assert time.monotonic() - start < 5  # it did not wait for the holder


def test_the_waiting_mode_blocks_until_the_holder_releases(tmp_path, holders):
    lock = tmp_path / "fill.lock"
    holders.append(start_holder(lock, 1.5))
    with hold_lock(lock, "the fill", wait=True):
        released = Path(f"{lock}.released")
        assert released.is_file(), "the waiting lock was taken while the other process still held it"
        assert time.time() >= float(released.read_text())
        # now this process holds it: a refusing writer names this process
        with pytest.raises(LockedError, match=f"pid {os.getpid()}"):
            RunLock(lock, "the fill").acquire()


def test_the_waiting_mode_with_a_timeout_gives_up_with_a_clear_error(tmp_path, holders):
    lock = tmp_path / "fill.lock"
    holders.append(start_holder(lock, 60))
    start = time.monotonic()
    with pytest.raises(LockTimeoutError, match=rf"waited 0.5 s for the fill, still held .*pid {holders[0].pid}"):
        RunLock(lock, "the fill", wait=True, timeout=0.5).acquire()
    assert 0.5 <= time.monotonic() - start < 10
    assert not Path(f"{lock}.released").exists()


def test_a_folder_lock_waits_for_its_holder_and_leaves_no_file_in_the_folder(tmp_path, holders):
    folder = tmp_path / "records"
    holders.append(start_holder(folder, 1.0, kind="folder"))
    with pytest.raises(LockTimeoutError, match="a folder lock does not record its holder"):
        RunLock(folder, "the records folder", wait=True, timeout=0.05, folder=True).acquire()
    with hold_lock(folder, "the records folder", wait=True, folder=True):
        assert Path(f"{folder}.released").is_file()
    assert list(folder.iterdir()) == []


def test_a_timeout_is_only_for_the_waiting_mode():
    with pytest.raises(ValueError, match="for wait=True"):
        RunLock("x.lock", "x", timeout=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        RunLock("x.lock", "x", wait=True, timeout=-1.0)
