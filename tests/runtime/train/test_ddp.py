"""Two processes (gloo on CPU) train exactly what one process trains on the same global
batch: every rank draws the same batch and masks for step t and takes its slice."""

from __future__ import annotations

import os
import socket
from dataclasses import replace

import pytest
import torch
import torch.multiprocessing as mp
from support.train_fixtures import (
    losses,
    no_dropout_preset,
    run_trainer,
    single_thread,  # noqa: F401 (fixture)
    tiny_plan,
)

from curriculumc.plan import Phase, Unit

pytestmark = pytest.mark.usefixtures("single_thread")


#: batches of 16 examples, and token budgets (rows split by tokens across ranks and steps)
BATCHES = {"examples": 16, "tokens": 300}


def ddp_plan(preset: str, grad_accum: int, unit: str = "examples"):
    batch = dict(batch=BATCHES[unit], batch_unit=unit)
    plan = tiny_plan(
        train=dict(steps=6, warmup=1, grad_accum=grad_accum, **batch),
        units=(Unit("mlm", "mlm"), Unit("pos", "pos", args=("noun", "verb"))),
        # pos idles in the first phase: DDP must cope with a head without gradients
        phases=(Phase(0, (("mlm", 1.0),)), Phase(3, (("mlm", 1.0), ("pos", 0.5)))),
    )
    return replace(plan, model=replace(plan.model, preset=preset))


def _worker(rank: int, world_size: int, port: int, run_dir: str, preset: str, unit: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    from curriculumc.runtime.train import distributed

    world = distributed.setup("cpu")
    try:
        run_trainer(ddp_plan(preset, grad_accum=2, unit=unit), run_dir, world=world)
    finally:
        distributed.cleanup(world)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("unit", sorted(BATCHES))
def test_two_processes_match_one(tmp_path, unit):
    preset = no_dropout_preset(tmp_path / "cfg")
    single, _ = run_trainer(ddp_plan(preset, grad_accum=1, unit=unit), tmp_path / "single")
    args = (2, free_port(), str(tmp_path / "ddp"), preset, unit)
    mp.spawn(_worker, args=args, nprocs=2, join=True)
    one, two = losses(tmp_path / "single"), losses(tmp_path / "ddp")
    assert list(two) == [1, 2, 3, 4, 5, 6]
    for step in one:
        assert two[step] == pytest.approx(one[step], abs=1e-5), step
    for key in ("loss/mlm", "loss/pos"):
        a, b = losses(tmp_path / "single", key), losses(tmp_path / "ddp", key)
        assert a.keys() == b.keys() and all(abs(a[s] - b[s]) < 1e-5 for s in a)
    # only rank 0 wrote, and the weights agree
    from safetensors.torch import load_file

    ddp = load_file(str(tmp_path / "ddp" / "final" / "model.safetensors"))
    for name, tensor in single.model.state_dict().items():
        if name in ddp:
            assert torch.allclose(ddp[name], tensor, atol=1e-5), name
