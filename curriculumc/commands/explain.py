"""``curriculumc explain FILE [key=value ...]``: the compiled curriculum's timeline in words.

Also holds the two argument helpers ``explain`` and ``plot`` share (a spec file followed by
``key=value`` overrides).
"""

from __future__ import annotations

import argparse
import shutil
import sys

from curriculumc.cli import EXIT_OK, EXIT_USAGE


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
    print(explain(plan, width=width))
    return EXIT_OK


# --- shared with ``plot`` --------------------------------------------------------------


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``FILE`` and ``key=value ...`` positionals.

    (argparse fills positionals greedily: put options before FILE or after the overrides.)
    """
    parser.add_argument("file", metavar="FILE", help="a curriculum spec (.cur or .yaml)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="override a setting of the spec, e.g. train.steps=1000",
    )
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        help="config groups for a composed YAML spec (default: the spec's folder)",
    )


def load_spec(args: argparse.Namespace, command: str):
    """Compile ``args.file`` with ``args.overrides``; returns the Plan (after printing any
    warnings to stderr), or None after printing a usage error for a malformed override.

    Raises ``CurriculumError`` (rendered by the CLI, exit 1) when the spec is wrong.
    """
    import curriculumc

    for item in args.overrides:
        key, sep, _value = item.partition("=")
        if not sep or not key.strip():
            usage_error(command, f"expected key=value, got {item!r}")
            return None
    plan, warnings = curriculumc.load_with_warnings(
        args.file, tuple(args.overrides), config_dir=getattr(args, "config_dir", None)
    )
    if warnings:  # shown, not fatal: the plan compiled
        from curriculumc.lang.render import render_diagnostics

        print(render_diagnostics(warnings, color=sys.stderr.isatty()), file=sys.stderr)
    return plan


def usage_error(command: str, message: str) -> int:
    """Print ``message`` as a usage error of ``command``; returns exit code 2."""
    print(f"curriculumc {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE
