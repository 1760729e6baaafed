"""The curriculum sampler: pure global batches, rank slices, pools, vocabulary limits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curriculumc.errors import CurriculumError
from curriculumc.plan import Pace, Plan, TrainSpec
from curriculumc.runtime.ordering.sampler import (
    CurriculumSampler,
    global_batch,
    limit_vocab,
    pool_size,
    rank_slice,
)


def _plan(steps=1000, batch=32, seed=7, pace=None):
    return Plan(train=TrainSpec(steps=steps, batch=batch, seed=seed), pace=pace or Pace())


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


def test_limit_vocab_maps_rare_ids_to_unk_and_keeps_specials():
    ids = np.array([[0, 1, 5, 9, 3], [2, 8, 4, 7, 6]], dtype=np.int64)
    out = limit_vocab(ids, 0.5, vocab_size=10, unk_id=3, special_ids=(0, 1, 2, 9))
    np.testing.assert_array_equal(out, [[0, 1, 3, 9, 3], [2, 3, 4, 3, 3]])
    assert out.dtype == ids.dtype
    np.testing.assert_array_equal(ids[0], [0, 1, 5, 9, 3])  # input untouched
    np.testing.assert_array_equal(limit_vocab(ids, 1.0, 10, 3, ()), ids)


def test_limit_vocab_on_tensors_matches_numpy():
    torch = pytest.importorskip("torch")
    ids = np.random.default_rng(0).integers(0, 100, size=(4, 16))
    tensor = torch.tensor(ids)
    out = limit_vocab(tensor, 0.3, vocab_size=100, unk_id=1, special_ids=(0, 2, 99))
    assert isinstance(out, torch.Tensor) and out.dtype == tensor.dtype
    np.testing.assert_array_equal(out.numpy(), limit_vocab(ids, 0.3, 100, 1, (0, 2, 99)))
    assert (out.numpy() < 30).sum() + np.isin(out.numpy(), (99,)).sum() == out.numel()
