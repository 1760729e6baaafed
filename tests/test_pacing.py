"""Properties of the schedules a compiled plan carries (pacing, vocabulary, objectives)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

import curriculumc
from curriculumc.pacing import PACING_FUNCTIONS, paced_fraction
from curriculumc.plan import Pace

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
