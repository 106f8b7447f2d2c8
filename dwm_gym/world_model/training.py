"""Training any world model kind on an :class:`OfflineDataset` (resumable), with no per-kind branches.

The config names its kind (``config.kind``); the kind's class provides a fresh model, its batches
and whether an EMA copy is kept (:meth:`WorldModel.training_setup`).

Adam on the ε-loss, EMA θ̄ ← β θ̄ + (1 − β) θ every ``ema_every`` iterations (the EMA model is
what gets saved and sampled), held-out loss on whole held-out episodes every ``eval_every`` steps.

Files in the run folder, all written atomically (an interruption loses at most one checkpoint interval):

* ``model.safetensors``: the **selected** model, loadable with :func:`load_world_model`. The selection
  rule: the lowest held-out loss over all evaluations (every ``eval_every`` iterations, on the same
  ``held_out_samples`` held-out examples and the same diffusion noise each time; the earliest on a tie).
  Its header records ``selected_step`` and ``selected_held_out_loss``.
* ``last.safetensors``: the last iterate, written at every checkpoint.
* ``selection.json``: the rule and the selected step.
* ``train_state.pt`` every ``checkpoint_every`` steps: online weights, EMA, optimizer, RNG, step and the
  best loss so far (read back with ``torch.load(weights_only=True)``, so no code runs), and the run's identity
  (:func:`~dwm_gym.world_model.run_state.run_identity`: settings, dataset id and content digest).
* ``split.json``: the held-out episodes, drawn when the run starts and reused on every resume.
* ``.lock``: held by the process writing the run (:mod:`dwm_gym.utils.run_lock`); a second one is refused.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.utils.atomic import atomic_write, atomic_write_text
from dwm_gym.utils.device import resolve_device
from dwm_gym.utils.paths import check_out_dir
from dwm_gym.utils.run_lock import RunLock
from dwm_gym.utils.validation import in_range, integer
from dwm_gym.world_model.base import WorldModel
from dwm_gym.world_model.checkpoint import save_world_model
from dwm_gym.world_model.distributed import setup_distributed, wrap_model
from dwm_gym.world_model.dwm.config import DWMConfig
from dwm_gym.world_model.onestep.model import OneStepConfig
from dwm_gym.world_model.registry import model_class
from dwm_gym.world_model.run_state import check_run_folder, load_split, read_train_state, run_identity, trim_metrics

logger = logging.getLogger(__name__)


@dataclass
class TrainingRun:
    """Settings of one training run (the model's own settings live in :class:`DWMConfig`).

    Attributes:
        steps: Iterations to reach (counting those of a resumed run).
        checkpoint_every: Iterations between checkpoints.
        eval_every: Iterations between held-out loss measurements.
        held_out_fraction: Fraction of episodes held out.
        held_out_samples: Held-out examples the loss (and so the checkpoint selection) is measured on.
        seed: Seed of the split, the batches and the diffusion noise.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...
    """

    steps: int
    checkpoint_every: int = 5_000
    eval_every: int = 1_000
    held_out_fraction: float = 0.05
    held_out_samples: int = 4096
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        self.steps = integer("steps", self.steps)
        self.checkpoint_every = integer("checkpoint_every", self.checkpoint_every)
        self.eval_every = integer("eval_every", self.eval_every)
        fraction = self.held_out_fraction
        self.held_out_fraction = in_range("held_out_fraction", fraction, 0, 1, low_open=True, high_open=True)
        self.held_out_samples = integer("held_out_samples", self.held_out_samples)
        self.seed = integer("seed", self.seed, minimum=0)
        resolve_device(self.device)


def _to_device(arrays: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(v, dtype=torch.float32, device=device) for k, v in arrays.items()}


def train_world_model(
    dataset: OfflineDataset,
    config: DWMConfig | OneStepConfig,
    run: TrainingRun,
    out_dir: str | Path,
    resume: bool = False,
    on_metrics: Callable[[int, dict], None] | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> WorldModel:
    """Trains (or resumes) a model of ``config``'s kind, e.g. a DWM (``DWMConfig``) or a one-step model.

    A kind with an EMA copy (the DWM) saves and returns it; the others are saved as trained.

    Args:
        dataset: Training data (episodes are split into train / held-out).
        config: Model settings (``batch_size``, ``learning_rate``...).
        run: Run settings.
        out_dir: Folder for checkpoints and ``metrics.jsonl``.
        resume: Continue from ``out_dir/train_state.pt`` (with the same kind, settings and data).
        on_metrics: Called with ``(step, metrics)`` at every evaluation (for loggers).
        progress: Show a progress bar.
        overwrite: Replace a run already in ``out_dir`` (without it, and without ``resume``, such a
            folder is refused).

    Raises:
        FileExistsError: If ``out_dir`` holds a run and neither ``resume`` nor ``overwrite`` is set.
        FileNotFoundError: On ``resume`` without a ``train_state.pt`` to resume from.
        ValueError: On ``resume`` with another kind, other model settings or other data than the run's.
    """
    out_dir = check_out_dir(out_dir)
    settings = run_identity(config.kind, asdict(config), dataset, run)
    # a model setting added after a run started is absent from its record: that run used the default
    defaults = {f.name: f.default for f in fields(config)}
    ctx, device = setup_distributed(resolve_device(run.device))
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    # one writer per run folder (rank 0 writes; the other ranks of a parallel run only read)
    lock = RunLock(out_dir / ".lock", f"the run folder {out_dir}").acquire() if ctx.is_main else None
    try:
        check_run_folder(out_dir, resume, overwrite, settings, defaults)
    except BaseException:
        if lock is not None:
            lock.release()
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    try:
        return _train(dataset, config, run, out_dir, resume, on_metrics, progress, settings, ctx, device)
    finally:
        if lock is not None:
            lock.release()


def _train(dataset, config, run, out_dir, resume, on_metrics, progress, settings, ctx, device) -> WorldModel:
    """The training loop of :func:`train_world_model`, in a checked and locked run folder."""
    rng = np.random.default_rng([run.seed, ctx.rank])  # each rank draws its own batches
    train_idx, held_idx = load_split(out_dir, dataset, run.held_out_fraction, run.seed)  # stored, reused on resume
    train_data, held_data = dataset.subset(train_idx, "train"), dataset.subset(held_idx, "held-out")
    info = {
        "dataset_id": dataset.dataset_id,
        "dataset_transitions": dataset.num_transitions,
        "held_out_fraction": run.held_out_fraction,
        "split_seed": run.seed,
        "dataset_sha256": settings["dataset_sha256"],
    }
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(run.seed)
        setup = model_class(config.kind).training_setup(train_data, held_data, config, info, run.seed)
    model, train_src, held_src = setup.model.to(device), setup.train_batches, setup.held_batches
    held_count = min(run.held_out_samples, len(held_src))  # what the loss is measured on, and recorded
    if ctx.is_main and held_count < run.held_out_samples:
        logger.warning(
            "held_out_samples %d: the held-out episodes have %d examples, all are used",
            run.held_out_samples,
            held_count,
        )
    info = model.info  # with what the kind added (e.g. RTG statistics)
    ema = copy.deepcopy(model).requires_grad_(False) if setup.ema is not None else None
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator(device=device).manual_seed(run.seed * 1000 + ctx.rank)
    step, best = 0, (float("inf"), 0)
    state_path = out_dir / "train_state.pt"
    if resume and state_path.exists():
        state = read_train_state(state_path, device)
        model.load_state_dict(state["model"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        best = (float(state.get("best_loss", float("inf"))), int(state.get("best_step", 0)))
        if ctx.world_size == 1:  # exact continuation; ranks of a parallel run reseed by step instead
            generator.set_state(state["generator"].cpu() if device.type == "cpu" else state["generator"])
            rng = np.random.default_rng()
            rng.bit_generator.state = json.loads(state["numpy_rng"])
        else:
            rng = np.random.default_rng([run.seed, ctx.rank, step])
            generator.manual_seed(run.seed * 1000 + ctx.rank + 7919 * step)
        if ctx.is_main:
            trim_metrics(out_dir, step)  # lines after the checkpoint are written again: each step appears once
        logger.info("resumed %s at step %d", out_dir, step)
    train_model = wrap_model(model, ctx, device)
    bar = None
    if progress and ctx.is_main:
        from tqdm.auto import tqdm

        bar = tqdm(total=run.steps, initial=step, desc="world model", unit="it")
    start = time.time()
    while step < run.steps:
        batch = _to_device(train_src.batch(rng.integers(0, len(train_src), config.batch_size)), device)
        loss = train_model(**batch, generator=generator)  # forward is the loss (DDP syncs the gradients)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if ema is not None and setup.ema is not None and step % setup.ema[1] == 0:
            _ema_update(ema, model, setup.ema[0])
        if bar is not None:
            bar.update(1)
        if ctx.is_main and (step % run.eval_every == 0 or step == run.steps):
            metrics = {
                "train_loss": float(loss.detach()),
                "held_out_loss": held_out_loss(ema or model, held_src, run.seed, run.held_out_samples),
                "wall_s": time.time() - start,
            }
            if metrics["held_out_loss"] < best[0]:  # strictly lower: the earliest wins a tie
                best = (metrics["held_out_loss"], step)
                _save_selected(out_dir, ema or model, step, best[0], info, run, held_count)
            with open(out_dir / "metrics.jsonl", "a") as handle:
                handle.write(json.dumps({"step": step, **metrics}) + "\n")
            if on_metrics is not None:
                on_metrics(step, metrics)
            if bar is not None:
                bar.set_postfix(held_out=f"{metrics['held_out_loss']:.4f}")
        if step % run.checkpoint_every == 0 or step == run.steps:
            if ctx.is_main:
                _checkpoint(out_dir, model, ema, optimizer, generator, rng, step, info, best, settings)
            ctx.barrier()
    if bar is not None:
        bar.close()
    return (ema or model).eval()


@torch.no_grad()
def _ema_update(ema: WorldModel, model: WorldModel, decay: float) -> None:
    for target, source in zip(ema.parameters(), model.parameters()):
        target.lerp_(source, 1.0 - decay)
    for target_buffer, source_buffer in zip(ema.buffers(), model.buffers()):
        target_buffer.copy_(source_buffer)


@torch.no_grad()
def held_out_loss(model, source, seed: int, size: int = 4096) -> float:
    """Loss of ``model`` on a fixed sample of held-out data (same samples and noise every call)."""
    rng = np.random.default_rng(seed + 1)
    idx = rng.choice(len(source), size=min(size, len(source)), replace=False)
    batch = _to_device(source.batch(idx), model.device)
    generator = torch.Generator(device=model.device).manual_seed(seed + 1)
    return float(model.loss(**batch, generator=generator))


def _save_selected(
    out_dir: Path, model: WorldModel, step: int, loss: float, info: dict, run: TrainingRun, held_count: int
) -> None:
    """Writes the model chosen by the selection rule (see the module docstring) and ``selection.json``."""
    save_world_model(
        model, out_dir / "model.safetensors", train_steps=step, selected_step=step, selected_held_out_loss=loss, **info
    )
    rule = (
        f"lowest held-out loss over evaluations every {run.eval_every} iterations, on {held_count} "
        f"fixed held-out examples with fixed noise; earliest on a tie"
    )
    selection = {"rule": rule, "step": step, "held_out_loss": loss}
    atomic_write_text(out_dir / "selection.json", json.dumps(selection, indent=2) + "\n")


def _checkpoint(out_dir, model, ema, optimizer, generator, rng, step, info, best, settings) -> None:
    state = {
        "model": model.state_dict(),
        "ema": ema.state_dict() if ema is not None else {},
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "numpy_rng": json.dumps(rng.bit_generator.state),
        "step": step,
        "best_loss": best[0],
        "best_step": best[1],
        "settings": json.dumps(settings),
    }
    atomic_write(out_dir / "train_state.pt", lambda tmp: torch.save(state, tmp))
    save_world_model(ema if ema is not None else model, out_dir / "last.safetensors", train_steps=step, **info)
    atomic_write_text(out_dir / "last_step.txt", f"{step}\n")
