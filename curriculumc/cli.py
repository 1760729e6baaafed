"""The ``curriculumc`` command line.

Each subcommand lives in its own module under :mod:`curriculumc.commands` with two
functions: ``add_parser(subparsers)`` (registers its arguments and ``func=run``) and
``run(args) -> int``. Command modules import heavy libraries (torch, transformers,
datasets) only inside ``run`` so that ``validate``/``compile``/``explain``/``plot`` stay
instant.

Exit codes: 0 ok, 1 the spec or data is wrong (a diagnostic is printed), 2 usage.
No input may end in a Python traceback: unexpected exceptions are reported in one line
(``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> module; order is the order shown in --help
COMMANDS = (
    "validate",
    "compile",
    "explain",
    "plot",
    "schema",
    "simulate",
    "run",
    "eval",
    "synth",
    "sweep",
    "compare",
    "import",
    "export",
)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a tool killed by a closed pipe


def console(*, width: int | None = None, fallback: int = 120, **kwargs):
    """The rich Console that commands print results with: ``width``, else the terminal's,
    else ``fallback`` columns when the output is a file or a pipe (rich's 80 would squash
    result tables)."""
    import os

    from rich.console import Console

    if width is None and not sys.stdout.isatty() and "COLUMNS" not in os.environ:
        width = fallback
    return Console(width=width, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="curriculumc",
        description="Compile, check, show and run training curricula for small language models.",
    )
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        # every command is part of the package: a missing one is a broken install, not a
        # command to leave out of --help quietly
        module = importlib.import_module(
            f"curriculumc.commands.{name.replace('import', 'import_')}"
        )
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse ``argv`` and run the chosen command; returns the exit code."""
    from curriculumc.errors import CurriculumError

    parser = build_parser()
    # key=value overrides may stand anywhere after the command (like Hydra's), also after
    # options: collect the leftovers argparse could not place.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if hasattr(args, "overrides") and all("=" in w and not w.startswith("-") for w in extra):
            args.overrides = [*(args.overrides or []), *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe is found here, not at exit
        return code
    except CurriculumError as exc:
        from curriculumc.lang.render import render_diagnostics

        print(render_diagnostics(exc.diagnostics, color=sys.stderr.isatty()), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `curriculumc explain x.cur | head -1`: the reader is gone
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # a full disk, a name too long, no permission: say which file
        if args.debug:
            raise
        from curriculumc.files import os_error_message

        print(f"curriculumc: error: {os_error_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except (RecursionError, MemoryError) as exc:
        if args.debug:
            raise
        what = "nested too deeply" if isinstance(exc, RecursionError) else "out of memory"
        print(f"curriculumc: error: the input is too large to handle ({what})", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the CLI never shows a traceback unless asked
        if args.debug:
            raise
        print(f"curriculumc: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("  (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush of a closed pipe
    does not print "Exception ignored ... BrokenPipeError"."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
