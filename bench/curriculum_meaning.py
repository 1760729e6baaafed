"""What a data curriculum draws, before and after exact epochs (issue 11), on AO-CHILDES.

    .venv/bin/python bench/curriculum_meaning.py [--cache-dir DIR]

Uses the product's own pipeline (the AO-CHILDES training file, BPE 8192, seq 128) and
sampler, and reports, for the old rules (curriculumc v1: ties in file order, every step
drawn with replacement) and the new ones (seeded ties, epochs without replacement):

- ties: ``sort by sentence_length``, pool at 10%: the share of the released tied examples
  (the tie group cut by the pool's edge) in each fifth of the file, and the pool with the
  seed system's percentile rule (``ties include``);
- coverage: ``pace none``, ceil(N / B) steps: the share of examples drawn (exactly once);
- root pacing from 10% over 10k steps of 20k: the most-drawn example's draws vs what
  uniform draws from each step's pool would give it;
- exposure: 2,000 steps, sentence-length curriculum vs ``--control random``, words and
  tokens seen, with batches of 32 examples and of ``N tokens``;
- sampler cost per step (epochs and with replacement) for pools of 10^3 .. 10^7, and the
  replay a resume at step 100k costs.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path

import numpy as np

import curriculumc
from curriculumc.plan import Pace, Plan, TrainSpec
from curriculumc.runtime.data.prepare import prepare_data
from curriculumc.runtime.experiments.simulate import exposure
from curriculumc.runtime.ordering.order import initial_order
from curriculumc.runtime.ordering.sampler import CurriculumSampler
from curriculumc.runtime.ordering.scorers import difficulty_order

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "aochildes" / "train.jsonl"


def spec(text: str, overrides=()) -> Plan:
    return curriculumc.loads(f'data "{DATA}"\n{text}', overrides=overrides)


def with_train(plan: Plan, **train) -> Plan:
    return dataclasses.replace(plan, train=dataclasses.replace(plan.train, **train))


def fifths_of_tied(order: np.ndarray, lengths: np.ndarray, pool: int):
    """For the tie group cut by the pool's edge: the share of each fifth's tied examples
    that is released, the released ones' distribution over the fifths, and the whole
    group's distribution over the fifths."""
    released = order[:pool]
    edge = lengths[released].max()
    tied = released[lengths[released] == edge]
    group = np.flatnonzero(lengths == edge)
    fifth = 5 * np.arange(len(lengths)) // len(lengths)
    per_fifth = np.bincount(fifth[group], minlength=5)
    got = np.bincount(fifth[tied], minlength=5)
    return edge, got / np.maximum(per_fifth, 1), got / max(len(tied), 1), per_fifth / len(group)


def draws(sampler: CurriculumSampler, steps: int) -> np.ndarray:
    return np.concatenate([sampler.positions(s) for s in range(steps)])


def per_step_us(sampler: CurriculumSampler, start: int, steps: int) -> float:
    sampler.positions(start)
    tick = time.perf_counter()
    for step in range(start + 1, start + 1 + steps):
        sampler.positions(step)
    return (time.perf_counter() - tick) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"AO-CHILDES not found at {DATA}")

    base = spec("sort by sentence_length; pace root from 10% over 10000; train 20000 steps")
    data = prepare_data(base, cache_dir=args.cache_dir)
    corpus = data.corpus
    n = len(corpus)
    lengths = corpus.lengths().astype(np.float64)
    print(f"AO-CHILDES train: {n:,} utterances, {int(corpus.words.sum()):,} words, BPE 8192")

    # ties at the pool's edge
    pool = CurriculumSampler(base, np.arange(n)).pool_size(0)
    by_file = difficulty_order(lengths)  # v1: stable sort, ties in file order
    seeded = initial_order(base, corpus, cache_dir=args.cache_dir)
    print(f"ties, sort by sentence_length, pool at 10% ({pool:,} examples):")
    for label, order in (("file order (v1)", by_file), ("seeded (now)", seeded.order)):
        edge, rate, spread, group = fifths_of_tied(order, lengths, pool)
        shown = ", ".join(f"{100 * s:.0f}" for s in rate)
        print(f"  {label:16s} each fifth's tied ({edge:.0f}-token) examples released, %: {shown}")
        shown = ", ".join(f"{100 * s:.1f}" for s in spread)
        print(f"  {label:16s} released tied examples over the fifths, %: {shown}")
    shown = ", ".join(f"{100 * s:.1f}" for s in group)
    print(f"  {'':16s} (the whole tie group over the fifths, %: {shown})")
    include = dataclasses.replace(base, pace=dataclasses.replace(base.pace, ties="include"))
    sampler = CurriculumSampler(include, seeded.order, keys=seeded.keys)
    print(f"  ties include (the seed's percentile rule): {sampler.pool_size(0):,} examples")

    # coverage of one epoch's steps without pacing
    flat = spec("train 20000 steps")
    steps = math.ceil(n / flat.train.batch)
    print(f"pace none, {steps:,} steps of {flat.train.batch} (one epoch's worth):")
    for sampling in ("replacement", "epochs"):
        plan = with_train(flat, sampling=sampling)
        drawn = draws(CurriculumSampler(plan, np.arange(n)), steps)
        counts = np.bincount(drawn, minlength=n)
        print(
            f"  {sampling:11s}: {np.count_nonzero(counts) / n:.1%} of the examples drawn, "
            f"most-drawn {counts.max()} times"
        )

    # root pacing: the most-drawn example
    print("root from 10% over 10,000 of 20,000 steps of 32: most-drawn example")
    for sampling in ("replacement", "epochs"):
        plan = with_train(base, sampling=sampling)
        result = exposure(plan, corpus, seeded.order, keys=seeded.keys)
        print(
            f"  {sampling:11s}: {result.max_draws} draws (uniform from the pool: "
            f"{result.max_draws_expected:.1f})"
            + (
                f"; corpus per completed epoch {min(result.epoch_coverage):.1%}"
                f"..{max(result.epoch_coverage):.1%}"
                if result.epoch_coverage
                else ""
            )
        )

    # exposure: curriculum vs matched control
    short = spec("sort by sentence_length; pace root from 10% over 1500; train 2000 steps")
    control = curriculumc.make_control(short)
    control_start = initial_order(control, corpus, cache_dir=args.cache_dir)
    print("2,000 steps, curriculum vs --control random:")
    for unit, batch in (("examples", 32), ("tokens", 144), ("tokens", 1024), ("tokens", 4096)):
        figures = []
        for plan, start in ((short, seeded), (control, control_start)):
            plan = with_train(plan, batch=batch, batch_unit=unit)
            result = exposure(plan, corpus, start.order, keys=start.keys)
            figures.append((result.words_seen, result.tokens_seen))
        (cw, ct), (rw, rt) = figures
        print(
            f"  batch {batch} {unit:8s}: words {cw:,} vs {rw:,} ({rw / cw - 1:+.1%}), "
            f"tokens {ct:,} vs {rt:,} ({rt / ct - 1:+.2%})"
        )

    # cost
    print("sampler cost per step, batch 32, root pacing from 10% over 50k (release at 80%):")
    for exponent in (3, 5, 7):
        for sampling in ("epochs", "replacement"):
            plan = Plan(
                train=TrainSpec(steps=100_000, batch=32, sampling=sampling),
                pace=Pace(fn="root", start=0.1, over=50_000, release=0.8),
            )
            sampler = CurriculumSampler(plan, np.arange(10**exponent, dtype=np.int64))
            us = per_step_us(sampler, 0, 5000)
            print(f"  10^{exponent} examples, {sampling:11s}: {us:6.1f} us/step")
    plan = Plan(
        train=TrainSpec(steps=200_000, batch=32),
        pace=Pace(fn="root", start=0.1, over=50_000, release=0.8),
    )
    sampler = CurriculumSampler(plan, np.arange(n, dtype=np.int64))
    tick = time.perf_counter()
    sampler.positions(100_000)
    print(f"  resume at step 100,000 ({n:,} examples): replay {time.perf_counter() - tick:.1f} s")


if __name__ == "__main__":
    main()
