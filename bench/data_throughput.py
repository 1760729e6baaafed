"""Data-layer throughput on the full AO-CHILDES train file, projected to 100M words.

    .venv/bin/python bench/data_throughput.py                 # whole train file (791k words)
    .venv/bin/python bench/data_throughput.py --lines 50000   # quicker
    .venv/bin/python bench/data_throughput.py --pos           # also POS tags (MOR + tagger)
    .venv/bin/python bench/data_throughput.py --tagger        # only the tagger, before/after

Times, each with a fresh cache folder (nothing reused):

1. reading: JSON Lines parsing and the handling rules (:meth:`RawCorpus.batches`);
2. training the byte-level BPE (``--vocab``, default 8192);
3. tokenizing + storing (line unit, seq 128): :func:`tokenized_corpus`, which includes a
   second read of the file;
4. with ``--pos``: the same with POS tags (MOR codes where they match the words, the
   perceptron tagger elsewhere);
5. the cached call (memory-map only);
6. with ``--pos`` or ``--tagger``: the tagger on raw text (every line's words, as if it
   had no MOR codes), before and after, in one run: the reference
   (:meth:`PerceptronTagger.tag_words`, one sentence at a time, pure Python -- the
   tagger before issue 15) and :class:`BatchTagger` in this process, alternated
   ``--rounds`` times on the same ``--tag-lines`` lines (their tags compared: they must be
   identical), then :func:`tag_batches` over the whole file with ``--workers`` processes.
   BLAS/OpenMP threads are pinned to 1 (the tagger's numpy work is element-wise).

Reports words/s for each and the projected time for 100M words (linear in words; BPE
training grows a little faster than linear). The machine is shared: numbers are noisy.
"""

# ruff: noqa: E402 -- the thread settings must come before numpy is imported
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # pinned before numpy is imported

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from curriculumc.plan import DataSpec, TokenizerSpec
from curriculumc.runtime.data.readers import ReadReport, load_raw
from curriculumc.runtime.data.storage import StorageSettings, tokenized_corpus
from curriculumc.runtime.data.tagging import (
    PerceptronTagger,
    batch_tagger,
    default_workers,
    tag_batches,
)
from curriculumc.runtime.data.tokenizer import prepare_tokenizer

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT.parent / "shared" / "data" / "aochildes" / "train.jsonl"
TARGET_WORDS = 100_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=None, help="only the first N lines")
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--pos", action="store_true", help="also time POS tagging")
    parser.add_argument(
        "--tagger", action="store_true", help="only the tagger: reference vs batch tagger"
    )
    parser.add_argument("--tag-lines", type=int, default=40000, help="lines for before/after")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: CPUs)")
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
        if args.tagger:
            print_rows(tagger_rows(source, args), source, None, None)
        else:
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

    started = time.perf_counter()
    tokenized_corpus(raw, tokenizer, settings, cache_dir=cache)
    rows.append(("cached call (memory-map)", time.perf_counter() - started, words))
    if args.pos:
        rows.extend(tagger_rows(source, args))
    print_rows(rows, source, words, tokens)


def tagger_rows(source: Path, args) -> list[tuple[str, float, float]]:
    """The tagger before/after on raw text (see the module notes, 6.)."""
    texts = [json.loads(line)["text"] for line in source.open("rb")]
    sample = texts[: args.tag_lines]
    sample_words = sum(len(t.split()) for t in sample)
    reference = PerceptronTagger.load()
    fast = batch_tagger()
    fast.tag_texts(sample[:2000])  # warm its registries a little, as a run would
    before, after = [], []
    for _ in range(args.rounds):  # alternated, so that load changes hit both alike
        started = time.perf_counter()
        expected = [reference.tag_words(t.split()) for t in sample]
        before.append(time.perf_counter() - started)
        started = time.perf_counter()
        got = fast.tag_texts(sample)
        after.append(time.perf_counter() - started)
        if got != expected:
            raise SystemExit("the batch tagger's tags differ from the reference's")
    workers = args.workers or default_workers()
    batches = [texts[i : i + 4096] for i in range(0, len(texts), 4096)]
    all_words = sum(len(t.split()) for t in texts)
    started = time.perf_counter()
    for _ in tag_batches(fast, batches, list, workers=workers, parallel_after=0):
        pass
    parallel = time.perf_counter() - started
    n = len(sample)
    return [
        (f"tagger before: reference ({n // 1000}k lines)", statistics.median(before), sample_words),
        (f"tagger after: batch, 1 process ({n // 1000}k)", statistics.median(after), sample_words),
        (f"tagger after: whole file, {workers} processes", parallel, all_words),
    ]


def print_rows(rows, source: Path, words: int | None, tokens: int | None) -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    counts = f"{words:,} words, {tokens:,} tokens; " if words is not None else ""
    print(f"corpus: {source} -- {counts}{cpus} CPUs; load average {load}")
    print(f"{'stage':44} {'seconds':>9} {'words/s':>12} {'100M words':>12}")
    for name, seconds, count in rows:
        rate = count / seconds if seconds > 0 else float("inf")
        projected = TARGET_WORDS / rate
        print(f"{name:44} {seconds:9.2f} {rate:12,.0f} {_duration(projected):>12}")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    sys.exit(main())
