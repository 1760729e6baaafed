"""Running a spec in process and reading back its run folder (the training tests')."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from curriculumc.cli import main


def run_spec(workdir: Path, spec: str, runs: str, *extra: str) -> int:
    """``curriculumc run --quiet`` of ``workdir/spec`` into ``workdir/runs`` (caches in
    ``workdir/cache``); returns the exit code."""
    return main(["run", "--runs-dir", str(workdir / runs), "--cache-dir", str(workdir / "cache"),
                 "--quiet", *extra, str(workdir / spec)])  # fmt: skip


def only_folder(runs: Path) -> Path:
    """The one run folder under ``runs``."""
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    return folder


def records(run: Path) -> list[dict]:
    """Every line of the run's metrics.jsonl."""
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def step_records(run: Path) -> dict[int, dict]:
    """The training line of each logged step, by step."""
    return {r["step"]: r for r in records(run) if "loss" in r}


def kill_at_checkpoint(args: list[str], runs: Path, step: int, timeout: float = 180) -> Path:
    """Start ``curriculumc <args>`` in a child process (one torch thread) and SIGKILL it as
    soon as a run folder under ``runs`` has ``checkpoints/step-<step>``; returns that run
    folder. Fails the test when the child ends or ``timeout`` passes first."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "curriculumc", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline, killed = time.monotonic() + timeout, None
    while time.monotonic() < deadline and process.poll() is None:
        found = list(runs.glob(f"*/checkpoints/step-{step}"))
        if found:
            killed = found[0].parents[1]
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    process.wait(timeout=30)
    assert killed is not None, process.stderr.read().decode()
    assert process.returncode == -signal.SIGKILL and not (killed / "final").exists()
    return killed
