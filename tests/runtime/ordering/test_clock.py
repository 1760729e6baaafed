"""Times counted in data (words, tokens, epochs): the clock the sampler's draws make, and
every time resolved to the first step by which it has been drawn -- each measured
against counts made here from the drawn examples, independently of the clock."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.scorer_corpora import aochildes_corpus, aochildes_or_skip

from curriculumc.errors import CurriculumError
from curriculumc.plan import (
    BABYLM_MILESTONES,
    EvalSpec,
    OutputSpec,
    Pace,
    Phase,
    Plan,
    Time,
    TrainSpec,
    Unit,
)
from curriculumc.runtime.ordering.clock import draw_clock, resolve_plan
from curriculumc.runtime.ordering.sampler import CurriculumSampler


def _corpus():
    return aochildes_or_skip(20_000)


def _order():
    corpus = _corpus()
    # shortest first: a curriculum whose words per step grow, so steps and words differ
    return np.argsort(corpus.lengths(), kind="stable")


def _plan(*, steps=0, length=None, pace=None, batch=16, sampling="epochs", **fields):
    train = TrainSpec(steps=steps, batch=batch, seq=32, seed=3, sampling=sampling, length=length)
    return Plan(train=train, pace=pace or Pace(), **fields)


def _counted(plan, steps):
    """(examples, words, tokens) drawn before each step 0..steps, counted here from the
    examples a fresh sampler draws (not from the clock)."""
    corpus = _corpus()
    sampler = CurriculumSampler.for_corpus(plan, corpus, _order())
    words, tokens = corpus.text_words(32), corpus.text_tokens(32)
    out = [(0, 0, 0)]
    for step in range(steps):
        drawn = sampler.indices(step)
        e, w, t = out[-1]
        out.append((e + len(drawn), w + int(words[drawn].sum()), t + int(tokens[drawn].sum())))
    return np.array(out)


def test_the_clock_counts_what_the_steps_draw():
    plan = _plan(steps=300, pace=Pace("root", 0.1, 1.0, over=200))
    clock = draw_clock(plan, _corpus(), _order())
    counted = _counted(plan, 300)
    assert clock.steps == 300
    np.testing.assert_array_equal(clock.examples, counted[:, 0])
    np.testing.assert_array_equal(clock.words, counted[:, 1])
    np.testing.assert_array_equal(clock.tokens, counted[:, 2])
    assert clock.examples[-1] == 300 * 16


@settings(max_examples=25, deadline=None)
@given(value=st.integers(1, 60_000), unit=st.sampled_from(["words", "tokens"]))
def test_a_time_resolves_to_the_first_step_that_reaches_it(value, unit):
    plan = _plan(steps=1500)
    clock = draw_clock(plan, _corpus(), _order())
    reading = {"words": clock.words, "tokens": clock.tokens}[unit]
    step = clock.step_of(Time(value, unit))
    if step is None:
        assert reading[-1] < value
    else:
        assert reading[step] >= value and (step == 0 or reading[step - 1] < value)


def test_a_training_length_in_words_ends_at_the_first_step_past_it():
    length = Time(30_000, "words")
    plan = _plan(length=length, pace=Pace("linear", 0.2, 1.0, over=10_000, unit="words"))
    resolved, table = resolve_plan(plan, _corpus(), _order())
    steps = resolved.train.steps
    counted = _counted(plan, steps)
    assert counted[steps, 1] >= 30_000 > counted[steps - 1, 1]
    assert table[0].what == "train length" and table[0].step == steps
    assert dict(table[0].drawn)["words"] == counted[steps, 1]


def test_epochs_count_examples_drawn():
    n = len(_corpus())
    plan = _plan(length=Time(1.5, "epochs"), batch=64)
    resolved, _ = resolve_plan(plan, _corpus(), _order())
    # a batch of examples: 1.5 epochs is ceil(1.5 N / 64) steps
    assert resolved.train.steps == math.ceil(math.ceil(1.5 * n) / 64)


def test_a_pace_in_words_reads_the_words_drawn_before_each_step():
    """The pool of step t is ceil(f(W(t)) * N) with W(t) the words of steps 0..t-1,
    counted here; the plan resolved against the clock says the same (one rule)."""
    pace = Pace("root", 0.05, 1.0, over=8_000, unit="words")
    plan = _plan(steps=400, pace=pace)
    corpus = _corpus()
    n = len(corpus)
    counted = _counted(plan, 400)
    sampler = CurriculumSampler.for_corpus(plan, corpus, _order())
    resolved, _ = resolve_plan(plan, corpus, _order())
    for step in range(400):
        fraction = pace.fraction(counted[step, 1])
        expected = max(math.ceil(fraction * n - 1e-9), 16)
        assert sampler.pool_size(step) == min(n, expected)
        assert resolved.data_fraction(step) == fraction
        assert sampler.positions(step).max() < sampler.pool_size(step)
    released = resolved.boundaries()[-1]
    assert released[1] == "data fully released"
    assert counted[released[0], 1] >= 8_000 > counted[released[0] - 1, 1]


@pytest.mark.parametrize("sampling", ["epochs", "replacement"])
def test_a_pace_in_words_draws_the_same_from_any_step(sampling):
    """A resumed run (a fresh sampler asked for step t first) draws exactly what an
    uninterrupted one drew: the totals are replayed, not stored."""
    plan = _plan(steps=200, sampling=sampling, pace=Pace("linear", 0.1, 1.0, over=8_000,
                                                         unit="words"))  # fmt: skip
    corpus = _corpus()
    whole = CurriculumSampler.for_corpus(plan, corpus, _order())
    expected = [whole.positions(s).copy() for s in range(200)]
    for start in (0, 57, 199):
        fresh = CurriculumSampler.for_corpus(plan, corpus, _order())
        for step in range(start, 200):
            np.testing.assert_array_equal(fresh.positions(step), expected[step])


def test_evaluations_checkpoints_phases_and_warmup_resolve_to_their_first_steps():
    units = (Unit("mlm", "mlm"), Unit("pos", "pos"))
    phases = (Phase(0, (("mlm", 1.0),)), Phase(Time(12_000, "words"), (("pos", 1.0),)))
    plan = _plan(
        length=Time(40_000, "words"),
        units=units,
        phases=phases,
        evals=(EvalSpec("blimp", every=Time(15_000, "words")),),
        output=OutputSpec(
            checkpoint_at=(Time(10_000, "words"), Time(25_000, "words")),
            checkpoint_every=Time(20_000, "words"),
        ),  # fmt: skip
    )
    plan = Plan.from_dict(plan.to_dict())  # through JSON: Times round-trip
    resolved, table = resolve_plan(plan, _corpus(), _order())
    steps = resolved.train.steps
    words = _counted(plan, steps)[:, 1]

    def first(value):
        return int(np.searchsorted(words, value, side="left"))

    assert resolved.phases[1].start == first(12_000)
    assert resolved.objectives(first(12_000) - 1) == {"mlm": 1.0}
    assert resolved.objectives(first(12_000)) == {"pos": 1.0}
    assert resolved.evaluation_steps(resolved.evals[0]) == [first(15_000), first(30_000), steps]
    assert resolved.output.checkpoint_at == (first(10_000), first(20_000), first(25_000), steps)
    # the step of 40k words is the last: the final model, not a step checkpoint
    assert [s for s in range(steps + 1) if resolved.checkpoint_due(s)] == [
        first(10_000), first(20_000), first(25_000)
    ]  # fmt: skip
    assert resolved.train.warmup == 2000  # in steps, as written: untouched
    assert {e.what for e in table} >= {"train length", "objectives pos", "eval blimp",
                                       "checkpoint"}  # fmt: skip


def test_checkpoint_babylm_gives_the_milestones_up_to_the_words_drawn():
    corpus = aochildes_corpus(200_000)
    if corpus is None:
        pytest.skip("AO-CHILDES not found")
    order = np.arange(len(corpus))
    plan = Plan(
        train=TrainSpec(steps=0, batch=256, seq=32, seed=1, length=Time(2_100_000, "words")),
        output=OutputSpec(checkpoint_babylm=True),
    )
    resolved, table = resolve_plan(plan, corpus, order)
    named = [(e.name, e.time.value) for e in table if e.what == "checkpoint"]
    assert named == [("chck_1M", 1_000_000), ("chck_2M", 2_000_000)]
    assert BABYLM_MILESTONES[:3] == (1_000_000, 2_000_000, 3_000_000)
    assert len(resolved.output.checkpoint_at) == 2
    assert resolved.milestone_steps() == resolved.output.checkpoint_at


def test_a_length_the_data_cannot_reach_is_an_error():
    corpus = _corpus()
    words = corpus.words.copy()
    words[:] = 0  # a corpus whose examples hold no word
    from dataclasses import replace

    empty = replace(corpus, words=words)
    plan = _plan(length=Time(100, "words"))
    with pytest.raises(CurriculumError) as caught:
        draw_clock(plan, empty, _order())
    assert caught.value.diagnostics[0].code == "E366"


def test_a_plan_in_steps_is_left_as_it_is():
    plan = _plan(steps=50)
    resolved, table = resolve_plan(plan, _corpus(), _order())
    assert resolved is plan and table == ()


def test_schedules_counted_in_data_list_where_they_change_at_their_first_steps():
    """A pace, a mix, a seq warmup and a batch ramp counted in words keep their unit; the
    times table (times.json, ``explain --resolve``) lists where each changes, at the first
    step by which the words were drawn -- and the draws change there."""
    from curriculumc.plan import BatchRamp, Mix, MixPhase, SeqWarmup

    corpus, steps = _corpus(), 800
    names = tuple(corpus.source_names)
    big = tuple(names[i] for i in np.argsort(-np.bincount(corpus.source))[:2])
    mix = Mix((MixPhase(((big[0], 0.5), (big[1], 0.5)), until=3_000),
               MixPhase(((big[0], 1.0),))), unit="words")  # fmt: skip
    plan = _plan(
        steps=steps,
        pace=Pace("linear", 0.2, over=6_000, unit="words"),
        mix=mix,
        seq_warmup=SeqWarmup("linear", 16, 32, over=4_000, unit="words"),
        batch_ramp=BatchRamp(8, 16, 8, over=2_000, unit="words"),
    )
    resolved, table = resolve_plan(plan, corpus, _order())
    words = _counted(plan, steps)[:, 1]

    def first(value):
        return int(np.searchsorted(words, value, side="left"))

    changes = {entry.what: entry.step for entry in table}
    assert changes == {
        "data pace releases everything": first(6_000),
        "mix phase 2 starts": first(3_000),
        "seq warmup reaches 32": first(4_000),
        "batch ramp reaches 16": first(2_000),
    }
    assert 0 < first(2_000) < first(3_000) < first(4_000) < first(6_000) < steps
    sampler = CurriculumSampler.for_corpus(resolved, corpus, _order())
    source = np.asarray(corpus.source)
    for t in range(steps):
        drawn = sampler.indices(t)
        assert len(drawn) == (8 if t < first(2_000) else 16)
        assert sampler.seq_at(t) == 32 if t >= first(4_000) else sampler.seq_at(t) < 32
        only_first = (source[drawn] == names.index(big[0])).all()
        assert only_first == (t >= first(3_000))
