"""Sweeps: a grid of runs of one spec, named by plan hash, resumable, with matched controls.

``curriculumc sweep SPEC curriculum=root_pos,linear_ngram seed=1,2,3 --control random``

- **Grid.** Every ``key=a,b,c`` override is an axis; the grid is the cartesian product of
  the axes (first axis slowest). Commas inside brackets, parentheses or quotes do not
  split (``sort=ngram_ppl(n=3)`` is one value). Overrides without a comma apply to all.
- **Names.** A run is labelled by its swept values -- the ``curriculum`` value first, the
  ``seed`` last (these two also when given a single value), other keys as ``key_value``
  -- and lives in
  ``<runs-dir>/<sweep-name>/<label>-<hash8>``, where ``hash8`` is the first 8 hex digits
  of its plan hash: exactly the folder ``curriculumc run --runs-dir <sweep folder>
  --name <label>`` creates, so the sweep and the trainer agree on where a run is.
- **Controls.** With ``--control random`` every run whose data is paced gets its matched
  control: the trainer's ``--control random`` (same steps, batch, objectives, pacing and
  exposure; the examples ordered by the ``random`` scorer). No control is added for a run
  whose data pacing is ``none`` (batches are drawn from the whole corpus, so the order of
  examples cannot matter) or whose plan already *is* its own control (a random scorer).
  Plans are deduplicated by hash: a control that equals another control, or a run of the
  grid, runs once and serves every curriculum it matches.
- **Manifest.** ``sweep.json`` in the sweep folder lists every run (overrides, plan hash,
  folder, group, control pairing, status) and is rewritten, atomically, on every change.
  The run folders on disk are the truth: on (re)start a run whose folder is complete is
  skipped, one whose folder exists but is incomplete is resumed (``--resume`` from its
  newest checkpoint, or ``--force`` to start over when it has none), and the rest start
  fresh -- so an interrupted sweep picks up where it stopped.
  A run whose folder another process holds locked (another sweep training it) is
  skipped, saying so (``busy`` in the manifest).
- **Finished elsewhere.** A run is recognised by its plan hash, not only by its folder: a
  finished run folder of the same plan anywhere under the runs dir (``runs/demo-<hash8>``
  from a plain ``curriculumc run``, or another sweep's ``runs/other/<label>-<hash8>``) counts
  as complete -- it is named (``finished_at`` in the manifest, whose ``folder`` then points
  there, relative to the sweep folder) and not trained again.

Runs execute one after another as ``python -m curriculumc run ...`` subprocesses (a crash
of one run does not end the sweep), or are printed as command lines for ``torchrun`` or
Slurm, or are submitted through submitit as one array job
(:mod:`~curriculumc.runtime.experiments.submit`, ``--submit slurm|local``). Nothing here
imports torch.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from curriculumc.errors import CurriculumError
from curriculumc.plan import Plan
from curriculumc.runtime.train import run_folder as rf

MANIFEST_NAME = "sweep.json"
MANIFEST_FORMAT = "curriculumc.sweep/1"
CURRICULUM_KEY = "curriculum"
SEED_KEYS = ("seed", "train.seed")
LAUNCHERS = ("python", "torchrun", "slurm")

#: ``(spec path, overrides) -> Plan``; defaults to :func:`curriculumc.load`
PlanLoader = Callable[[Path, Sequence[str]], Plan]
#: ``(run, argv) -> exit code``; defaults to :func:`subprocess_runner`
Runner = Callable[["SweepRun", Sequence[str]], int]


# ------------------------------------------------------------------------------ grid


def split_choices(value: str) -> tuple[str, ...]:
    """Split ``a,b,c`` at top-level commas (not inside ``()[]{}`` or quotes).

    Raises :class:`CurriculumError` (E820) for an empty choice (``a,,b`` or ``a,``).
    """
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    current: list[str] = []
    for char in value:
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    if len(parts) > 1 and any(not p.strip() for p in parts):
        raise CurriculumError.single(
            "E820", f"empty choice in sweep value '{value}'", hint="write key=a,b,c"
        )
    return tuple(p.strip() for p in parts)


@dataclass(frozen=True)
class Axis:
    """One override key and the values it takes (one value: a fixed override)."""

    key: str
    values: tuple[str, ...]

    @property
    def swept(self) -> bool:
        return len(self.values) > 1


def parse_axes(overrides: Iterable[str]) -> tuple[Axis, ...]:
    """``key=a,b`` strings as axes, in the order given.

    Raises :class:`CurriculumError`: E821 (no ``=``), E822 (a key given twice), E820.
    """
    axes: list[Axis] = []
    seen: set[str] = set()
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CurriculumError.single(
                "E821", f"sweep override '{item}' is not key=value", hint="e.g. seed=1,2,3"
            )
        if key in seen:
            raise CurriculumError.single(
                "E822", f"override key '{key}' given twice", hint="list its values once: k=a,b"
            )
        seen.add(key)
        values = split_choices(value)
        if len(set(values)) != len(values):
            raise CurriculumError.single("E822", f"a value of '{key}' is listed twice")
        axes.append(Axis(key, values))
    return tuple(axes)


def expand_grid(axes: Sequence[Axis]) -> list[tuple[str, ...]]:
    """The cartesian product of the axes as override tuples (``key=value``, axis order;
    the first axis varies slowest)."""
    choices = [[f"{a.key}={v}" for v in a.values] for a in axes]
    return [tuple(point) for point in itertools.product(*choices)]


def _value_of(point: Sequence[str], key: str) -> str | None:
    for item in point:
        k, _, v = item.partition("=")
        if k == key:
            return v
    return None


def _clean(value: str) -> str:
    """A value as a piece of a folder name."""
    cleaned = re.sub(r"[^A-Za-z0-9_.+]+", "_", value).strip("_")
    return cleaned or "_"


def run_label(point: Sequence[str], axes: Sequence[Axis], *, fallback: str) -> tuple[str, str]:
    """``(label, group)`` of a grid point: the swept values, the ``curriculum`` value
    first and the seed last (these two even when not swept); the group is the label without the seed. ``fallback`` (the spec's name)
    stands in for an empty part."""
    swept = [a for a in axes if a.swept]
    # curriculum and seed name the run even when not swept: they are what a reader looks for
    first = [a for a in axes if a.key == CURRICULUM_KEY]
    seeds = [a for a in axes if a.key in SEED_KEYS]
    middle = [a for a in swept if a not in first and a not in seeds]
    group_parts = [_clean(_value_of(point, a.key) or "") for a in first]
    group_parts += [
        f"{_clean(a.key.split('.')[-1])}_{_clean(_value_of(point, a.key) or '')}" for a in middle
    ]
    group = "-".join(group_parts) or fallback
    seed_parts = [_clean(_value_of(point, a.key) or "") for a in seeds]
    label = "-".join([group, *seed_parts])
    return label, group


# ------------------------------------------------------------------------------ the sweep


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep.

    ``control``: the scorer of a control run (``"random"``) or None. ``controls``: the
    groups this control run is the matched control of (several when their controls are
    one and the same plan). ``group``: the curriculum the run belongs to (seed left out).
    """

    label: str
    group: str
    overrides: tuple[str, ...]
    plan_hash: str
    seed: int | None = None
    control: str | None = None
    controls: tuple[str, ...] = ()
    paced: bool = True

    @property
    def run_name(self) -> str:
        """The ``--name`` given to ``curriculumc run``: the trainer itself appends
        ``-control`` to the name of a control run."""
        return self.label.removesuffix("-control") if self.control else self.label

    @property
    def folder_name(self) -> str:
        return rf.folder_name(self.label, self.plan_hash)


@dataclass(frozen=True)
class Sweep:
    """A planned sweep: the spec, its axes, and every run in execution order."""

    name: str
    spec: Path
    folder: Path
    axes: tuple[Axis, ...]
    control: str | None
    runs: tuple[SweepRun, ...]
    notes: tuple[str, ...] = ()
    run_args: tuple[str, ...] = ()  # passed to every `curriculumc run` (e.g. --config-dir)
    #: (curriculum label, its control's label) for every paced run with a control
    pairs: tuple[tuple[str, str], ...] = ()
    #: every run's Plan by plan hash (what the exposure check simulates)
    plans: dict[str, Plan] = field(default_factory=dict, compare=False, repr=False)

    def folder_of(self, run: SweepRun) -> Path:
        return self.folder / run.folder_name

    def run_of(self, label: str) -> SweepRun:
        return next(run for run in self.runs if run.label == label)


def _default_loader() -> tuple[PlanLoader, Callable[..., Plan]]:
    from curriculumc import load, make_control

    # curriculumc.load: a YAML spec with `defaults` is composed (group=option overrides),
    # any other spec loads as curriculumc.load does
    return (lambda path, overrides: load(path, tuple(overrides))), make_control


def plan_sweep(
    spec: str | Path,
    overrides: Sequence[str],
    *,
    runs_dir: str | Path = "runs",
    name: str | None = None,
    control: str | None = None,
    load_plan: PlanLoader | None = None,
    make_control: Callable[..., Plan] | None = None,
    run_args: Sequence[str] = (),
) -> Sweep:
    """Expand the grid and compile every point to learn its plan hash.

    ``control``: ``"random"`` to add matched controls (see the module docstring).
    ``load_plan``/``make_control`` default to the compiler's :func:`curriculumc.load` and
    :func:`curriculumc.make_control`. Raises :class:`CurriculumError` when an override is
    malformed (E820-E822) or a point does not compile
    (the compiler's own diagnostic, with a note naming the point).
    """
    spec = Path(spec)
    if load_plan is None or (control and make_control is None):
        default_load, default_control = _default_loader()
        load_plan = load_plan or default_load
        make_control = make_control or default_control
    axes = parse_axes(overrides)
    sweep_name = name or spec.stem
    fallback = _clean(spec.stem)
    runs: list[SweepRun] = []
    by_hash: dict[str, int] = {}
    notes: list[str] = []
    pairs: list[tuple[str, str]] = []
    plans: dict[str, Plan] = {}

    def add(run: SweepRun) -> SweepRun:
        index = by_hash.get(run.plan_hash)
        if index is None:
            by_hash[run.plan_hash] = len(runs)
            runs.append(run)
            return run
        kept = runs[index]
        if run.control and run.controls:
            merged = replace(kept, controls=tuple(dict.fromkeys((*kept.controls, *run.controls))))
            runs[index] = merged
            if kept.control is None:
                notes.append(f"the control of {run.controls[0]} is the grid run {kept.label}")
            return merged
        notes.append(f"{run.label} compiles to the same plan as {kept.label}; it runs once")
        return kept

    for point in expand_grid(axes):
        label, group = run_label(point, axes, fallback=fallback)
        plan = _load(load_plan, spec, point)
        plans.setdefault(plan.hash, plan)
        run = add(
            SweepRun(
                label=label,
                group=group,
                overrides=point,
                plan_hash=plan.hash,
                seed=plan.train.seed,
                paced=plan.pace.fn != "none",
            )
        )
        if not control or run.label != label:
            continue
        control_plan = make_control(plan, scorer=control)
        if plan.pace.fn == "none" or control_plan.hash == plan.hash:
            continue
        control_label, control_group = _control_names(label, group, control)
        plans.setdefault(control_plan.hash, control_plan)
        control_run = add(
            SweepRun(
                label=control_label,
                group=control_group,
                overrides=point,
                plan_hash=control_plan.hash,
                seed=control_plan.train.seed,
                control=control,
                controls=(group,),
            )
        )
        pairs.append((run.label, control_run.label))
    return Sweep(
        name=sweep_name,
        spec=spec,
        folder=Path(runs_dir) / sweep_name,
        axes=axes,
        control=control,
        runs=tuple(runs),
        notes=tuple(notes),
        run_args=tuple(run_args),
        pairs=tuple(pairs),
        plans=plans,
    )


def _control_names(label: str, group: str, scorer: str) -> tuple[str, str]:
    """``root_pos-1`` → ``root_pos-1-control`` (label: the trainer's ``run --control`` name)
    and ``root_pos-control`` (group)."""
    return f"{label}-control", f"{group}-control"


def _load(load_plan: PlanLoader, spec: Path, point: Sequence[str]) -> Plan:
    try:
        return load_plan(spec, point)
    except CurriculumError as exc:
        from curriculumc.errors import Diagnostic

        where = " ".join(point) or "(no overrides)"
        raise CurriculumError(
            (*exc.diagnostics, Diagnostic("E824", f"while compiling sweep point {where}"))
        ) from exc


# ------------------------------------------------------------------------------ run folders


def run_state(folder: Path) -> str:
    """``"complete"``, ``"incomplete"`` (the folder exists: resume it) or ``"missing"``.

    Complete is :func:`~curriculumc.runtime.train.run_folder.is_finished`'s rule.
    """
    if not folder.is_dir():
        return "missing"
    return "complete" if rf.is_finished(rf.RunFolder(folder)) else "incomplete"


#: how deep under the runs dir finished runs are looked for: ``runs/<run>`` and
#: ``runs/<sweep>/<run>``
FINISHED_SEARCH_DEPTH = 2


def find_finished(
    runs_dir: Path, plan_hash: str, *, depth: int = FINISHED_SEARCH_DEPTH
) -> Path | None:
    """A finished run folder of the plan ``plan_hash`` under ``runs_dir`` (``runs/<name>-<hash8>``
    or ``runs/<sweep>/<name>-<hash8>``), or None; the first by path when there are several.

    The folder's name must end in the hash's first 8 hex digits, and the full hash must
    agree: ``summary.json``'s ``plan_hash``, else the hash of its ``plan.json``. Finished is
    :func:`~curriculumc.runtime.train.run_folder.is_finished`'s rule. Reads only.
    """
    suffix = "-" + plan_hash[:8]
    level = [Path(runs_dir)]
    for _ in range(depth):
        found = []
        for parent in level:
            try:
                found.extend(sorted(p for p in parent.iterdir() if p.is_dir()))
            except OSError:
                continue
        for folder in found:
            if folder.name.endswith(suffix) and _finished_plan(folder, plan_hash):
                return folder
        # a run folder holds no runs of its own: only descend into the others
        level = [f for f in found if not rf.is_run_folder(f)]
    return None


def _finished_plan(folder: Path, plan_hash: str) -> bool:
    run = rf.RunFolder(folder)
    if not rf.is_finished(run):
        return False
    summary = rf.read_summary(run) or {}
    if isinstance(summary.get("plan_hash"), str):
        return summary["plan_hash"] == plan_hash
    try:
        return Plan.from_json(run.plan.read_text(encoding="utf-8")).hash == plan_hash
    except (OSError, ValueError):
        return False


def sweep_run_state(sweep: Sweep, run: SweepRun) -> tuple[str, Path]:
    """``(state, folder)`` of a sweep's run: its own folder's :func:`run_state`, except that
    a run not complete there but finished elsewhere under the runs dir (same plan hash,
    :func:`find_finished`) is ``"complete"`` with that folder."""
    own = sweep.folder_of(run)
    state = run_state(own)
    if state != "complete":
        elsewhere = find_finished(sweep.folder.parent, run.plan_hash)
        if elsewhere is not None:
            return "complete", elsewhere
    return state, own


# ------------------------------------------------------------------------------ manifest


def manifest_data(
    sweep: Sweep, status: dict[str, dict[str, Any]], *, submit: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``sweep.json`` content; ``status`` maps a run label to its status fields;
    ``submit``: the jobs of a submitted sweep (:mod:`~curriculumc.runtime.experiments.submit`)."""
    data = {
        "format": MANIFEST_FORMAT,
        "name": sweep.name,
        "spec": str(sweep.spec.resolve()),
        "axes": {a.key: list(a.values) for a in sweep.axes},
        "control": sweep.control,
        "notes": list(sweep.notes),
        "runs": [
            {
                "label": run.label,
                "group": run.group,
                "overrides": list(run.overrides),
                "seed": run.seed,
                "plan_hash": run.plan_hash,
                "folder": _manifest_folder(sweep, run, status.get(run.label, {})),
                "control": run.control,
                "control_of_groups": list(run.controls),
                **status.get(run.label, {"status": "pending"}),
            }
            for run in sweep.runs
        ],
    }
    if submit is not None:
        data["submit"] = submit
    return data


def _manifest_folder(sweep: Sweep, run: SweepRun, status: dict[str, Any]) -> str:
    """The run's folder name, or for a run finished elsewhere the path of that folder
    relative to the sweep folder (``../demo-7577887b``), so that readers find it."""
    elsewhere = status.get("finished_at")
    if not elsewhere:
        return run.folder_name
    return os.path.relpath(Path(elsewhere).resolve(), sweep.folder.resolve())


def write_manifest(
    sweep: Sweep, status: dict[str, dict[str, Any]], *, submit: dict[str, Any] | None = None
) -> Path:
    """Write ``sweep.json`` atomically (a kill mid-write leaves the old one); returns it."""
    sweep.folder.mkdir(parents=True, exist_ok=True)
    path = sweep.folder / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    data = manifest_data(sweep, status, submit=submit)
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------------ commands


def run_argv(
    sweep: Sweep, run: SweepRun, *, resume: bool, exposure_checked: bool = False
) -> list[str]:
    """The arguments after ``curriculumc`` for one run (``run SPEC k=v ... --name ...``);
    ``exposure_checked``: the sweep compared the controls' exposure itself
    (:func:`control_exposure_warnings`), so a control run need not."""
    argv = ["run", str(sweep.spec), *run.overrides, *sweep.run_args]
    if run.control:
        argv += ["--control", run.control]
        if exposure_checked:
            argv.append("--no-exposure-check")
    argv += ["--runs-dir", str(sweep.folder), "--name", run.run_name]
    if resume:
        argv += restart_args(sweep.folder_of(run))
    return argv


def restart_args(folder: Path) -> list[str]:
    """How to continue an incomplete run: ``--resume`` from its newest checkpoint, or
    ``--force`` (start over) when it was stopped before writing any."""
    from curriculumc.runtime.train.checkpoint import latest

    return ["--resume"] if latest(folder) is not None else ["--force"]


def launch_command(
    sweep: Sweep,
    run: SweepRun,
    *,
    resume: bool,
    launcher: str = "python",
    nproc: int = 1,
    python: str | None = None,
    exposure_checked: bool = False,
) -> list[str]:
    """The full command line for one run.

    ``python``: ``python -m curriculumc ...``; ``torchrun``: ``torchrun --standalone
    --nproc-per-node N -m curriculumc ...``; ``slurm``: an ``sbatch`` call wrapping the
    torchrun line, one node with N GPUs, its log next to the run folder.
    """
    args = run_argv(sweep, run, resume=resume, exposure_checked=exposure_checked)
    if launcher == "python":
        return [python or sys.executable, "-m", "curriculumc", *args]
    torchrun = ["torchrun", "--standalone", f"--nproc-per-node={nproc}", "-m", "curriculumc", *args]
    if launcher == "torchrun":
        return torchrun
    if launcher == "slurm":
        return [
            "sbatch",
            f"--job-name={sweep.name}/{run.label}",
            "--nodes=1",
            "--ntasks=1",
            f"--gpus-per-node={nproc}",
            f"--output={sweep.folder / run.label}.slurm-%j.out",
            f"--wrap={shlex.join(torchrun)}",
        ]
    raise ValueError(f"unknown launcher {launcher!r}")  # the CLI offers only LAUNCHERS


def print_lines(sweep: Sweep, *, launcher: str = "python", nproc: int = 1) -> list[str]:
    """One shell line per run still to do (resuming the incomplete ones); a ``#`` comment
    for each complete run."""
    lines = []
    for run in sweep.runs:
        state, where = sweep_run_state(sweep, run)
        if state == "complete":
            same = "" if where == sweep.folder_of(run) else f" (same plan {run.plan_hash[:8]})"
            lines.append(f"# complete: {where}{same}")
            continue
        command = launch_command(
            sweep,
            run,
            resume=state == "incomplete",
            launcher=launcher,
            nproc=nproc,
            python="python",
        )
        lines.append(shlex.join(command))
    return lines


def subprocess_runner(run: SweepRun, argv: Sequence[str]) -> int:
    """Run one command, output passed through; returns its exit code."""
    return subprocess.call(list(argv))


# ------------------------------------------------------------------------------ execution


@dataclass(frozen=True)
class SweepOutcome:
    """What :func:`execute` did: labels per final status."""

    complete: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    resumed: tuple[str, ...] = ()
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def execute(
    sweep: Sweep,
    *,
    runner: Runner = subprocess_runner,
    log: Callable[[str], None] = print,
    python: str | None = None,
    exposure_checked: bool = False,
) -> SweepOutcome:
    """Run every run that is not complete, one after another, keeping ``sweep.json`` current.

    A complete run is skipped; an incomplete one is resumed. A run that exits non-zero is
    marked ``failed`` (the sweep goes on); one that exits 0 but leaves no complete folder
    named by the sweep's plan hash is also ``failed`` -- the trainer and the sweep
    disagree on the plan, which must not pass unnoticed. An interrupt (Ctrl-C) marks the
    current run ``interrupted``, writes the manifest and re-raises. ``exposure_checked``:
    see :func:`run_argv`.
    """
    statuses: dict[str, dict[str, Any]] = {}
    for run in sweep.runs:
        state, where = sweep_run_state(sweep, run)
        statuses[run.label] = (
            _complete_status(sweep, run, where) if state == "complete" else {"status": "pending"}
        )
    write_manifest(sweep, statuses)
    complete, skipped, failed, resumed = [], [], [], []
    total = len(sweep.runs)
    for index, run in enumerate(sweep.runs, start=1):
        folder = sweep.folder_of(run)
        state, where = sweep_run_state(sweep, run)
        if state == "complete":
            skipped.append(run.label)
            if where == folder:
                log(f"[{index}/{total}] {run.label}: complete, skipped ({folder})")
            else:
                log(
                    f"[{index}/{total}] {run.label}: skipped, the same plan "
                    f"({run.plan_hash[:8]}) finished in {where}"
                )
            statuses[run.label] = _complete_status(sweep, run, where)
            write_manifest(sweep, statuses)
            continue
        state = run_state(folder)
        holder = rf.lock_holder(rf.RunFolder(folder))
        if holder is not None:  # another sweep (or a `run`) is training it right now
            skipped.append(run.label)
            statuses[run.label] = {"status": "busy", "holder": holder}
            write_manifest(sweep, statuses)
            log(
                f"[{index}/{total}] {run.label}: skipped, process {holder or '?'} is training "
                f"it ({folder})"
            )
            continue
        resume = state == "incomplete"
        if resume:
            resumed.append(run.label)
        argv = launch_command(
            sweep, run, resume=resume, python=python, exposure_checked=exposure_checked
        )
        log(f"[{index}/{total}] {run.label}: {'resuming' if resume else 'starting'} → {folder}")
        started = time.time()
        statuses[run.label] = {"status": "running", "started": started, "resumed": resume}
        write_manifest(sweep, statuses)
        try:
            code = runner(run, argv)
        except KeyboardInterrupt:
            statuses[run.label] = {"status": "interrupted", "started": started}
            write_manifest(sweep, statuses)
            raise
        entry: dict[str, Any] = {
            "started": started,
            "finished": time.time(),
            "returncode": code,
            "resumed": resume,
        }
        after = run_state(folder)
        if code == 0 and after == "complete":
            entry["status"] = "complete"
            complete.append(run.label)
        else:
            entry["status"] = "failed"
            if code == 0:
                entry["error"] = f"exit 0 but no complete run folder at {folder}"
            failed.append(run.label)
            log(f"[{index}/{total}] {run.label}: FAILED ({entry.get('error') or f'exit {code}'})")
        statuses[run.label] = entry
        write_manifest(sweep, statuses)
    return SweepOutcome(tuple(complete), tuple(skipped), tuple(failed), tuple(resumed), statuses)


def _complete_status(sweep: Sweep, run: SweepRun, where: Path) -> dict[str, Any]:
    if where == sweep.folder_of(run):
        return {"status": "complete"}
    return {"status": "complete", "finished_at": str(where)}


def control_exposure_warnings(
    sweep: Sweep,
    *,
    cache_dir: str | Path | None = None,
    check: Callable[..., str | None] | None = None,
) -> list[str]:
    """The exposure warning of every curriculum/control pair, once per pair of groups
    (their first seed stands for the others: the gap comes from the order, not the seed),
    in the sweep's order; empty when every control is matched.

    ``check(plan, control_plan, cache_dir=..., pair=..., corpora=...)`` defaults to
    :func:`~curriculumc.runtime.experiments.simulate.check_control_exposure` (which
    prepares the data as the runs will, simulates both and never raises).
    """
    if not sweep.pairs:
        return []
    if check is None:
        from curriculumc.runtime.experiments.simulate import check_control_exposure as check
    if cache_dir is None:
        from curriculumc.runtime.data.prepare import default_cache_dir

        cache_dir = default_cache_dir()
    warnings, seen, corpora = [], set(), {}
    for curriculum_label, control_label in sweep.pairs:
        curriculum, control = sweep.run_of(curriculum_label), sweep.run_of(control_label)
        if (curriculum.group, control.group) in seen:
            continue
        seen.add((curriculum.group, control.group))
        plan = sweep.plans.get(curriculum.plan_hash)
        control_plan = sweep.plans.get(control.plan_hash)
        if plan is None or control_plan is None:
            continue
        warning = check(
            plan, control_plan, cache_dir=cache_dir, pair=curriculum_label, corpora=corpora
        )
        if warning:
            warnings.append(warning)
    return warnings


def dry_run_rows(sweep: Sweep) -> list[tuple[str, str, str, str, str]]:
    """``(label, overrides, hash8, status, folder)`` for every run, without running; a run
    finished elsewhere (same plan hash) is ``complete (same plan)`` with that folder."""
    rows = []
    for run in sweep.runs:
        overrides = " ".join(run.overrides)
        if run.control:
            overrides += f" --control {run.control}"
        state, where = sweep_run_state(sweep, run)
        if where != sweep.folder_of(run):
            state = "complete (same plan)"
        rows.append((run.label, overrides, run.plan_hash[:8], state, str(where)))
    return rows
