"""Batch-size ramp in the language (``batch ramp from 8 [to 32] [by 8] over 10%``): the
statement beside the ``train batch`` setting, the BatchRamp it compiles to (times in
steps, shares of a length in steps or words, data units), the default increment, errors
at their tokens, YAML, printer, overrides and plan checks."""

from __future__ import annotations

import pytest
from support.diagnostics import errors as _errors
from support.diagnostics import only as _only
from support.diagnostics import pointed_at as _at

import curriculumc
from curriculumc.lang.compiler import compile_spec
from curriculumc.lang.parser import parse
from curriculumc.lang.plan_checks import check_plan
from curriculumc.lang.printer import format_spec
from curriculumc.lang.yaml_form import parse_yaml
from curriculumc.plan import BatchRamp, Plan, TrainSpec

HEAD = "model roberta-tiny\ntrain 1000 steps, batch 32\n"


def _warnings(text: str):
    return [d for d in curriculumc.check(parse(text, "t.cur")) if d.severity == "warning"]


def test_the_statement_and_the_train_setting_both_parse():
    plan = curriculumc.loads(HEAD + "batch ramp from 8 to 32 by 8 over 10%")
    assert plan.train.batch == 32
    assert plan.batch_ramp == BatchRamp(8, 32, 8, over=100)
    assert plan.batch_ramp.sizes() == (8, 16, 24, 32)
    # 'batch' as a setting after the statement, one line with ';', and the multi-line form
    again = curriculumc.loads("model roberta-tiny; batch ramp from 8 over 10%; train 1000 steps, "
                              "batch 32")  # fmt: skip
    lines = curriculumc.loads("model roberta-tiny\nbatch ramp from 8 by 8 over 100\n"
                              "train batch 32\ntrain 1000 steps\n")  # fmt: skip
    assert again.hash == lines.hash == plan.hash


def test_the_default_increment_is_the_gcd_of_start_and_end():
    ramp = curriculumc.loads(HEAD + "batch ramp from 8 over 100").batch_ramp
    assert (ramp.increment, ramp.sizes()) == (8, (8, 16, 24, 32))  # 8 divides 32
    ramp = curriculumc.loads(HEAD + "batch ramp from 12 over 100").batch_ramp
    assert (ramp.increment, ramp.sizes()) == (4, (12, 16, 20, 24, 28, 32))
    ramp = curriculumc.loads(HEAD + "batch ramp from 7 over 100").batch_ramp
    assert ramp.increment == 1 and len(ramp.sizes()) == 26
    ramp = curriculumc.loads(HEAD + "batch ramp from 8 by 24 over 100").batch_ramp
    assert ramp.sizes() == (8, 32)


def test_times_in_steps_shares_and_data():
    def ramp(text):
        return curriculumc.loads(text).batch_ramp

    assert ramp(HEAD + "batch ramp from 8 over 2k").over == 2000
    assert ramp(HEAD + "batch ramp from 8 over 250 steps").over == 250
    # a share of a length in steps is exact (as a seq warmup's): 6.25% of 300 is 18.75
    share = ramp("train 300 steps, batch 32\nbatch ramp from 8 over 6.25%")
    assert (share.over, share.unit) == (18.75, "steps")
    # a share of a length in words is words, exactly
    words = ramp("train 2M words, batch 32\nbatch ramp from 8 over 6.25%")
    assert words == BatchRamp(8, 32, 8, over=125_000, unit="words")
    assert ramp(HEAD + "batch ramp from 8 over 1M words") == BatchRamp(8, 32, 8, 1e6, "words")
    assert ramp(HEAD + "batch ramp from 8 over 500k tokens") == BatchRamp(8, 32, 8, 5e5, "tokens")
    epochs = ramp(HEAD + "batch ramp from 8 over 0.5 epochs")
    assert (epochs.over, epochs.unit) == (0.5, "epochs")
    plan = curriculumc.loads(HEAD + "batch ramp from 8 over 1M words")
    assert plan.needs_data_clock
    assert "batch ramp in words" in plan.data_time_texts()


def test_the_batch_of_each_step_and_the_examples_before_it():
    plan = curriculumc.loads(HEAD + "batch ramp from 8 over 100")  # 3 increments, 33.3 steps
    assert [plan.batch_at(t) for t in (0, 33, 34, 66, 67, 99, 100, 999)] == [
        8, 8, 16, 16, 24, 24, 32, 32,
    ]  # fmt: skip
    assert plan.examples_before(2) == 16
    assert plan.examples_before(100) == 34 * 8 + 33 * 16 + 33 * 24


def test_a_plan_without_a_ramp_keeps_its_json_and_hash():
    plain = curriculumc.loads(HEAD)
    assert "batch_ramp" not in plain.to_dict()
    assert plain.batch_ramp is None
    assert plain.batch_at(0) == plain.batch_at(999) == 32
    # the hash of a plan without a ramp is what it was before ramps existed
    dump = plain.to_dict()
    assert Plan.from_dict(dump).hash == plain.hash


def test_the_plan_round_trips_through_json_and_the_printer():
    text = HEAD + "batch ramp from 8 by 8 over 10%"
    plan = curriculumc.loads(text)
    assert Plan.from_json(plan.to_json()) == plan
    assert plan.to_dict()["batch_ramp"] == {"start": 8, "end": 32, "increment": 8, "over": 100}
    printed = format_spec(parse(text))
    assert "batch ramp from 8 by 8 over 10%" in printed
    assert compile_spec(parse(printed))[0].hash == plan.hash
    full = HEAD + "batch ramp from 4 to 32 by 4 over 1M words"
    assert "batch ramp from 4 to 32 by 4 over 1M words\n" in format_spec(parse(full))
    assert compile_spec(parse(format_spec(parse(full))))[0].hash == curriculumc.loads(full).hash


def test_the_yaml_form_is_the_same_plan():
    def yaml(ramp):
        return ("model: roberta-tiny\ntrain: {steps: 1000, batch: 32}\n"
                f"curriculum:\n  batch_ramp: {ramp}\n")  # fmt: skip

    dsl = curriculumc.loads(HEAD + "batch ramp from 8 to 32 by 8 over 10%").hash
    for ramp in ("{start: 8, end: 32, increment: 8, over: 10%}", "{start: 8, over: 100}"):
        assert compile_spec(parse_yaml(yaml(ramp)))[0].hash == dsl
    words = compile_spec(parse_yaml(yaml("{start: 8, over: 1M words}")))[0]
    assert words.batch_ramp == BatchRamp(8, 32, 8, 1e6, "words")
    with pytest.raises(curriculumc.CurriculumError) as caught:
        compile_spec(parse_yaml(yaml("{begin: 8}")))
    assert caught.value.diagnostics[0].code == "E170"  # the schema: no key 'begin'
    with pytest.raises(curriculumc.CurriculumError) as caught:
        compile_spec(parse_yaml(yaml("{start: 8, end: 16, over: 10%}")))
    assert [d.code for d in caught.value.diagnostics] == ["E088"]


@pytest.mark.parametrize(
    "line, code, word, hint",
    [
        ("batch ramp from 0 over 10%", "E088", "0", "start between 1 and 31"),
        ("batch ramp from -8 over 10%", "E088", "-8", "start between 1 and 31"),
        ("batch ramp from 32 over 10%", "E088", "32", "start between 1 and 31"),
        ("batch ramp from 40 over 10%", "E088", "40", "(it grows to the train batch, 32)"),
        ("batch ramp from 8 to 64 over 10%", "E088", "64", "write 'to 32'"),
        ("batch ramp from 8 by 0 over 10%", "E089", "0", "gcd(from, to)"),
        ("batch ramp from 8 by 5 over 10%", "E089", "5", "use one of 1, 2, 3, 4, 6, 8, 12, 24"),
        ("batch ramp from 8 over 0", "E092", "0", "write a time above 0"),
        ("batch ramp from 8 over 0%", "E092", "0%", None),
        ("batch ramp from 8", "E092", "batch ramp from 8", "add e.g. 'over 10%'"),
        ("batch ramp from 8.5 over 10%", "E030", "8.5", None),
    ],
)
def test_errors_point_at_their_token(line, code, word, hint):
    text = HEAD + line
    found = _only(text, code)
    assert _at(found, text) == word
    assert found.hint is not None or code == "E030"
    if hint is not None:
        assert hint in found.hint
    assert len(_errors(text)) == 1


def test_a_token_budget_and_grad_accum():
    text = "model roberta-tiny\ntrain 1000 steps, batch 4096 tokens\nbatch ramp from 8 over 10%"
    found = _only(text, "E090")
    assert _at(found, text) == "batch ramp from 8 over 10%"
    assert "examples" in found.hint
    text = HEAD + "train accumulate 4\nbatch ramp from 6 over 10%"  # 6, 8, ..., 32
    found = _only(text, "E091")
    assert _at(found, text) == "6"
    assert "6 does not" in found.message and "multiples of 4" in found.hint
    text = HEAD + "train accumulate 4\nbatch ramp from 8 by 2 over 10%"  # 8, 10, ...
    found = _only(text, "E091")
    assert _at(found, text) == "2"
    assert "10 does not" in found.message
    assert curriculumc.loads(HEAD + "train accumulate 4\nbatch ramp from 8 over 10%").batch_ramp


def test_twice_self_paced_and_past_the_end():
    text = HEAD + "batch ramp from 8 over 10%\nbatch ramp from 16 over 10%"
    assert _only(text, "E037").span.line == 4
    assert "'batch ramp' is given twice" in _only(text, "E037").message
    text = "train 1000 steps\nsort by model_ppl\nbatch ramp from 8 over 100k words"
    found = _only(text, "E077")
    assert found.span.line == 2
    assert found.message.startswith("a batch ramp counted in words cannot be resolved")
    text = HEAD + "batch ramp from 8 over 2k"
    (late,) = [w for w in _warnings(text) if w.code == "W001"]
    assert _at(late, text) == "2k"
    assert "after training ends (step 1000)" in late.message
    assert not [w for w in _warnings(HEAD + "batch ramp from 8 over 100") if w.code == "W001"]


def test_syntax_errors_are_named():
    for text, words in (
        ("batch", "missing 'ramp' after 'batch'"),
        ("batch ramp 8 over 10%", "missing 'from'"),
    ):
        with pytest.raises(curriculumc.CurriculumError) as caught:
            parse(text)
        assert caught.value.diagnostics[0].code == "E001"
        assert words in caught.value.diagnostics[0].message


def test_overrides_of_the_train_batch():
    spec = parse(HEAD + "batch ramp from 8 over 10%")
    bigger = curriculumc.compile(spec, overrides=["train.batch=64"])
    assert bigger.batch_ramp == BatchRamp(8, 64, 8, over=100)
    with pytest.raises(curriculumc.CurriculumError) as caught:  # 8 by 8 cannot reach 36
        curriculumc.compile(parse(HEAD + "batch ramp from 8 by 8 over 10%"),
                            overrides=["train.batch=36"])  # fmt: skip
    (found,) = caught.value.diagnostics
    assert found.code == "E089" and found.span.line == 3
    with pytest.raises(curriculumc.CurriculumError) as caught:
        curriculumc.compile(parse(HEAD + "batch ramp from 8 to 32 over 10%"),
                            overrides=["train.batch=64"])  # fmt: skip
    (found,) = caught.value.diagnostics
    assert found.code == "E088" and "'to 32' is not 64" in found.message


def test_a_plan_json_is_checked_as_a_spec_is():
    train = TrainSpec(steps=100, batch=32, grad_accum=4)
    problems = check_plan(Plan(train=train, batch_ramp=BatchRamp(8, 32, 5, over=0, unit="x")))
    messages = sorted(d.message.split(":")[0] for d in problems)
    assert messages == ["batch_ramp.increment", "batch_ramp.over", "batch_ramp.unit"]
    problems = check_plan(Plan(train=train, batch_ramp=BatchRamp(8, 16, 8, over=10)))
    assert [d.message.split(":")[0] for d in problems] == ["batch_ramp.end"]
    problems = check_plan(Plan(train=train, batch_ramp=BatchRamp(6, 32, 2, over=10)))
    assert "size 6 does not split into grad_accum 4" in problems[0].message
    assert check_plan(Plan(train=train, batch_ramp=BatchRamp(8, 32, 8, over=10))) == []
