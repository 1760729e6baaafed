"""The checker: every problem found at once, each with a code, a span and a hint."""

from __future__ import annotations

import json

import pytest

import curriculumc
from curriculumc.lang.parser import parse


def _diagnostics(text: str, base_dir: str | None = None):
    return curriculumc.check(parse(text, "t.cur", base_dir=base_dir))


def _codes(text: str) -> list[str]:
    return [d.code for d in _diagnostics(text)]


def _only(text: str, code: str):
    found = [d for d in _diagnostics(text) if d.code == code]
    assert len(found) == 1, _diagnostics(text)
    return found[0]


@pytest.mark.parametrize(
    "text, code, word, hint",
    [
        ("model roberta-smal", "E010", "roberta-smal", "did you mean 'roberta-small'"),
        ("sort by ngram_pl\npace root from 1% over 10", "E011", "ngram_pl", "'ngram_ppl'"),
        ("pace rot from 10% over 10000", "E012", "rot", "did you mean 'root'?"),
        ("at 0 mln", "E013", "mln", "did you mean 'mlm'"),
        ("eval blimpp every 10", "E015", "blimpp", "did you mean 'blimp'?"),
        ("data synth(wrods=1)", "E016", "wrods", "did you mean 'words'?"),
        ("data synht", "E017", "synht", "did you mean 'synth'?"),
        ("train bacth 3", "E018", "bacth", "did you mean 'batch'?"),
        ("at 0 pos(nuon)", "E019", "nuon", "did you mean 'noun'?"),
        ("at 0 mlm(maks=10%)", "E020", "maks", "did you mean 'mask'?"),
        ("train schedule cosin", "E022", "cosin", "did you mean 'cosine'?"),
    ],
)
def test_unknown_names_suggest_the_closest(text, code, word, hint):
    diagnostic = _only(text, code)
    assert word in diagnostic.message
    assert hint in diagnostic.hint
    line = text.split("\n")[diagnostic.span.line - 1]
    assert line[diagnostic.span.column - 1 : diagnostic.span.end_column - 1] == word


def test_all_problems_are_reported_together_in_file_order():
    diagnostics = _diagnostics(
        "model roberta-smal\npace rot from 10% over 10000\nat 0 clm\nat 0 mlm\nat 30000 pos"
    )
    assert [(d.span.line, d.code) for d in diagnostics] == [
        (1, "E010"), (2, "E012"), (3, "E063"), (4, "E060"), (5, "E061"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "text, code",
    [
        ("pace root from 0% over 10", "E031"),
        ("pace root from 120% over 10", "E031"),
        ("pace root from 10 over 10", "E031"),  # a fraction must be in (0, 1]
        ("pace root from 10% over 10 release at 0%", "E031"),
        ("pace root from 50% to 20% over 10", "E064"),
        ("pace root from 10% over 0", "E033"),
        ("pace root", "E065"),
        ("pace none from 10% over 5", "E065"),
        ("at 0 mlm + 0 pos", "E034"),
        ("at 0 mlm + -0.5 pos", "E034"),
        ("at 0 mlm + mlm", "E036"),
        ("at 0 mlm(mask=150%)", "E031"),
        ("at 0.5 mlm", "E030"),
        ("train 1.5 steps", "E030"),
        ("train batch 0", "E033"),
        ("train lr 0", "E033"),
        ("train steps 10, steps 20", "E036"),
        ("sort by source\npace root from 1% over 1", "E035"),
        ("sort by column(a, b)\npace root from 1% over 1", "E035"),
        ("sort by sentence_length(x)\npace root from 1% over 1", "E035"),
        ("tokenizer bpe 100", "E033"),
        ("tokenizer wordpiece", "E021"),
        ("unit mlm = mlm", "E038"),
        ("unit a = mlm\nunit a = pos\nat 0 a", "E038"),
        ("unit a = mlm\nat 0 a(x)", "E035"),
        ("at 100 mlm", "E062"),
        ("at 0 mlm\nat 0 pos", "E060"),
        ("train 100 steps\nat 0 mlm\nat 100 pos", "E061"),
        ("at 0 clm", "E063"),
        ("model gpt-tiny\nat 0 pos", "E063"),
        ("model roberta-small\nmodel roberta-tiny", "E037"),
        ("data synth\ndata synth", "E037"),
        ("pace none\npace none", "E037"),
        ("eval blimp\neval blimp", "E066"),
        ('model "nowhere/config.json"', "E040"),
        ("eval blimp every 0", "E033"),
    ],
)
def test_value_and_structure_errors(text, code):
    diagnostic = _only(text, code)
    assert diagnostic.is_error and diagnostic.span is not None


def test_duplicate_statement_points_at_the_second():
    diagnostic = _only("model roberta-small\ntrain 10 steps\nmodel roberta-tiny", "E037")
    assert diagnostic.span.line == 3 and "line 1" in diagnostic.hint


@pytest.mark.parametrize(
    "text, code",
    [
        ("pace root from 10% over 30000\nsort by random", "W001"),
        ("sort by ngram_ppl", "W002"),
        ("sort by ngram_ppl\npace none", "W002"),
        ("pace root from 10% over 100", "W003"),
        ("vocab linear from 10% over 100\nat 0 mlm + pos", "W004"),
        ('data "no/such/file.jsonl"', "W005"),
        ("eval blimp every 30000", "W006"),
        ("train 100 steps, warmup 100", "W007"),
        ("unit spare = pos(noun)", "W008"),
        ("checkpoint every 50000", "W009"),
    ],
)
def test_warnings(text, code):
    diagnostic = _only(text, code)
    assert diagnostic.severity == "warning"
    assert not any(d.is_error for d in _diagnostics(text))


def test_warnings_do_not_fail_and_clean_specs_have_none():
    plan, warnings = curriculumc.loads_with_warnings("sort by ngram_ppl")
    assert [w.code for w in warnings] == ["W002"]
    assert plan.sort.terms[0].name == "ngram_ppl"
    assert _codes("sort by ngram_ppl; pace root from 10% over 10000 release at 80%") == []


def test_release_before_the_end_of_training_is_not_a_warning():
    assert _codes("sort by random\npace root from 10% over 30000 release at 50%") == []


def test_model_config_path_gives_the_family(tmp_path):
    (tmp_path / "gpt").mkdir()
    (tmp_path / "gpt" / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (tmp_path / "odd.json").write_text(json.dumps({"model_type": "mystery"}))
    plan = curriculumc.loads('model "gpt"', base_dir=str(tmp_path))
    assert plan.model.family == "causal" and plan.model.preset == str(tmp_path / "gpt")
    assert plan.phases[0].objectives == (("clm", 1.0),)
    diagnostics = _diagnostics('model "odd.json"', base_dir=str(tmp_path))
    assert [d.code for d in diagnostics] == ["E040"]
    assert "masked or causal" in diagnostics[0].message


def test_model_config_family_reads_architectures_then_model_type(tmp_path):
    configs = {
        "clm.json": {"model_type": "roberta", "architectures": ["RobertaForCausalLM"]},
        "decoder.json": {"model_type": "bert", "is_decoder": True},
        "ours.json": {"model_type": "roberta-prelayernorm"},
    }
    for name, config in configs.items():
        (tmp_path / name).write_text(json.dumps(config))
    family = {n: curriculumc.loads(f'model "{n}"', base_dir=str(tmp_path)).model.family
              for n in configs}  # fmt: skip
    assert family == {"clm.json": "causal", "decoder.json": "causal", "ours.json": "masked"}


@pytest.mark.parametrize(
    "text, word, message",
    [
        ("sort by ngram_ppl(n=20)", "20", "'n' must be between 1 and 8, not 20"),
        ("sort by ngram_ppl(n=0)", "0", "'n' must be between 1 and 8, not 0"),
        ("sort by model_ppl(every=0)", "0", "'every' must be at least 1, not 0"),
        ("sort by model_ppl(every=10, batch=0)", "0", "'batch' must be at least 1, not 0"),
        ("sort by 0.5 random + 0.5 ngram_ppl(n=1k)", "1k", "'n' must be between 1 and 8, not 1k"),
    ],
)
def test_arguments_out_of_the_runtime_range_are_errors_at_the_value(text, word, message):
    diagnostic = _only(text + "\npace root from 10% over 10", "E033")
    assert diagnostic.message == message
    start, end = diagnostic.span.column - 1, diagnostic.span.end_column - 1
    assert (diagnostic.span.line, text[start:end]) == (1, word)


def test_arguments_within_the_runtime_range_pass():
    from curriculumc.registry import BUILTIN_SCORERS

    assert BUILTIN_SCORERS["ngram_ppl"].range_of("n") == (1, 8)
    assert BUILTIN_SCORERS["random"].range_of("seed") == (0, None)
    for text in ("sort by ngram_ppl(n=1)", "sort by ngram_ppl(n=8)", "sort by random(seed=0)",
                 "sort by model_ppl(every=1, batch=1)"):  # fmt: skip
        assert _codes(text + "\npace root from 10% over 10") == []
    assert _codes("at 0 mlm(mask=90%), at 5 pos(mask=100%, mask_other=1%)") == []


def test_yaml_argument_out_of_range_points_into_the_yaml():
    text = (
        "curriculum:\n  scoring_fn: ngram_ppl\n  scoring_fn_kwargs: {n: 20}\n"
        "  pacing_fn: root\n  pacing_fn_kwargs: {start_percent: 0.1, num_steps: 10}\n"
    )
    with pytest.raises(curriculumc.CurriculumError) as info:
        curriculumc.loads(text, "t.yaml")
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.code == "E033" and (diagnostic.span.line, diagnostic.span.column) == (3, 26)


def test_existing_data_path_gives_no_warning(tmp_path):
    (tmp_path / "train.txt").write_text("hello\n")
    assert _diagnostics('data "train.txt"', base_dir=str(tmp_path)) == []


def test_check_never_raises_on_absurd_numbers():
    codes = _codes(
        "train 1e999999999 steps, lr 1e999\nat 1e99999 mlm\npace root from 1e-99999% over 9e99k"
    )
    assert codes and all(code.startswith("E") for code in codes)


def test_an_unknown_pacing_function_does_not_hide_its_schedule_errors():
    codes = _codes("sort by random\npace rot from 10% over 10000 release at 180%")
    assert codes == ["E012", "E031"]


# --- batch units, sampling wording, tie rules (issue 11) ---------------------------------


def _at(text: str, diagnostic) -> str:
    line = text.split("\n")[diagnostic.span.line - 1]
    return line[diagnostic.span.column - 1 : diagnostic.span.end_column - 1]


@pytest.mark.parametrize(
    "text, code, word, message, hint",
    [
        ("train batch 32 tokns", "E022", "tokns", "unknown batch unit 'tokns'",
         "did you mean 'tokens'?"),
        ("train lr 1e-3 tokens", "E032", "tokens", "unexpected 'tokens' after the value of 'lr'",
         "only 'batch' takes a unit ('batch 4096 tokens'), and 'warmup' a time's ('warmup 100k words')"),
        ("train batch 100 tokens", "E039", "100",
         "a budget of 100 tokens cannot hold one example of up to 126 tokens of text "
         "(seq 128 - 2)",
         "give at least 'batch 126 tokens' (e.g. 'batch 4096 tokens'), lower 'seq', or count "
         "examples: 'batch 32'"),
        ("train seq 64, batch 61 tokens", "E039", "61",
         "a budget of 61 tokens cannot hold one example of up to 62 tokens of text (seq 64 - 2)",
         "give at least 'batch 62 tokens' (e.g. 'batch 2048 tokens'), lower 'seq', or count "
         "examples: 'batch 32'"),
        ("train sample whith replacement", "E022", "whith", "unknown sampling 'whith replacement'",
         "did you mean 'sample with replacement'?"),
        ("train sample without replacment", "E022", "replacment",
         "unknown sampling 'without replacment'", "did you mean 'sample without replacement'?"),
        ("train sample with", "E022", "with", "missing 'replacement' after 'sample with'",
         "write 'sample with replacement'"),
        ("train sample epochs", "E022", "epochs", "unknown sampling 'epochs'",
         "sampling 'epochs' is written 'sample without replacement'"),
        ("train sample randomly", "E022", "randomly", "unknown sampling 'randomly'",
         "write 'sample without replacement' or 'sample with replacement'"),
        ("train sampel with replacement", "E018", "sampel", "unknown training setting 'sampel'",
         "did you mean 'sample'?"),
        ("sort by random\npace root from 10% over 10 ties incude", "E022", "incude",
         "unknown tie rule 'incude'", "did you mean 'include'?"),
        ("vocab linear from 10% over 10 ties include", "E067", "ties include",
         "'ties' belongs to the data pace: the vocabulary is released by token id, which never "
         "ties", "remove it here; write it on 'pace' (pace root from 10% over 10000 ties "
         "include)"),
        ("pace none ties random", "E067", "ties random",
         "'pace none' releases all data: it has no pool edge for 'ties' to decide",
         "remove 'ties', or pace the data"),
    ],
)  # fmt: skip
def test_batch_sampling_and_tie_errors_point_at_the_word(text, code, word, message, hint):
    diagnostic = _only(text, code)
    assert diagnostic.is_error
    assert (diagnostic.message, diagnostic.hint) == (message, hint)
    assert _at(text, diagnostic) == word


def test_a_budget_of_seq_tokens_or_more_passes_and_the_check_follows_seq():
    assert _codes("train batch 128 tokens") == []
    assert _codes("train seq 64, batch 64 tokens") == []
    assert _codes("train batch 100 examples") == []  # examples: no budget to check
    # seq given in another train statement, after the batch: still checked against it
    assert _codes("train batch 200 tokens\ntrain seq 256") == ["E039"]


@pytest.mark.parametrize(
    "text, kwargs",
    [
        ("sort by ngram_ppl(folds=2)", (("folds", 2),)),
        ("sort by ngram_ppl(n=2, folds=100)", (("folds", 100), ("n", 2))),
        ("sort by model_ppl(first=25k)", (("first", 25000),)),
        ("sort by model_ppl(every=25k, first=0)", (("every", 25000), ("first", 0))),
        ("sort by model_ppl(every=1.5k, first=2k, batch=8)",
         (("batch", 8), ("every", 1500), ("first", 2000))),
    ],
)  # fmt: skip
def test_scorer_folds_and_first_within_the_registry_ranges(text, kwargs):
    plan = curriculumc.loads(text + "\npace root from 10% over 10")
    assert plan.sort.terms[0].kwargs == kwargs


@pytest.mark.parametrize(
    "text, word, message",
    [
        ("sort by ngram_ppl(folds=0)", "0", "'folds' must be between 1 and 100, not 0"),
        ("sort by ngram_ppl(folds=101)", "101", "'folds' must be between 1 and 100, not 101"),
        ("sort by model_ppl(first=-1)", "-1", "'first' must be at least 0, not -1"),
    ],
)
def test_scorer_folds_and_first_out_of_range_are_errors_at_the_value(text, word, message):
    diagnostic = _only(text + "\npace root from 10% over 10", "E033")
    assert diagnostic.message == message
    assert _at(text, diagnostic) == word
    assert _only("sort by model_ppl(first=1.5)\npace root from 1% over 1", "E030").span.column == 25
