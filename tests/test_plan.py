"""The Plan's own rules: what a plan without phases trains, and when evaluations run."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import curriculumc
from curriculumc.plan import EvalSpec, ModelSpec, Pace, Phase, Plan, TrainSpec, Unit


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
    assert old.version == 2 and old.train.sampling == "replacement"
    assert old.train.batch_unit == "examples" and old.pace.ties == "random"
    kept = Plan.from_dict({"version": 1, "train": {"steps": 10, "sampling": "epochs"}})
    assert kept.train == TrainSpec(steps=10, sampling="epochs")
    assert Plan.from_dict({}).train.sampling == "epochs"  # version 2 by default
    with pytest.raises(ValueError, match="version 3"):
        Plan.from_dict({"version": 3})


def test_new_fields_round_trip_through_json():
    plan = Plan(
        train=TrainSpec(batch=4096, batch_unit="tokens", sampling="replacement"),
        pace=Pace("root", start=0.1, over=100, ties="include"),
    )
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.hash == plan.hash
    assert again.hash != Plan(train=TrainSpec(batch=4096), pace=Pace("root", 0.1, over=100)).hash
