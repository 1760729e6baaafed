"""``curriculumc import climb CONF_DIR_OR_FILE [group=option ...] [key.path=value ...]
[-o out.cur] [--data PATH] [--sources a,b] [--devices N]``:
turn a seed-system (CLIMB) Hydra config into a ``.cur`` spec that means the same; see
:mod:`curriculumc.importers.climb`. (The module is ``import_`` because ``import`` is a Python
keyword; the CLI maps the command name.)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from curriculumc.cli import EXIT_ERROR, EXIT_OK
from curriculumc.files import write_atomic

SYSTEMS = ("climb",)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``import`` and its arguments."""
    parser = subparsers.add_parser(
        "import",
        help="convert another system's curriculum config into a .cur spec",
        description="Convert a curriculum configured for the seed system (climb: the "
        "Cambridge BabyLM 2023 Hydra configs) into a .cur spec. What cannot be carried "
        "over is listed on stderr and as '# not carried over:' comments in the spec.",
    )
    parser.add_argument("system", choices=SYSTEMS, help="the system the config is for")
    parser.add_argument("path", metavar="CONF_DIR_OR_FILE", help="config folder or file")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="OVERRIDE",
        help="Hydra-style choices and values, as the seed's train.py takes them: "
        "group=option (data_curriculum=log_ngram; +group=option too), group=null, "
        "key.path=value (trainer.max_training_steps=300)",
    )
    parser.add_argument("-o", "--output", type=Path, help="spec file to write (default: stdout)")
    parser.add_argument(
        "--data", help="use this data (a path or corpus name) instead of the config's dataset"
    )
    parser.add_argument(
        "--sources",
        help="comma-separated source order for a data_split curriculum "
        "(default: the seed's own BabyLM order for spoken_first true or false)",
    )
    parser.add_argument(
        "--devices",
        type=_positive_int,
        metavar="N",
        help="devices the seed trained on: its trainer.batch_size is per device, the "
        "spec's batch is it times N (default: 4, as the seed's config says)",
    )
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Convert, write, list what was not carried over, and validate the result."""
    from curriculumc.errors import CurriculumError
    from curriculumc.importers.climb import import_climb

    sources = [s.strip() for s in args.sources.split(",") if s.strip()] if args.sources else None
    result = import_climb(
        args.path, args.overrides, data=args.data, sources=sources, devices=args.devices
    )
    if args.output:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(args.output, result.text)
        except OSError as exc:
            raise CurriculumError.single("E872", f"cannot write '{args.output}': {exc}") from exc
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(result.text)
    for title, items in (("assumed", result.assumptions), ("not carried over", result.not_carried)):
        if items:
            print(f"{title}:", file=sys.stderr)
            for item in items:
                print(f"  - {item}", file=sys.stderr)
    return EXIT_OK if _validates(result.text, args.output) else EXIT_ERROR


def _validates(text: str, output: Path | None) -> bool:
    """Compile the produced spec; print its diagnostics when it does not compile."""
    from curriculumc import loads
    from curriculumc.errors import CurriculumError
    from curriculumc.lang.render import render_diagnostics

    name = str(output) if output else "<imported>"
    base = output.parent if output else Path.cwd()
    try:
        loads(text, name, base, ())
    except CurriculumError as exc:
        print("the imported spec does not compile:", file=sys.stderr)
        print(render_diagnostics(exc.diagnostics, color=False), file=sys.stderr)
        return False
    return True
