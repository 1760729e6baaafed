"""The compiler: defaults, percentages of training, units, plan JSON and its schema."""

from __future__ import annotations

import json

import pytest
from support.paths import REPO

import curriculumc
from curriculumc.errors import CurriculumError
from curriculumc.plan import PLAN_VERSION, Pace, Phase, Plan, ScorerTerm, TrainSpec, Unit


def test_an_empty_spec_is_the_documented_defaults():
    plan = curriculumc.loads("")
    assert plan.model.preset == "roberta-small" and plan.model.family == "masked"
    assert plan.data.source == "synth" and plan.data.kind == "registered"
    assert plan.tokenizer.kind == "bpe" and plan.tokenizer.vocab_size == 8192
    assert plan.train == TrainSpec()  # 20000 steps, batch 32, seq 128, lr 1e-3, warmup 2000
    assert plan.train.warmup == 2000 and plan.train.seed == 42
    assert plan.sort is None and plan.pace == Pace() and plan.vocab == Pace()
    assert plan.units == (Unit("mlm", "mlm"),)
    assert plan.phases == (Phase(0, (("mlm", 1.0),)),)


def test_causal_models_default_to_clm():
    plan = curriculumc.loads("model gpt-tiny")
    assert plan.model.family == "causal"
    assert plan.phases == (Phase(0, (("clm", 1.0),)),) and plan.units == (Unit("clm", "clm"),)


def test_percentages_of_training_follow_the_training_length():
    text = (
        "train 4000 steps, warmup 5%\nsort by random\npace linear from 20% over 50%\n"
        "at 0 mlm, at 50% pos\ncheckpoint every 25%\neval blimp every 10%"
    )
    plan = curriculumc.loads(text)
    assert plan.train.warmup == 200
    assert plan.pace == Pace("linear", 0.2, 1.0, 2000, 0, None)
    assert [p.start for p in plan.phases] == [0, 2000]
    assert plan.output.checkpoint_every == 1000 and plan.evals[0].every == 400
    shorter = curriculumc.loads(text, overrides=["train.steps=200"])
    assert shorter.train.warmup == 10 and shorter.pace.over == 100
    assert [p.start for p in shorter.phases] == [0, 100]


def test_pace_fields_and_schedule_semantics():
    plan = curriculumc.loads(
        "sort by ngram_ppl(n=3)\npace root from 10% over 10000 release at 80%\n"
        "vocab quad from 0.2 to 90% after 1k over 4k"
    )
    assert plan.pace == Pace("root", 0.1, 1.0, 10000, 0, 0.8)
    assert plan.data_fraction(0) == pytest.approx(0.1)
    assert plan.data_fraction(2500) == pytest.approx(0.1 + 0.9 * 0.5)
    assert plan.data_fraction(7999) < 1.0 and plan.data_fraction(8000) == 1.0
    assert plan.vocab == Pace("quad", 0.2, 0.9, 4000, 1000, None)
    assert plan.vocab_fraction(999) == pytest.approx(0.2)
    assert plan.vocab_fraction(3000) == pytest.approx(0.2 + 0.7 * 0.25)
    assert plan.sort.terms == (ScorerTerm("ngram_ppl", (), (("n", 3),), 1.0),)


def test_objectives_at_a_step_are_those_of_the_last_at():
    plan = curriculumc.loads("at 0 mlm, at 10000 pos, at 15000 mlm + 0.5 pos, at 18000 mlm")
    assert plan.objectives(0) == {"mlm": 1.0}
    assert plan.objectives(14999) == {"pos": 1.0}
    assert plan.objectives(15000) == {"mlm": 1.0, "pos": 0.5}
    assert plan.objectives(19999) == {"mlm": 1.0}
    assert [u.name for u in plan.units] == ["mlm", "pos"]


def test_inline_units_get_canonical_names_and_universal_tags():
    a = curriculumc.loads("at 0 mlm + pos(verb, noun, mask=40%)")
    b = curriculumc.loads("at 0 mlm + pos(noun, verb, noun, mask=0.4)")
    assert a == b and a.hash == b.hash
    unit = a.unit("pos(noun, verb, mask=0.4)")
    assert unit == Unit("pos(noun, verb, mask=0.4)", "pos", ("NOUN", "VERB"), (("mask", 0.4),))
    punct = curriculumc.loads("at 0 pos(punct, adj)")
    assert punct.units[0].args == ("ADJ", ".") and punct.units[0].name == "pos(adj, punct)"


def test_named_units_are_resolved_and_sorted():
    plan = curriculumc.loads("unit z_pos = pos(noun, verb, mask=40%)\nat 0 z_pos + 0.5 mlm")
    assert [u.name for u in plan.units] == ["mlm", "z_pos"]
    assert plan.unit("z_pos") == Unit("z_pos", "pos", ("NOUN", "VERB"), (("mask", 0.4),))
    assert plan.phases == (Phase(0, (("mlm", 0.5), ("z_pos", 1.0))),)


def test_data_tokenizer_output_sections(tmp_path):
    plan = curriculumc.loads(
        'data "corpus"(text_field=utterance, words=10k) packed\ntokenizer "tok.json"\n'
        "log every 5, wandb project babylm\ncheckpoint every 100 keep 1\npush to hub me/model\n"
        'eval "pairs/my_pairs.jsonl" every 50 limit 20',
        base_dir=str(tmp_path),
    )
    assert plan.data.source == str(tmp_path / "corpus") and plan.data.kind == "path"
    assert plan.data.options == (("text_field", "utterance"), ("words", 10000))
    assert plan.data.unit == "packed"
    assert plan.tokenizer.kind == "path" and plan.tokenizer.path == str(tmp_path / "tok.json")
    assert (plan.output.log_every, plan.output.wandb_project) == (5, "babylm")
    assert (plan.output.checkpoint_every, plan.output.keep) == (100, 1)
    assert plan.output.push_to_hub == "me/model"
    (evaluation,) = plan.evals
    assert evaluation.name == "my_pairs" and evaluation.path == str(
        tmp_path / "pairs/my_pairs.jsonl"
    )
    assert (evaluation.every, evaluation.limit) == (50, 20)
    hub = curriculumc.loads('data hub "org/name"(split=train)')
    assert (hub.data.kind, hub.data.source, hub.data.options) == (
        "hub",
        "org/name",
        (("split", "train"),),
    )


def test_compile_raises_every_error_and_keeps_warnings():
    with pytest.raises(CurriculumError) as info:
        curriculumc.loads("model roberta-smal\nsort by ngram_ppl\nat 0 mlm(mask=200%)")
    codes = [d.code for d in info.value.diagnostics]
    assert codes == ["E010", "E031", "W002"]  # errors first, then warnings
    assert str(info.value) == "unknown model preset 'roberta-smal'"


@pytest.mark.parametrize("name", ["root_pos.cur", "source_order.cur", "vocab.cur", "one_line.cur"])
def test_plan_json_round_trip(name):
    plan = curriculumc.load(REPO / "specs" / name)
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.hash == plan.hash


def test_shipped_plan_schema_matches_the_plan_dataclasses():
    from support.plan_schema_gen import schema_text

    shipped = (REPO / "curriculumc" / "lang" / "plan.schema.json").read_text(encoding="utf-8")
    assert shipped == schema_text(), "regenerate with: python tests/support/plan_schema_gen.py"


def test_load_plan_accepts_a_compiled_plan_and_rejects_a_broken_one(tmp_path):
    plan = curriculumc.load(REPO / "specs" / "source_order.cur")
    good = tmp_path / "plan.json"
    good.write_text(plan.to_json())
    assert curriculumc.load_plan(good) == plan

    data = json.loads(plan.to_json())
    data["train"]["steps"] = "many"
    data["pace"]["speed"] = 3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, indent=2, sort_keys=True))
    with pytest.raises(CurriculumError) as info:
        curriculumc.load_plan(bad)
    messages = sorted(d.message for d in info.value.diagnostics)
    assert any("unknown key 'speed'" in m for m in messages)
    assert any(m.startswith("train.steps:") for m in messages)
    lines = bad.read_text().split("\n")
    for diagnostic in info.value.diagnostics:
        assert diagnostic.code == "E190"
        assert any(k in lines[diagnostic.span.line - 1] for k in ('"speed"', '"steps"'))

    broken = tmp_path / "broken.json"
    broken.write_text('{"train": ')
    with pytest.raises(CurriculumError) as info:
        curriculumc.load_plan(broken)
    assert info.value.diagnostics[0].span.line == 1


def test_make_control_replaces_only_the_sort_terms():
    plan = curriculumc.load(REPO / "specs" / "source_order.cur")
    control = curriculumc.make_control(plan)
    assert control.sort.terms == (ScorerTerm("random"),) and not control.sort.descending
    assert control.pace == plan.pace and control.phases == plan.phases
    assert control.train == plan.train and control.hash != plan.hash
    with pytest.raises(CurriculumError):
        curriculumc.make_control(plan, "randm")


def test_stage_functions_survive_importing_the_stage_modules():
    from curriculumc.lang.builder import build_plan  # noqa: F401
    from curriculumc.lang.compiler import analyse  # noqa: F401
    from curriculumc.lang.parser import parser  # noqa: F401

    assert callable(curriculumc.parse) and callable(curriculumc.check)
    assert curriculumc.compile(curriculumc.parse("at 0 mlm")).phases[0].start == 0


def test_batch_units_sampling_and_ties_in_the_plan():
    plan = curriculumc.loads(
        "train 2000 steps, batch 4096 tokens, sample with replacement\n"
        "sort by ngram_ppl\npace root from 10% over 10000 release at 80% ties include"
    )
    assert (plan.train.batch, plan.train.batch_unit, plan.train.sampling) == (
        4096, "tokens", "replacement",
    )  # fmt: skip
    assert plan.pace == Pace("root", 0.1, 1.0, 10000, 0, 0.8, "include")
    # the defaults: examples, epochs, random ties -- also when written out
    default = curriculumc.loads("sort by ngram_ppl\npace root from 10% over 10000")
    assert (default.train.batch_unit, default.train.sampling, default.pace.ties) == (
        "examples", "epochs", "random",
    )  # fmt: skip
    written = curriculumc.loads(
        "train batch 32 examples, sample without replacement\n"
        "sort by ngram_ppl\npace root from 10% over 10000 ties random"
    )
    assert written == default and written.hash == default.hash
    assert curriculumc.loads("train batch 32").train == curriculumc.loads("").train


def test_a_v1_plan_reads_as_sampling_with_replacement():
    plan = curriculumc.load(REPO / "specs" / "source_order.cur")
    data = json.loads(plan.to_json())
    data["version"] = 1
    for key in ("batch_unit", "sampling"):
        del data["train"][key]
    del data["pace"]["ties"], data["vocab"]["ties"], data["vocab_rule"]
    old = Plan.from_dict(data)
    assert old.version == PLAN_VERSION and old.train.sampling == "replacement"
    assert old.train.batch_unit == "examples" and old.pace.ties == "random"
    assert old.hash != plan.hash  # the same spec, but not the same sampling


def test_load_plan_reads_a_version_1_plan_json(tmp_path):
    plan = curriculumc.load(REPO / "specs" / "source_order.cur")
    data = json.loads(plan.to_json())
    data["version"] = 1
    for key in ("batch_unit", "sampling"):
        del data["train"][key]
    del data["vocab_rule"]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    old = curriculumc.load_plan(path)
    assert old.train.sampling == "replacement" and old.version == PLAN_VERSION
    data["version"] = PLAN_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(CurriculumError) as info:
        curriculumc.load_plan(path)
    assert info.value.diagnostics[0].code == "E190"
