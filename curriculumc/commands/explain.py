"""``curriculumc explain FILE [key=value ...]``: the compiled curriculum's timeline in words."""

from __future__ import annotations

import argparse
import shutil

from curriculumc.cli import EXIT_OK, EXIT_USAGE
from curriculumc.commands.arguments import (
    add_resolve_option,
    add_spec_arguments,
    load_spec,
    usage_error,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``explain`` and its arguments."""
    parser = subparsers.add_parser(
        "explain",
        help="say in words what a curriculum does, phase by phase",
        description="Compile a curriculum spec and describe its timeline: the sort order, "
        "then every stretch of training between boundaries (data pool, objectives, "
        "vocabulary, evaluations), then the totals.",
    )
    add_spec_arguments(parser)
    parser.add_argument(
        "--width",
        type=int,
        default=None,
        help="wrap at this many columns (default: the terminal's width, at most 100)",
    )
    add_resolve_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the explanation; returns the exit code.

    Spec errors propagate as ``CurriculumError`` for the CLI to render (exit 1).
    """
    from curriculumc.views.explain import explain

    plan = load_spec(args, "explain")
    if plan is None:
        return EXIT_USAGE
    width = args.width or min(100, shutil.get_terminal_size((80, 24)).columns)
    if width < 40:
        return usage_error("explain", f"--width {width} is too narrow (at least 40)")
    times = None
    if args.resolve and plan.needs_data_clock:
        from curriculumc.runtime.ordering.clock import resolve_with_data

        plan, times = resolve_with_data(plan, cache_dir=args.cache_dir)
    print(explain(plan, width=width, times=times))
    return EXIT_OK
