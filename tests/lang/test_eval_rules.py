"""`eval ... ties babylm pll pll-word-l2r`: the evaluation's tie rule and PLL variant in the
spec (DSL, YAML, printer, explain), checked against the registry's names."""

from __future__ import annotations

import pytest

from curriculumc import registry
from curriculumc.errors import CurriculumError
from curriculumc.lang.compiler import compile_spec
from curriculumc.lang.parser import parse
from curriculumc.lang.printer import format_spec
from curriculumc.lang.yaml_form import parse_yaml
from curriculumc.views.explain import explain

SPEC = "model roberta-tiny\ntrain 100 steps\neval blimp every 50 ties babylm pll pll-word-l2r\n"


def test_ties_and_pll_reach_the_plan_and_print_back_to_the_same_hash():
    plan = compile_spec(parse(SPEC))[0]
    (spec,) = plan.evals
    assert (spec.ties, spec.pll, spec.every) == ("babylm", "pll-word-l2r", 50)
    again = compile_spec(parse(format_spec(parse(SPEC))))[0]
    assert again.hash == plan.hash
    default = compile_spec(parse("model roberta-tiny\neval blimp\n"))[0].evals[0]
    assert (default.ties, default.pll) == ("strict", "pll")  # today's, and registry's first
    assert (registry.TIE_RULES[0], registry.PLL_VARIANTS[0]) == ("strict", "pll")
    text = " ".join(explain(plan).split())  # wrapped to the terminal's width
    assert "headline accuracy with ties babylm" in text and "PLL pll-word-l2r" in text


def test_the_yaml_form_gives_the_same_plan():
    text = (
        "model: roberta-tiny\ntrain: {steps: 100}\n"
        "eval:\n  - {name: blimp, every: 50, ties: babylm, pll: pll-word-l2r}\n"
    )
    yaml_plan = compile_spec(parse_yaml(text, "s.yaml"))[0]
    assert yaml_plan.hash == compile_spec(parse(SPEC))[0].hash


@pytest.mark.parametrize(
    ("text", "word", "column"),
    [("eval blimp ties babylx", "babylx", 17), ("eval blimp pll pll-word", "pll-word", 16)],
)
def test_an_unknown_rule_is_an_error_at_its_word_with_a_suggestion(text, word, column):
    with pytest.raises(CurriculumError) as exc:
        compile_spec(parse(f"model roberta-tiny\n{text}\n"))
    (problem,) = [d for d in exc.value.diagnostics if d.is_error]
    assert (problem.code, problem.span.line, problem.span.column) == ("E022", 2, column)
    assert word in problem.message and problem.hint and "did you mean" in problem.hint
