"""Kill a real training process with SIGKILL (and damage its newest checkpoint), or stop it
with SIGTERM, resume it, and get the uninterrupted run's weights bit for bit and its
metrics.jsonl line for line; a changed plan is refused with its diff."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from support.data_inputs import aochildes_file
from support.run_folders import kill_at_checkpoint
from support.train_fixtures import single_thread  # noqa: F401 (fixture)

from curriculumc.cli import main

pytestmark = pytest.mark.usefixtures("single_thread")

SPEC = """\
model roberta-tiny
data "train.jsonl"
tokenizer bpe 1000
train 60 steps, batch 16, seq 64, lr 1e-3, warmup 5, seed 11
sort by sentence_length
pace linear from 30% over 40
at 0 mlm, at 20 mlm + 0.5 pos(noun, verb)
log every 3
checkpoint every 4 keep 2
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    source = aochildes_file("train")
    folder = tmp_path_factory.mktemp("resume")
    with open(source, encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(2000)]
    (folder / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    (folder / "tiny.cur").write_text(SPEC, encoding="utf-8")
    return folder


def run_args(workdir: Path, runs: str, *extra: str) -> list[str]:
    return [
        "run",
        "--runs-dir",
        str(workdir / runs),
        "--cache-dir",
        str(workdir / "cache"),
        "--quiet",
        *extra,
        str(workdir / "tiny.cur"),
    ]


def only_run(runs: Path) -> Path:
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    return folder


TIMING = ("tokens_per_s", "eval_seconds", "seconds")
#: what a process logs about itself, not about the training
BOOKKEEPING = ("checkpoint", "resumed", "interrupted")


def training_lines(run: Path) -> list[dict]:
    """Every metrics.jsonl record but timing fields and the process's own bookkeeping."""
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [
        {k: v for k, v in r.items() if k not in TIMING}
        for r in records
        if r.get("event") not in BOOKKEEPING
    ]


def flip_bytes(path: Path, count: int = 64) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def assert_same_run(straight: Path, other: Path) -> None:
    for name in ("model.safetensors", "heads.safetensors"):
        assert (straight / "final" / name).read_bytes() == (other / "final" / name).read_bytes()
    assert training_lines(straight) == training_lines(other)
    summary = json.loads((other / "summary.json").read_text())
    assert (
        summary["words_seen"] == json.loads((straight / "summary.json").read_text())["words_seen"]
    )


def child_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_sigkill_then_resume_is_bitwise_identical(workdir, capsys):
    assert main(run_args(workdir, "straight")) == 0
    straight = only_run(workdir / "straight")

    killed_run = kill_at_checkpoint(run_args(workdir, "killed"), workdir / "killed", 8, 120)
    # what a kill in the middle of writing leaves: a temporary folder, a half line
    partial = killed_run / "checkpoints" / ".tmp-step-12-99999"
    partial.mkdir(parents=True, exist_ok=True)
    (partial / "model.safetensors").write_bytes(b"\0" * 10)
    with open(killed_run / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 13, "loss": 6.')
    # and a damaged newest checkpoint: 64 flipped bytes in its weights
    steps = sorted(int(p.name[5:]) for p in (killed_run / "checkpoints").glob("step-*"))
    assert len(steps) == 2, steps
    flip_bytes(killed_run / "checkpoints" / f"step-{steps[-1]}" / "model.safetensors")

    capsys.readouterr()
    assert main(run_args(workdir, "killed", "--resume")) == 0
    err = capsys.readouterr().err
    assert f"skipping checkpoint {killed_run}/checkpoints/step-{steps[-1]}" in err
    assert "model.safetensors does not match its sha256" in err
    assert f"resuming from {killed_run}/checkpoints/step-{steps[0]}" in err
    assert not partial.exists()
    assert_same_run(straight, killed_run)
    from safetensors.torch import load_file

    a = load_file(str(straight / "final" / "model.safetensors"))
    b = load_file(str(killed_run / "final" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    summary = json.loads((killed_run / "summary.json").read_text())
    assert summary["resumed_from"].endswith(f"step-{steps[0]}")
    assert sorted(p.name for p in (killed_run / "checkpoints").iterdir()) == ["step-52", "step-56"]

    # a finished run resumes to "nothing to do"
    capsys.readouterr()
    assert main(run_args(workdir, "killed", "--resume")) == 0
    assert "already trained" in capsys.readouterr().out


def test_sigterm_checkpoints_the_step_reached_and_resume_is_identical(workdir, capsys):
    if not (workdir / "straight").is_dir():
        assert main(run_args(workdir, "straight")) == 0
    straight = only_run(workdir / "straight")
    process = subprocess.Popen(
        [sys.executable, "-m", "curriculumc", *run_args(workdir, "termed")],
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if list((workdir / "termed").glob("*/checkpoints/step-8")):
            process.send_signal(signal.SIGTERM)
            break
        time.sleep(0.01)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err  # 128 + SIGTERM
    run = only_run(workdir / "termed")
    match = re.search(r"interrupted by SIGTERM at step (\d+) of 60: saved (\S+)", err)
    assert match, err
    step = int(match.group(1))
    assert Path(match.group(2)) == run / "checkpoints" / f"step-{step}"
    assert (
        json.loads((run / "checkpoints" / f"step-{step}" / "trainer_state.json").read_text())[
            "step"
        ]
        == step
    )
    command = err.split("resume with: ")[1].strip()
    assert command.startswith("curriculumc run --resume") and "tiny.cur" in command
    assert not (run / "final").exists()

    assert main(shlex.split(command)[1:]) == 0
    assert f"resuming from {run}/checkpoints/step-{step}" in capsys.readouterr().err
    assert_same_run(straight, run)


def test_resume_with_a_different_plan_is_refused_with_the_diff(workdir, capsys):
    if not (workdir / "straight").is_dir():
        assert main(run_args(workdir, "straight")) == 0
    capsys.readouterr()
    code = main(run_args(workdir, "straight", "--resume") + ["train.weight_decay=0.5"])
    err = capsys.readouterr().err
    assert code == 1
    assert "E420" in err and "different plan" in err
    assert '-    "weight_decay": 0.01' in err and '+    "weight_decay": 0.5' in err
    # the optimisation settings one changes after a divergence may differ
    code = main(run_args(workdir, "straight", "--resume") + ["train.lr=2e-3"])
    err = capsys.readouterr().err
    assert code == 0 and "changed settings: train.lr 0.001 -> 0.002" in err
    # starting over a finished run without --resume/--force is refused too
    assert main(run_args(workdir, "straight")) == 1
    assert "E423" in capsys.readouterr().err
