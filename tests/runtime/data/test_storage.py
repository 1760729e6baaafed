"""Tokenized storage: arrays equal a direct encode, truncation, packing, dtype, cache reuse."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from support.data_inputs import aochildes_slice

from curriculumc.errors import CurriculumError
from curriculumc.plan import DataSpec, TokenizerSpec
from curriculumc.runtime.data import storage
from curriculumc.runtime.data.readers import load_raw
from curriculumc.runtime.data.storage import StorageSettings, build_arrays, tokenized_corpus
from curriculumc.runtime.data.tokenized import NO_TAG
from curriculumc.runtime.data.tokenizer import prepare_tokenizer

SEQ = 12  # short, so that some lines are truncated and packing makes many chunks


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("storage")
    path = aochildes_slice(folder, 2000)
    raw = load_raw(DataSpec(source=str(path), kind="path"), cache_dir=folder)
    tokenizer = prepare_tokenizer(
        TokenizerSpec(vocab_size=700),
        raw.texts,
        corpus_identity=raw.identity,
        cache_dir=folder,
        seq=SEQ,
    )
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return raw, tokenizer, [r for r in rows if r["text"].strip()]


def direct_ids(tokenizer, rows):
    return [tokenizer.backend.encode(r["text"], add_special_tokens=False).ids for r in rows]


def test_line_unit_equals_a_direct_encode_truncated(setup, tmp_path):
    raw, tokenizer, rows = setup
    stored = tokenized_corpus(raw, tokenizer, StorageSettings("line", SEQ), cache_dir=tmp_path)
    corpus = stored.corpus
    expected = direct_ids(tokenizer, rows)
    assert len(corpus) == len(rows)
    assert corpus.ids.dtype == np.uint16 and corpus.offsets.dtype == np.int64
    for i in range(len(corpus)):
        assert corpus.example(i).tolist() == expected[i][: SEQ - 2]
    truncated = sum(len(ids) > SEQ - 2 for ids in expected)
    assert truncated > 0
    assert corpus.stats["truncated"] == truncated
    # words: those the model reads -- a truncated line counts the words starting in its
    # kept tokens (issue 17: all its words were counted), and what was cut is reported
    read = []
    for r, ids in zip(rows, expected):
        encoding = tokenizer.backend.encode(r["text"], add_special_tokens=False)
        end = encoding.offsets[SEQ - 3][1] if len(ids) > SEQ - 2 else len(r["text"])
        read.append(len(r["text"][:end].split()))
    every = [len(r["text"].split()) for r in rows]
    assert corpus.words.tolist() == read != every
    assert corpus.text_words(SEQ).tolist() == read
    cut_tokens = sum(len(ids) - (SEQ - 2) for ids in expected if len(ids) > SEQ - 2)
    assert stored.summary["words"] == sum(every)
    assert stored.summary["truncation"] == {
        "seq": SEQ,
        "examples": truncated,
        "share": truncated / len(rows),
        "tokens_cut": cut_tokens,
        "token_share": cut_tokens / sum(map(len, expected)),
        "words_cut": sum(every) - sum(read),
    }
    assert corpus.truncation(SEQ) == stored.summary["truncation"]
    text = storage.truncation_text(stored.summary["truncation"], "x.jsonl")
    assert f"truncated: {truncated:,} examples" in text and '`data "x.jsonl" packed`' in text
    assert [corpus.source_names[s] for s in corpus.source] == [r["source"] for r in rows]
    ages = np.array([np.nan if r["age_days"] is None else r["age_days"] for r in rows])
    np.testing.assert_array_equal(np.asarray(corpus.columns["age"]), ages)
    assert corpus.stats["missing:age"] == int(np.isnan(ages).sum())
    assert isinstance(corpus.ids, np.memmap)  # opened from the cache, not held in memory
    assert stored.summary["sources"] == {
        name: {
            "examples": sum(r["source"] == name for r in rows),
            "words": sum(len(r["text"].split()) for r in rows if r["source"] == name),
        }
        for name in corpus.source_names
    }


def test_packed_unit_joins_lines_with_separator_and_keeps_word_total(setup, tmp_path):
    raw, tokenizer, rows = setup
    settings = StorageSettings("packed", SEQ)
    corpus = tokenized_corpus(raw, tokenizer, settings, cache_dir=tmp_path, need_pos=True).corpus
    expected = direct_ids(tokenizer, rows)
    stream = []
    for k, ids in enumerate(expected):
        stream.extend(([2] if k else []) + ids)  # </s> between lines
    assert corpus.ids.tolist() == stream
    lengths = corpus.lengths()
    assert (lengths[:-1] == SEQ - 2).all() and 0 < lengths[-1] <= SEQ - 2
    assert int(corpus.words.sum()) == sum(len(r["text"].split()) for r in rows)
    assert "truncated" not in corpus.stats
    # a chunk's source is that of the line it starts in
    line_starts = np.cumsum([0] + [len(ids) + 1 for ids in expected[:-1]])
    first_line = np.searchsorted(line_starts, corpus.offsets[:-1], side="right") - 1
    assert corpus.source.tolist() == [
        corpus.source_names.index(rows[k]["source"]) for k in first_line
    ]
    assert len(corpus.pos) == len(corpus.ids)
    assert (np.asarray(corpus.pos)[np.asarray(corpus.ids) == 2] == NO_TAG).all()


def test_second_call_reuses_the_cache_without_tokenizing(setup, tmp_path, monkeypatch):
    raw, tokenizer, _ = setup
    settings = StorageSettings("line", SEQ)
    first = tokenized_corpus(raw, tokenizer, settings, cache_dir=tmp_path)
    stamps = {p.name: p.stat().st_mtime_ns for p in first.directory.iterdir()}

    def must_not_run(*args, **kwargs):
        raise AssertionError("re-tokenized a cached corpus")

    monkeypatch.setattr(storage, "build_arrays", must_not_run)
    again = tokenized_corpus(raw, tokenizer, settings, cache_dir=tmp_path)
    assert (first.origin, again.origin) == ("built", "cached")
    assert again.corpus.content_hash == first.corpus.content_hash
    assert {p.name: p.stat().st_mtime_ns for p in again.directory.iterdir()} == stamps
    assert not [p for p in (tmp_path / "corpora").iterdir() if p.name.startswith(".")]


def test_pos_added_to_an_existing_cache(setup, tmp_path):
    raw, tokenizer, rows = setup
    settings = StorageSettings("line", SEQ)
    plain = tokenized_corpus(raw, tokenizer, settings, cache_dir=tmp_path)
    assert plain.corpus.pos is None
    tagged = tokenized_corpus(raw, tokenizer, settings, cache_dir=tmp_path, need_pos=True)
    assert tagged.origin == "cached+pos" and tagged.directory == plain.directory
    assert len(tagged.corpus.pos) == len(tagged.corpus.ids)
    assert tagged.summary["pos"]["lines"]["from_mor"] > 0.9 * len(rows)
    assert tagged.corpus.stats["pos_tagged_words"] > 0
    first = tokenized_corpus(
        raw, tokenizer, settings, cache_dir=tmp_path, need_pos=True, pos_align="first"
    )
    tagged_first = int((np.asarray(first.corpus.pos) != NO_TAG).sum())
    tagged_all = int((np.asarray(tagged.corpus.pos) != NO_TAG).sum())
    assert tagged_first < tagged_all


def test_large_vocabulary_uses_uint32(setup):
    raw, tokenizer, _ = setup
    wide = replace(tokenizer, vocab_size=70_000)
    arrays, _ = build_arrays(raw, wide, StorageSettings("line", SEQ))
    narrow, _ = build_arrays(raw, tokenizer, StorageSettings("line", SEQ))
    assert arrays.ids.dtype == np.uint32 and narrow.ids.dtype == np.uint16
    assert arrays.ids.tolist() == narrow.ids.tolist()


def test_column_appearing_part_way_and_empty_corpus(tmp_path, setup):
    _, tokenizer, _ = setup
    path = tmp_path / "late.jsonl"
    rows = [{"text": f"line {i}"} for i in range(5)] + [{"text": "deep one", "depth": 2}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    raw = load_raw(DataSpec(source=str(path), kind="path"))
    arrays, summary = build_arrays(raw, tokenizer, StorageSettings("line", SEQ), batch_size=2)
    assert np.isnan(arrays.columns["depth"][:5]).all() and arrays.columns["depth"][5] == 2.0
    assert summary["rules"]["missing:depth"] == 5
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", "utf-8")
    with pytest.raises(CurriculumError) as excinfo:
        build_arrays(
            load_raw(DataSpec(source=str(empty), kind="path")),
            tokenizer,
            StorageSettings("line", SEQ),
        )
    assert excinfo.value.diagnostics[0].code == "E317"


def test_bad_settings_are_refused(setup, tmp_path):
    raw, tokenizer, _ = setup
    for settings, align in (
        (StorageSettings("sentence", SEQ), "all"),
        (StorageSettings("line", 2), "all"),
        (StorageSettings("line", SEQ), "last"),
    ):
        with pytest.raises(CurriculumError) as excinfo:
            tokenized_corpus(raw, tokenizer, settings, cache_dir=tmp_path, pos_align=align)
        assert excinfo.value.diagnostics[0].code == "E340"
