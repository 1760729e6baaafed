"""``curriculumc compare RUN_DIR... | SWEEP_DIR [-o compare.png] [--json out.json] [--csv
out.csv]``: one table of curricula (mean ± sd across seeds, words seen and the control's
words relative to them, Δ to the matched control with a paired bootstrap interval) and a
plot of BLiMP over steps; see :mod:`curriculumc.runtime.experiments.compare`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from curriculumc.cli import EXIT_OK
from curriculumc.commands.arguments import usage_error
from curriculumc.files import write_atomic


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``compare`` and its arguments."""
    parser = subparsers.add_parser(
        "compare",
        help="compare finished runs or a sweep: table, bootstrap against controls, plot",
        description="Group runs that differ only in their seed, report final/best BLiMP, "
        "per-field scores, dev perplexity, words seen and wall time (mean ± sd across "
        "seeds), the control's words relative to its curriculum's, the difference to each "
        "curriculum's matched control with a paired bootstrap 95% interval over minimal "
        "pairs, and plot BLiMP over steps.",
    )
    parser.add_argument(
        "paths", nargs="+", metavar="RUN_OR_SWEEP_DIR", help="run folders or a sweep folder"
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="plot file (default: compare.png)"
    )
    parser.add_argument("--no-plot", action="store_true", help="write no plot")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers as JSON")
    parser.add_argument(
        "--csv", type=Path, default=None, help="write one line per curriculum as CSV"
    )
    parser.add_argument(
        "--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--width", type=int, default=None, help="table width in columns")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the table and notes, write the plot (and JSON); returns the exit code."""
    from curriculumc.cli import console as cli_console
    from curriculumc.errors import CurriculumError
    from curriculumc.runtime.experiments import compare

    if args.resamples < 1:
        return usage_error("compare", "--resamples must be >= 1")
    if args.output is not None and args.output.suffix.lower() not in (".png", ".pdf", ".svg"):
        return usage_error("compare", "the plot file must end in .png, .pdf or .svg")
    result = compare.compare_paths(args.paths, resamples=args.resamples, seed=args.seed)
    console = cli_console(width=args.width, fallback=160)
    console.print(compare.comparison_table(result))
    for line in compare.comparison_notes(result):
        console.print(f"note: {line}", highlight=False)
    try:
        if not args.no_plot:
            written = compare.plot_curves(result, args.output or Path("compare.png"))
            console.print(f"wrote {written}", highlight=False)
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(args.json, json.dumps(compare.comparison_to_json(result), indent=1) + "\n")
            console.print(f"wrote {args.json}", highlight=False)
        if args.csv is not None:
            console.print(f"wrote {compare.write_csv(result, args.csv)}", highlight=False)
    except OSError as exc:
        raise CurriculumError.single("E842", f"cannot write output: {exc}") from exc
    return EXIT_OK
