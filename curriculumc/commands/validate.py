"""``curriculumc validate FILE...``: check specs without compiling anything heavy.

Prints ``FILE: Spec is well-formed`` for each good file (with its warnings rendered, and
for a plan that counts times in data what they will resolve) and every diagnostic of each
bad one. Exit 0 when all are good, 1 when any has an error. A spec with a ``mix`` over a
data file that names its sources inside (JSON Lines, a datasets folder) has the file's
sources read (cached by content), so a source it does not have is an error here.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check spec files (.cur or .yaml) and report every problem",
        description="Check spec files and report every problem (errors and warnings).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="spec files (.cur or .yaml)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from curriculumc import CurriculumError, load_with_warnings
    from curriculumc.lang.builder import W_MIX_UNCHECKED  # sources not checkable by name
    from curriculumc.lang.render import render_diagnostics

    color = sys.stderr.isatty()
    status = 0
    for name in args.files:
        try:
            plan, warnings = load_with_warnings(name)
            if any(w.code == W_MIX_UNCHECKED for w in warnings):  # the data tells
                sources = _data_sources(plan)
                if sources is not None:
                    plan, warnings = load_with_warnings(name, data_sources=sources)
        except CurriculumError as exc:
            print(render_diagnostics(exc.diagnostics, color=color), file=sys.stderr)
            status = 1
            continue
        if warnings:
            print(render_diagnostics(warnings, color=color), file=sys.stderr)
        print(f"{name}: Spec is well-formed")
        if plan.needs_data_clock:
            print(resolution_note(plan))
    return status


def _data_sources(plan) -> tuple[str, ...] | None:
    """The data's source names, read by the readers' rules (cached by content; a corpus
    above ``readers.SOURCES_SCAN_BYTES`` only once a run or simulate has read it): a mix's
    sources are then checked (E080) where otherwise they are only warned about (W011).
    Raises CurriculumError for data that cannot be read -- the run would stop there too."""
    from curriculumc.runtime.data.readers import corpus_sources

    return corpus_sources(plan.data)


def resolution_note(plan) -> str:
    """What a plan that counts times in data will resolve once the data is known."""
    written = plan.data_time_texts()
    return (
        f"  times counted in data ({'; '.join(written)}) resolve to steps when the data is "
        "known: each to the first step by which the run has drawn that much "
        "(`curriculumc explain --resolve` shows them)"
    )
