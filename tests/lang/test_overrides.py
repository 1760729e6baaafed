"""key=value overrides: applied to the spec before compiling, typed, checked, located."""

from __future__ import annotations

import os

import pytest
from support.paths import REPO

import curriculumc
from curriculumc.errors import CurriculumError
from curriculumc.plan import Pace, ScorerTerm

BASE = (
    "train 1000 steps\nsort by ngram_ppl\npace root from 10% over 50% release at 80%\n"
    "at 0 mlm, at 50% pos\neval blimp every 100\ncheckpoint every 200 keep 3\nlog every 10"
)


def _plan(*overrides: str, text: str = BASE):
    return curriculumc.loads(text, overrides=list(overrides))


def test_training_length_re_derives_warmup_pace_and_phases():
    plan = _plan("train.steps=200")
    assert plan.train.steps == 200 and plan.train.warmup == 20
    assert plan.pace.over == 100 and [p.start for p in plan.phases] == [0, 100]
    assert _plan("steps=2k").train.steps == 2000


def test_typed_values_in_the_spec_syntax():
    plan = _plan("train.batch=8", "train.lr=3e-4", "seed=3", "train.warmup=5%",
                 "train.schedule=cosine")  # fmt: skip
    assert (plan.train.batch, plan.train.lr, plan.train.seed) == (8, 3e-4, 3)
    assert plan.train.warmup == 50 and plan.train.schedule == "cosine"


def test_model_data_tokenizer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = _plan("model=roberta-tiny", "data=synth", "data.words=100k", "tokenizer.vocab_size=4000")
    assert plan.model.preset == "roberta-tiny"
    assert (plan.data.source, plan.data.options) == ("synth", (("words", 100000),))
    assert plan.tokenizer.vocab_size == 4000
    path = _plan("data.path=../x.jsonl", "data.packed=true")
    assert path.data.source == os.path.abspath(tmp_path / ".." / "x.jsonl")
    assert path.data.kind == "path" and path.data.unit == "packed"


def test_pace_sort_eval_output():
    plan = _plan("pace=linear", "pace.start=20%", "pace.over=400", "sort=random",
                 "sort.order=descending", "eval.every=50", "checkpoint.keep=1",
                 "log.every=5", "push=me/model")  # fmt: skip
    assert plan.pace == Pace("linear", 0.2, 1.0, 400, 0, 0.8)
    assert plan.sort.terms == (ScorerTerm("random"),) and plan.sort.descending
    assert plan.evals[0].every == 50 and plan.output.keep == 1
    assert plan.output.log_every == 5 and plan.output.push_to_hub == "me/model"
    assert _plan("pace=none").pace == Pace()
    assert _plan("sort=0.5 ngram_ppl(n=2) + 0.5 random").sort.terms[0].kwargs == (("n", 2),)


def test_unknown_keys_are_refused_with_a_suggestion():
    with pytest.raises(CurriculumError) as info:
        _plan("train.stpes=10", "modle=roberta-tiny", "nonsense")
    first, second, third = info.value.diagnostics
    assert first.code == "E151" and first.hint.startswith("did you mean 'train.steps'")
    assert first.span.file == "<overrides>" and first.span.line == 1
    assert second.hint == "did you mean 'model'?" and second.span.line == 2
    assert third.code == "E150"


def test_wrong_values_are_checked_like_the_spec_and_point_at_the_override():
    with pytest.raises(CurriculumError) as info:
        _plan("train.batch=many", "pace=rot")
    by_code = {d.code: d for d in info.value.diagnostics}
    batch = by_code["E030"]
    assert batch.span.file == "<overrides>" and (batch.span.line, batch.span.column) == (1, 13)
    assert by_code["E012"].hint == "did you mean 'root'?"
    with pytest.raises(CurriculumError) as info:
        _plan("sort=ngram_ppl(")
    (syntax,) = info.value.diagnostics
    assert syntax.code == "E152" and syntax.span.file == "<overrides>"


def test_changing_a_part_of_a_missing_statement_is_an_error():
    with pytest.raises(CurriculumError) as info:
        _plan("vocab.start=10%")
    assert info.value.diagnostics[0].code == "E153"


def test_overrides_apply_to_yaml_specs_too():
    plan = curriculumc.load(
        REPO / "specs" / "root_pos.yaml", ["train.steps=16000", "pace.over=1000"]
    )
    assert plan.train.warmup == 1600 and plan.pace.over == 1000


def test_the_overridden_spec_prints_as_dsl_that_compiles_the_same():
    spec = curriculumc.apply_overrides(curriculumc.parse(BASE), ["train.steps=200", "pace=linear"])
    text = curriculumc.format_spec(spec)
    assert "train steps 200" in text and "pace linear from 10% over 50%" in text
    assert curriculumc.loads(text) == curriculumc.compile(spec)


def test_batch_units_sampling_and_ties_as_overrides():
    plan = _plan("train.batch=4096 tokens", "train.sample=with replacement", "pace.ties=include")
    assert (plan.train.batch, plan.train.batch_unit, plan.train.sampling) == (
        4096, "tokens", "replacement",
    )  # fmt: skip
    assert plan.pace.ties == "include" and plan.pace.fn == "root"
    # a batch without a unit keeps the spec's unit; a unit given changes it
    tokens = BASE + "\ntrain batch 4096 tokens"
    assert _plan("train.batch=8192", text=tokens).train.batch_unit == "tokens"
    assert _plan("train.batch=8192", text=tokens).train.batch == 8192
    assert _plan("train.batch=32 examples", text=tokens).train.batch_unit == "examples"
    assert _plan("train.batch=8").train.batch_unit == "examples"
    # a new pacing function keeps the tie rule; 'none' has none
    ties = BASE.replace("release at 80%", "release at 80% ties include")
    assert _plan("pace=linear", text=ties).pace.ties == "include"
    assert _plan("pace=none", text=ties).pace == Pace()


def test_wrong_batch_sampling_and_tie_overrides_point_into_overrides():
    with pytest.raises(CurriculumError) as info:
        _plan("train.batch=100 tokens", "train.sample=with replacment", "pace.ties=incude")
    found = [(d.code, d.span.file, d.span.line, d.span.column) for d in info.value.diagnostics]
    assert found == [
        ("E039", "<overrides>", 1, 13),
        ("E022", "<overrides>", 2, 19),
        ("E022", "<overrides>", 3, 11),
    ]
    with pytest.raises(CurriculumError) as info:
        _plan("vocab.ties=include")
    (unknown,) = info.value.diagnostics
    assert unknown.code == "E151"
    assert unknown.hint == "a tie rule belongs to the data pace: pace.ties=include"
    with pytest.raises(CurriculumError) as info:
        _plan("pace.ties=include", text="train 100 steps")
    assert info.value.diagnostics[0].code == "E153"
    with pytest.raises(CurriculumError) as info:
        _plan("train.batch=32 tokens extra")
    assert info.value.diagnostics[0].code == "E152"


def test_the_overridden_new_wording_prints_and_compiles_the_same():
    spec = curriculumc.apply_overrides(
        curriculumc.parse(BASE), ["train.batch=4096 tokens", "pace.ties=include"]
    )
    text = curriculumc.format_spec(spec)
    assert "train batch 4096 tokens" in text and "release at 80% ties include" in text
    assert curriculumc.loads(text) == curriculumc.compile(spec)


MIXED = "train 1000 steps, batch 32\nmix 0.75 A + 0.25 B until 40%, then 0.5 A + 0.5 B\nat 0 mlm"


def test_a_mix_and_a_batch_ramp_as_whole_statement_overrides():
    plan = _plan("mix=0.9 A + 0.1 C until 100, then 0.2 A + 0.8 C", text=MIXED)
    (first, second) = plan.mix.phases
    assert dict(first.weights) == {"A": 0.9, "C": 0.1} and first.until == 100
    assert dict(second.weights) == {"A": 0.2, "C": 0.8} and second.until is None
    assert _plan("mix=none", text=MIXED).mix is None
    assert _plan("mix=A", text=BASE).mix.phases[0].weights == (("A", 1.0),)  # added
    ramp = _plan("ramp=from 8 over 10%", text=MIXED).batch_ramp
    assert (ramp.start, ramp.end, ramp.increment, ramp.over) == (8, 32, 8, 100)
    ramped = MIXED + "\nbatch ramp from 16 over 50%"
    assert _plan("ramp=none", text=ramped).batch_ramp is None
    assert _plan("ramp=from 4 by 4 over 200", text=ramped).batch_ramp.sizes() == tuple(
        range(4, 33, 4)
    )
    # the overridden spec prints as a spec that compiles the same
    spec = curriculumc.apply_overrides(curriculumc.parse(ramped), ["mix=0.5 A + 0.5 B"])
    assert curriculumc.loads(curriculumc.format_spec(spec)) == curriculumc.compile(spec)


def test_a_wrong_mix_or_ramp_override_points_into_the_override():
    with pytest.raises(CurriculumError) as info:
        _plan("mix=0.5 A + + 0.5 B", text=MIXED)
    (syntax,) = info.value.diagnostics
    assert syntax.code == "E152" and syntax.span.file == "<overrides>"
    assert syntax.span.column == len("mix=0.5 A + ") + 1
    with pytest.raises(CurriculumError) as info:
        _plan("ramp=from 8 to 12 over 10%", text=MIXED)
    (wrong,) = [d for d in info.value.diagnostics if d.is_error]
    assert wrong.code == "E088" and wrong.span.file == "<overrides>"
    assert (wrong.span.column, wrong.span.end_column) == (16, 18)  # the '12'


def test_the_vocabulary_order_and_what_it_hides_as_overrides():
    text = BASE + "\nvocab linear from 10% over 50%"
    plan = _plan("vocab.order=pos_tags", "vocab.hides=inputs", text=text)
    assert (plan.vocab_rule.order, plan.vocab_rule.hides) == ("pos_tags", "inputs")
    ruled = text + " by pos_tags inputs only"
    back = _plan("vocab.order=token_ids", "vocab.hides=inputs_and_labels", text=ruled)
    assert (back.vocab_rule.order, back.vocab_rule.hides) == ("token_ids", "inputs_and_labels")
    spec = curriculumc.apply_overrides(curriculumc.parse(text), ["vocab.hides=inputs"])
    assert "inputs only" in curriculumc.format_spec(spec)
    with pytest.raises(CurriculumError) as info:
        _plan("vocab.order=pos_tag", text=text)
    (wrong,) = [d for d in info.value.diagnostics if d.is_error]
    assert wrong.span.file == "<overrides>" and "pos_tags" in (wrong.hint or "")
    with pytest.raises(CurriculumError) as info:
        _plan("vocab.order=pos_tags")  # BASE has no vocab statement
    assert info.value.diagnostics[0].code == "E153"
