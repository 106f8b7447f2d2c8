"""One sweep trial under Ray Tune: today's agent run (``train_agent``), checkpointed into Tune's trial state.

Each time the run writes its ``checkpoints/latest.safetensors`` (every ``checkpoint_every`` updates), the trial
reports to Tune the run's evaluations so far and a Tune checkpoint: the run folder's records, that file and the
random generators' states (NumPy's, torch's and the replay buffer's). When Tune restores the trial (the
driver was killed, a node was lost), the run folder is rebuilt from that checkpoint and the run resumes
from it with the same generator states, so it goes on as if it had never stopped. A trial without a Tune
checkpoint starts afresh, whatever its folder holds.

Every report carries ``run_wall_s``: the wall time of the agent run itself (``train_agent``, from loading its
data to its last save), summed over the segments of a resumed trial (each counted up to its last checkpoint).
Tune's own clock of the trial beside it gives Ray's overhead (:mod:`dwm_gym.sweep.overhead`).

Ray is imported only inside these functions: the rest of the package never needs it.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from stable_baselines3.common.callbacks import BaseCallback

from dwm_gym.agents.runs import LATEST, train_agent
from dwm_gym.sweep.records import trial_record
from dwm_gym.sweep.trials import trial_from_dict
from dwm_gym.utils.atomic import atomic_write_text
from dwm_gym.utils.provenance import package_source
from dwm_gym.utils.sb3_adapter import total_timesteps

RNG_TENSORS, RNG_JSON, FINISHED, TIMING = "rng.safetensors", "rng.json", "finished.json", "timing.json"
#: The metric of every report holding the run's own wall time (seconds).
RUN_WALL = "run_wall_s"
#: The run folder's files a Tune checkpoint holds (the model itself only as ``checkpoints/latest.safetensors``).
RECORDS = ("agent.json", "evaluations.jsonl")


def run_trial(params: dict[str, Any]) -> None:
    """Tune's function trainable: trains (or resumes) the trial ``params["trial"]`` in ``params["runs_dir"]``.

    Args:
        params: ``trial`` (:meth:`~dwm_gym.sweep.trials.Trial.to_dict`), ``runs_dir`` (the run folders' root)
            and ``threads`` (torch threads).

    Raises:
        ValueError: When the world model found here is not the one the trial was planned with (another export
            of a bundled model on this node, say): the trial would not be the one its identity names.
    """
    from ray import tune

    commit = package_source()["commit"]  # the code this trial runs, not the checkout's HEAD when it ends
    trial = trial_from_dict(params["trial"])
    out = Path(params["runs_dir"]) / trial.name
    torch.set_num_threads(int(params.get("threads", 1)))
    checkpoint = tune.get_checkpoint()
    rng_state, run_s = None, 0.0
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            if (Path(folder) / FINISHED).is_file():  # the trial ended but the driver did not record it: report again
                tune.report(json.loads((Path(folder) / FINISHED).read_text())["metrics"])
                return
            rng_state = _restore_run_folder(Path(folder), out)
            run_s = _run_seconds(Path(folder))
    elif out.exists():
        shutil.rmtree(out)  # a start that never reached a checkpoint: Tune's state says it has none
    resume = rng_state is not None
    report = ReportCheckpoints(out, trial.config.checkpoint_every, rng_state, run_s)
    # the model is resolved and loaded once, inside train_agent, and refused there if it is not the planned one
    train_agent(trial.config, out, resume=resume, progress_bar=False, callbacks=[report], expected_digest=trial.digest)
    final = {"done_updates": trial.config.steps, RUN_WALL: report.run_seconds(), **_metrics(out)}
    with tempfile.TemporaryDirectory(prefix="dwm_gym_trial_") as folder:  # the record travels in the last checkpoint
        done = {"metrics": final, "record": trial_record(out, trial, commit)}
        atomic_write_text(Path(folder) / FINISHED, json.dumps(done))
        tune.report(final, checkpoint=tune.Checkpoint.from_directory(folder))


def finished_record(checkpoint: Any) -> dict[str, Any] | None:
    """The run record in a trial's last Tune checkpoint, or None when the trial did not finish."""
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as folder:
        path = Path(folder) / FINISHED
        return json.loads(path.read_text())["record"] if path.is_file() else None


class ReportCheckpoints(BaseCallback):
    """Reports every checkpoint of the run to Tune, and puts resumed random generators back at the start.

    Args:
        out: The run folder.
        every: Updates between checkpoints (the run's ``checkpoint_every``).
        rng_state: The generators' states to restore when training starts (None: a fresh run).
        run_s: The run's wall time before this segment (seconds; 0 for a fresh run). This segment's starts now.
    """

    def __init__(self, out: Path, every: int, rng_state: tuple[dict, dict] | None, run_s: float = 0.0) -> None:
        super().__init__()
        self.out, self.every, self.rng_state = out, max(1, every), rng_state
        self.before, self.started = run_s, time.perf_counter()

    def run_seconds(self) -> float:
        """The run's wall time so far: earlier segments' and this one's."""
        return self.before + time.perf_counter() - self.started

    def _on_training_start(self) -> None:
        if self.rng_state is not None:
            _set_rng_state(self.model, *self.rng_state)

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0 and self.num_timesteps < total_timesteps(self.model):
            from ray import tune

            with tempfile.TemporaryDirectory(prefix="dwm_gym_trial_") as folder:
                run_s = self.run_seconds()
                _save_run_folder(self.out, Path(folder), self.model)
                atomic_write_text(Path(folder) / TIMING, json.dumps({RUN_WALL: run_s}))
                metrics = {"done_updates": self.num_timesteps, RUN_WALL: run_s, **_metrics(self.out)}
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))
        return True


def _metrics(out: Path) -> dict[str, Any]:
    """The latest evaluation of the run (``normalized_score``, ``mean_return``; NaN before the first)."""
    log = out / "evaluations.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.is_file() else []
    last = rows[-1] if rows else {}
    return {k: float(last.get(k, math.nan)) for k in ("normalized_score", "mean_return")}


def _run_seconds(folder: Path) -> float:
    """The run's wall time a Tune checkpoint holds (0 for a checkpoint written before it was recorded)."""
    path = folder / TIMING
    return float(json.loads(path.read_text())[RUN_WALL]) if path.is_file() else 0.0


def _save_run_folder(out: Path, folder: Path, model: Any) -> None:
    """Copies the run's records, its latest checkpoint and the generators' states into ``folder``."""
    names = [*RECORDS, *sorted(p.name for p in out.glob("progress*.csv"))]
    for name in names:
        if (out / name).is_file():
            shutil.copyfile(out / name, folder / name)
    (folder / "checkpoints").mkdir()
    shutil.copyfile(out / "checkpoints" / LATEST, folder / "checkpoints" / LATEST)
    tensors, plain = _rng_state(model)
    save_file(tensors, str(folder / RNG_TENSORS))
    atomic_write_text(folder / RNG_JSON, json.dumps(plain))


def _restore_run_folder(folder: Path, out: Path) -> tuple[dict, dict]:
    """Rebuilds the run folder ``out`` from a Tune checkpoint; returns the generators' states it holds."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(folder, out, ignore=shutil.ignore_patterns(RNG_TENSORS, RNG_JSON, TIMING))
    return load_file(str(folder / RNG_TENSORS)), json.loads((folder / RNG_JSON).read_text())


def _rng_state(model: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, JSON data) of every generator the run draws from: Python's, NumPy's, torch's, the buffer's."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors = {"torch": torch.get_rng_state(), "numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64))}
    plain: dict[str, Any] = {
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": [kind, int(pos), int(has_gauss), float(cached)],
    }
    buffer = model.replay_buffer
    if getattr(buffer, "_generator", None) is not None:
        tensors["buffer"] = buffer._generator.get_state()
    if getattr(buffer, "_np_rng", None) is not None:
        plain["buffer_numpy"] = buffer._np_rng.bit_generator.state
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state()
    return tensors, plain


def _set_rng_state(model: Any, tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> None:
    """Puts back what :func:`_rng_state` saved."""
    version, state, gauss = plain["python"]
    random.setstate((version, tuple(state), gauss))
    kind, pos, has_gauss, cached = plain["numpy"]
    np.random.set_state((kind, tensors["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(tensors["torch"])
    buffer = model.replay_buffer
    if "buffer" in tensors:
        buffer.generator.set_state(tensors["buffer"])
    if "buffer_numpy" in plain:
        buffer._np_rng.bit_generator.state = plain["buffer_numpy"]
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["cuda"])
