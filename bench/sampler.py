"""Benchmark the curriculum sampler, ``simulate`` and the scorers.

    .venv/bin/python bench/sampler.py

Reports: microseconds per step of :func:`global_batch` (batch 32) for pools of 10**3 to
10**7 examples -- the cost must not grow with the pool -- and of
``CurriculumSampler.indices`` (pacing included); the time ``simulate`` needs for 100k
steps; each scorer's throughput on the shared AO-CHILDES corpus (words as tokens); and a
mix's split and draws per step.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from curriculumc.plan import Pace, Plan, ScorerTerm, SortSpec, TrainSpec
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.experiments.simulate import exposure
from curriculumc.runtime.ordering.sampler import CurriculumSampler, global_batch
from curriculumc.runtime.ordering.scorers import score_sort

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aochildes" / "train.jsonl"


def per_step_us(fn, steps: int) -> float:
    fn(0)  # warm up
    start = time.perf_counter()
    for step in range(steps):
        fn(step)
    return (time.perf_counter() - start) / steps * 1e6


def aochildes() -> TokenizedCorpus:
    vocab, ids, offsets, sources, names = {}, [], [0], [], {}
    with DATA.open() as lines:
        for line in lines:
            row = json.loads(line)
            ids.extend(vocab.setdefault(w, len(vocab)) for w in row["text"].split())
            offsets.append(len(ids))
            sources.append(names.setdefault(row["source"], len(names)))
    return TokenizedCorpus(
        ids=np.array(ids, dtype=np.uint32),
        offsets=np.array(offsets, dtype=np.int64),
        words=np.diff(np.array(offsets)).astype(np.int32),
        source=np.array(sources, dtype=np.int32),
        source_names=tuple(names),
        vocab_size=len(vocab),
        content_hash="bench-aochildes",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps timed per pool size")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    print(f"global_batch, batch {args.batch}, mean over {args.steps:,} steps:")
    for exponent in range(3, 8):
        pool = 10**exponent
        us = per_step_us(lambda s, p=pool: global_batch(42, s, p, args.batch), args.steps)
        print(f"  pool 10^{exponent}: {us:6.1f} us/step")
    order = np.arange(10**7, dtype=np.int64)
    plan = Plan(
        train=TrainSpec(steps=100_000, batch=args.batch),
        pace=Pace(fn="root", start=0.1, over=50_000, release=0.8),
    )
    sampler = CurriculumSampler(plan, order)
    us = per_step_us(sampler.indices, args.steps)
    print(f"  CurriculumSampler.indices, 10^7 examples, root pacing: {us:6.1f} us/step")

    if not DATA.exists():
        print(f"(AO-CHILDES not found at {DATA}: skipped simulate and scorer figures)")
        return
    corpus = aochildes()
    tokens = int(corpus.offsets[-1])
    print(f"scorers on AO-CHILDES train ({len(corpus):,} utterances, {tokens:,} words):")
    terms = [
        ScorerTerm("sentence_length"),
        ScorerTerm("unigram_ppl"),
        ScorerTerm("ngram_ppl", kwargs=(("n", 2),)),
        ScorerTerm("ngram_ppl", kwargs=(("n", 3),)),
        ScorerTerm("ngram_ppl", kwargs=(("n", 5),)),
        ScorerTerm("source", tuple(corpus.source_names)),
        ScorerTerm("random"),
    ]
    orders = {}
    for term in terms:
        start = time.perf_counter()
        values = score_sort(SortSpec((term,)), corpus).values
        seconds = time.perf_counter() - start
        orders[term] = np.argsort(values, kind="stable")
        label = term.name + "".join(f" {k}={v}" for k, v in term.kwargs)
        print(f"  {label:18s} {seconds:6.2f} s  ({tokens / seconds / 1e6:7.2f} M tokens/s)")
    start = time.perf_counter()
    result = exposure(plan, corpus, orders[terms[3]])
    print(
        f"simulate {plan.train.steps:,} steps x batch {args.batch} (sampler + aggregation): "
        f"{time.perf_counter() - start:.2f} s; words seen {result.words_seen:,}"
    )
    mixed(corpus, orders[terms[3]], args.batch)


def mixed(corpus: TokenizedCorpus, order: np.ndarray, batch: int, steps: int = 100_000) -> None:
    """A mix of the four largest CHILDES corpora in three phases: the split alone (the
    quota method, replayed from step 0 on every resume) and the whole draw, per step."""
    from curriculumc.plan import Mix, MixPhase
    from curriculumc.runtime.ordering.sampler import apportion

    sizes = np.bincount(corpus.source, minlength=len(corpus.source_names))
    a, b, c, d = (corpus.source_names[i] for i in np.argsort(-sizes)[:4])
    mix = Mix((
        MixPhase(((a, 0.6), (b, 0.4)), until=steps // 3),
        MixPhase(((a, 0.3), (b, 0.3), (c, 0.4)), until=2 * steps // 3),
        MixPhase(((a, 0.181), (b, 0.181), (c, 0.635), (d, 0.003))),
    ))  # fmt: skip
    weights = np.array([0.181, 0.181, 0.635, 0.003])
    given = np.zeros(4, dtype=np.int64)
    start = time.perf_counter()
    for _ in range(steps):
        given += apportion(weights, given, batch)
    split = time.perf_counter() - start
    print(f"mix split (quota method), 4 sources, batch {batch}: {split / steps * 1e6:5.1f} us/step,"
          f" {split:.2f} s for {steps:,} steps (a resume's replay)")  # fmt: skip
    plan = Plan(train=TrainSpec(steps=steps, batch=batch), mix=mix,
                pace=Pace(fn="linear", start=0.2, over=steps // 2))  # fmt: skip
    sampler = CurriculumSampler.for_corpus(plan, corpus, order)
    us = per_step_us(sampler.indices, min(steps, 20_000))
    print(f"  CurriculumSampler.indices under that mix, paced: {us:6.1f} us/step")


if __name__ == "__main__":
    main()
