"""The parser: statements, numbers, spans, and syntax errors named in words."""

from __future__ import annotations

import pytest

import curriculumc
from curriculumc.errors import CurriculumError
from curriculumc.lang import ast
from curriculumc.lang.parser import parse, parse_fragment

ONE_LINE = "sort by ngram_ppl; pace root from 10% over 10000 release at 80%; at 0 mlm, at 10000 pos"
MULTI_LINE = """
# the same, one statement a line
sort by ngram_ppl
pace root from 10% over 10000 release at 80%   # root pacing
at 0 mlm
at 10000 pos
"""


def _errors(text: str) -> list:
    with pytest.raises(CurriculumError) as info:
        parse(text, "t.cur")
    return list(info.value.diagnostics)


def test_one_line_and_multi_line_forms_compile_to_the_same_plan():
    one = curriculumc.compile(parse(ONE_LINE))
    multi = curriculumc.compile(parse(MULTI_LINE))
    assert one == multi
    assert one.hash == multi.hash


def test_ast_dump_snapshot():
    spec = parse(
        "unit pn = pos(noun, verb, mask=40%)\nat 0 mlm + 0.5 pn\ndata synth(words=200k) packed"
    )
    assert ast.dump(spec) == "\n".join([
        "Spec",
        "  statements:",
        "    UnitStmt",
        "      name:",
        "        Name pn",
        "      call:",
        "        Call",
        "          name:",
        "            Name pos",
        "          args:",
        "            Arg",
        "              value:",
        "                Name noun",
        "            Arg",
        "              value:",
        "                Name verb",
        "            Arg",
        "              key:",
        "                Name mask",
        "              value:",
        "                Number 40%",
        "    AtStmt",
        "      time:",
        "        Number 0",
        "      terms:",
        "        Term",
        "          call:",
        "            Call",
        "              name:",
        "                Name mlm",
        "        Term",
        "          weight:",
        "            Number 0.5",
        "          call:",
        "            Call",
        "              name:",
        "                Name pn",
        "    DataStmt",
        "      kind: registered",
        "      source:",
        "        Name synth",
        "      args:",
        "        Arg",
        "          key:",
        "            Name words",
        "          value:",
        "            Number 200k",
        "      packed: True",
    ])  # fmt: skip


def test_every_node_carries_a_span_with_the_right_position():
    spec = parse("model roberta-small\n  pace root from 10% over 1k", "x.cur")
    pace = spec.statements[1]
    assert (pace.span.line, pace.span.column, pace.span.end_column) == (2, 3, 29)
    assert (pace.fn.span.column, pace.fn.span.end_column) == (8, 12)
    assert pace.schedule.over.span.column == 27
    assert pace.span.file == "x.cur" and pace.span.source.startswith("model")


@pytest.mark.parametrize(
    "text, magnitude, integer, share",
    [
        ("10000", 10000.0, 10000, 10000.0),
        ("10_000", 10000.0, 10000, 10000.0),
        ("10k", 10000.0, 10000, 10000.0),
        ("1.5k", 1500.0, 1500, 1500.0),
        ("1.1k", 1100.0, 1100, 1100.0),
        ("2M", 2e6, 2000000, 2e6),
        ("1e-3", 0.001, None, 0.001),
        ("0.1", 0.1, None, 0.1),
        ("10%", 10.0, None, 0.1),
        ("33.3%", 33.3, None, 0.333),
        ("1e999999999", float("inf"), None, float("inf")),
    ],
)
def test_numbers_as_written(text, magnitude, integer, share):
    number = ast.Number(text)
    assert number.magnitude == magnitude
    assert number.integer() == integer
    assert number.share == share


def test_one_number_syntax_in_the_grammar_the_yaml_reader_and_the_schema():
    import json
    from importlib import resources

    from curriculumc.lang.parser import parser
    from curriculumc.lang.schemas import BATCH_PATTERN

    assert parser().get_terminal("NUMBER").pattern.value == ast.NUMBER_PATTERN
    schema = resources.files("curriculumc.lang").joinpath("spec.schema.json").read_text("utf-8")
    patterns = set()

    def collect(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                patterns.add(node["pattern"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(json.loads(schema))
    # numbers, and a batch: a number with an optional unit word (4096 tokens)
    assert patterns == {f"^{ast.NUMBER_PATTERN}$", BATCH_PATTERN}
    assert BATCH_PATTERN == f"^({ast.NUMBER_PATTERN})( +[A-Za-z_][A-Za-z0-9_\\-]*)?$"


def test_computed_values_print_as_number_text():
    from curriculumc.lang.printer import call_text, number_text, percent_text, scalar_text

    assert [percent_text(f) for f in (0.1, 0.07, 0.125, 1.0)] == ["10%", "7%", "12.5%", "100%"]
    assert [number_text(v) for v in (400000, 4e5, 0.001, 1e-05)] == [
        "400000", "400000", "0.001", "1e-05",
    ]  # fmt: skip
    assert [scalar_text(v) for v in (True, 0.4, "noun")] == ["true", "0.4", "noun"]
    assert (call_text("mlm", []), call_text("pos", ["noun", "mask=0.4"])) == (
        "mlm", "pos(noun, mask=0.4)",
    )  # fmt: skip


def test_percent_of_training_rounds_to_a_step():
    assert ast.Number("50%").share_of(20000) == 10000
    assert ast.Number("10%").share_of(255) == 26  # 25.5 -> 26 (half to even)
    assert ast.Number("0%").share_of(999) == 0


def test_quoted_strings_hub_ids_and_paths():
    spec = parse('data hub "org/name"\ndata "a \\"b\\".jsonl"\npush to hub me/model\ndata org/x')
    assert spec.statements[0].kind == "hub" and spec.statements[0].source.value == "org/name"
    assert spec.statements[1].source.value == 'a "b".jsonl'
    assert spec.statements[2].repo.value == "me/model"
    assert spec.statements[3].kind == "hub"


def test_extended_pace_form_and_eval_options():
    spec = parse("pace root from 10% to 90% after 2k over 8000 release at 80%\n"
                 "eval blimp every 500 limit 10 at phases")  # fmt: skip
    schedule = spec.statements[0].schedule
    assert [schedule.start.text, schedule.end.text, schedule.after.text] == ["10%", "90%", "2k"]
    assert [schedule.over.text, schedule.release.text] == ["8000", "80%"]
    evaluation = spec.statements[1]
    assert (evaluation.every.text, evaluation.limit.text, evaluation.at_phases) == (
        "500",
        "10",
        True,
    )


def test_units_ties_and_sampling_wording_parse_with_their_spans():
    text = "train 2k steps, batch 4096 tokens, sample with replacement\n" \
        "pace root from 10% over 10000 release at 80% ties include"  # fmt: skip
    train, pace = parse(text).statements
    steps, batch, sample = train.settings
    assert (steps.key.value, steps.value.text, steps.unit) == ("steps", "2k", None)
    assert (batch.value.text, batch.unit.value) == ("4096", "tokens")
    assert (batch.unit.span.column, batch.unit.span.end_column) == (28, 34)
    assert (sample.value.value, sample.unit.value) == ("with", "replacement")
    assert pace.ties.rule.value == "include"
    assert (pace.ties.span.line, pace.ties.span.column, pace.ties.span.end_column) == (2, 46, 58)
    assert parse("pace root from 10% over 10").statements[0].ties is None
    assert parse("vocab linear from 1% over 5 ties random").statements[0].ties.rule.value == (
        "random"
    )
    value, unit = parse_fragment("32 examples", "setting_value")
    assert (value.text, unit.value) == ("32", "examples")
    value, unit = parse_fragment("1e-3", "setting_value")
    assert (value.text, unit) == ("1e-3", None)
    # 'ties' is a keyword only after a pace: elsewhere it is a name
    assert parse("unit ties = pos(noun)").statements[0].name.value == "ties"


@pytest.mark.parametrize(
    "text, start, column",
    [
        ("pace root from 10% over 10 ties", "missing the tie rule after 'ties'", 32),
        ("pace root from 10% over 10 ties 3", "missing the tie rule after 'ties'", 33),
        ("pace root from 10% over 10 ties include release at 80%", "'ties' comes after the "
         "schedule", 41),
        ("pace root from 10% over 10 ties include x", "unexpected text after the end", 41),
        ("train batch 32 tokens x", "unexpected text after the end", 23),
    ],
)  # fmt: skip
def test_syntax_errors_of_ties_and_setting_words(text, start, column):
    (error,) = _errors(text)
    assert error.code == "E001" and error.message.startswith(start), error.message
    assert error.span.column == column


def test_keywords_are_names_where_a_name_is_expected():
    spec = parse("unit data = pos(noun)\nat 0 data")  # 'data' is a statement keyword
    assert spec.statements[0].name.value == "data"


def test_several_syntax_errors_are_reported_together_in_file_order():
    errors = _errors("model roberta-small\npace root from 10%\nsort by x(n=3\nat 0 mlm pos\npaec x")
    assert [(e.span.line, e.code) for e in errors] == [(2, "E001"), (3, "E001"), (4, "E001"),
                                                        (5, "E001")]  # fmt: skip
    assert errors[0].message.startswith("missing 'over'")
    assert errors[1].message.startswith("unclosed parenthesis")
    assert errors[2].message.startswith("unexpected text after the end of the statement")
    assert (errors[2].span.column, errors[2].span.end_column) == (10, 13)
    assert errors[3].message.startswith("expected a statement") and "'pace'" in errors[3].hint


@pytest.mark.parametrize(
    "text, start",
    [
        ("train 20000", "missing the setting's name"),
        ("train batch", "missing the setting's value"),
        ("at mlm", "missing a number"),
        ("at 0", "missing an objective"),
        ("at 0 mlm +", "missing an objective"),
        ("sort by x +", "missing a scorer"),
        ("pace root over 10", "missing 'from'"),
        ("pace root from 1% over 10 release 8%", "missing 'at' after 'release'"),
        ("at 0 mlm, 100 pos", "expected 'at' after ','"),
        ("unit x pos", "missing '='"),
        ("sort ngram_ppl", "missing 'by'"),
        ("eval blimp at 100", "expected 'phases'"),
        ("push to hub", "expected 'to hub"),
        ("model", "missing the model preset"),
        ('data "unclosed', "unclosed string"),
        ("at 0 pos(noun verb)", "missing ',' between arguments"),
        ("mix 0.5", "syntax error: the statement ends too early"),  # not "unexpected the end"
    ],
)
def test_syntax_errors_are_named(text, start):
    (error,) = _errors(text)
    assert error.message.startswith(start), error.message
    assert error.span.line == 1


def test_semicolon_inside_parentheses_does_not_split_a_statement_when_recovering():
    errors = _errors("sort by x(a; b)\nbad")
    assert [e.span.line for e in errors] == [1, 2]


SIX_PROBLEMS = """\
model gpt-tiny
data synht(words=10)
train 1000 steps, batch 0
sort by ngram_pl
paec root from 10% over 500
at 0 clm + -1 clm
"""


def test_a_syntax_error_does_not_stop_the_other_checks():
    # the misspelt keyword is one problem of six: the statements that parse are checked
    errors = _errors(SIX_PROBLEMS)
    assert [(e.span.line, e.code) for e in errors] == [
        (2, "E017"), (3, "E033"), (4, "E011"), (5, "E001"), (6, "E034"), (6, "E036"),
    ]  # fmt: skip
    assert "'pace'" in errors[3].hint
    # each at its exact place in the file (also after a bad statement on the same line)
    (syntax, unknown) = _errors("paec none; sort by ngram_pl\n")
    assert (syntax.code, syntax.span.line, syntax.span.column) == ("E001", 1, 1)
    assert (unknown.code, unknown.span.line, unknown.span.column) == ("E011", 1, 20)
    assert unknown.span.source == "paec none; sort by ngram_pl\n"


def test_warnings_of_the_statements_that_parse_come_after_the_errors():
    errors = _errors("sort by ngram_ppl\ndata synht\nat 0 mlm pos\n")
    assert [(e.code, e.span.line, e.severity) for e in errors] == [
        ("E017", 2, "error"), ("E001", 3, "error"), ("W002", 1, "warning")
    ]  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "model gpt-tiny extra\nat 0 clm",  # E063: clm for the default (masked) model
        "unit nv = pos(noun verb)\nat 0 nv",  # E013: an unknown unit
        "unit nv = pos(noun)\nat 0 nv extra",  # W008: the unit never used
        "train 50000 steps extra\nat 0 mlm, at 30000 mlm",  # E061: after the default 20000
        "at 0 mlm extra\nat 100 pos",  # E062: the first 'at' not at 0
        "sort by random x\npace root from 10% over 10",  # W003: pace without sort
        "pace root from 10% over 10 x\nsort by random",  # W002: sort without pacing
        "trian 50000 steps\nat 0 mlm\nat 30000 pos",  # E061, the keyword misspelt
        "12 x\nat 0 mlm\nat 30000 pos",  # no kind at all: nothing relational
    ],
)
def test_a_bad_statement_gives_one_error_and_no_cascade(text):
    # the defaults stand in for a bad statement: checks relating it to others are left out
    errors = _errors(text)
    assert [e.code for e in errors] == ["E001"], [str(e) for e in errors]


def test_non_utf8_bytes_point_at_the_byte():
    (error,) = _errors(b"model roberta-small\nat 0 \xff mlm\n")
    assert error.code == "E003"
    assert (error.span.line, error.span.column) == (2, 6)


def test_binary_garbage_is_a_diagnostic_not_a_traceback():
    errors = _errors("\x00\x01binary\x1b[0m")
    assert errors[0].code == "E002" and errors[0].span.column == 1


def test_utf8_bom_is_ignored():
    spec = parse("\ufeffmodel roberta-tiny".encode())
    assert spec.statements[0].target.value == "roberta-tiny"


def test_fragments_parse_with_their_own_start_symbol():
    terms = parse_fragment("0.7 ngram_ppl(n=3) + 0.3 sentence_length", "terms")
    assert [t.call.name.value for t in terms] == ["ngram_ppl", "sentence_length"]
    assert parse_fragment("20%", "value").text == "20%"


def test_format_spec_round_trips_to_the_same_plan():
    text = (
        "model roberta-tiny\ndata synth(words=10k, seed=2) packed\ntokenizer bpe 1000\n"
        "train 2k steps, lr 3e-4, warmup 5%, batch 4096 tokens, sample with replacement\n"
        "sort by 0.7 ngram_ppl(n=3, folds=5) + 0.3 model_ppl(every=1k, first=25k) descending\n"
        "pace quad from 10% to 90% after 100 over 50% release at 80% ties include\n"
        "vocab linear from 20% over 1k\n"
        "unit pn = pos(noun, verb, mask=40%)\nat 0 mlm, at 50% mlm + 0.5 pn\n"
        "eval blimp every 500 limit 10\nlog every 5, wandb project p\ncheckpoint every 1000 keep 2\n"
        "push to hub me/x\n"
    )
    spec = parse(text)
    again = parse(curriculumc.format_spec(spec))
    assert curriculumc.compile(again).hash == curriculumc.compile(spec).hash
    assert curriculumc.format_spec(again) == curriculumc.format_spec(spec)
    printed = curriculumc.format_spec(spec).splitlines()
    assert "batch 4096 tokens, sample with replacement" in printed[3]
    assert printed[5].endswith("release at 80% ties include")
    plan = curriculumc.compile(again)
    assert (plan.train.batch, plan.train.batch_unit, plan.train.sampling) == (
        4096, "tokens", "replacement",
    )  # fmt: skip
    assert plan.pace.ties == "include"


@pytest.mark.parametrize(
    "line",
    [
        "train batch 32 examples, sample without replacement",
        "train batch 32",
        "train sample with replacement; sort by random; pace root from 10% over 10 ties random",
        "sort by random; pace none",
    ],
)
def test_format_spec_round_trips_the_new_wording(line):
    spec = parse(line)
    printed = curriculumc.format_spec(spec)
    assert curriculumc.compile(parse(printed)).hash == curriculumc.compile(spec).hash
    assert printed == line.replace("; ", "\n") + "\n"  # printed as written
