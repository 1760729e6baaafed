"""The Plan's own rules: what a plan without phases trains, and when evaluations run."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.seed_oracles import seed_pacing_fn

import curriculumc
from curriculumc.plan import (
    PLAN_VERSION,
    EvalSpec,
    ModelSpec,
    Pace,
    Phase,
    Plan,
    TrainSpec,
    Unit,
    VocabRule,
)


def test_a_plan_without_phases_trains_its_familys_natural_objective():
    masked = Plan(model=ModelSpec("roberta-tiny", "masked"))
    causal = Plan(model=ModelSpec("gpt-tiny", "causal"))
    assert masked.objectives(0) == masked.objectives(10**6) == {"mlm": 1.0}
    assert causal.objectives(5) == {"clm": 1.0}
    assert masked.trained_units() == (Unit("mlm", "mlm"),)
    # the compiler writes the same rule out: a spec without `at` has the same objectives
    compiled = curriculumc.loads("model gpt-tiny")
    assert compiled.phases == (Phase(0, (("clm", 1.0),)),)
    assert compiled.objectives(7) == causal.objectives(7)
    assert compiled.trained_units() == causal.trained_units()


@settings(max_examples=200, deadline=None)
@given(
    steps=st.integers(1, 400),
    every=st.none() | st.integers(1, 120),
    at_phases=st.booleans(),
    switch=st.integers(1, 399),
)
def test_evaluation_steps_are_every_multiple_every_boundary_and_the_end(
    steps, every, at_phases, switch
):
    plan = Plan(
        train=TrainSpec(steps=steps, warmup=0),
        pace=Pace("linear", start=0.5, over=max(1, switch // 2)),
        units=(Unit("mlm", "mlm"),),
        phases=(Phase(0, (("mlm", 1.0),)), Phase(min(switch, steps), (("mlm", 0.5),))),
        evals=(EvalSpec("blimp", every=every, at_phases=at_phases),),
    )
    (spec,) = plan.evals
    expected = {steps}
    if every:
        expected |= set(range(every, steps + 1, every))
    if at_phases:
        expected |= {s for s, _ in plan.boundaries()}
    assert plan.evaluation_steps(spec) == sorted(expected)
    # the trainer asks step by step; both views agree
    assert [s for s in range(1, steps + 1) if plan.evaluations_due(s)] == sorted(expected)
    # any split of training into segments lists each evaluation once
    cut = steps // 2
    split = plan.evaluation_steps(spec, 0, cut) + plan.evaluation_steps(spec, cut, steps)
    assert split == sorted(expected)


def test_version_1_plans_read_as_sampling_with_replacement():
    old = Plan.from_dict({"version": 1})
    assert old.version == PLAN_VERSION and old.train.sampling == "replacement"
    assert old.train.batch_unit == "examples" and old.pace.ties == "random"
    kept = Plan.from_dict({"version": 1, "train": {"steps": 10, "sampling": "epochs"}})
    assert kept.train == TrainSpec(steps=10, sampling="epochs")
    assert Plan.from_dict({}).train.sampling == "epochs"  # the current version by default
    with pytest.raises(ValueError, match="version 4"):
        Plan.from_dict({"version": 4})


def test_version_2_plans_keep_their_inputs_only_vocabulary_rule():
    old = Plan.from_dict({"version": 2, "vocab": {"fn": "linear", "start": 0.1, "over": 100}})
    assert old.version == PLAN_VERSION and old.vocab_rule == VocabRule("token_ids", "inputs")
    assert Plan.from_dict({"version": 1}).vocab_rule.hides == "inputs"
    assert Plan().vocab_rule == VocabRule("token_ids", "inputs_and_labels")  # the seed's


def test_step_counts_are_stored_whole_when_whole_so_equal_meanings_hash_equal():
    whole, resolved = (
        Pace("linear", 0.1, 1.0, over=100, after=20),
        Pace("linear", 0.1, 1.0, over=100.0, after=20.0),
    )
    assert whole == resolved and type(resolved.after) is int
    plan = Plan(pace=Pace("log", 0.1, 1.0, over=243.75, after=18.75))
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.hash == plan.hash and again.pace.after == 18.75
    assert Plan.from_json(Plan(pace=whole).to_json()).hash == Plan(pace=resolved).hash
    with pytest.raises(ValueError, match="number of steps"):
        Plan.from_dict({"pace": {"fn": "linear", "after": True}})


@pytest.mark.parametrize("fn", ["linear", "quad", "root", "step", "exp", "log"])
@pytest.mark.parametrize("total", [300, 1001, 400_000])
def test_fractional_after_and_over_follow_the_seed_pacing_at_every_step(fn, total):
    a, e = 0.0625, 0.875
    after = a * total
    pace = Pace(fn, 0.1, 1.0, over=e * total - after, after=after)
    climb = seed_pacing_fn(fn, total, a, e, 0.1, 1.0)
    steps = range(0, total, max(1, total // 2000))
    assert max(abs(pace.fraction(t) - climb(t)) for t in steps) < 1e-9
    if total == 300 and fn == "log":  # the case: 0.100 with whole steps
        assert pace.fraction(19) == pytest.approx(0.38474, abs=1e-5)


def test_a_units_own_head_follows_the_seed_linear_warmup_schedule_over_its_active_steps():
    units = (Unit("mlm", "mlm"), Unit("pos", "pos", lr=1e-3))
    plan = Plan(
        train=TrainSpec(steps=1000),
        units=units,
        phases=(
            Phase(0, (("pos", 1.0),)),
            Phase(200, (("mlm", 1.0),)),
            Phase(600, (("pos", 1.0),)),
        ),
    )
    assert plan.active_spans("pos") == ((0, 200), (600, 1000))
    assert plan.head_lr("mlm", 10) is None  # no lr: the run's schedule
    n, w = 600, 60  # active steps, 10% warm-up
    assert plan.head_lr("pos", 0) == 0.0 and plan.head_lr("pos", 30) == pytest.approx(1e-3 / 2)
    assert plan.head_lr("pos", 60) == pytest.approx(1e-3)
    # inactive steps do not advance its schedule: step 700 is its active step 300
    assert plan.head_lr("pos", 700) == pytest.approx(1e-3 * (n - 300) / (n - w))
    assert plan.head_lr("pos", 999) == pytest.approx(1e-3 * 1 / (n - w))


def test_new_fields_round_trip_through_json():
    plan = Plan(
        train=TrainSpec(batch=4096, batch_unit="tokens", sampling="replacement"),
        pace=Pace("root", start=0.1, over=100, ties="include"),
    )
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.hash == plan.hash
    assert again.hash != Plan(train=TrainSpec(batch=4096), pace=Pace("root", 0.1, over=100)).hash
