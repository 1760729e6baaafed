"""The run folder: where a run's plan, metrics, checkpoints and summary live.

::

    runs/<name>-<plan hash[:8]>/
        plan.json            the Plan that ran (its hash names the folder)
        spec/<file>          a copy of the spec file as written
        overrides.json       the key=value overrides given on the command line, resolved
        metrics.jsonl        one JSON object a line: training steps, evaluations, events
        summary.json         final metrics, wall time, words seen, data counts, switches
        timeline.png         the curriculum's picture (``curriculumc.views.timeline``)
        times.json           a plan that counts times in data: the step each resolved to,
                             what had been drawn by then (``curriculumc.runtime.ordering.clock``)
        checkpoints/step-N/  with ``checkpoint every``: the last ``output.keep`` checkpoints;
                             ``checkpoint at`` / ``babylm``: every milestone, kept
        checkpoints/chck_1M  a milestone at a word count: a link to its step-N (or ../final)
        final/               the trained model (``from_pretrained`` loads it)
        .lock                held (flock) by the process training here; holds its pid
        eval/<name>_<checkpoint>[_limit<N>].json
                             full evaluation results (per pair): the trainer writes
                             ``<name>_final.json``, ``curriculumc eval RUN`` the others

This module is the one definition of that layout: the recipe and trainer write it, and
``eval``, ``sweep`` and ``compare`` read it through these names. Only rank 0 writes here.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from curriculumc.errors import CurriculumError
from curriculumc.files import write_atomic

#: the names of the run folder's parts: the one definition, read by every stage
PLAN_FILE = "plan.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
TIMELINE_FILE = "timeline.png"
OVERRIDES_FILE = "overrides.json"
TIMES_FILE = "times.json"
SPEC_DIR = "spec"
CHECKPOINTS_DIR = "checkpoints"
FINAL_DIR = "final"
STEP_PREFIX = "step-"  # checkpoints/step-N
STATE_FILE = "trainer_state.json"  # in every checkpoint folder; written last
EVAL_DIR = "eval"
LOCK_FILE = ".lock"
E_FOLDER_BUSY = "E424"
#: the settings a resume may change (after a divergence, say): optimisation only
RESUMABLE_CHANGES = ("lr", "warmup", "clip")


@dataclass(frozen=True)
class RunFolder:
    """Paths of one run's folder (see the module docstring for the layout)."""

    root: Path

    @property
    def plan(self) -> Path:
        return self.root / PLAN_FILE

    @property
    def metrics(self) -> Path:
        return self.root / METRICS_FILE

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_FILE

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS_DIR

    @property
    def final(self) -> Path:
        return self.root / FINAL_DIR

    def step_checkpoint(self, step: int) -> Path:
        """``checkpoints/step-<step>``."""
        return self.checkpoints / f"{STEP_PREFIX}{step}"

    @property
    def times(self) -> Path:
        return self.root / TIMES_FILE

    def milestone(self, name: str) -> Path:
        """``checkpoints/<name>`` (``chck_1M``): a link to the milestone's checkpoint."""
        return self.checkpoints / name

    def link_milestone(self, name: str, target: Path) -> Path:
        """Point ``checkpoints/<name>`` at ``target`` (a step folder or ``final``), with a
        relative link (the folder may move); replaces an older link of that name."""
        link = self.milestone(name)
        link.parent.mkdir(parents=True, exist_ok=True)
        relative = os.path.relpath(Path(target).resolve(), link.parent.resolve())
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(relative, target_is_directory=True)
        return link

    @property
    def timeline(self) -> Path:
        return self.root / TIMELINE_FILE

    @property
    def evals(self) -> Path:
        return self.root / EVAL_DIR

    def eval_result(self, name: str, checkpoint: str = FINAL_DIR, limit: int | None = None) -> Path:
        """Where evaluation ``name`` of ``checkpoint`` (``final`` or ``step-N``) is written:
        ``eval/<name>_<checkpoint>[_limit<N>].json`` (``limit``: pairs per paradigm)."""
        suffix = f"_limit{limit}" if limit is not None else ""
        return self.evals / f"{name}_{checkpoint}{suffix}.json"

    def final_eval_results(self) -> list[Path]:
        """The final model's evaluation results (all pairs), sorted by name."""
        return sorted(self.evals.glob(f"*_{FINAL_DIR}.json"))

    def write_eval(self, path: Path, details: dict) -> Path:
        """Write an evaluation's full result to ``path`` (see :meth:`eval_result`), atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(details, indent=1) + "\n")
        return path


def write_times(folder: RunFolder, record: dict) -> Path:
    """Write ``times.json`` (how the plan's times in data resolved), atomically."""
    write_atomic(folder.times, json.dumps(record, indent=1) + "\n")
    return folder.times


def read_times(folder: RunFolder) -> dict | None:
    """``times.json`` as written (None: the plan counted nothing in data, or no file)."""
    try:
        return json.loads(folder.times.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` looks like a run folder (it holds a plan, metrics or a summary)."""
    return any((Path(path) / name).exists() for name in (PLAN_FILE, METRICS_FILE, SUMMARY_FILE))


def eval_result_rank(path: Path) -> tuple[bool, int, bool]:
    """How an ``eval/`` file's name ranks as "the final result": (of the final model, its
    checkpoint's step, all pairs rather than a ``--limit``) -- see :meth:`RunFolder.eval_result`."""
    parts = Path(path).stem.split("_")
    limited = parts[-1].startswith("limit") and parts[-1][5:].isdigit()
    checkpoint = parts[-2] if limited and len(parts) > 1 else parts[-1]
    step = checkpoint[len(STEP_PREFIX) :]
    return (
        checkpoint == FINAL_DIR,
        int(step) if checkpoint.startswith(STEP_PREFIX) and step.isdigit() else -1,
        not limited,
    )


def read_summary(folder: RunFolder) -> dict | None:
    """``summary.json`` as a dict; None when it is missing or unreadable."""
    try:
        data = json.loads(folder.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_finished(folder: RunFolder) -> bool:
    """Whether the run trained to its last step: ``final/`` holds a complete checkpoint
    (saved only after the last step, atomically) or ``summary.json`` says ``finished`` --
    so that a kill between the two never makes a sweep train the run again."""
    if (folder.final / STATE_FILE).is_file():
        return True
    summary = read_summary(folder)
    return bool(summary and summary.get("finished") is True)


def has_results(folder: RunFolder) -> bool:
    """Whether a run already wrote results here (metrics, checkpoints or a final model)."""
    return folder.metrics.is_file() or folder.checkpoints.is_dir() or folder.final.is_dir()


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
        if p.is_dir() and (p / PLAN_FILE).is_file() and len(p.name) == len(name) + 9
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


def refuse_different_plan(old_json: str, new_json: str, checkpoint: Path) -> dict:
    """Raise CurriculumError E420, with the plans' diff, when they differ in anything but
    ``train.lr``, ``train.warmup`` or ``train.clip`` (:data:`RESUMABLE_CHANGES`: what one
    changes to get past a divergence). Returns those changes, ``{"train.lr": [old, new]}``."""
    old, new = json.loads(old_json), json.loads(new_json)
    if old == new:
        return {}
    changes = {}
    old_train, new_train = old.get("train"), new.get("train")
    if isinstance(old_train, dict) and isinstance(new_train, dict):
        for key in RESUMABLE_CHANGES:
            if old_train.get(key) != new_train.get(key):
                changes[f"train.{key}"] = [old_train.get(key), new_train.get(key)]
        blank = dict.fromkeys(RESUMABLE_CHANGES)
        if {**old, "train": {**old_train, **blank}} == {**new, "train": {**new_train, **blank}}:
            return changes
    diff = plan_diff(old_json, new_json, old_label=f"{checkpoint}/plan.json", new_label="new plan")
    raise CurriculumError.single(
        "E420",
        f"cannot resume from {checkpoint}: it was trained with a different plan\n{diff.rstrip()}",
        hint="resume with the same spec and overrides (train.lr, train.warmup and "
        "train.clip may change), or add --force to continue anyway",
    )


class RunLock:
    """An exclusive lock on a run folder: ``flock`` on ``<folder>/.lock``, which holds the
    holder's pid. The operating system releases it when the process ends, however it ends
    (SIGKILL too), so a stale lock never blocks a resume."""

    def __init__(self, folder: RunFolder):
        self.path = folder.root / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise CurriculumError E424 naming the process that holds it."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            holder = lock_holder(RunFolder(self.path.parent))
            who = f"process {holder}" if holder else "another process"
            raise CurriculumError.single(
                E_FOLDER_BUSY,
                f"{self.path.parent} is in use: {who} is training this run",
                hint="wait for it to end (or stop it), or give this run another --name",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def lock_holder(folder: RunFolder) -> int | None:
    """The pid of the process holding ``folder``'s lock (0 when it cannot be read), or
    None when no process holds it. Takes nothing: a free lock is released at once."""
    path = Path(folder.root) / LOCK_FILE
    if not path.is_file() or sys.platform == "win32":
        return None
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def create(
    folder: RunFolder,
    *,
    plan_json: str,
    spec_path: Path | None,
    overrides: dict[str, str],
) -> None:
    """Write the folder's plan, spec copy and overrides (creating the folder)."""
    folder.root.mkdir(parents=True, exist_ok=True)
    write_atomic(folder.plan, plan_json + "\n")
    if spec_path is not None and Path(spec_path).is_file():
        (folder.root / SPEC_DIR).mkdir(exist_ok=True)
        shutil.copyfile(spec_path, folder.root / SPEC_DIR / Path(spec_path).name)
    write_atomic(
        folder.root / OVERRIDES_FILE, json.dumps(overrides, indent=2, sort_keys=True) + "\n"
    )


def clear(folder: RunFolder) -> None:
    """Remove a previous run's outputs from ``folder`` (``--force`` without ``--resume``)."""
    for path in (folder.metrics, folder.summary, folder.timeline):
        path.unlink(missing_ok=True)
    # eval/ too: results of the old model must not be read as the new one's (compare)
    for path in (folder.checkpoints, folder.final, folder.evals):
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


#: events logged at the end of their step (after its checkpoint): kept by a resume from it
END_OF_STEP_EVENTS = ("checkpoint", "interrupted")


def truncate_metrics(path: Path, step: int) -> int:
    """Keep only what ``path`` logged before the checkpoint of ``step`` was written: step and
    eval lines up to ``step``, events (which are logged as the next step begins) before it
    -- but :data:`END_OF_STEP_EVENTS` up to it.
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
        if at < step or (
            at == step and record.get("event", END_OF_STEP_EVENTS[0]) in END_OF_STEP_EVENTS
        ):
            kept.append(line)
    write_atomic(path, "".join(k + "\n" for k in kept))
    return len(kept)


def read_metrics(path: Path) -> list[dict]:
    """Every record of a ``metrics.jsonl``."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def write_summary(folder: RunFolder, summary: dict) -> None:
    """Write ``summary.json`` (atomically: a full disk leaves the old one, never half)."""
    write_atomic(folder.summary, json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")


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
