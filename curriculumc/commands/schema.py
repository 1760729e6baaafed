"""``curriculumc schema [--plan]``: print the JSON Schema of the YAML spec (or the plan)."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of YAML specs (--plan: of plan.json)",
        description="Print the JSON Schema of the YAML spec form, or with --plan of a plan.",
    )
    parser.add_argument("--plan", action="store_true", help="the plan schema instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from curriculumc.lang.schemas import schema_text

    sys.stdout.write(schema_text("plan" if args.plan else "spec"))
    return 0
