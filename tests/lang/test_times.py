"""Times counted in data in the language: ``train 2M words``, ``at 5M words``, ``pace ...
over 50M words``, ``eval ... every 1M words``, ``checkpoint at 1M, 2M words``,
``checkpoint babylm`` -- what each compiles to, errors at their tokens, the printer and
the YAML form (the runtime's resolution is tests/runtime/ordering/test_clock.py's)."""

from __future__ import annotations

import pytest
from support import diagnostics

import curriculumc
from curriculumc.lang.parser import parse
from curriculumc.lang.printer import format_spec
from curriculumc.plan import Pace, Plan, Time

HEAD = "model roberta-tiny\ndata synth(words=20k)\n"


def _plan(text: str) -> Plan:
    return curriculumc.compile(parse(HEAD + text, "t.cur"))


def _errors(text: str):
    return diagnostics.errors(HEAD + text)


def _only(text: str, code: str):
    return diagnostics.only(HEAD + text, code)


def _at(diagnostic, text: str) -> str:
    return diagnostics.pointed_at(diagnostic, HEAD + text)


def test_a_length_in_words_makes_every_share_of_training_a_share_of_its_words():
    plan = _plan(
        "train 2M words, warmup 5%\nsort by sentence_length\npace root from 10% after 6.25% "
        "over 50%\nat 0 mlm, at 25% mlm + 0.5 pos\neval blimp every 10%\ncheckpoint every 20%"
    )
    assert plan.train.length == Time(2_000_000, "words") and plan.train.steps == 0
    assert plan.train.warmup == Time(100_000, "words")
    assert (plan.pace.unit, plan.pace.after, plan.pace.over) == ("words", 125_000, 1_000_000)
    assert plan.phases[1].start == Time(500_000, "words")
    assert plan.evals[0].every == Time(200_000, "words")
    assert plan.output.checkpoint_every == Time(400_000, "words")
    assert plan.needs_data_clock


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("train 10 epochs", Time(10, "epochs")),
        ("train 2.5 epochs", Time(2.5, "epochs")),
        ("train 500k tokens", Time(500_000, "tokens")),
        ("train 100M words", Time(100_000_000, "words")),
    ],
)
def test_training_lengths_in_data(text, length):
    assert _plan(text).train.length == length


def test_times_in_data_beside_a_length_in_steps():
    plan = _plan(
        "train 20000 steps\nsort by sentence_length\npace root from 10% over 50M words release "
        "at 80%\nat 0 mlm, at 5M words pos\neval blimp every 1M words\n"
        "checkpoint at 1M, 2M, 5M words"
    )
    assert plan.train.steps == 20000 and plan.train.length is None
    assert plan.pace == Pace("root", 0.1, 1.0, 50_000_000, 0, 0.8, unit="words")
    assert plan.phases[1].start == Time(5_000_000, "words")
    assert plan.output.checkpoint_at == tuple(Time(v * 10**6, "words") for v in (1, 2, 5))
    assert plan.evals[0].every == Time(1_000_000, "words")


def test_checkpoint_babylm_and_steps_still_mean_what_they_meant():
    plan = _plan("train 2M words\ncheckpoint babylm")
    assert plan.output.checkpoint_babylm
    same = _plan("train 20000 steps\ncheckpoint every 1000 keep 2\nat 0 mlm, at 5000 steps pos")
    assert same.output.checkpoint_every == 1000 and same.phases[1].start == 5000


def test_a_plan_without_times_in_data_keeps_its_json_and_hash():
    text = "train 20000 steps\nsort by sentence_length\npace root from 10% over 10000\nat 0 mlm"
    data = _plan(text).to_dict()
    assert "length" not in data["train"] and "unit" not in data["pace"]
    assert "checkpoint_at" not in data["output"] and "checkpoint_babylm" not in data["output"]
    assert all("at_steps" not in e for e in data["evals"])


def test_times_round_trip_through_the_plan_json():
    plan = _plan(
        "train 2M words\npace linear from 10% over 1M words\nat 0 mlm, at 1M words pos\n"
        "eval blimp every 500k words\ncheckpoint babylm at 1.5M words"
    )
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.hash == plan.hash


@pytest.mark.parametrize(
    ("text", "code", "word"),
    [
        ("train 20000 steps\nsort by random\npace root from 10% after 1000 over 5M words",
         "E076", "5M words"),
        ("train 2M words\nsort by random\npace root from 10% after 1000 over 50%", "E076", "50%"),
        ("train 20000 steps\nat 0 mlm, at 1M words pos, at 15000 mlm", "E076", "15000"),
        ("train 2M words\nat 0 mlm, at 1M words pos, at 500k words mlm", "E060", "500k words"),
        ("train 2M words\nat 0 mlm, at 2M words pos", "E061", "2M words"),
        ("train 2M words\nduring 0%..50% mlm\nduring 50%..100% pos", "E076",
         "during 0%..50% mlm"),
        ("train 2M words\ncheckpoint at 2M, 1M words", "E060", "1M"),
        ("train 2M words\ncheckpoint babylm2", "E078", "babylm2"),
        ("train 20000 steps\nat 0 mlm, at 50% words pos", "E030", "50% words"),
        ("train 0 words", "E033", "0"),
        ("train 2M words\nsort by model_ppl\npace root from 10% over 50%", "E077",
         "sort by model_ppl"),
    ],
)  # fmt: skip
def test_time_errors_point_at_the_token(text, code, word):
    diagnostic = _only(text, code)
    assert _at(diagnostic, text) == word


def test_warnings_compare_times_of_one_unit():
    text = "train 2M words\neval blimp every 3M words\ncheckpoint every 5M words"
    warnings = [d.code for d in curriculumc.check(parse(HEAD + text, "t.cur")) if not d.is_error]
    assert "W006" in warnings and "W009" in warnings


def test_the_printer_writes_times_back():
    text = (
        "train 2M words, batch 32\npace root from 10% after 100k words over 1M words, then "
        "linear to 100% over 500k words\nat 0 mlm, at 1M words pos\neval blimp every 500k "
        "words\ncheckpoint every 1M words keep 2 at 250k, 750k words babylm\n"
    )
    spec = parse(HEAD + text, "t.cur")
    printed = format_spec(spec)
    assert "at 250k, 750k words babylm" in printed and "over 500k words" in printed
    assert curriculumc.compile(parse(printed, "t.cur")) == curriculumc.compile(spec)


def test_the_yaml_form_writes_times_as_a_number_and_its_unit(tmp_path):
    yaml = tmp_path / "w.yaml"
    yaml.write_text(
        "model: roberta-tiny\ndata: synth\ntrain: {words: 2M, batch: 32, warmup: 100k words}\n"
        "eval:\n  - {name: blimp, every: 500k words}\n"
        "checkpoint: {preset: babylm, at: [1.5M words]}\n"
        "curriculum:\n  scoring_fn: sentence_length\n  pacing_fn: root\n"
        "  pacing_fn_kwargs: {start_percent: 0.1, num_steps: 1M words}\n"
        "  steps: {0: mlm, 1M words: mlm + 0.5 pos}\n"
    )
    dsl = tmp_path / "w.cur"
    dsl.write_text(
        "model roberta-tiny\ndata synth\ntrain 2M words, batch 32, warmup 100k words\n"
        "sort by sentence_length\npace root from 10% over 1M words\n"
        "at 0 mlm, at 1M words mlm + 0.5 pos\neval blimp every 500k words\n"
        "checkpoint babylm at 1.5M words\n"
    )
    assert curriculumc.load(yaml).hash == curriculumc.load(dsl).hash


def test_validate_says_what_it_will_resolve(tmp_path, capsys):
    from curriculumc.cli import main

    spec = tmp_path / "w.cur"
    spec.write_text(HEAD + "train 2M words\ncheckpoint babylm\neval blimp every 500k words\n")
    assert main(["validate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "train length 2M words" in out and "checkpoint babylm" in out
    assert "eval blimp every 500k words" in out and "first step by which" in out
