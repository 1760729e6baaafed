"""Data-layer throughput on the full AO-CHILDES train file, projected to 100M words.

    .venv/bin/python bench/data_throughput.py                 # whole train file (791k words)
    .venv/bin/python bench/data_throughput.py --lines 50000   # quicker
    .venv/bin/python bench/data_throughput.py --pos           # also POS tags (MOR + tagger)

Times, each with a fresh cache folder (nothing reused):

1. reading: JSON Lines parsing and the handling rules (:meth:`RawCorpus.batches`);
2. training the byte-level BPE (``--vocab``, default 8192);
3. tokenizing + storing (line unit, seq 128): :func:`tokenized_corpus`, which includes a
   second read of the file;
4. with ``--pos``: the same with POS tags (MOR codes where they match the words, the
   perceptron tagger elsewhere), and the tagger alone on plain words;
5. the cached call (memory-map only).

Reports words/s for each and the projected time for 100M words (linear in words; BPE
training grows a little faster than linear). The machine is shared: numbers are noisy.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from curriculumc.plan import DataSpec, TokenizerSpec
from curriculumc.runtime.data.readers import ReadReport, load_raw
from curriculumc.runtime.data.storage import StorageSettings, tokenized_corpus
from curriculumc.runtime.data.tagging import PerceptronTagger
from curriculumc.runtime.data.tokenizer import prepare_tokenizer

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT.parent / "shared" / "data" / "aochildes" / "train.jsonl"
TARGET_WORDS = 100_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=None, help="only the first N lines")
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--pos", action="store_true", help="also time POS tagging")
    args = parser.parse_args(argv)
    if not TRAIN.exists():
        print(f"shared data not found: {TRAIN}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="curriculumc-bench-data-"))
    try:
        source = TRAIN
        if args.lines:
            source = work / "train.jsonl"
            with TRAIN.open("rb") as src, source.open("wb") as dst:
                dst.writelines(itertools.islice(src, args.lines))
        run(source, work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run(source: Path, work: Path, args) -> None:
    raw = load_raw(DataSpec(source=str(source), kind="path"))
    rows: list[tuple[str, float, float]] = []

    started = time.perf_counter()
    report = ReadReport()
    words = sum(len(t.split()) for b in raw.batches(report=report) for t in b.texts)
    rows.append(("read (JSON Lines + rules)", time.perf_counter() - started, words))

    cache = work / "cache"
    started = time.perf_counter()
    tokenizer = prepare_tokenizer(
        TokenizerSpec(vocab_size=args.vocab),
        raw.texts,
        corpus_identity=raw.identity,
        cache_dir=cache,
        seq=128,
    )
    rows.append((f"train BPE (vocab {args.vocab})", time.perf_counter() - started, words))

    settings = StorageSettings("line", 128)
    started = time.perf_counter()
    stored = tokenized_corpus(raw, tokenizer, settings, cache_dir=cache)
    rows.append(("read + tokenize + store", time.perf_counter() - started, words))
    tokens = len(stored.corpus.ids)

    if args.pos:
        started = time.perf_counter()
        tagged = tokenized_corpus(raw, tokenizer, settings, cache_dir=cache, need_pos=True)
        rows.append(("... + POS (MOR, tagger fallback)", time.perf_counter() - started, words))
        print("POS lines:", json.dumps(tagged.summary["pos"]["lines"]))
        tagger = PerceptronTagger.load()
        sample = list(itertools.islice(raw.texts(), 20000))
        started = time.perf_counter()
        tagged_words = sum(len(tagger.tag_words(t.split())) for t in sample)
        rows.append(("tagger alone (20k lines)", time.perf_counter() - started, tagged_words))

    started = time.perf_counter()
    tokenized_corpus(raw, tokenizer, settings, cache_dir=cache)
    rows.append(("cached call (memory-map)", time.perf_counter() - started, words))

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"corpus: {source} -- {words:,} words, {tokens:,} tokens; {cpus} CPUs")
    print(f"{'stage':36} {'seconds':>9} {'words/s':>12} {'100M words':>12}")
    for name, seconds, count in rows:
        rate = count / seconds if seconds > 0 else float("inf")
        projected = TARGET_WORDS / rate
        print(f"{name:36} {seconds:9.2f} {rate:12,.0f} {_duration(projected):>12}")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    sys.exit(main())
