"""Sequence-length warmup in the language (``seq linear from 32 to 128 over 20%``): the
statement beside the ``train seq`` setting, its plan, errors at their tokens, YAML,
printer, plan checks, explain and plot lines; and the schedule's properties (bounds,
monotone, whole multiples, where the ramp starts and ends) against DeepSpeed's formula."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.diagnostics import only as _only
from support.diagnostics import pointed_at as _at

import curriculumc
from curriculumc.lang.compiler import compile_spec
from curriculumc.lang.parser import parse
from curriculumc.lang.plan_checks import check_plan
from curriculumc.lang.printer import format_spec
from curriculumc.lang.yaml_form import parse_yaml
from curriculumc.pacing import PACING_FUNCTIONS
from curriculumc.plan import Plan, SeqWarmup, TrainSpec
from curriculumc.views.explain import explain
from curriculumc.views.timeline import render_terminal

HEAD = "model roberta-tiny\ntrain 1000 steps, batch 8, seq 128\n"


def test_the_statement_and_the_train_setting_both_parse():
    plan = curriculumc.loads(HEAD + "seq linear from 32 to 128 over 20%")
    assert plan.train.seq == 128
    assert plan.seq_warmup == SeqWarmup("linear", 32, 128, over=200)
    # 'seq' as a setting after the statement, and in one line with ';'
    again = curriculumc.loads(
        "model roberta-tiny; seq linear from 32 over 20%; train batch 8, seq 128, 1000 steps"
    )
    assert again.hash == plan.hash  # 'to' defaults to the training's seq


def test_a_plan_without_a_warmup_keeps_its_json_and_hash():
    plain = curriculumc.loads(HEAD)
    assert "seq_warmup" not in plain.to_dict()
    assert curriculumc.loads(HEAD + "seq none").hash == plain.hash
    assert plain.seq_at(0) == plain.seq_at(999) == 128


def test_times_resolve_as_a_paces_do():
    plan = curriculumc.loads(HEAD + "seq root from 32 after 6.25% over 81.25%")
    warm = plan.seq_warmup
    assert (warm.after, warm.after + warm.over) == (62.5, 875)  # ends at 87.5% exactly
    words = curriculumc.loads("train 2M words\nseq linear from 16 to 64 over 1M words\n"
                              "train seq 64")  # fmt: skip
    assert words.seq_warmup == SeqWarmup("linear", 16, 64, over=1_000_000, unit="words")
    assert words.needs_data_clock
    assert "seq warmup in words" in words.data_time_texts()
    # train.steps=... re-derives a share of training
    shorter = curriculumc.compile(parse(HEAD + "seq linear from 32 over 20%"),
                                  overrides=["train.steps=300"])  # fmt: skip
    assert shorter.seq_warmup.over == 60


def test_overrides_change_the_warmup_and_train_seq_stays_the_models():
    spec = parse(HEAD + "seq linear from 32 over 20%")
    changed = curriculumc.compile(spec, overrides=["seq.start=16", "seq.over=50%", "seq=root"])
    assert changed.seq_warmup == SeqWarmup("root", 16, 128, over=500)
    assert curriculumc.compile(spec, overrides=["seq=none"]).seq_warmup is None
    # the warmup's end follows the model's positions when it has no 'to'
    assert curriculumc.compile(spec, overrides=["train.seq=64"]).seq_warmup.end == 64
    with pytest.raises(curriculumc.CurriculumError) as caught:
        curriculumc.compile(spec, overrides=["seq=256"])
    assert caught.value.diagnostics[0].code == "E152"
    assert "train.seq=N" in caught.value.diagnostics[0].message
    with pytest.raises(curriculumc.CurriculumError) as caught:
        curriculumc.compile(parse(HEAD), overrides=["seq.start=8"])
    assert caught.value.diagnostics[0].code == "E153"


def test_the_plan_round_trips_through_json_and_the_printer():
    text = HEAD + "seq quad from 16 to 96 after 50 over 30%"
    plan = curriculumc.loads(text)
    assert Plan.from_json(plan.to_json()) == plan
    assert plan.to_dict()["seq_warmup"] == {"fn": "quad", "start": 16, "end": 96,
                                            "over": 300, "after": 50}  # fmt: skip
    printed = format_spec(parse(text))
    assert "seq quad from 16 to 96 after 50 over 30%" in printed
    assert compile_spec(parse(printed))[0].hash == plan.hash


def test_the_yaml_form_is_the_same_plan():
    yaml = (
        "model: roberta-tiny\ntrain: {steps: 1000, batch: 8, seq: 128}\n"
        "curriculum:\n  seq_warmup: {pacing_fn: linear, start: 32, end: 128, over: 20%}\n"
    )
    plan, _ = compile_spec(parse_yaml(yaml))
    assert plan.hash == curriculumc.loads(HEAD + "seq linear from 32 to 128 over 20%").hash
    bad = "train: {steps: 10}\ncurriculum:\n  seq_warmup: {pacing_fn: linear, begin: 8}\n"
    with pytest.raises(curriculumc.CurriculumError) as caught:
        compile_spec(parse_yaml(bad))
    assert caught.value.diagnostics[0].code == "E170"  # the schema: no key 'begin'


@pytest.mark.parametrize(
    "line, code, word, hint",
    [
        ("seq linear from 30 over 20%", "E085", "30", "did you mean 'from 24' or 'from 32'?"),
        ("seq linear from 32 to 256 over 20%", "E086", "256", "write 'to 128'"),
        ("seq linear from 96 to 64 over 20%", "E086", "64", "start at most at 64"),
        ("seq linear from 32 over 20% release at 50%", "E087", "50%", "remove 'release at'"),
        ("seq linear", "E087", "seq linear", "write 'seq linear from 32 to 128 over 20%'"),
        ("seq none from 32 over 20%", "E087", "from 32 over 20%", None),
        ("seq lineer from 32 over 20%", "E012", "lineer", "did you mean 'linear'?"),
        ("seq linear from 32 after 10 over 1M words", "E076", "1M words", None),
        ("seq linear from 4 over 20%", "E033", "4", None),
        ("seq linear from 10% over 20%", "E030", "10%", None),
        ("seq linear from 32 over 0", "E033", "0", None),
    ],
)
def test_errors_point_at_their_token(line, code, word, hint):
    text = HEAD + line
    found = _only(text, code)
    assert _at(found, text) == word
    if hint is not None:
        assert hint in found.hint


def test_a_second_seq_statement_and_model_ppl_with_a_warmup_in_words():
    assert _only(HEAD + "seq linear from 32 over 20%\nseq none", "E037").span.line == 4
    text = "train 1000 steps\nsort by model_ppl\nseq linear from 32 over 100k words"
    found = _only(text, "E077")
    assert found.span.line == 2
    assert found.message.startswith("a seq warmup counted in words cannot be resolved")


def test_a_plan_json_is_checked_as_a_spec_is():
    train = TrainSpec(steps=100, seq=64)
    problems = check_plan(Plan(train=train, seq_warmup=SeqWarmup("lin", 12, 96, over=0)))
    messages = sorted(d.message.split(":")[0] for d in problems)
    assert messages == ["seq_warmup.end", "seq_warmup.fn", "seq_warmup.over", "seq_warmup.start"]
    assert check_plan(Plan(train=train, seq_warmup=SeqWarmup("linear", 16, 64, over=10))) == []


def test_explain_and_plot_say_the_length_of_each_stretch():
    plan = curriculumc.loads(HEAD + "seq linear from 32 to 128 over 20%")
    text = explain(plan, width=100)
    flat = " ".join(text.split())
    assert "seq warmup linear from 32 to 128 positions over 200 steps, in whole multiples " \
        "of 8 (rounded down); 128 from step 200 on; the model keeps 128 positions" in flat  # fmt: skip
    assert "a longer example is truncated (as Composer does), never skipped" in flat
    assert "each step is 8 examples, so early steps read fewer tokens" in flat
    assert "  seq         32 → 120 positions, rising (linear)" in text
    assert "  changes     seq reaches 128" in text
    assert "  seq         128 positions, fixed" in text
    picture = render_terminal(plan, width=44, height=4).splitlines()
    # 38 columns of 1000 steps, each at its last step (25, 51, 77, 104, 130, 156, ...):
    # lengths 40, 56, 64, 80, 88, 104, ... as shares of 128 in four shades (below 1/4 ░,
    # below 1/2 ▒, below 3/4 ▓, else █)
    assert picture[-1] == " seq  " + "▒" * 3 + "▓" * 2 + "█" * 33
    without = explain(curriculumc.loads(HEAD), width=100)
    assert "seq warmup" not in without and "  seq " not in without


# --- the schedule's properties ---------------------------------------------------------

SHAPES = sorted(PACING_FUNCTIONS)


def _deepspeed(start: int, end: int, step: int, total: int) -> int:
    """DeepSpeed's ``fixed_linear`` seqlen difficulty (difficulty_step 8), written out."""
    value = math.floor(step / total * (end - start) + start)
    value -= value % 8
    return min(value, end)


@settings(max_examples=200, deadline=None)
@given(
    fn=st.sampled_from(SHAPES),
    start=st.integers(1, 32).map(lambda k: 8 * k),
    extra=st.integers(0, 300),
    over=st.integers(1, 5000),
    after=st.integers(0, 2000),
    steps=st.lists(st.integers(0, 8000), min_size=2, max_size=30),
)
def test_lengths_are_bounded_monotone_whole_multiples(fn, start, extra, over, after, steps):
    end = start + extra
    plan = Plan(train=TrainSpec(seq=end + 16), seq_warmup=SeqWarmup(fn, start, end, over, after))
    lengths = [plan.seq_at(t) for t in sorted(steps)]
    assert all(start <= n <= end <= plan.train.seq for n in lengths)
    assert lengths == sorted(lengths)  # never shorter later
    assert all(n % 8 == 0 or n == end for n in lengths)  # a multiple, or the end itself
    # the ramp: 'start' until it begins, 'end' from its end on
    assert plan.seq_at(after) == start
    assert plan.seq_at(after + over) == end
    if fn != "step":
        assert plan.seq_at(after + over - 1) <= end


@settings(max_examples=100, deadline=None)
@given(
    start=st.integers(1, 16).map(lambda k: 8 * k),
    extra=st.integers(0, 64).map(lambda k: 8 * k),
    total=st.integers(1, 3000),
    step=st.integers(0, 3500),
)
def test_linear_is_deepspeeds_fixed_linear(start, extra, total, step):
    end = start + extra
    plan = Plan(train=TrainSpec(seq=end), seq_warmup=SeqWarmup("linear", start, end, total))
    assert plan.seq_at(step) == _deepspeed(start, end, min(step, total), total)


def test_the_length_never_passes_train_seq():
    plan = Plan(train=TrainSpec(seq=100), seq_warmup=SeqWarmup("linear", 32, 100, over=68))
    lengths = [plan.seq_at(t) for t in range(80)]
    assert max(lengths[:68]) == 96 and lengths[68:] == [100] * 12  # the end, though no multiple
    capped = Plan(train=TrainSpec(seq=64), seq_warmup=SeqWarmup("linear", 32, 128, over=10))
    assert max(capped.seq_at(t) for t in range(20)) == 64  # a plan from elsewhere: capped
