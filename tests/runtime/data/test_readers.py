"""Reading raw examples: every input kind, and every bad-input rule with exact counts."""

from __future__ import annotations

import json
import math
import time

import pytest
from support.data_inputs import aochildes_slice

from curriculumc.errors import CurriculumError
from curriculumc.plan import DataSpec
from curriculumc.runtime.data.readers import DEFAULT_SYNTH_WORDS, ReadReport, load_raw


def read_all(spec, tmp_path, *, with_pos=False, batch_size=4096):
    raw = load_raw(spec, cache_dir=tmp_path / "cache")
    report = ReadReport()
    texts, sources, pos, columns = [], [], [], {}
    for batch in raw.batches(report=report, with_pos=with_pos, batch_size=batch_size):
        assert batch.start == len(texts)
        for name, values in batch.columns.items():
            column = columns.setdefault(name, [math.nan] * len(texts))
            column.extend(values)
        texts.extend(batch.texts)
        for column in columns.values():
            column.extend([math.nan] * (len(texts) - len(column)))
        sources.extend(batch.sources)
        if with_pos:
            pos.extend(batch.pos)
    return raw, report, texts, sources, columns, pos


def path_spec(path, **options):
    return DataSpec(source=str(path), kind="path", options=tuple(options.items()))


def error_of(excinfo):
    return excinfo.value.diagnostics[0]


def test_plain_text_file_strips_and_counts_empty_lines(tmp_path):
    path = tmp_path / "cds.txt"
    path.write_text("  hello there \n\n   \nlook at the doggie\r\nbye\n", "utf-8")
    raw, report, texts, sources, columns, _ = read_all(path_spec(path), tmp_path)
    assert texts == ["hello there", "look at the doggie", "bye"]
    assert sources == ["cds"] * 3
    assert columns == {}
    assert report.rules == {"empty_lines": 2}
    assert report.inputs[str(path)] == {"lines": 5, "examples": 3}
    assert list(raw.texts()) == texts


def test_folder_is_one_source_per_file_in_name_order(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "b_wiki.train").write_text("the cat sat\n", "utf-8")
    (folder / "a_childes.txt").write_text("more juice\nall gone\n", "utf-8")
    (folder / "README.md").write_text("not data\n", "utf-8")
    (folder / ".hidden").write_text("not data\n", "utf-8")
    _, _, texts, sources, _, _ = read_all(path_spec(folder), tmp_path)
    assert texts == ["more juice", "all gone", "the cat sat"]
    assert sources == ["a_childes", "a_childes", "b_wiki"]


def test_aochildes_jsonl_fields_columns_and_mor(tmp_path):
    path = aochildes_slice(tmp_path, 2000)
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    _, report, texts, sources, columns, pos = read_all(path_spec(path), tmp_path, with_pos=True)
    kept = [r for r in rows if r["text"].strip()]
    assert texts == [r["text"].strip() for r in kept]
    assert sources == [r["source"] for r in kept]
    assert set(columns) == {"age", "order", "transcript"}  # every numeric field; age_days -> age
    ages = [r["age_days"] for r in kept]
    assert sum(math.isnan(v) for v in columns["age"]) == sum(a is None for a in ages)
    assert [v for v in columns["age"] if not math.isnan(v)] == [float(a) for a in ages if a]
    matching = sum(1 for r in kept if r["mor"] and len(r["mor"].split()) == len(r["text"].split()))
    assert report.rules["pos_from_mor"] == matching
    assert sum(p is not None for p in pos) == matching
    missing = sum(1 for r in kept if not r["mor"])
    assert report.rules["pos_missing"] == missing
    assert report.rules["pos_mismatch"] == len(kept) - matching - missing


def test_columns_option_restricts_and_unknown_column_is_refused(tmp_path):
    path = aochildes_slice(tmp_path, 200)  # the first 81 lines have no age
    _, _, _, _, columns, _ = read_all(path_spec(path, columns="age_days"), tmp_path)
    assert set(columns) == {"age"}
    assert sum(math.isnan(v) for v in columns["age"]) == 81
    with pytest.raises(CurriculumError) as excinfo:
        read_all(path_spec(path, columns="age,depth"), tmp_path)
    assert error_of(excinfo).code == "E309"
    assert "depth" in error_of(excinfo).message


BAD_LINES = [
    b'{"text": "good line one", "source": "A", "age": 10}\n',
    b"\n",
    b"   \n",
    b'{"text": "caf\xe9 au lait", "source": "A", "age": 11}\n',  # latin-1 byte: not UTF-8
    b'{"text": "   ", "source": "A"}\n',
    b'{"text": "no source here", "age": null}\n',
    b'{"text": "late column", "source": "B", "age": 12, "depth": 3}\n',
]


def test_bad_input_rules_have_exact_counts(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"".join(BAD_LINES))
    spec = path_spec(path, bad_lines="allow")
    _, report, texts, sources, columns, _ = read_all(spec, tmp_path, batch_size=2)
    assert texts == ["good line one", "caf\ufffd au lait", "no source here", "late column"]
    assert sources == ["A", "A", "bad", "B"]
    assert report.rules == {
        "empty_lines": 2,
        "invalid_utf8_lines": 1,
        "empty_texts": 1,
        "missing_source": 1,
    }
    assert columns["age"][:2] == [10.0, 11.0] and math.isnan(columns["age"][2])
    assert [math.isnan(v) for v in columns["depth"]] == [True, True, True, False]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b'{"text": "unclosed\n', "E303"),
        (b'["a", "list"]\n', "E304"),
        (b'{"utterance": "wrong field"}\n', "E305"),
        (b'{"text": 42}\n', "E306"),
        (b'{"text": "' + b"la " * 10 + b'"}\n', "E307"),
    ],
)
def test_refused_lines_name_file_and_line(tmp_path, line, code):
    path = tmp_path / "refused.jsonl"
    path.write_bytes(b'{"text": "fine"}\n\n' + line + b'{"text": "fine"}\n')
    with pytest.raises(CurriculumError) as excinfo:
        read_all(path_spec(path, max_chars=20), tmp_path)
    diagnostic = error_of(excinfo)
    assert diagnostic.code == code
    assert diagnostic.span.file == str(path)
    assert diagnostic.span.line == 3


def test_huge_plain_text_line_is_refused_with_its_line(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("short\n" + "word " * 5000 + "\n", "utf-8")
    with pytest.raises(CurriculumError) as excinfo:
        read_all(path_spec(path, max_chars=1000), tmp_path)
    assert (error_of(excinfo).code, error_of(excinfo).span.line) == ("E307", 2)


def test_non_utf8_plain_text_is_replaced_and_counted(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"na\xefve\nplain\n\xff\xfe\n")
    _, report, texts, _, _, _ = read_all(path_spec(path, bad_lines="allow"), tmp_path)
    assert texts == ["na\ufffdve", "plain", "\ufffd\ufffd"]
    assert report.rules["invalid_utf8_lines"] == 2


def test_universal_pos_field_and_unknown_tag(tmp_path):
    path = tmp_path / "tagged.jsonl"
    rows = [
        {"text": "the dog runs", "pos": "DET NOUN VERB"},
        {"text": "look", "pos": ["verb"]},
        {"text": "two words", "pos": "NUM"},  # mismatch: tagger fallback
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    _, report, _, _, _, pos = read_all(path_spec(path), tmp_path, with_pos=True)
    assert pos == [bytes([4, 5, 9]), bytes([9]), None]
    assert report.rules == {"pos_from_data": 2, "pos_mismatch": 1, "missing_source": 3}
    path.write_text(json.dumps({"text": "a b", "pos": "DET NOUNISH"}) + "\n", "utf-8")
    with pytest.raises(CurriculumError) as excinfo:
        read_all(path_spec(path), tmp_path, with_pos=True)
    assert (error_of(excinfo).code, error_of(excinfo).span.line) == ("E311", 1)


def test_datasets_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    table = {
        "text": ["hello there", "  ", "more juice"],
        "source": ["x", "y", None],
        "age": [10, 11, None],
        "flag": [True, False, True],
    }
    folder = tmp_path / "saved"
    datasets.Dataset.from_dict(table).save_to_disk(str(folder))
    _, report, texts, sources, columns, _ = read_all(path_spec(folder), tmp_path)
    assert texts == ["hello there", "more juice"]
    assert sources == ["x", "saved"]
    assert set(columns) == {"age"}
    assert columns["age"][0] == 10.0 and math.isnan(columns["age"][1])
    assert report.rules == {"empty_texts": 1, "missing_source": 1}


def test_hub_id_offline_fails_fast_with_a_download_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(CurriculumError) as excinfo:
        load_raw(DataSpec(source="someone/child-speech", kind="hub"), cache_dir=tmp_path)
    assert time.monotonic() - started < 2.0
    diagnostic = error_of(excinfo)
    assert diagnostic.code == "E312"
    assert "someone/child-speech" in diagnostic.message
    assert "save_to_disk" in diagnostic.hint


def test_missing_path_unknown_option_and_unknown_corpus(tmp_path):
    with pytest.raises(CurriculumError) as excinfo:
        load_raw(path_spec(tmp_path / "nope.txt"))
    assert error_of(excinfo).code == "E300"
    with pytest.raises(CurriculumError) as excinfo:
        load_raw(path_spec(tmp_path, txt_field="x"))
    assert error_of(excinfo).code == "E308"
    with pytest.raises(CurriculumError) as excinfo:
        load_raw(DataSpec(source="bnc", kind="registered"), cache_dir=tmp_path)
    assert error_of(excinfo).code == "E315"
    (tmp_path / "a.txt").write_text("words\n", "utf-8")
    with pytest.raises(CurriculumError) as excinfo:
        load_raw(path_spec(tmp_path / "a.txt", words=1000))  # a generator option
    assert error_of(excinfo).code == "E308"


def test_synth_is_read_with_universal_pos_and_columns(tmp_path):
    spec = DataSpec(source="synth", kind="registered", options=(("words", 2000),))
    raw, report, texts, _, columns, pos = read_all(spec, tmp_path, with_pos=True)
    assert raw.description == "synth(words=2000)"
    assert 1900 <= sum(len(t.split()) for t in texts) <= 2100
    assert {"depth", "length"} <= set(columns)
    assert columns["length"] == [float(len(t.split())) for t in texts]
    assert report.rules["pos_from_data"] == len(texts) and all(p is not None for p in pos)
    assert DEFAULT_SYNTH_WORDS == 300_000


def test_identity_follows_content_not_path(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one line\n", "utf-8")
    b.write_text("one line\n", "utf-8")
    first = load_raw(path_spec(a)).identity
    assert first == load_raw(path_spec(a)).identity
    a.write_text("another line\n", "utf-8")
    assert load_raw(path_spec(a)).identity != first
    assert load_raw(path_spec(a, max_chars=100)).identity != load_raw(path_spec(a)).identity
