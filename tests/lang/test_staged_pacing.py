"""Staged pacing in the language: syntax, errors at their tokens, printer, YAML, overrides."""

from __future__ import annotations

import pytest
from support.diagnostics import errors as _errors
from support.diagnostics import only as _only
from support.diagnostics import pointed_at as _at

import curriculumc
from curriculumc.lang.compiler import compile_spec
from curriculumc.lang.parser import parse
from curriculumc.lang.printer import format_spec
from curriculumc.plan import Pace, PaceStage

HEAD = "train 20000 steps\nsort by random\n"
STAGED = "pace root from 10% to 50% over 20%, then linear to 100% after 5% over 30%"
DISCRETE = "pace 10% from 0, 30% from 5k, 100% from 10k"


@pytest.mark.parametrize(
    "text",
    [
        HEAD + STAGED,
        HEAD + DISCRETE + " ties include",
        HEAD
        + "pace quad from 10% to 30% after 1k over 2k, then root to 60% over 3k, then exp to 90% over 10%",
        HEAD
        + "vocab linear from 10% to 40% over 10%, then root to 100% over 20% by pos_tags inputs only",
        HEAD + "vocab 20% from 0, 50% from 10%, 100% from 30% by pos_tags",
    ],
)
def test_printer_round_trip_gives_the_same_plan(text):
    plan = curriculumc.loads(text)
    printed = format_spec(parse(text))
    again, diagnostics = compile_spec(parse(printed))
    assert again is not None, diagnostics
    assert again.hash == plan.hash
    assert plan.pace.stages or plan.vocab.stages


@pytest.mark.parametrize(
    "text, bad, hint",
    [
        (HEAD + "pace root from 10% to 50% over 20%, then linear to 40% over 30%", "40%", "50%"),
        (HEAD + "pace root from 50% over 10, then linear to 40% over 30", "40%", "100%"),
        (
            HEAD
            + "pace linear from 10% to 30% over 5, then root to 60% over 5, then quad to 55% over 5",
            "55%",
            "60%",
        ),
        (HEAD + "pace 10% from 0, 30% from 5k, 20% from 10k", "20%", "30%"),
        (HEAD + "vocab 50% from 0, 40% from 5k", "40%", "50%"),
    ],
)
def test_a_shrinking_stage_is_an_error_at_its_share(text, bad, hint):
    diagnostic = _only(text, "E064")
    assert _at(diagnostic, text) == bad
    assert "shrink" in diagnostic.message and hint in diagnostic.hint


@pytest.mark.parametrize(
    "text, code, bad",
    [
        (HEAD + "pace 10% from 100, 30% from 5k", "E075", "100"),
        (HEAD + "pace 10% from 0, 30% from 5k, 40% from 5k", "E075", "5k"),
        (HEAD + "pace 10% from 0, 30% from 5k, 40% from 2k", "E075", "2k"),
        (
            HEAD + "pace root from 10% over 10 release at 80%, then linear to 100% over 5",
            "E065",
            "80%",
        ),
        (HEAD + "pace root from 10% to 50% over 10, then lineer to 100% over 5", "E012", "lineer"),
        (HEAD + "pace root from 10% to 50% over 10, then none to 100% over 5", "E012", "none"),
        (HEAD + "pace root from 10% to 50% over 10, then linear to 100% over 0", "E033", "0"),
        (HEAD + "pace root from 10% to 50% over 10, then linear to 150% over 5", "E031", "150%"),
        (HEAD + "pace none, then linear to 100% over 5", "E065", None),
    ],
)
def test_stage_errors_point_at_their_token(text, code, bad):
    diagnostic = _only(text, code)
    if bad is not None:
        assert _at(diagnostic, text) == bad


def test_lenient_pool_orders_pass():
    # equal ends are allowed: a stage may hold the pool
    plan = curriculumc.loads(HEAD + "pace linear from 10% to 50% over 5, then step to 50% over 5")
    assert plan.pace.final == 0.5
    assert _errors(HEAD + "pace 10% from 0, 10% from 5, 100% from 10") == []


def test_a_second_pace_is_still_a_duplicate():
    assert [
        d.code for d in _errors(HEAD + "pace root from 10% over 10\npace linear from 10% over 5")
    ] == ["E037"]


def test_yaml_stages_and_levels_give_the_dsl_plan(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "train: {steps: 20000}\n"
        "curriculum:\n"
        "  scoring_fn: random\n"
        "  pacing_fn: root\n"
        "  pacing_fn_kwargs: {start_percent: 0.1, to_percent: 0.5, num_steps: 20%,\n"
        "    stages: [{pacing_fn: linear, to_percent: 1.0, after_steps: 5%, num_steps: 30%}]}\n"
        "  vocab: {pacing_fn: step, pacing_levels: [{share: 0.1, from: 0}, {share: 0.3, from: 5k},\n"
        "    {share: 1.0, from: 10k}]}\n"
    )
    structured = curriculumc.load(path)
    dsl = curriculumc.loads(HEAD + STAGED + "\n" + DISCRETE.replace("pace", "vocab", 1))
    assert structured == dsl and structured.hash == dsl.hash


def test_yaml_shrinking_stage_points_into_the_yaml(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "curriculum:\n"
        "  scoring_fn: random\n"
        "  pacing_fn: root\n"
        "  pacing_fn_kwargs: {start_percent: 0.1, to_percent: 0.5, num_steps: 10,\n"
        "    stages: [{pacing_fn: linear, to_percent: 0.4, num_steps: 10}]}\n"
    )
    with pytest.raises(curriculumc.CurriculumError) as info:
        curriculumc.load(path)
    (diagnostic,) = [d for d in info.value.diagnostics if d.code == "E064"]
    assert diagnostic.span.line == 5


def test_overrides_change_the_first_stage_and_keep_the_rest():
    spec = HEAD + "pace root from 10% to 50% over 4000, then linear to 100% over 6000"
    plan = curriculumc.loads(spec, overrides=["pace.over=2000", "pace=quad"])
    assert plan.pace == Pace("quad", 0.1, 0.5, 2000, 0, None, "random",
                             (PaceStage("linear", 1.0, 6000, 0),))  # fmt: skip
    assert plan.pace.release_step == 8000
    ties = curriculumc.loads(HEAD + DISCRETE, overrides=["pace.ties=include"])
    assert ties.pace.ties == "include" and len(ties.pace.stages) == 1
    with pytest.raises(curriculumc.CurriculumError) as info:
        curriculumc.loads(HEAD + DISCRETE, overrides=["pace.over=10"])
    assert "discrete" in info.value.diagnostics[0].message


def test_the_plan_schema_and_plan_checks_know_stages(tmp_path):
    from curriculumc.lang import schemas
    from curriculumc.lang.plan_checks import check_plan

    plan = curriculumc.loads(HEAD + STAGED)
    schema = schemas.plan_schema()
    assert "stages" in schema["$defs"]["Pace"]["properties"]
    assert schema["$defs"]["PaceStage"]["required"] == ["fn", "end", "over"]
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json())
    assert schemas.read_plan(str(path)) == plan
    assert check_plan(plan) == []
    shrinking = Pace("root", 0.1, 0.5, 10, 0, None, "random", (PaceStage("lin", 0.4, 0),))
    problems = [d.message for d in check_plan(type(plan)(pace=shrinking))]
    assert any("pace.stages.0.end" in m and "shrink" in m for m in problems)
    assert any("pace.stages.0.fn" in m for m in problems)
    assert any("pace.stages.0.over" in m for m in problems)
