"""The curriculum sampler: epochs without replacement, pools (ties), token budgets, rank
shares, the with-replacement draw of v1 -- each measured (the vocabulary curriculum is
runtime/train/vocabulary.py's, tested in tests/runtime/train/test_vocabulary.py)."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support.scorer_corpora import aochildes_corpus

from curriculumc.errors import CurriculumError
from curriculumc.plan import Pace, Plan, TrainSpec
from curriculumc.runtime.ordering.sampler import (
    CurriculumSampler,
    global_batch,
    percentile_count,
    pool_size,
    rank_slice,
    token_shares,
)
from curriculumc.runtime.ordering.scorers import difficulty_order, sort_keys


def _plan(steps=1000, batch=32, seed=7, pace=None, **train):
    return Plan(train=TrainSpec(steps=steps, batch=batch, seed=seed, **train), pace=pace or Pace())


@functools.cache
def _aochildes():
    corpus = aochildes_corpus(200_000)  # the whole training file (190k utterances)
    if corpus is None:
        pytest.skip("AO-CHILDES not found beside the repository")
    return corpus


def _draws(sampler, steps):
    return [sampler.positions(s) for s in range(steps)]


def test_global_batch_is_a_pure_function():
    first = global_batch(3, 17, 10_000, 32)
    again = global_batch(3, 17, 10_000, 32)
    assert first.dtype == np.int64
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, global_batch(3, 18, 10_000, 32))
    assert not np.array_equal(first, global_batch(4, 17, 10_000, 32))


def test_batches_are_identical_for_any_world_size():
    sampler = CurriculumSampler(_plan(batch=32), np.arange(5000)[::-1])
    for step in (0, 1, 99, 500):
        whole = sampler.indices(step)
        for world in (1, 2, 4):
            parts = [rank_slice(whole, rank, world) for rank in range(world)]
            assert all(len(p) == 32 // world for p in parts)
            np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_resume_draws_exactly_the_uninterrupted_batches():
    plan = _plan(steps=600, pace=Pace(fn="linear", start=0.1, over=400))
    order = np.random.default_rng(0).permutation(20_000)
    uninterrupted = CurriculumSampler(plan, order)
    from_start = [uninterrupted.indices(s) for s in range(601)]
    resumed = CurriculumSampler(plan, order.copy())  # a fresh process after a restart
    for step in range(500, 601):
        np.testing.assert_array_equal(resumed.indices(step), from_start[step])


def test_rank_slice_needs_a_divisible_batch():
    with pytest.raises(CurriculumError) as err:
        rank_slice(np.arange(30), 0, 4)
    assert err.value.diagnostics[0].code == "E360"
    np.testing.assert_array_equal(rank_slice(np.arange(8), 3, 4), [6, 7])
    with pytest.raises(ValueError):
        rank_slice(np.arange(8), 4, 4)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(-(2**63), 2**64 - 1),
    step=st.integers(0, 10**9),
    pool=st.integers(1, 10**7),
    batch=st.integers(1, 256),
)
def test_batch_positions_lie_in_the_pool_and_never_repeat(seed, step, pool, batch):
    batch = min(batch, pool)
    drawn = global_batch(seed, step, pool, batch)
    assert drawn.shape == (batch,)
    assert drawn.min() >= 0 and drawn.max() < pool
    assert len(np.unique(drawn)) == batch


@pytest.mark.parametrize("pool,batch", [(40, 32), (33, 32), (32, 32), (64, 32), (65, 32)])
def test_no_repeats_when_the_batch_is_most_of_the_pool(pool, batch):
    for step in range(50):
        drawn = global_batch(1, step, pool, batch)
        assert sorted(set(drawn.tolist())) == sorted(drawn.tolist())
        assert drawn.max() < pool


def test_duplicates_are_rejected_in_stream_order():
    # pool 70, batch 32: birthday collisions are near certain, the rejection path runs
    for step in range(20):
        drawn = global_batch(5, step, 70, 32)
        assert len(set(drawn.tolist())) == 32


def test_draws_are_uniform_over_the_pool():
    pool, batch, steps = 50, 5, 4000
    counts = np.bincount(
        np.concatenate([global_batch(11, s, pool, batch) for s in range(steps)]), minlength=pool
    )
    expected = steps * batch / pool
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    # 49 degrees of freedom: the 99.9% quantile is about 85
    assert chi2 < 85, chi2
    # and the slot positions are uniform too (no bias to small positions at any slot)
    first_slot = np.array([global_batch(11, s, pool, batch)[0] for s in range(steps)])
    assert abs(first_slot.mean() - (pool - 1) / 2) < 1.0


def test_the_pool_grows_as_the_plan_paces():
    plan = _plan(steps=1000, batch=10, pace=Pace(fn="linear", start=0.1, over=1000))
    sampler = CurriculumSampler(plan, np.arange(1000))
    assert sampler.pool_size(0) == 100
    assert sampler.pool_size(500) == 550
    assert sampler.pool_size(1000) == 1000
    sizes = [sampler.pool_size(s) for s in range(0, 1001, 50)]
    assert sizes == sorted(sizes)
    for step in (0, 250, 999):
        assert sampler.positions(step).max() < sampler.pool_size(step)
        # indices are the first pool_size entries of the order
        assert set(sampler.indices(step).tolist()) <= set(range(sampler.pool_size(step)))


def test_the_pool_is_at_least_one_batch():
    plan = _plan(batch=32, pace=Pace(fn="linear", start=0.01, over=1000))
    sampler = CurriculumSampler(plan, np.arange(1000))  # 1% of 1000 = 10 < 32
    assert sampler.pool_size(0) == 32
    assert sampler.floor_applied(0)
    assert not sampler.floor_applied(999)
    assert pool_size(0.1, 1000, 32) == 100  # 0.1 * 1000 is 100.00000000000001 in floats


def test_a_corpus_smaller_than_a_batch_is_refused():
    with pytest.raises(CurriculumError) as err:
        CurriculumSampler(_plan(batch=32), np.arange(10))
    assert err.value.diagnostics[0].code == "E361"


# --- epochs without replacement ---------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), batch=st.integers(1, 64), seed=st.integers(0, 2**63))
def test_one_epoch_of_steps_draws_every_example_exactly_once(n, batch, seed):
    batch = min(batch, n)
    sampler = CurriculumSampler(_plan(batch=batch, seed=seed), np.arange(n))
    steps = -(-n // batch)
    drawn = np.concatenate(_draws(sampler, steps))
    assert len(drawn) == steps * batch
    np.testing.assert_array_equal(np.sort(drawn[:n]), np.arange(n))  # the first n draws
    assert all(len(set(sampler.positions(s).tolist())) == batch for s in range(steps))
    epochs = np.concatenate([sampler.draw_epochs(s) for s in range(steps)])
    assert (epochs[:n] == 0).all() and (epochs[n:] == 1).all()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(50, 2000),
    batch=st.integers(1, 40),
    start=st.floats(0.01, 1.0),
    fn=st.sampled_from(["linear", "root", "quad", "step", "exp", "log"]),
    seed=st.integers(0, 1000),
)
def test_no_example_repeats_within_an_epoch_and_draws_stay_in_the_pool(n, batch, start, fn, seed):
    batch = min(batch, n)
    plan = _plan(steps=300, batch=batch, seed=seed, pace=Pace(fn, start, 1.0, 200))
    sampler = CurriculumSampler(plan, np.arange(n))
    seen: dict[int, set] = {}
    for step in range(300):
        drawn, epochs = sampler.positions(step), sampler.draw_epochs(step)
        assert len(drawn) == batch and len(set(drawn.tolist())) == batch
        assert drawn.max() < sampler.pool_size(step)
        for position, epoch in zip(drawn.tolist(), epochs.tolist()):
            assert position not in seen.setdefault(epoch, set())
            seen[epoch].add(position)
    # every finished epoch drew its whole pool: the pool when it ended
    for epoch in sorted(seen)[:-1]:
        assert seen[epoch] == set(range(max(seen[epoch]) + 1))


def test_examples_released_mid_epoch_join_it_at_random_places():
    # 10% of 20,000 released, then everything at step 20: the epoch that was running
    # draws the new examples at once, uniformly mixed with its remaining old ones
    plan = _plan(steps=400, batch=50, pace=Pace("step", 0.1, 1.0, 20))
    sampler = CurriculumSampler(plan, np.arange(20_000))
    after = np.concatenate(_draws(sampler, 60)[20:60])  # 2,000 draws after the release
    assert (sampler.draw_epochs(59) == 0).all()  # still the first epoch
    old_left = 2_000 - 20 * 50  # of the first 2,000, 1,000 were drawn before the release
    expected_old = len(after) * old_left / (old_left + 18_000)
    assert abs(np.count_nonzero(after < 2_000) - expected_old) < 4 * np.sqrt(expected_old)


def test_resume_draws_exactly_the_uninterrupted_batches_in_any_order_of_asking():
    plan = _plan(steps=600, pace=Pace(fn="linear", start=0.1, over=400))
    order = np.random.default_rng(0).permutation(20_000)
    uninterrupted = CurriculumSampler(plan, order)
    from_start = [uninterrupted.indices(s) for s in range(601)]
    resumed = CurriculumSampler(plan, order.copy())  # a fresh process after a restart
    for step in [*range(500, 601), 3, 450, 450, 0]:
        np.testing.assert_array_equal(resumed.indices(step), from_start[step])


def test_with_replacement_is_curriculumc_v1s_draw():
    plan = _plan(steps=200, batch=32, sampling="replacement")
    sampler = CurriculumSampler(plan, np.arange(1000))
    for step in (0, 7, 150):
        np.testing.assert_array_equal(sampler.positions(step), global_batch(7, step, 1000, 32))
    covered = len(np.unique(np.concatenate(_draws(sampler, -(-1000 // 32)))))
    assert 0.58 < covered / 1000 < 0.68  # about 1 - 1/e: why epochs are the default


# --- ties -------------------------------------------------------------------------------


def test_equal_scores_are_ordered_by_the_seed_never_by_file_position():
    scores = np.repeat([1.0, 2.0, 3.0], 1000)
    order = difficulty_order(scores, seed=5)
    np.testing.assert_array_equal(np.sort(order[:1000]), np.arange(1000))  # scores first
    first_tied = order[:100]  # the first 100 of the 1,000 tied at 1.0
    assert 350 < first_tied.mean() < 650  # not the first 100 of the file (mean 49.5)
    np.testing.assert_array_equal(order, difficulty_order(scores, seed=5))
    assert not np.array_equal(order, difficulty_order(scores, seed=6))
    descending = difficulty_order(np.array([1.0, np.nan, 3.0, 3.0]), True, seed=0)
    assert descending[-1] == 1 and set(descending[:2].tolist()) == {2, 3}  # NaN last


def test_aochildes_tied_examples_are_released_evenly_over_the_file():
    corpus = _aochildes()
    lengths = corpus.lengths().astype(np.float64)  # sort by sentence_length
    n = len(lengths)
    plan = _plan(batch=32, pace=Pace("root", 0.1, 1.0, 10_000))
    order = difficulty_order(lengths, seed=plan.train.seed)
    released = order[: CurriculumSampler(plan, order).pool_size(0)]
    boundary = lengths[released].max()
    tied = released[lengths[released] == boundary]  # the tie group split by the pool edge
    assert 0 < len(tied) < np.count_nonzero(lengths == boundary)
    fifths = np.bincount(tied * 5 // n, minlength=5) / len(tied)
    all_tied = np.flatnonzero(lengths == boundary)
    expected = np.bincount(all_tied * 5 // n, minlength=5) / len(all_tied)
    # each fifth of the file gets its share of the tied examples (20% where they are spread
    # evenly); file order would give 100/100/46/0/0 of the fifths' tied examples
    assert np.abs(fifths - expected).max() < 0.03, (fifths, expected)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.integers(0, 30), min_size=1, max_size=400),
    fraction=st.floats(0.0, 1.0),
)
@example(values=[0, 0, 0, 1, 1, 1], fraction=0.6)  # a virtual index of exactly 3 (found)
def test_ties_include_is_numpys_percentile_rule(values, fraction):
    keys = np.sort(np.array(values, dtype=np.float64))
    threshold = np.percentile(keys, 100 * fraction)
    assert percentile_count(keys, fraction) == int(np.count_nonzero(keys <= threshold))


def test_ties_include_releases_whole_tie_groups():
    scores = np.repeat(np.arange(10.0), 100)  # ten groups of 100 equal scores
    pace = Pace("linear", 0.15, 1.0, 1000, ties="include")
    order = difficulty_order(scores, seed=1)
    keys = sort_keys(scores)[order]
    sampler = CurriculumSampler(_plan(pace=pace), order, keys=keys)
    assert sampler.pool_size(0) == 200  # 15% lands in the second group: all of it
    random_edge = CurriculumSampler(_plan(pace=Pace("linear", 0.15, 1.0, 1000)), order)
    assert random_edge.pool_size(0) == 150
    assert sampler.pool_size(1000) == 1000


# --- token budgets ----------------------------------------------------------------------


def _token_plan(budget, steps=300, seq=40, **options):
    return _plan(steps=steps, batch=budget, batch_unit="tokens", seq=seq, **options)


def test_a_token_budget_step_takes_draws_while_they_fit():
    tokens = np.random.default_rng(3).integers(3, 41, size=5000)
    sampler = CurriculumSampler(_token_plan(512), np.arange(5000), tokens=tokens)
    assert sampler.batch_size is None
    seen = []
    for step in range(300):
        drawn = sampler.positions(step)
        spent = int(tokens[drawn].sum())
        assert spent <= 512 and len(set(drawn.tolist())) == len(drawn)
        seen.append(drawn)
    drawn = np.concatenate(seen)
    n_first = np.searchsorted(
        np.cumsum(np.bincount(np.repeat(np.arange(300), [len(s) for s in seen]))), 5000
    )
    # epochs hold with token budgets too: the first 5,000 draws are every example once
    np.testing.assert_array_equal(np.sort(drawn[:5000]), np.arange(5000))
    assert n_first < 300


def test_a_token_budget_smaller_than_an_example_is_refused():
    with pytest.raises(CurriculumError) as err:
        CurriculumSampler(_token_plan(30), np.arange(100), tokens=np.full(100, 31))
    assert err.value.diagnostics[0].code == "E364"


def test_curriculum_and_control_see_the_same_tokens_with_a_budget():
    corpus = _aochildes()
    pace = Pace("root", 0.1, 1.0, 1500)
    lengths = corpus.lengths().astype(np.float64)
    totals = {}
    for unit, batch in (("examples", 32), ("tokens", 256)):
        plan = _plan(steps=2000, batch=batch, batch_unit=unit, seq=128, pace=pace)
        curriculum = difficulty_order(lengths, seed=7)
        control = np.random.default_rng(1).permutation(len(corpus))
        for name, order in (("curriculum", curriculum), ("control", control)):
            sampler = CurriculumSampler.for_corpus(plan, corpus, order)
            drawn = sampler.order[np.concatenate(_draws(sampler, 2000))]
            tokens = int(corpus.text_tokens(128)[drawn].sum())
            totals[unit, name] = (tokens, int(corpus.words[drawn].sum()))
    fixed_gap = totals["examples", "control"][0] / totals["examples", "curriculum"][0] - 1
    assert fixed_gap > 0.05  # fixed-size batches: the short-first curriculum sees less
    tokens_c, words_c = totals["tokens", "curriculum"]
    tokens_r, words_r = totals["tokens", "control"]
    assert abs(tokens_r / tokens_c - 1) < 0.005
    assert abs(words_r / words_c - 1) < 0.02


@settings(max_examples=200, deadline=None)
@given(
    tokens=st.lists(st.integers(1, 128), min_size=1, max_size=300),
    parts=st.sampled_from([1, 2, 4, 8]),
)
def test_token_shares_cut_contiguous_nonempty_nearly_equal_parts(tokens, parts):
    if len(tokens) < parts:
        with pytest.raises(ValueError):
            token_shares(np.array(tokens), parts)
        return
    bounds = token_shares(np.array(tokens), parts)
    assert bounds[0] == 0 and bounds[-1] == len(tokens)
    assert (np.diff(bounds) >= 1).all()
    edges = np.concatenate([[0], np.cumsum(tokens)])
    share = edges[-1] / parts
    for k in range(1, parts):  # each cut is within one example of an equal share
        if bounds[k] - bounds[k - 1] > 1 and bounds[k + 1] - bounds[k] > 1:
            assert abs(edges[bounds[k]] - k * share) <= max(tokens)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), budget=st.integers(1024, 4096))
def test_global_token_batches_are_the_same_for_1_2_4_8_ranks(seed, budget):
    tokens = np.random.default_rng(seed).integers(3, 128, size=3000)
    plan = _token_plan(budget, seq=128, seed=seed, pace=Pace("linear", 0.2, 1.0, 50))
    whole = CurriculumSampler(plan, np.arange(3000), tokens=tokens)
    for step in (0, 13, 77):
        batch = whole.indices(step)
        for world in (1, 2, 4, 8):
            # each rank builds its own sampler and takes its share of the same global batch
            rank_sampler = CurriculumSampler(plan, np.arange(3000), tokens=tokens)
            bounds = token_shares(tokens[rank_sampler.indices(step)], world)
            parts = [rank_sampler.indices(step)[bounds[r] : bounds[r + 1]] for r in range(world)]
            np.testing.assert_array_equal(np.concatenate(parts), batch)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(60, 1500),
    budget=st.integers(40, 600),
    start=st.floats(0.05, 1.0),
    seed=st.integers(0, 1000),
    sampling=st.sampled_from(["epochs", "replacement"]),
)
def test_token_budget_steps_fit_stay_in_the_pool_and_never_repeat_within_an_epoch(
    n, budget, start, seed, sampling
):
    tokens = np.random.default_rng(seed).integers(1, 39, size=n)  # seq 40: at most 38
    plan = _token_plan(
        budget, steps=120, seq=40, seed=seed, sampling=sampling, pace=Pace("root", start, 1.0, 80)
    )
    sampler = CurriculumSampler(plan, np.arange(n), tokens=tokens)
    seen: dict[int, set] = {}
    for step in range(120):
        drawn, epochs = sampler.positions(step), sampler.draw_epochs(step)
        spent = int(tokens[drawn].sum())
        assert 0 < spent <= budget and len(set(drawn.tolist())) == len(drawn)
        assert drawn.max() < sampler.pool_size(step)
        if sampling == "epochs":
            for position, epoch in zip(drawn.tolist(), epochs.tolist()):
                assert position not in seen.setdefault(epoch, set())
                seen[epoch].add(position)


def test_the_rekeyed_philox_gives_numpys_philox_words():
    """The sampler re-keys one generator per thread for speed: its words must be those of
    a Philox built with that key and counter (numpy's stable raw stream)."""
    from curriculumc.runtime.ordering.sampler import _philox_words

    for seed, step, stream in ((0, 0, 0), (42, 17, 1), (2**64 - 1, 10**9, 3)):
        key = np.array([seed, step], dtype=np.uint64)
        counter = np.array([0, 0, 0, stream], dtype=np.uint64)
        expected = np.random.Philox(key=key, counter=counter).random_raw(50)
        np.testing.assert_array_equal(_philox_words(seed, step, 50, stream), expected)
