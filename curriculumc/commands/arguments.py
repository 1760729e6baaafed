"""What the commands share: the spec arguments, the device and cache options, usage errors.

Argument parsing only -- every command's work is done by the stage it calls.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from curriculumc.cli import EXIT_USAGE


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


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """``--device``: cpu, cuda, cuda:1, mps (default: the best available)."""
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best)")


def add_control_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--control random``: the matched control (the plan with a random order); ``what``
    the command does with it (the option's help)."""
    parser.add_argument("--control", metavar="SCORER", choices=("random",), default=None, help=what)


def add_resolve_option(parser: argparse.ArgumentParser) -> None:
    """``--resolve`` (with ``--cache-dir``): resolve a spec's times counted in data to
    their steps, which prepares its data (cached) and replays the sampler."""
    parser.add_argument(
        "--resolve",
        action="store_true",
        help="resolve times counted in data (train 2M words, at 5M words, checkpoint babylm) "
        "to their steps: prepares the data (cached) and replays the sampler",
    )
    add_cache_option(parser)


def add_cache_option(parser: argparse.ArgumentParser) -> None:
    """``--cache-dir``: where prepared data and difficulty scores are cached."""
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="data and score caches (default: $CURRICULUMC_CACHE or .cache/curriculumc)",
    )
