"""A batch-size ramp (Megatron's ``--rampup-batch-size``) in the plan, the sampler and the
clock: the size of every step against Megatron's rule written out here with exact
fractions, the examples each step really draws, coverage without replacement per epoch,
a ramp counted in the data drawn, a ramp under a mix, and the learning rate that follows
the examples drawn -- each measured from the sampler's draws, not from its own counts."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.scorer_corpora import aochildes_or_skip

from curriculumc.plan import BatchRamp, Mix, MixPhase, Pace, Plan, Time, TrainSpec
from curriculumc.runtime.ordering.clock import draw_clock, resolve_plan
from curriculumc.runtime.ordering.sampler import CurriculumSampler
from curriculumc.runtime.train.trainer import lr_at, plan_lr


def megatron_size(ramp: BatchRamp, position) -> int:
    """Megatron's ``RampupBatchsizeNumMicroBatches.update``, in exact arithmetic: past the
    ramp-up the full batch, else ``start + int(consumed / (samples / increments)) * inc``."""
    n = (ramp.end - ramp.start) // ramp.increment
    position, over = Fraction(position), Fraction(str(ramp.over))  # (0.02 as written)
    if position > over:
        return ramp.end
    return ramp.start + math.floor(position * n / over) * ramp.increment


ramps = st.builds(
    lambda start, inc, n, over: BatchRamp(start, start + n * inc, inc, over),
    st.integers(1, 64),
    st.integers(1, 32),
    st.integers(0, 12),
    st.integers(1, 5000),
)


@settings(max_examples=300, deadline=None)
@given(ramps, st.integers(0, 6000))
def test_each_size_is_megatrons_and_grows_by_whole_increments(ramp, step):
    size = ramp.size(step)
    assert size == megatron_size(ramp, step)
    assert ramp.start <= size <= ramp.end and size in ramp.sizes()
    assert (size - ramp.start) % max(1, ramp.increment) == 0
    grown = ramp.size(step + 1) - size  # by whole increments, never back
    assert grown >= 0 and grown % ramp.increment == 0
    if ramp.over >= ramp.increments:  # a step at least per increment: one at a time
        assert grown in (0, ramp.increment)
    if step >= ramp.over:
        assert size == ramp.end


@settings(max_examples=100, deadline=None)
@given(ramps)
def test_the_steps_at_each_size_are_its_share_of_the_ramp(ramp):
    """Each of the n increments takes over / n of the ramp (to within the whole step):
    the batch is at least start + k * increment from step ceil(k * over / n) on, and
    below it before (a ramp of fewer steps than increments grows by several at once)."""
    n = ramp.increments
    sizes = [ramp.size(t) for t in range(int(ramp.over) + 2)]
    assert sizes == sorted(sizes)
    for k in range(1, n + 1):
        first = math.ceil(Fraction(k) * Fraction(ramp.over) / n)
        assert sizes[first] >= ramp.start + k * ramp.increment > sizes[first - 1]


def _corpus():
    return aochildes_or_skip(20_000)


def _plan(ramp, *, steps=0, length=None, batch=None, pace=None, mix=None, warmup=0):
    batch = ramp.end if batch is None else batch
    train = TrainSpec(steps=steps, batch=batch, seq=32, seed=3, length=length, warmup=warmup)
    return Plan(train=train, pace=Pace() if pace is None else pace, mix=mix, batch_ramp=ramp)


def test_each_step_draws_its_size_and_an_epoch_covers_every_example_once():
    corpus = _corpus()
    n = len(corpus.source)
    ramp = BatchRamp(16, 64, 16, over=300)
    plan = _plan(ramp, steps=900)
    sampler = CurriculumSampler.for_corpus(plan, corpus, np.arange(n))
    drawn = [sampler.indices(t) for t in range(900)]
    sizes = [len(d) for d in drawn]
    # 16 for 100 steps, 32 for 100, 48 for 100, then 64: written out
    assert sizes == [16] * 100 + [32] * 100 + [48] * 100 + [64] * 600
    assert sizes == [plan.batch_at(t) for t in range(900)]
    assert all(len(np.unique(d)) == len(d) for d in drawn)
    flat = np.concatenate(drawn)
    assert len(flat) == plan.examples_before(900) == 16 * 100 + 32 * 100 + 48 * 100 + 64 * 600
    # without replacement: the first n draws are every example once, and so the next n
    assert len(np.unique(flat[:n])) == n and len(np.unique(flat[n : 2 * n])) == n


def test_a_paced_pool_is_never_smaller_than_the_steps_batch():
    corpus = _corpus()
    n = len(corpus.source)
    ramp = BatchRamp(8, 40, 8, over=100)
    # 100 examples at first: the floor is each step's own batch, not the ramp's end
    pace = Pace("linear", 100 / n, 1.0, over=10**6)
    plan = _plan(ramp, steps=200, pace=pace)
    sampler = CurriculumSampler.for_corpus(plan, corpus, np.arange(n))
    for t in (0, 24, 25, 99, 100, 199):
        assert sampler.pool_size(t) == max(sampler.released(t), plan.batch_at(t))
        assert sampler.positions(t).max() < sampler.pool_size(t)


def test_a_ramp_counted_in_epochs_reads_the_examples_drawn_before_the_step():
    """``over 0.02 epochs`` is Megatron's ramp-up samples: 0.02 N examples consumed."""
    corpus = _corpus()
    n = len(corpus.source)
    ramp = BatchRamp(8, 32, 8, over=0.02, unit="epochs")
    plan = _plan(ramp, steps=120)
    sampler = CurriculumSampler.for_corpus(plan, corpus, np.arange(n), track=True)
    consumed = 0
    for t in range(120):
        size = len(sampler.indices(t))
        assert size == megatron_size(ramp, Fraction(consumed, n))
        consumed += size
    per_increment = Fraction(2, 100) * n / 3  # samples per increment
    assert megatron_size(ramp, Fraction(math.ceil(per_increment), n)) == 16
    clock = draw_clock(plan, corpus, np.arange(n))
    resolved, _ = plan.resolve(clock)
    assert resolved.examples_before(120) == consumed
    assert [resolved.batch_at(t) for t in range(120)] == [
        len(sampler.indices(t)) for t in range(120)
    ]


def test_a_length_in_words_resolves_over_the_ramps_smaller_steps():
    corpus = _corpus()
    n = len(corpus.source)
    ramp = BatchRamp(8, 32, 8, over=60)
    plan = _plan(ramp, length=Time(20_000, "words"))
    flat = _plan(None, length=Time(20_000, "words"), batch=32)
    resolved, _ = resolve_plan(plan, corpus, np.arange(n))
    constant, _ = resolve_plan(flat, corpus, np.arange(n))
    # counted here from the draws: the first step count whose words reach 20,000
    sampler = CurriculumSampler.for_corpus(plan, corpus, np.arange(n))
    words = corpus.text_words(32)
    total, step = 0, 0
    while total < 20_000:
        total += int(words[sampler.indices(step)].sum())
        step += 1
    assert resolved.train.steps == step
    assert resolved.train.steps > constant.train.steps  # smaller early steps: more of them


def test_a_mix_apportions_each_steps_own_batch():
    corpus = _corpus()
    n = len(corpus.source)
    names = tuple(corpus.source_names)
    counts = np.bincount(corpus.source, minlength=len(names))
    a, b = (names[i] for i in np.argsort(-counts)[:2])
    mix = Mix((MixPhase(((a, 0.75), (b, 0.25)), until=None),))
    ramp = BatchRamp(8, 32, 8, over=90)
    plan = _plan(ramp, steps=150, mix=mix)
    sampler = CurriculumSampler.for_corpus(plan, corpus, np.arange(n))
    source = np.asarray(corpus.source)
    running = {a: 0, b: 0}
    drawn = 0
    for t in range(150):
        picked = sampler.indices(t)
        assert len(picked) == plan.batch_at(t)
        drawn += len(picked)
        for name in (a, b):
            running[name] += int((source[picked] == names.index(name)).sum())
        # every running count within one example of its weight's share of all drawn
        assert abs(running[a] - 0.75 * drawn) <= 1 and abs(running[b] - 0.25 * drawn) <= 1


def test_the_learning_rate_follows_the_examples_drawn():
    ramp = BatchRamp(8, 32, 8, over=300)
    plan = _plan(ramp, steps=1000, warmup=100)
    train = plan.train
    drawn = [0]
    for t in range(1000):
        drawn.append(drawn[-1] + megatron_size(ramp, t))
    for t in (0, 1, 50, 99, 100, 101, 250, 299, 300, 301, 700, 999):
        if t < 100:  # warm-up: the examples drawn by the end of the step, of the warm-up's
            expected = train.lr * drawn[t + 1] / drawn[100]
        else:  # linear decay by the examples drawn since the warm-up, of all after it
            expected = train.lr * (1 - (drawn[t] - drawn[100]) / (drawn[1000] - drawn[100]))
        assert plan_lr(plan, t) == pytest.approx(expected, rel=1e-12)
    # a step of 16 (steps 100-199) moves the schedule half as far as one of 32
    assert plan.batch_at(150) == 16 and plan.batch_at(500) == 32
    early = plan_lr(plan, 150) - plan_lr(plan, 151)
    late = plan_lr(plan, 500) - plan_lr(plan, 501)
    assert early == pytest.approx(late / 2, rel=1e-9)
    # without a ramp it is the schedule in steps, bit for bit
    flat = _plan(None, steps=1000, batch=32, warmup=100)
    assert [plan_lr(flat, t) for t in range(1000)] == [lr_at(t, flat.train) for t in range(1000)]


def test_a_plan_without_a_ramp_is_unchanged():
    plain = Plan(train=TrainSpec(steps=50, batch=16))
    assert "batch_ramp" not in plain.to_json()
    assert [plain.batch_at(t) for t in (0, 49)] == [16, 16]
    assert plain.examples_before(50) == 800
    ramped = Plan(train=TrainSpec(steps=50, batch=16), batch_ramp=BatchRamp(4, 16, 4, 30))
    assert Plan.from_json(ramped.to_json()) == ramped and ramped.hash != plain.hash
    marks = dict((w, s) for s, w in ramped.boundaries())
    assert marks["batch reaches 16"] == 30


def test_simulate_measures_the_steps_and_draws_at_each_size():
    """``simulate``'s ramp figures, from the draws: the steps at each size are Megatron's,
    each drew its size, and the sizes' examples, words and tokens add up to the run's."""
    from rich.console import Console

    from curriculumc.runtime.experiments.simulate import exposure, render_table

    corpus = _corpus()
    ramp = BatchRamp(8, 32, 8, over=90)
    plan = _plan(ramp, steps=150)
    result = exposure(plan, corpus, np.arange(len(corpus.source)))
    figures = result.to_dict()["batch_ramp"]
    sizes = [megatron_size(ramp, t) for t in range(150)]
    for row in figures["sizes"]:
        held = [t for t, size in enumerate(sizes) if size == row["size"]]
        assert row["steps"] == [held[0], held[-1] + 1] and row["step_count"] == len(held)
        assert row["examples"] == row["size"] * len(held)
    assert [row["size"] for row in figures["sizes"]] == [8, 16, 24, 32]
    assert figures["examples"] == sum(sizes) == result.draws < figures["constant_examples"]
    assert figures["constant_examples"] == 150 * 32
    assert figures["ramp_steps"] == sizes.index(32)
    assert sum(row["words"] for row in figures["sizes"]) == result.words_seen
    assert sum(row["tokens"] for row in figures["sizes"]) == result.tokens_seen
    console = Console(width=200, record=True)
    console.print(render_table(result))
    text = console.export_text()
    assert f"{sizes.index(32)} steps below 32: {sum(sizes):,} examples drawn in all" in text
    assert "batch 16" in text and f"steps {sizes.index(16)}–{sizes.index(24) - 1}" in text
    assert "batch_ramp" not in exposure(_plan(None, steps=5, batch=32), corpus,
                                        np.arange(len(corpus.source))).to_dict()  # fmt: skip
