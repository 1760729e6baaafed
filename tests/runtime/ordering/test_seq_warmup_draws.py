"""A sequence-length warmup in the sampler and the clock: what a step *sees* is counted
at the step's own length (``Plan.seq_at``), in token budgets, in the totals that resolve
times counted in data, and in ``simulate`` -- each measured here from the examples the
sampler draws and the corpus's stored lengths and words, independently of the sampler's
own counts."""

from __future__ import annotations

import math

import numpy as np
from support.scorer_corpora import aochildes_or_skip

from curriculumc.plan import Pace, Plan, SeqWarmup, Time, TrainSpec
from curriculumc.runtime.experiments.simulate import exposure
from curriculumc.runtime.ordering.clock import draw_clock, resolve_plan
from curriculumc.runtime.ordering.sampler import CurriculumSampler

SEQ = 32


def _corpus():
    return aochildes_or_skip(20_000)


def _order():
    # longest first: the warmup's short lengths cut many of the first steps' examples
    return np.argsort(-_corpus().lengths(), kind="stable")


def _plan(*, steps=0, length=None, batch=16, unit="examples", warm=None, pace=None):
    pace = Pace() if pace is None else pace
    train = TrainSpec(steps=steps, batch=batch, batch_unit=unit, seq=SEQ, seed=7, length=length)
    return Plan(train=train, pace=pace, seq_warmup=warm)


def _seen(indices, seq):
    """(words, tokens) the model reads of examples ``indices`` at ``seq`` positions: the
    language's definition written out here -- text cut to seq - 2 tokens, and the words
    starting in the kept tokens, ``ceil(words * kept / length)`` of a cut example."""
    corpus = _corpus()
    words, tokens = 0, 0
    for i in indices:
        length, stored = int(corpus.lengths()[i]), int(corpus.words[i])
        kept = min(length, seq - 2)
        tokens += kept
        words += stored if kept == length else math.ceil(stored * kept / length)
    return words, tokens


WARM = SeqWarmup("linear", 8, SEQ, over=40)


def test_the_length_of_each_step_is_the_plans():
    plan = _plan(steps=60, warm=WARM)
    sampler = CurriculumSampler.for_corpus(plan, _corpus(), _order())
    lengths = [sampler.seq_at(t) for t in range(60)]
    assert lengths == [plan.seq_at(t) for t in range(60)]
    # 8 + 24 t / 40 rounded down to a multiple of 8: 8 until 14, 16 from 14, 24 from 27
    assert lengths[:14] == [8] * 14 and lengths[14:27] == [16] * 13
    assert lengths[27:40] == [24] * 13 and lengths[40:] == [SEQ] * 20


def test_a_token_budget_spends_the_tokens_of_the_steps_length():
    budget = 200
    # the pool: the 100 longest utterances (28 tokens or more), for the whole run
    pool = Pace("linear", 100 / len(_corpus()), 1.0, over=10**9)
    plan = _plan(steps=50, batch=budget, unit="tokens", warm=WARM, pace=pool)
    assert int(np.sort(_corpus().lengths())[-100]) >= 28
    sampler = CurriculumSampler.for_corpus(plan, _corpus(), _order())
    counts = []
    for step in range(50):
        drawn = sampler.indices(step)
        seq = plan.seq_at(step)
        _, spent = _seen(drawn, seq)
        # within the budget, and full: the step stopped at an example (of at most seq - 2
        # tokens, at this step's length) that did not fit
        assert budget - (seq - 2) < spent <= budget
        counts.append(len(drawn))
    # at 8 positions each is 6 tokens: 33 of them fill 198 of 200; at 32, 28 to 30 tokens:
    # 6 or 7 -- tokens per step held by the budget, the batch scaled by the length
    assert counts[:14] == [33] * 14
    assert set(counts[40:]) <= {6, 7}


def test_without_a_warmup_the_draws_are_unchanged():
    plain = _plan(steps=30, batch=200, unit="tokens")
    sampler = CurriculumSampler.for_corpus(plain, _corpus(), _order())
    reference = CurriculumSampler.for_corpus(plain, _corpus(), _order())
    for step in range(30):
        np.testing.assert_array_equal(sampler.indices(step), reference.indices(step))
        assert sampler.seq_at(step) == SEQ


def test_the_clock_counts_what_each_step_sees():
    plan = _plan(steps=80, warm=WARM)
    clock = draw_clock(plan, _corpus(), _order())
    sampler = CurriculumSampler.for_corpus(plan, _corpus(), _order())
    words = tokens = 0
    for step in range(80):
        w, t = _seen(sampler.indices(step), plan.seq_at(step))
        words, tokens = words + w, tokens + t
        assert (clock.words[step + 1], clock.tokens[step + 1]) == (words, tokens)
    # the warmup's steps read less than the same draws at train.seq
    full_words, _ = _seen(np.concatenate([sampler.indices(s) for s in range(80)]), SEQ)
    assert words < full_words


def test_a_length_in_words_ends_at_the_first_step_that_saw_them():
    target = 3000
    plan = _plan(length=Time(target, "words"), warm=WARM)
    resolved, _ = resolve_plan(plan, _corpus(), _order())
    sampler = CurriculumSampler.for_corpus(plan, _corpus(), _order())
    seen, step = 0, 0
    while seen < target:  # words seen, each step's at its own length
        seen += _seen(sampler.indices(step), plan.seq_at(step))[0]
        step += 1
    assert resolved.train.steps == step
    # counted at train.seq instead, the same words would be drawn sooner
    plain, _ = resolve_plan(_plan(length=Time(target, "words")), _corpus(), _order())
    assert plain.train.steps < resolved.train.steps


def test_a_warmup_in_words_reads_what_was_drawn_before_the_step():
    warm = SeqWarmup("linear", 8, SEQ, over=2000, unit="words")
    plan = _plan(steps=120, warm=warm)
    resolved, _ = resolve_plan(plan, _corpus(), _order())
    sampler = CurriculumSampler.for_corpus(plan, _corpus(), _order())
    before = 0
    for step in range(120):
        expected = min(SEQ, warm.length(before))
        assert sampler.seq_at(step) == expected == resolved.seq_at(step)
        before += _seen(sampler.indices(step), expected)[0]
    assert resolved.seq_at(0) == 8 and resolved.seq_at(119) == SEQ


def test_simulate_counts_tokens_and_words_seen_at_each_steps_length():
    plan = _plan(steps=60, batch=200, unit="tokens", warm=WARM)
    result = exposure(plan, _corpus(), _order())
    sampler = CurriculumSampler.for_corpus(plan, _corpus(), _order())
    words = tokens = full_words = full_tokens = 0
    for step in range(60):
        drawn = sampler.indices(step)
        w, t = _seen(drawn, plan.seq_at(step))
        fw, ft = _seen(drawn, SEQ)
        words, tokens, full_words, full_tokens = words + w, tokens + t, full_words + fw, \
            full_tokens + ft  # fmt: skip
    assert (result.words_seen, result.tokens_seen) == (words, tokens)
    warm = result.seq_warmup
    assert (warm["first"], warm["last"], warm["ramp_steps"]) == (8, SEQ, 40)
    assert (warm["tokens_cut"], warm["words_cut"]) == (full_tokens - tokens, full_words - words)
    assert warm["tokens_cut"] > 0
    assert result.to_dict()["seq_warmup"]["schedule"] == "linear from 8 to 32 over 40 steps"
    # a plan without a warmup writes no such figures
    assert "seq_warmup" not in exposure(_plan(steps=5), _corpus(), _order()).to_dict()
