"""``curriculumc plot FILE [-o timeline.png] [--terminal] [key=value ...]``: the timeline
picture, as a figure file (PNG at 300 dpi, PDF or SVG) or drawn in the terminal."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from curriculumc.cli import EXIT_OK, EXIT_USAGE
from curriculumc.commands.arguments import (
    add_resolve_option,
    add_spec_arguments,
    load_spec,
    usage_error,
)
from curriculumc.errors import CurriculumError
from curriculumc.views.timeline import FIGURE_SUFFIXES  # cheap: matplotlib loads only to draw


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``plot`` and its arguments."""
    parser = subparsers.add_parser(
        "plot",
        help="draw a curriculum's timeline (figure file or terminal)",
        description="Compile a curriculum spec and draw its timeline: the share of the data "
        "and of the vocabulary released over steps, the phase boundaries, and the "
        "objectives trained. Writes timeline.png unless --terminal is given alone.",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="figure file to write: .png (300 dpi), .pdf or .svg (default: timeline.png)",
    )
    parser.add_argument(
        "--terminal", action="store_true", help="draw the timeline with characters here"
    )
    parser.add_argument("--title", default=None, help="a title for the figure")
    parser.add_argument(
        "--width",
        type=int,
        default=None,
        help="terminal drawing width in columns (default: the terminal's, at most 120)",
    )
    parser.add_argument(
        "--height", type=int, default=12, help="terminal drawing height in rows (default: 12)"
    )
    add_spec_arguments(parser)
    add_resolve_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Draw the timeline; returns the exit code.

    Spec errors propagate as ``CurriculumError`` (exit 1); an unwritable output raises
    ``CurriculumError`` E200.
    """
    output = args.output
    if output is None and not args.terminal:
        output = Path("timeline.png")
    if output is not None and output.suffix.lower() not in FIGURE_SUFFIXES:
        return usage_error(
            "plot", f"cannot tell the format of {str(output)!r}: end it in .png, .pdf or .svg"
        )
    width = args.width or min(120, shutil.get_terminal_size((80, 24)).columns)

    plan = load_spec(args, "plot")
    if plan is None:
        return EXIT_USAGE
    if plan.needs_data_clock:
        if not args.resolve:
            return usage_error(
                "plot",
                "the spec counts times in data ("
                + "; ".join(plan.data_time_texts())
                + "): their steps are known once the data is; add --resolve (prepares the "
                "data, cached)",
            )
        from curriculumc.runtime.ordering.clock import resolve_with_data

        plan, _ = resolve_with_data(plan, cache_dir=args.cache_dir)
    from curriculumc.views.timeline import plot_timeline, render_terminal

    if args.terminal:
        try:
            drawing = render_terminal(plan, width=width, height=args.height)
        except ValueError as exc:  # the picture does not fit: a usage problem
            return usage_error("plot", f"{exc} (see --width and --height)")
        print(drawing)
    if output is not None:
        try:
            written = plot_timeline(plan, output, title=args.title)
        except OSError as exc:
            raise CurriculumError.single(
                "E200",
                f"cannot write the timeline to {str(output)!r}: {exc.strerror or exc}",
                hint="check that the folder exists and is writable",
            ) from None
        print(f"wrote {written}")
    return EXIT_OK
