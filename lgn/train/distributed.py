"""Data-parallel training under ``torchrun``: the process group from its environment variables."""

from __future__ import annotations

import gc
import os

import torch.distributed as dist

from lgn.errors import LgnError


def init_from_env() -> tuple[int, int]:
    """``(rank, world_size)``; joins the gloo process group when ``torchrun`` started more than one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        try:
            dist.init_process_group("gloo")
        except (RuntimeError, ValueError) as e:
            raise LgnError(f"cannot join the torchrun process group ({e})",
                           "start with `torchrun --nproc_per_node N -m lgn.train ...`") from None
    return dist.get_rank(), dist.get_world_size()


def shutdown(*, finished: bool) -> None:
    """Leave the process group. After a finished run every rank first waits at a barrier, so none
    tears gloo down while a peer still has work in flight (after an error a barrier could hang)."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    if finished:
        dist.barrier()
    # DDP's reducer sits in reference cycles: free it while the interpreter is whole, since a gloo
    # object destroyed during interpreter shutdown can abort the process (SIGABRT) after a good run
    gc.collect()
    dist.destroy_process_group()
