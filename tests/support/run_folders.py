"""Running a spec in process and reading back its run folder (the training tests')."""

from __future__ import annotations

import json
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
