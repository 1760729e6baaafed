"""``curriculumc sweep SPEC key=a,b,c ... [--control random] [--runs-dir DIR] [--name NAME]
[--cache-dir DIR] [--print [--launcher torchrun|slurm] [--nproc N]] [--dry-run]
[--submit local|slurm [--partition P] [--gpus-per-run N] [--time T] ...]``, and
``curriculumc sweep --status DIR``: run a grid of curricula and seeds, named by plan hash,
resumable; see :mod:`curriculumc.runtime.experiments.sweep` and
:mod:`curriculumc.runtime.experiments.submit` (submitted through submitit)."""

from __future__ import annotations

import argparse
import sys

from curriculumc.cli import EXIT_ERROR, EXIT_OK
from curriculumc.commands.arguments import add_cache_option, usage_error


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``sweep`` and its arguments."""
    parser = subparsers.add_parser(
        "sweep",
        help="run a grid of curricula × seeds (with matched controls), resumably",
        description="Expand key=a,b,c overrides into a grid (cartesian product), compile each "
        "point to name its run by plan hash, and run the runs one after another as "
        "`curriculumc run` (complete runs are skipped, incomplete ones resumed), or print "
        "their command lines. Writes <runs-dir>/<name>/sweep.json.",
    )
    parser.add_argument("file", metavar="SPEC", nargs="?", help="a curriculum spec (.cur or .yaml)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=a,b,...",
        help="an override; comma-separated values make an axis of the grid "
        "(e.g. curriculum=root_pos,linear_ngram seed=1,2,3)",
    )
    parser.add_argument(
        "--control",
        metavar="SCORER",
        help="add each paced run's matched control, ordered by SCORER (e.g. random); "
        "warns (once per curriculum) when a control's words or tokens differ from its "
        "curriculum's by more than 2%%",
    )
    parser.add_argument("--runs-dir", default="runs", help="where sweeps live (default: runs)")
    parser.add_argument("--name", help="the sweep's name (default: the spec's file name)")
    parser.add_argument(
        "--config-dir", help="config folder for a composed YAML spec (default: the spec's)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--print", action="store_true", help="print one command line per run instead of running"
    )
    mode.add_argument(
        "--dry-run", action="store_true", help="list the grid with plan hashes; run nothing"
    )
    mode.add_argument(
        "--submit",
        choices=("local", "slurm"),
        help="submit the grid through submitit: one array job, a task per grid point (its "
        "run and its matched control), requeued on pre-emption or time-out and resumed from "
        "its checkpoint; local: submitit's local executor (every task at once; waits)",
    )
    mode.add_argument(
        "--status",
        metavar="DIR",
        help="show a submitted sweep's jobs (state, requeues) and runs (status, step)",
    )
    submit = parser.add_argument_group("with --submit")
    submit.add_argument("--partition", help="the Slurm partition")
    submit.add_argument(
        "--gpus-per-run",
        type=int,
        default=None,
        help="GPUs per run (default: 1 on Slurm, 0 locally); more than one: torchrun",
    )
    submit.add_argument(
        "--time",
        default=None,
        help="each task's time limit: minutes or [D-]HH:MM:SS (default 240 minutes); "
        "a task out of time is checkpointed and requeued",
    )
    submit.add_argument(
        "--array-parallelism", type=int, default=None, help="tasks running at once (Slurm)"
    )
    submit.add_argument("--mem", type=float, default=None, metavar="GB", help="memory per task")
    submit.add_argument(
        "--cpus-per-run", type=int, default=None, help="CPUs per task (and its threads)"
    )
    submit.add_argument(
        "--max-requeues",
        type=int,
        default=None,
        help="time-outs after which a task is not requeued (default 8; pre-emptions do not count)",
    )
    submit.add_argument(
        "--signal-delay",
        type=int,
        default=None,
        metavar="S",
        help="seconds before the time limit the task is told to checkpoint (default 120)",
    )
    submit.add_argument(
        "--slurm-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another sbatch option (account=..., qos=..., constraint=...); repeatable",
    )
    submit.add_argument(
        "--setup",
        action="append",
        default=[],
        metavar="CMD",
        help="a shell line run before each task (module load ..., source ...); repeatable",
    )
    submit.add_argument(
        "--wait", action="store_true", help="with --submit slurm: wait until every job ends"
    )
    parser.add_argument(
        "--launcher",
        choices=("python", "torchrun", "slurm"),
        default=None,
        help="with --print: the launcher of each line (default python; torchrun with --nproc)",
    )
    parser.add_argument("--nproc", type=int, default=1, help="processes (GPUs) per run")
    add_cache_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan the sweep, then print, list or execute it; returns the exit code."""
    from curriculumc.runtime.experiments import sweep as sweeps

    if args.status:
        if args.file or args.overrides:
            return usage_error("sweep", "--status DIR takes no spec or overrides")
        return _status(args.status)
    if not args.file:
        return usage_error("sweep", "a SPEC is needed (or --status DIR)")
    resources = None
    if args.submit:
        resources = _resources(args)
        if isinstance(resources, int):
            return resources
    elif _submit_options_given(args):
        return usage_error("sweep", "--partition, --gpus-per-run, --time ... go with --submit")
    if args.nproc < 1:
        return usage_error("sweep", "--nproc must be >= 1")
    if args.launcher and not args.print:
        return usage_error("sweep", "--launcher goes with --print")
    launcher = args.launcher or ("torchrun" if args.nproc > 1 else "python")
    load_plan = None
    run_args: tuple[str, ...] = ()
    if args.config_dir:
        from curriculumc import load

        def load_plan(path, overrides):
            return load(path, tuple(overrides), config_dir=args.config_dir)

        run_args = ("--config-dir", args.config_dir)
    if args.cache_dir is not None:
        run_args += ("--cache-dir", str(args.cache_dir))
    sweep = sweeps.plan_sweep(
        args.file,
        args.overrides,
        runs_dir=args.runs_dir,
        name=args.name,
        control=args.control,
        load_plan=load_plan,
        run_args=run_args,
    )
    for note in sweep.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.print:  # each printed control run checks its own exposure when it starts
        sweeps.write_manifest(sweep, {})
        for line in sweeps.print_lines(sweep, launcher=launcher, nproc=args.nproc):
            print(line)
        return EXIT_OK
    if args.dry_run:
        _print_rows(sweep, sweeps.dry_run_rows(sweep))
    # the controls' exposure against their curricula's, once per pair, before any run
    for warning in sweeps.control_exposure_warnings(sweep, cache_dir=args.cache_dir):
        print(warning, file=sys.stderr, flush=True)
    if args.dry_run:
        return EXIT_OK
    if args.submit:
        return _submit(sweep, args.submit, resources, wait=args.wait or args.submit == "local")
    outcome = sweeps.execute(
        sweep,
        log=lambda line: print(line, file=sys.stderr, flush=True),
        exposure_checked=True,
    )
    print(
        f"sweep {sweep.name}: {len(outcome.complete)} run, {len(outcome.skipped)} already "
        f"complete, {len(outcome.failed)} failed; manifest {sweep.folder / 'sweep.json'}",
        file=sys.stderr,
    )
    if outcome.failed:
        print("failed: " + ", ".join(outcome.failed), file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


_SUBMIT_OPTIONS = (
    "partition", "gpus_per_run", "time", "array_parallelism", "mem", "cpus_per_run",
    "max_requeues", "signal_delay",
)  # fmt: skip


def _submit_options_given(args) -> bool:
    given = any(getattr(args, name) is not None for name in _SUBMIT_OPTIONS)
    return given or bool(args.slurm_option or args.setup or args.wait)


def _resources(args):
    """The Resources of the --submit options, or the exit code of a usage error."""
    from curriculumc.runtime.experiments import submit as submits

    time_min = submits.DEFAULT_TIME_MIN
    if args.time is not None:
        try:
            time_min = submits.parse_time(args.time)
        except ValueError:
            return usage_error("sweep", f"--time {args.time!r}: minutes or [D-]HH:MM:SS")
    slurm = {}
    for item in args.slurm_option:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            return usage_error("sweep", f"--slurm-option {item!r} is not KEY=VALUE")
        slurm[key.strip().lstrip("-").replace("-", "_")] = value
    for name in ("gpus_per_run", "array_parallelism", "cpus_per_run", "max_requeues"):
        value = getattr(args, name)
        if value is not None and value < (0 if name in ("gpus_per_run", "max_requeues") else 1):
            return usage_error("sweep", f"--{name.replace('_', '-')} {value} is out of range")
    if args.wait and args.submit != "slurm":
        return usage_error("sweep", "--wait goes with --submit slurm (local always waits)")
    if args.submit == "local" and (args.partition or slurm):
        return usage_error("sweep", "--partition and --slurm-option go with --submit slurm")
    gpus = args.gpus_per_run if args.gpus_per_run is not None else int(args.submit == "slurm")
    return submits.Resources(
        partition=args.partition,
        gpus=gpus,
        time_min=time_min,
        parallelism=args.array_parallelism,
        mem_gb=args.mem,
        cpus=args.cpus_per_run,
        signal_delay_s=(
            args.signal_delay if args.signal_delay is not None else submits.DEFAULT_SIGNAL_DELAY_S
        ),
        max_requeues=(
            args.max_requeues if args.max_requeues is not None else submits.DEFAULT_MAX_REQUEUES
        ),
        slurm=slurm,
        setup=tuple(args.setup),
    )


def _submit(sweep, executor: str, resources, *, wait: bool) -> int:
    from curriculumc.runtime.experiments import submit as submits

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    submission = submits.submit(sweep, executor, resources, exposure_checked=True, log=log)
    done = sum(len(labels) for labels in submission.complete)
    if not submission.jobs and not submission.kept:
        log(f"sweep {sweep.name}: every run is complete ({done}); nothing submitted")
        return EXIT_OK
    log(
        f"sweep {sweep.name}: {len(submission.jobs)} task(s) submitted ({executor}), "
        f"{len(submission.kept)} still queued from before, {done} run(s) already complete; "
        f"jobs in {submission.folder}"
    )
    if not wait:
        log(f"follow them with: curriculumc sweep --status {sweep.folder}")
        return EXIT_OK
    poll = 2.0 if executor == "local" else 60.0
    try:
        manifest = submits.wait(
            sweep.folder, poll_s=poll, log=log, jobs=[job for _, job in submission.jobs]
        )
    except KeyboardInterrupt:  # local tasks got the Ctrl-C too: their trainers checkpoint
        log(f"interrupted; the same command resumes, --status {sweep.folder} shows where")
        return 130
    _print_status(manifest, sweep.folder)
    failed = [r["label"] for r in manifest["runs"] if r.get("status") != "complete"]
    if failed:
        log("not complete: " + ", ".join(failed))
        return EXIT_ERROR
    return EXIT_OK


def _status(folder: str) -> int:
    from pathlib import Path

    from curriculumc.runtime.experiments import submit as submits
    from curriculumc.runtime.experiments.sweep import MANIFEST_NAME

    if not (Path(folder) / MANIFEST_NAME).is_file():
        return usage_error("sweep", f"no {MANIFEST_NAME} in {folder}")
    manifest = submits.refresh(Path(folder))
    _print_status(manifest, Path(folder))
    return EXIT_OK


def _print_status(manifest, folder) -> None:
    from rich.table import Table

    from curriculumc.cli import console as cli_console
    from curriculumc.runtime.experiments import submit as submits

    section = manifest.get("submit") or {}
    title = f"sweep {manifest.get('name')}: {len(manifest.get('runs', ()))} runs in {folder}"
    if section:
        title += f" (submitted: {section.get('executor')}, jobs in {section.get('folder')}/)"
    table = Table(title=title)
    for header in ("run", "job", "job state", "requeues", "status", "step"):
        table.add_column(header)
    for row in submits.status_rows(manifest):
        table.add_row(*row)
    cli_console().print(table)
    for job in section.get("jobs", ()):
        if job.get("error"):
            print(f"job {job['job_id']}: {job['error']}", file=sys.stderr)


def _print_rows(sweep, rows) -> None:
    from rich.table import Table

    from curriculumc.cli import console as cli_console

    table = Table(title=f"sweep {sweep.name}: {len(rows)} runs in {sweep.folder}")
    for header in ("run", "overrides", "plan", "state", "folder"):
        table.add_column(header)
    for row in rows:
        table.add_row(*row)
    cli_console().print(table)
