"""``curriculumc synth``: write the generated default corpus to a folder.

    curriculumc synth -o DIR [--words N | --sentences N] [--seed S]
                      [--dev-sentences N] [--pairs-per-phenomenon K]

Writes ``train.jsonl``, ``dev.jsonl``, ``pairs/<paradigm>.jsonl`` and ``meta.json`` into
DIR and prints one line per file. Bad sizes or an output path that is a file: exit 2.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from curriculumc.commands.arguments import usage_error

DEFAULT_WORDS = 1_000_000


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "synth",
        help="generate the built-in child-directed corpus and minimal pairs",
        description="Generate the built-in corpus (gold POS tags, depth, construction type) "
        "and BLiMP-style minimal pairs from the same grammar. Works offline.",
    )
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="output folder")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--words", type=int, metavar="N", help=f"train size in words (default {DEFAULT_WORDS:,})"
    )
    size.add_argument("--sentences", type=int, metavar="N", help="train size in sentences")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--dev-sentences", type=int, default=2000, metavar="N", help="dev size (default 2000)"
    )
    p.add_argument(
        "--pairs-per-phenomenon",
        type=int,
        default=200,
        metavar="K",
        help="minimal pairs per paradigm (default 200)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from curriculumc.errors import CurriculumError
    from curriculumc.runtime.data.synth.files import check_sizes, write_synth

    words = args.words
    if words is None and args.sentences is None:
        words = DEFAULT_WORDS
    sizes = dict(
        sentences=args.sentences,
        words=words,
        dev_sentences=args.dev_sentences,
        per_phenomenon=args.pairs_per_phenomenon,
    )
    try:
        check_sizes(**sizes)
    except CurriculumError as exc:
        d = exc.diagnostics[0]
        return usage_error("synth", f"[{d.code}] {d.message}")
    out: Path = args.output
    if out.exists() and not out.is_dir():
        return usage_error("synth", f"{out} exists and is not a folder")
    start = time.perf_counter()
    summaries, pairs = write_synth(out, seed=args.seed, **sizes)
    elapsed = time.perf_counter() - start
    for summary in summaries:
        print(summary.line())
    for name, rows in pairs.items():
        print(
            f"pairs/{name}.jsonl: {len(rows)} pairs ({rows[0]['field']}, {rows[0]['linguistics_term']})"
        )
    print(f"wrote {out} in {elapsed:.1f}s")
    return 0
