"""Loading minimal-pair sets: BLiMP folders, single files, other column names, bad files."""

from __future__ import annotations

import json
import time

import pytest
from support.paths import shared_data

from curriculumc.errors import CurriculumError
from curriculumc.runtime.evaluate.minimal_pairs import PairFormat, load_pairs, normalise_field


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def code_and_span(caught):
    diagnostic = caught.value.diagnostics[0]
    return diagnostic.code, (
        diagnostic.span.file,
        diagnostic.span.line,
    ) if diagnostic.span else None


def test_real_blimp_folder_with_limit():
    pairs = load_pairs(shared_data("blimp"), limit=3)
    assert len(pairs.paradigms) == 67
    assert len(pairs) == 67 * 3
    assert {p.field for p in pairs.pairs} == {
        "morphology",
        "syntax",
        "semantics",
        "syntax_semantics",
    }
    first = pairs.pairs[0]
    assert (first.paradigm, first.pair_id, first.line) == ("adjunct_island", "0", 1)
    assert first.good == "Who should Derek hug after shocking Richard?"
    # the same call gives the same pairs (first N of each paradigm, in file order)
    assert load_pairs(shared_data("blimp"), limit=3) == pairs


def test_single_file_without_paradigm_field_or_id_columns(tmp_path):
    file = write_jsonl(
        tmp_path / "agreement.jsonl",
        [
            {"sentence_good": "the dog runs", "sentence_bad": "the dog run"},
            {"sentence_good": "the dogs run", "sentence_bad": "the dogs runs"},
        ],
    )
    pairs = load_pairs(file)
    assert pairs.paradigms == ("agreement",)  # from the file name
    assert [p.pair_id for p in pairs.pairs] == ["0", "1"]  # line index
    assert {p.field for p in pairs.pairs} == {"unknown"}
    assert pairs.sentences() == ("the dog runs", "the dog run", "the dogs run", "the dogs runs")


def test_configurable_column_names(tmp_path):
    write_jsonl(
        tmp_path / "a.jsonl",
        [
            {
                "good": "a b",
                "bad": "b a",
                "phenomenon": "order",
                "area": "Syntax/Semantics",
                "pair_id": 7,
            },
            {
                "good": "c d",
                "bad": "d c",
                "phenomenon": "order",
                "area": "Syntax/Semantics",
                "pair_id": 8,
            },
        ],
    )
    fmt = PairFormat(good="good", bad="bad", paradigm="phenomenon", field="area", pair_id="pair_id")
    pairs = load_pairs(tmp_path, fmt=fmt)
    assert pairs.paradigms == ("order",)
    assert [p.pair_id for p in pairs.pairs] == ["7", "8"]
    assert pairs.pairs[0].field == "syntax_semantics"
    with pytest.raises(CurriculumError) as caught:
        load_pairs(tmp_path)  # the default names are not in this file
    assert code_and_span(caught) == ("E603", (str(tmp_path / "a.jsonl"), 1))
    assert "sentence_good" in caught.value.diagnostics[0].message


@pytest.mark.parametrize(
    "fmt, column, close",
    [
        (PairFormat(pair_id="pairID"), "pairID", "'pair_id'"),
        (PairFormat(field="feild"), "feild", "'field'"),
        (PairFormat(paradigm="uid"), "uid", "'UID'"),
    ],
)
def test_a_named_column_that_is_absent_is_an_error(tmp_path, fmt, column, close):
    # BabyLM's filtered BLiMP layout: pair_id, not pairID
    row = {
        "sentence_good": "a b",
        "sentence_bad": "b a",
        "field": "syntax",
        "linguistics_term": "order",
        "UID": "order",
        "pair_id": 3,
    }
    file = write_jsonl(tmp_path / "order.jsonl", [row])
    with pytest.raises(CurriculumError) as caught:
        load_pairs(file, fmt=fmt)
    diagnostic = caught.value.diagnostics[0]
    assert code_and_span(caught) == ("E603", (str(file), 1))
    assert f"column '{column}' is missing" in diagnostic.message
    assert "columns found: UID, field, linguistics_term, pair_id" in diagnostic.message
    assert close in (diagnostic.hint or "")


def test_pair_id_and_pairID_are_both_read_by_default(tmp_path):
    write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"sentence_good": "a b", "sentence_bad": "b a", "pair_id": 10},
            {"sentence_good": "c d", "sentence_bad": "d c", "pair_id": 11},
        ],
    )
    write_jsonl(
        tmp_path / "b.jsonl", [{"sentence_good": "e f", "sentence_bad": "f e", "pairID": "5"}]
    )
    pairs = load_pairs(tmp_path)
    assert [p.pair_id for p in pairs.pairs] == ["10", "11", "5"]
    # naming the column that is there works as before
    assert [
        p.pair_id for p in load_pairs(tmp_path / "a.jsonl", fmt=PairFormat(pair_id="pair_id")).pairs
    ] == ["10", "11"]


def test_normalise_field():
    assert normalise_field("syntax/semantics") == "syntax_semantics"
    assert normalise_field(" Morphology ") == "morphology"
    assert normalise_field(None) == normalise_field("") == "unknown"


@pytest.mark.parametrize(
    "lines, code, line",
    [
        (['{"sentence_good": "a", "sentence_bad": "b"}', "{not json"], "E602", 2),
        (['{"sentence_good": "a", "sentence_bad": "b"}', "", "[1, 2]"], "E602", 3),
        (['{"sentence_good": "a", "sentence_bad": ""}'], "E603", 1),
        (['{"sentence_good": "a", "sentence_bad": 3}'], "E603", 1),
        (
            [
                '{"sentence_good": "a", "sentence_bad": "b", "pairID": "1"}',
                '{"sentence_good": "c", "sentence_bad": "d", "pairID": "1"}',
            ],
            "E605",
            2,
        ),
        (
            [
                '{"sentence_good": "a", "sentence_bad": "b", "field": "syntax"}',
                '{"sentence_good": "c", "sentence_bad": "d", "field": "semantics"}',
            ],
            "E604",
            2,
        ),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, lines, code, line):
    file = tmp_path / "p.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CurriculumError) as caught:
        load_pairs(file)
    assert code_and_span(caught) == (code, (str(file), line))


def test_bad_sources(tmp_path):
    with pytest.raises(CurriculumError) as caught:
        load_pairs(tmp_path)
    assert code_and_span(caught)[0] == "E601"  # a folder without .jsonl files
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(CurriculumError) as caught:
        load_pairs(tmp_path)
    assert code_and_span(caught)[0] == "E608"
    with pytest.raises(CurriculumError) as caught:
        load_pairs(tmp_path / "missing" / "blimp.jsonl")
    assert code_and_span(caught)[0] == "E600"
    with pytest.raises(CurriculumError) as caught:
        load_pairs(tmp_path / "empty.jsonl", limit=0)
    assert code_and_span(caught)[0] == "E609"


def test_hub_id_offline_fails_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(CurriculumError) as caught:
        load_pairs("blimp")
    assert time.perf_counter() - started < 2
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E606"
    assert "nyu-mll/blimp" in diagnostic.message
    assert "alexwarstadt/blimp" in diagnostic.hint  # says what to fetch instead
