"""``curriculumc compile FILE [-o plan.json] [key=value ...]``: print or write the Plan."""

from __future__ import annotations

import argparse
import sys

from curriculumc.files import write_atomic


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compile",
        help="compile a spec into its plan (JSON)",
        description="Compile a spec into its plan (JSON); key=value overrides apply first.",
    )
    parser.add_argument("file", metavar="FILE", help="spec file (.cur or .yaml)")
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="overrides, e.g. train.steps=200"
    )
    parser.add_argument("-o", "--output", metavar="PLAN_JSON", help="write the plan here")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from curriculumc import load_with_warnings
    from curriculumc.lang.render import render_diagnostics

    plan, warnings = load_with_warnings(args.file, args.overrides)
    if warnings:
        print(render_diagnostics(warnings, color=sys.stderr.isatty()), file=sys.stderr)
    text = plan.to_json() + "\n"
    if args.output:
        write_atomic(args.output, text)  # complete or untouched, also on a full disk
        print(f"{args.output}: plan {plan.hash[:12]}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
