"""torchrun / DistributedDataParallel set-up, kept tiny.

``torchrun --nproc_per_node N -m curriculumc run SPEC`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; without them the run is a single process. The backend is NCCL on GPUs and
gloo on CPUs (:func:`backend_for`). Only rank 0 writes files (:attr:`World.is_main`).

Several nodes: one ``torchrun --nnodes N --nproc-per-node G`` per node, joined by a
rendezvous (``--rdzv-backend c10d --rdzv-endpoint HOST:PORT --rdzv-id ID``, or
``--node-rank``/``--master-addr``/``--master-port``); torchrun then sets ``RANK`` (global),
``LOCAL_RANK`` (the GPU on this node), ``WORLD_SIZE`` (N x G), ``MASTER_ADDR`` and
``MASTER_PORT``, which :func:`setup` reads through ``init_process_group``'s ``env://``.
docs/cluster.md has a Slurm script (tested: tests/runtime/train/test_multinode.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from curriculumc.errors import CurriculumError


@dataclass(frozen=True)
class World:
    """This process's place in the run: ``rank`` of ``size``, on ``device``."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    #: the process group's backend (``nccl``, ``gloo``), None for a single process
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def pick_device(requested: str | None, local_rank: int = 0) -> str:
    """``requested`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) or the best available: the one
    device rule of ``run`` and ``eval``. Raises CurriculumError (E634) when CUDA is asked
    for and there is none."""
    import torch

    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise CurriculumError.single(
                "E634", f"--device {requested} given but no CUDA device is available"
            )
        if requested == "cuda":
            return f"cuda:{local_rank}"
        return requested
    if torch.cuda.is_available():
        return f"cuda:{local_rank}"
    return "cpu"


def backend_for(device: str) -> str:
    """The process group backend of a device: NCCL for CUDA, gloo for anything else."""
    return "nccl" if device.startswith("cuda") else "gloo"


def setup(device: str | None = None) -> World:
    """Join the process group when launched by torchrun; returns this process's World."""
    import torch
    import torch.distributed as dist

    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = pick_device(device, local_rank)
    backend = None
    if size > 1:
        backend = backend_for(chosen)
        if not dist.is_initialized():
            if chosen.startswith("cuda"):
                torch.cuda.set_device(torch.device(chosen))
            dist.init_process_group(backend=backend, rank=rank, world_size=size)
    return World(rank=rank, size=size, local_rank=local_rank, device=chosen, backend=backend)


def all_reduce_sum(tensor, world: World):
    """Sum ``tensor`` over every rank, in place; returns it (a no-op for one process)."""
    if world.distributed:
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier(world: World) -> None:
    """Wait for every rank (a no-op for one process)."""
    if world.distributed:
        import torch.distributed as dist

        dist.barrier()


def cleanup(world: World) -> None:
    """Leave the process group if this process joined one."""
    if world.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
