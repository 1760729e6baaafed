"""Two "nodes" on localhost train exactly what one process trains.

Two ``torchrun --nnodes 2 --nproc-per-node 1`` agents (gloo on CPU, a c10d rendezvous on a
free local port with one ``--rdzv-id``, as a Slurm script starts one per node) each run
one rank; the global batch of every step, the split of its rows between the two nodes,
the losses and the final weights equal a single-process run's (the tolerance of
``test_ddp.py``). This file is also the worker torchrun launches
(``python test_multinode.py OUT PRESET``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

STEPS = 4
BATCH = 16


def multinode_plan(preset: str, grad_accum: int):
    from support.train_fixtures import tiny_plan

    from curriculumc.plan import Phase, Unit

    plan = tiny_plan(
        train=dict(steps=STEPS, warmup=1, batch=BATCH, grad_accum=grad_accum),
        units=(Unit("mlm", "mlm"), Unit("pos", "pos", args=("noun", "verb"))),
        phases=(Phase(0, (("mlm", 1.0),)), Phase(2, (("mlm", 1.0), ("pos", 0.5)))),
    )
    return replace(plan, model=replace(plan.model, preset=preset))


def record_batches(trainer_class, record: dict) -> None:
    """Make ``trainer_class`` note, per step, the global batch (example indices) and the
    rows this process trained (its micro-batches' slices)."""
    train_step, micro_rows = trainer_class.train_step, trainer_class._micro_rows

    def recording_step(self, step, weights):
        record[step] = {"global": [int(i) for i in self.sampler.indices(step)], "rows": []}
        self._recording = step
        return train_step(self, step, weights)

    def recording_rows(self, batch):
        rows = micro_rows(self, batch)
        record[self._recording]["rows"] += [[r.start, r.stop] for r in rows]
        return rows

    trainer_class.train_step, trainer_class._micro_rows = recording_step, recording_rows


def worker(out: Path, preset: str) -> None:
    """One rank under torchrun: train the plan, write this rank's batches and its
    environment to ``out``."""
    import torch
    from support.train_fixtures import run_trainer

    from curriculumc.runtime.train import distributed
    from curriculumc.runtime.train.trainer import Trainer

    torch.set_num_threads(1)
    world = distributed.setup("cpu")
    record: dict = {}
    record_batches(Trainer, record)
    try:
        run_trainer(multinode_plan(preset, grad_accum=2), out / "ddp", world=world)
    finally:
        distributed.cleanup(world)
    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "GROUP_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR")
    info = {"env": {n: os.environ.get(n) for n in names}, "backend": world.backend}
    (out / f"rank{world.rank}.json").write_text(json.dumps({**info, "steps": record}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_nodes_match_one_process(tmp_path, monkeypatch):
    import pytest
    import torch
    from safetensors.torch import load_file
    from support.paths import REPO
    from support.train_fixtures import losses, no_dropout_preset, run_trainer

    from curriculumc.runtime.train.trainer import Trainer

    preset = no_dropout_preset(tmp_path / "cfg")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    port = free_port()
    agents = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes",
                "2",
                "--nproc-per-node",
                "1",
                "--rdzv-backend",
                "c10d",
                "--rdzv-endpoint",
                f"127.0.0.1:{port}",
                "--rdzv-id",
                "multinode-test",
                "--max-restarts",
                "0",
                __file__,
                str(tmp_path),
                preset,
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for _node in range(2)
    ]
    # the single-process reference trains here while the two nodes do
    with monkeypatch.context() as patch:
        single_batches: dict = {}
        patch.setattr(Trainer, "train_step", Trainer.train_step)
        patch.setattr(Trainer, "_micro_rows", Trainer._micro_rows)
        record_batches(Trainer, single_batches)
        torch.set_num_threads(1)
        single, _ = run_trainer(multinode_plan(preset, grad_accum=1), tmp_path / "single")
    outputs = [agent.communicate(timeout=300)[0] for agent in agents]
    for agent, output in zip(agents, outputs):
        assert agent.returncode == 0, output[-3000:]

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    # two nodes (group ranks 0 and 1), one local process each, one world of two
    assert sorted(r["env"]["GROUP_RANK"] for r in ranks) == ["0", "1"]
    assert [r["env"]["LOCAL_RANK"] for r in ranks] == ["0", "0"]
    assert [r["env"]["WORLD_SIZE"] for r in ranks] == ["2", "2"]
    assert [r["backend"] for r in ranks] == ["gloo", "gloo"]
    # the same global batch on both nodes and in the single process; the two nodes'
    # rows are halves of it, together all of it
    assert sorted(int(s) for s in ranks[0]["steps"]) == list(range(STEPS))
    for step in range(STEPS):
        expected = single_batches[step]["global"]
        assert len(expected) == BATCH
        rows = []
        for rank in ranks:
            assert rank["steps"][str(step)]["global"] == expected, step
            rows += rank["steps"][str(step)]["rows"]
        assert sorted(rows) == [[0, 4], [4, 8], [8, 12], [12, 16]], step
    # the losses and the final weights
    one, two = losses(tmp_path / "single"), losses(tmp_path / "ddp")
    assert list(two) == list(range(1, STEPS + 1))
    for step in one:
        assert two[step] == pytest.approx(one[step], abs=1e-5), step
    ddp = load_file(str(tmp_path / "ddp" / "final" / "model.safetensors"))
    compared = 0
    for name, tensor in single.model.state_dict().items():
        if name in ddp:
            assert torch.allclose(ddp[name], tensor, atol=1e-5), name
            compared += 1
    assert compared > 10


def test_cuda_selects_nccl_and_cpu_gloo():
    from curriculumc.runtime.train.distributed import backend_for

    assert backend_for("cuda:3") == "nccl" and backend_for("cuda") == "nccl"
    assert backend_for("cpu") == "gloo" and backend_for("mps") == "gloo"


if __name__ == "__main__":  # a torchrun worker
    worker(Path(sys.argv[1]), sys.argv[2])
