"""Data-parallel training under ``torchrun`` (DistributedDataParallel; gloo on CPU, NCCL on CUDA)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    """Where this process sits in a data-parallel run (``world_size == 1``: a plain run)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the process that logs and saves checkpoints."""
        return self.rank == 0

    def barrier(self) -> None:
        """Waits for every rank (``dist.barrier``); a no-op in a plain run."""
        if self.world_size > 1:
            dist.barrier()


def setup_distributed(device: torch.device) -> tuple[DistContext, torch.device]:
    """Joins the process group that ``torchrun`` describes in the environment, if any.

    Returns:
        The context and the device this rank uses (``cuda:LOCAL_RANK`` on GPUs).
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return DistContext(), device
    ctx = DistContext(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world_size)
    if device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ctx, device


def wrap_model(model: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """DDP around ``model`` (whose ``forward`` is its training loss) in a multi-process run."""
    if ctx.world_size == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
