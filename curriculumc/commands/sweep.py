"""``curriculumc sweep SPEC key=a,b,c ... [--control random] [--runs-dir DIR] [--name NAME]
[--cache-dir DIR] [--print [--launcher torchrun|slurm] [--nproc N]] [--dry-run]``: run a grid of curricula and
seeds, named by plan hash, resumable; see :mod:`curriculumc.runtime.experiments.sweep`."""

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
    parser.add_argument("file", metavar="SPEC", help="a curriculum spec (.cur or .yaml)")
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


def _print_rows(sweep, rows) -> None:
    from rich.table import Table

    from curriculumc.cli import console as cli_console

    table = Table(title=f"sweep {sweep.name}: {len(rows)} runs in {sweep.folder}")
    for header in ("run", "overrides", "plan", "state", "folder"):
        table.add_column(header)
    for row in rows:
        table.add_row(*row)
    cli_console().print(table)
