"""YAML specs: the structured form and DSL text compile to the same plan as the DSL."""

from __future__ import annotations

import pytest
from support.paths import REPO

import curriculumc
from curriculumc.errors import CurriculumError


def _yaml(text: str, base_dir: str | None = None):
    return curriculumc.loads(text, "spec.yaml", base_dir=base_dir)


def _errors(text: str):
    with pytest.raises(CurriculumError) as info:
        _yaml(text)
    return info.value.diagnostics


def test_yaml_forms_and_dsl_give_the_same_plan_hash():
    dsl = curriculumc.load(REPO / "specs" / "root_pos.cur")
    structured = curriculumc.load(REPO / "specs" / "root_pos.yaml")
    embedded = curriculumc.load(REPO / "specs" / "root_pos_dsl.yaml")
    assert dsl == structured == embedded
    assert dsl.hash == structured.hash == embedded.hash


def test_structured_units_vocab_and_kwargs_match_the_dsl():
    structured = _yaml(
        "model: roberta-tiny\n"
        "data: {name: synth, words: 50k, packed: true}\n"
        "train: {steps: 4k, warmup: 5%, schedule: cosine}\n"
        "curriculum:\n"
        "  scoring_fn: ngram_ppl\n"
        "  scoring_fn_kwargs: {n: 3}\n"
        "  order: descending\n"
        "  pacing_fn: quad\n"
        "  pacing_fn_kwargs: {start_percent: 0.2, num_steps: 2000, end_percent: 0.9,\n"
        "                     to_percent: 95%, after_steps: 100}\n"
        "  units:\n"
        "    pos_nv: {objective: pos, tags: [noun, verb], mask: 0.4}\n"
        "    pos_all: pos(mask=15%)\n"
        "  steps: {0: mlm, 50%: mlm + 0.5 pos_nv, 3000: pos_all}\n"
        "  vocab: {pacing_fn: linear, pacing_fn_kwargs: {start_percent: 10%, num_steps: 1000}}\n"
        "eval: [blimp, {name: ppl, every: 500, limit: 10}]\n"
        "log: {every: 5}\n"
        "checkpoint: {every: 1000, keep: 2}\n"
        "push_to_hub: me/model\n"
    )
    dsl = curriculumc.loads(
        "model roberta-tiny\ndata synth(words=50k) packed\ntrain 4000 steps, warmup 5%, "
        "schedule cosine\nsort by ngram_ppl(n=3) descending\n"
        "pace quad from 20% to 95% after 100 over 2000 release at 90%\n"
        "unit pos_nv = pos(noun, verb, mask=40%)\nunit pos_all = pos(mask=0.15)\n"
        "at 0 mlm, at 2000 mlm + 0.5 pos_nv, at 3000 pos_all\nvocab linear from 10% over 1000\n"
        "eval blimp\neval ppl every 500 limit 10\nlog every 5\ncheckpoint every 1000 keep 2\n"
        "push to hub me/model\n"
    )
    assert structured == dsl and structured.hash == dsl.hash


def test_schema_errors_carry_yaml_positions_and_suggestions():
    errors = _errors("model: roberta-small\ntrain: {steps: 20k, batch: abc}\ncurriculum:\n"
                     "  scoring_fn: ngram_ppl\n  pacingfn: root\n")  # fmt: skip
    by_line = {e.span.line: e for e in errors}
    assert by_line[2].span.column == 28 and "not a number" in by_line[2].message
    assert by_line[5].message == "unknown key 'pacingfn' in 'curriculum'"
    assert by_line[5].hint == "did you mean 'pacing_fn'?"
    assert all(e.code == "E170" for e in errors)


def test_dsl_text_inside_yaml_maps_positions_to_the_yaml_lines():
    errors = _errors("model: roberta-small\ncurriculum: |\n  sort by ngram_ppl\n"
                     "  pace rot from 10% over 10000\n  at 0 mlm(\n")  # fmt: skip
    assert [(e.span.line, e.span.column, e.code) for e in errors] == [(5, 12, "E001")]
    errors = _errors("curriculum: |\n  sort by ngram_ppl\n  pace rot from 10% over 10000\n")
    (error,) = errors
    assert (error.span.line, error.span.column, error.span.end_column) == (3, 8, 11)
    assert error.span.source.startswith("curriculum: |")
    errors = _errors('curriculum: "pace rot from 10% over 100"\n')
    assert (errors[0].span.line, errors[0].span.column) == (1, 19)


def test_semantic_errors_in_structured_form_point_at_values():
    errors = _errors("curriculum:\n  scoring_fn: ngram_pl\n  pacing_fn: rot\n"
                     "  pacing_fn_kwargs: {start_percent: 0.1, num_steps: 100}\n")  # fmt: skip
    assert [(e.code, e.span.line, e.span.column) for e in errors] == [
        ("E011", 2, 15), ("E012", 3, 14),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "model: [unclosed\n",
        "a: b: c\n",
        "- 1\n- 2\n",
        "\x00",
        "curriculum: 3\n",
        "!!python/object:os.system x\n",
    ],
)
def test_broken_yaml_is_a_diagnostic(text):
    errors = _errors(text)
    assert errors and all(e.code.startswith("E17") for e in errors)


def test_unsafe_tags_are_refused_not_executed():
    errors = _errors("model: !!python/object/apply:os.system ['echo hacked']\n")
    assert errors[0].code == "E171"


def test_empty_yaml_is_all_defaults():
    assert _yaml("# nothing here\n") == curriculumc.loads("")


def test_batch_units_sampling_and_ties_in_yaml_match_the_dsl():
    structured = _yaml(
        "train: {steps: 2000, batch: 4096 tokens, sample: with replacement}\n"
        "curriculum:\n"
        "  scoring_fn: ngram_ppl\n"
        "  scoring_fn_kwargs: {folds: 5}\n"
        "  pacing_fn: root\n"
        "  pacing_fn_kwargs: {start_percent: 0.1, num_steps: 10000, end_percent: 0.8,\n"
        "                     ties: include}\n"
    )
    dsl = curriculumc.loads(
        "train 2000 steps, batch 4096 tokens, sample with replacement\n"
        "sort by ngram_ppl(folds=5)\npace root from 10% over 10000 release at 80% ties include"
    )
    assert structured == dsl and structured.hash == dsl.hash
    assert (dsl.train.batch_unit, dsl.train.sampling, dsl.pace.ties) == (
        "tokens", "replacement", "include",
    )  # fmt: skip
    quoted = _yaml('train: {batch: "32 examples", sample: "without replacement"}\n')
    assert quoted == curriculumc.loads("") and _yaml("train: {batch: 32}\n").train.batch == 32


def test_yaml_batch_sampling_and_ties_errors_point_at_the_word():
    text = (
        "train:\n  batch: 4096 tokns\n  sample: whith replacement\n  lr: 1e-3 x\n"
        "curriculum:\n  scoring_fn: random\n  pacing_fn: root\n"
        "  pacing_fn_kwargs: {start_percent: 0.1, num_steps: 10, ties: incude}\n"
        "  vocab: {pacing_fn: linear, pacing_fn_kwargs: {start_percent: 0.1, num_steps: 10,\n"
        "                                               ties: include}}\n"
    )
    errors = _errors(text)
    lines = text.split("\n")
    found = [
        (e.code, e.span.line, lines[e.span.line - 1][e.span.column - 1 : e.span.end_column - 1])
        for e in errors
    ]
    # 'lr: 1e-3 x' is not a number: the schema says so before anything is compiled
    assert found == [("E170", 4, "1e-3 x")]
    errors = _errors(text.replace("  lr: 1e-3 x\n", ""))
    lines = text.replace("  lr: 1e-3 x\n", "").split("\n")
    found = [
        (e.code, e.span.line, lines[e.span.line - 1][e.span.column - 1 : e.span.end_column - 1])
        for e in errors
    ]
    assert found == [
        ("E022", 2, "tokns"), ("E022", 3, "whith"), ("E022", 7, "incude"), ("E067", 9, "ties"),
    ]  # fmt: skip
    assert [e.hint for e in errors][:3] == [
        "did you mean 'tokens'?", "did you mean 'sample with replacement'?",
        "did you mean 'include'?",
    ]  # fmt: skip


def test_a_batch_that_is_no_number_is_a_schema_error():
    (error,) = _errors("train: {batch: lots of tokens}\n")
    assert error.code == "E170" and "a batch is 32, 32 examples or 4096 tokens" in error.message
