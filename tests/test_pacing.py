"""Properties of the schedules a compiled plan carries (pacing, vocabulary, objectives)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import curriculumc
from curriculumc.pacing import PACING_FUNCTIONS, paced_fraction
from curriculumc.plan import Pace, PaceStage

FNS = st.sampled_from(sorted(PACING_FUNCTIONS))
SHARES = st.integers(1, 100).map(lambda p: p / 100)
STEPS = st.integers(0, 50_000)
SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(fn=FNS, start=SHARES, over=st.integers(1, 20_000), release=SHARES, step=STEPS)
def test_pool_stays_between_start_and_one(fn, start, over, release, step):
    fraction = paced_fraction(fn, step, start=start, over=over, release=release)
    assert start - 1e-12 <= fraction <= 1.0 + 1e-12


@SETTINGS
@given(fn=FNS, start=SHARES, over=st.integers(1, 20_000), release=SHARES,
       a=STEPS, b=STEPS)  # fmt: skip
def test_pool_never_shrinks(fn, start, over, release, a, b):
    low, high = sorted((a, b))
    pace = Pace(fn, start, 1.0, over, 0, release)
    assert pace.fraction(low) <= pace.fraction(high) + 1e-12


@SETTINGS
@given(fn=FNS, start=SHARES, over=st.integers(1, 20_000), release=SHARES, step=STEPS)
def test_everything_is_released_from_the_release_step(fn, start, over, release, step):
    pace = Pace(fn, start, 1.0, over, 0, release)
    if step >= release * over:
        assert pace.fraction(step) == 1.0
    else:
        g = PACING_FUNCTIONS[fn](min(step / over, 1.0))
        assert math.isclose(pace.fraction(step), start + (1 - start) * g, abs_tol=1e-12)


@SETTINGS
@given(step=STEPS)
def test_none_releases_everything(step):
    assert Pace().fraction(step) == 1.0
    assert curriculumc.loads("pace none").data_fraction(step) == 1.0


@SETTINGS
@given(start=SHARES, over=st.integers(1, 20_000), step=STEPS)
def test_step_function_is_start_then_everything(start, over, step):
    pace = Pace("step", start, 1.0, over, 0, 1.0)
    assert pace.fraction(step) == (1.0 if step >= over else start)


@SETTINGS
@given(fn=FNS, start=st.integers(1, 50), end=st.integers(50, 100), after=st.integers(0, 5000),
       over=st.integers(1, 10_000), step=STEPS)  # fmt: skip
def test_extended_form_holds_then_rises_to_end(fn, start, end, after, over, step):
    plan = curriculumc.loads(
        f"sort by random\npace {fn} from {start}% to {end}% after {after} over {over}\n"
        "train 60000 steps"
    )
    fraction = plan.data_fraction(step)
    if step >= after + over:
        # no release: the pool stays at the end of the ramp (the seed's max_difficulty cap)
        assert math.isclose(fraction, end / 100)
    elif step <= after:
        assert math.isclose(fraction, start / 100)
    else:
        assert start / 100 - 1e-12 <= fraction <= end / 100 + 1e-12


@SETTINGS
@given(fn=FNS, start=st.integers(1, 100), over=st.integers(1, 20_000),
       release=st.integers(1, 100), step=STEPS)  # fmt: skip
def test_compiled_pace_is_the_formula(fn, start, over, release, step):
    plan = curriculumc.loads(
        f"train 60000 steps\nsort by random\npace {fn} from {start}% over {over} "
        f"release at {release}%"
    )
    expected = (
        1.0
        if step >= release / 100 * over
        else (start / 100 + (1 - start / 100) * PACING_FUNCTIONS[fn](min(step / over, 1.0)))
    )
    assert math.isclose(plan.data_fraction(step), expected, abs_tol=1e-12)
    assert plan.vocab_fraction(step) == 1.0


@SETTINGS
@given(
    starts=st.lists(st.integers(1, 19_999), max_size=6, unique=True), step=st.integers(0, 19_999)
)
def test_objectives_are_those_of_the_last_at_not_after_the_step(starts, step):
    starts = [0, *sorted(starts)]
    names = ["mlm", "pos"]
    text = ", ".join(f"at {s} {names[i % 2]}" for i, s in enumerate(starts))
    plan = curriculumc.loads(text)
    last = max(i for i, s in enumerate(starts) if s <= step)
    assert plan.objectives(step) == {names[last % 2]: 1.0}
    assert plan.phase_at(step).start == starts[last]


# --- staged pacing ------------------------------------------------------------------------

CONTINUOUS = st.sampled_from(sorted(set(PACING_FUNCTIONS) - {"step"}))


@st.composite
def staged_paces(draw, fns=FNS):
    """A staged pace of 2-4 stages with rising ends, pauses and fractional lengths."""
    n = draw(st.integers(2, 4))
    ends = sorted(draw(st.lists(SHARES, min_size=n + 1, max_size=n + 1)))
    start, ends = ends[0], ends[1:]
    overs = draw(st.lists(st.integers(1, 4000) | st.floats(1.0, 4000.0), min_size=n, max_size=n))
    pauses = draw(st.lists(st.sampled_from([0, 0, 17, 250.5]), min_size=n, max_size=n))
    shapes = draw(st.lists(fns, min_size=n, max_size=n))
    stages = tuple(PaceStage(f, e, o, p) for f, e, o, p in
                   zip(shapes[1:], ends[1:], overs[1:], pauses[1:]))  # fmt: skip
    return Pace(shapes[0], start, ends[0], overs[0], pauses[0], None, "random", stages)


@SETTINGS
@given(pace=staged_paces(), a=STEPS, b=STEPS)
def test_staged_pool_is_bounded_and_never_shrinks(pace, a, b):
    low, high = sorted((a, b))
    assert pace.start - 1e-12 <= pace.fraction(low) <= pace.fraction(high) + 1e-12
    assert pace.fraction(high) <= pace.final + 1e-12 <= 1.0 + 1e-12


@SETTINGS
@given(pace=staged_paces(), data=st.data())
def test_each_stage_is_its_own_shape_within_its_steps(pace, data):
    spans = pace.stage_spans()
    i = data.draw(st.integers(0, len(spans) - 1))
    fn, start, end, begins, over = spans[i]
    last = i == len(spans) - 1
    step = data.draw(
        st.integers(math.ceil(begins), math.ceil(begins + over) + (500 if last else -1))
    )
    if step < begins + over or last:
        expected = paced_fraction(fn, step, start=start, end=end, over=over, after=begins)
        assert pace.fraction(step) == expected
        assert pace.stage_at(step) == i
    # before its first stage begins the pool is the start
    assert pace.fraction(0) == pace.start or pace.after == 0


@SETTINGS
@given(pace=staged_paces(fns=CONTINUOUS))
def test_continuous_stages_join_without_a_jump(pace):
    for (_, _, end, begins, over), (_, start, *_rest) in zip(
        pace.stage_spans(), pace.stage_spans()[1:]
    ):
        assert start == end  # a stage starts where the one before it ended
        edge = math.ceil(begins + over)
        if edge - (begins + over) < 1e-9:  # the step the stage ends at is a whole step
            assert math.isclose(pace.fraction(edge), end, abs_tol=1e-9)


@SETTINGS
@given(
    shares=st.lists(st.integers(1, 100), min_size=2, max_size=6),
    gaps=st.lists(st.integers(1, 5000), min_size=5, max_size=5),
    step=st.integers(0, 30_000),
)
def test_the_discrete_form_is_the_step_function_at_its_steps(shares, gaps, step):
    shares = sorted(shares)
    froms = [0]
    for gap in gaps[: len(shares) - 1]:
        froms.append(froms[-1] + gap)
    text = ", ".join(f"{s}% from {t}" for s, t in zip(shares, froms))
    plan = curriculumc.loads(f"train 30000 steps\nsort by random\npace {text}")
    expected = shares[max(i for i, t in enumerate(froms) if t <= step)] / 100
    assert plan.data_fraction(step) == expected
    for i, (t, share) in enumerate(zip(froms, shares)):  # exactly at each step, and just before
        assert plan.data_fraction(t) == share / 100
        if i:
            assert plan.data_fraction(t - 1) == shares[i - 1] / 100
    boundary_steps = {s for s, _ in plan.boundaries()}
    assert set(froms[1:]) <= boundary_steps


def test_a_staged_pace_compiles_to_its_stages():
    plan = curriculumc.loads(
        "train 20000 steps\nsort by random\n"
        "pace root from 10% to 50% over 20%, then linear to 100% after 5% over 30%"
    )
    assert plan.pace == Pace("root", 0.1, 0.5, 4000, 0, None, "random",
                             (PaceStage("linear", 1.0, 6000, 1000),))  # fmt: skip
    assert plan.data_fraction(4500) == 0.5  # the pause holds the pool
    assert plan.data_fraction(8000) == pytest.approx(0.75)
    assert plan.pace.release_step == 11000
    assert [s for s, _ in plan.boundaries()] == [4000, 5000, 11000]


def test_one_stage_plans_serialise_as_before():
    plan = curriculumc.loads("sort by random\npace root from 10% over 10000")
    assert "stages" not in plan.to_dict()["pace"]
    assert Pace.__dataclass_fields__["stages"].default == ()
    staged = curriculumc.loads(
        "sort by random\npace root from 10% to 50% over 10, then linear to 100% over 10"
    )
    assert staged.to_dict()["pace"]["stages"] == [
        {"fn": "linear", "end": 1.0, "over": 10, "after": 0}
    ]
    assert type(staged).from_json(staged.to_json()) == staged


def test_discrete_with_two_shares_is_the_step_shape():
    a = curriculumc.loads("sort by random\npace 10% from 0, 100% from 5k")
    b = curriculumc.loads("sort by random\npace step from 10% over 5000")
    assert a.hash == b.hash
