"""The run folder: where a run's plan, metrics, checkpoints and summary live.

::

    runs/<name>-<plan hash[:8]>/
        plan.json            the Plan that ran (its hash names the folder)
        spec/<file>          a copy of the spec file as written
        overrides.json       the key=value overrides given on the command line, resolved
        metrics.jsonl        one JSON object a line: training steps, evaluations, events
        summary.json         final metrics, wall time, words seen, data counts, switches
        timeline.png         the curriculum's picture (``curriculumc.views.timeline``)
        checkpoints/step-N/  the last ``output.keep`` checkpoints
        final/               the trained model (``from_pretrained`` loads it)

Only rank 0 writes here. Every function is small and does one thing; the trainer calls them.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from curriculumc.errors import CurriculumError


@dataclass(frozen=True)
class RunFolder:
    """Paths of one run's folder."""

    root: Path

    @property
    def plan(self) -> Path:
        return self.root / "plan.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def final(self) -> Path:
        return self.root / "final"

    @property
    def timeline(self) -> Path:
        return self.root / "timeline.png"

    def write_eval(self, name: str, details: dict) -> Path:
        """Write an evaluation's full result to ``eval/<name>.json`` (atomically)."""
        path = self.root / "eval" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(details, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path


def folder_name(name: str, plan_hash: str) -> str:
    """``<name>-<first 8 hex digits of the plan hash>``."""
    return f"{name}-{plan_hash[:8]}"


def find_previous(runs_dir: Path, name: str) -> list[Path]:
    """Run folders of earlier runs called ``name`` (any plan hash), newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = [
        p
        for p in runs_dir.glob(f"{name}-*")
        if p.is_dir() and (p / "plan.json").is_file() and len(p.name) == len(name) + 9
    ]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def plan_diff(old_json: str, new_json: str, *, old_label: str, new_label: str) -> str:
    """A unified diff of two plans' JSON text (empty when they are equal)."""
    return "".join(
        difflib.unified_diff(
            (old_json.rstrip("\n") + "\n").splitlines(keepends=True),
            (new_json.rstrip("\n") + "\n").splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
        )
    )


def refuse_different_plan(old_json: str, new_json: str, checkpoint: Path) -> None:
    """Raise CurriculumError E420, with the plans' diff, when they differ."""
    if json.loads(old_json) == json.loads(new_json):
        return
    diff = plan_diff(old_json, new_json, old_label=f"{checkpoint}/plan.json", new_label="new plan")
    raise CurriculumError.single(
        "E420",
        f"cannot resume from {checkpoint}: it was trained with a different plan\n{diff.rstrip()}",
        hint="resume with the same spec and overrides, or add --force to continue anyway",
    )


def create(
    folder: RunFolder,
    *,
    plan_json: str,
    spec_path: Path | None,
    overrides: dict[str, str],
) -> None:
    """Write the folder's plan, spec copy and overrides (creating the folder)."""
    folder.root.mkdir(parents=True, exist_ok=True)
    folder.plan.write_text(plan_json + "\n", encoding="utf-8")
    if spec_path is not None and Path(spec_path).is_file():
        (folder.root / "spec").mkdir(exist_ok=True)
        shutil.copyfile(spec_path, folder.root / "spec" / Path(spec_path).name)
    (folder.root / "overrides.json").write_text(
        json.dumps(overrides, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def clear(folder: RunFolder) -> None:
    """Remove a previous run's outputs from ``folder`` (``--force`` without ``--resume``)."""
    for path in (folder.metrics, folder.summary, folder.timeline):
        path.unlink(missing_ok=True)
    # eval/ too: results of the old model must not be read as the new one's (compare)
    for path in (folder.checkpoints, folder.final, folder.root / "eval"):
        shutil.rmtree(path, ignore_errors=True)


class MetricsLog:
    """Appends one JSON object a line to ``metrics.jsonl`` (flushed at once, so a killed run
    keeps what it logged)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._handle = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(path, "a", encoding="utf-8")

    def write(self, record: dict) -> None:
        if self._handle is not None:
            self._handle.write(json.dumps(record, sort_keys=False) + "\n")
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def truncate_metrics(path: Path, step: int) -> int:
    """Keep only what ``path`` logged before the checkpoint of ``step`` was written: step and
    eval lines up to ``step``, events (which are logged as the next step begins) before it.
    A resumed run logs the rest again; a line cut short by a kill is dropped. Returns the
    number of lines kept."""
    if not Path(path).is_file():
        return 0
    kept = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict):
            continue
        at = record.get("step", 0)
        if at < step or (at == step and "event" not in record):
            kept.append(line)
    Path(path).write_text("".join(k + "\n" for k in kept), encoding="utf-8")
    return len(kept)


def read_metrics(path: Path) -> list[dict]:
    """Every record of a ``metrics.jsonl``."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def write_summary(folder: RunFolder, summary: dict) -> None:
    """Write ``summary.json``."""
    folder.summary.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")


def draw_timeline(plan, folder: RunFolder) -> str | None:
    """Draw ``timeline.png`` with :func:`curriculumc.views.timeline.plot_timeline`; returns a
    message when that is not possible (the run goes on)."""
    try:
        from curriculumc.views.timeline import plot_timeline
    except ImportError:
        return "timeline.png not drawn: curriculumc.views.timeline is not available"
    try:
        plot_timeline(plan, folder.timeline)
    except Exception as exc:  # a picture must never stop a training run
        return f"timeline.png not drawn: {type(exc).__name__}: {exc}"
    return None


def push_to_hub(final: Path, repo_id: str) -> str:
    """Upload ``final/`` to the hub repository ``repo_id``; returns a one-line message.

    Never raises: with no token or no network it says so, and the run still succeeds.
    """
    try:
        from huggingface_hub import HfApi, get_token
    except ImportError:
        return "push to hub skipped: huggingface_hub is not installed"
    if not get_token():
        return f"push to hub skipped: no Hugging Face token (run `hf auth login`) for {repo_id}"
    try:
        api = HfApi()
        api.create_repo(repo_id, exist_ok=True)
        api.upload_folder(folder_path=str(final), repo_id=repo_id, commit_message="curriculumc run")
    except Exception as exc:  # network, permissions: report, do not fail the run
        return f"push to hub failed for {repo_id}: {type(exc).__name__}: {exc}"
    return f"pushed {final} to https://huggingface.co/{repo_id}"
