"""A BabyLM corpus folder (the organisers' ``*.train`` files) read as it is: sources are
the file stems, words are whitespace-separated words, held-out splits are never read."""

from __future__ import annotations

import shutil

from support.paths import TESTS

from curriculumc.plan import DataSpec, Plan, TokenizerSpec, TrainSpec
from curriculumc.runtime.data.readers import HELD_OUT_REASON, ReadReport, load_raw

FIXTURE = TESTS / "fixtures" / "babylm_corpus"
#: counted by hand (see the fixture's README): source -> (examples, words)
HAND_COUNTS = {
    "bnc_spoken": (3, 17),
    "childes": (3, 15),
    "gutenberg": (3, 20),
    "open_subtitles": (3, 13),
    "simple_wiki": (2, 15),
    "switchboard": (2, 9),
}


def read(folder, tmp_path):
    raw = load_raw(DataSpec(source=str(folder), kind="path"), cache_dir=tmp_path / "cache")
    report = ReadReport()
    texts, sources = [], []
    for batch in raw.batches(report=report, with_pos=False, batch_size=4):
        texts.extend(batch.texts)
        sources.extend(batch.sources)
    return raw, report, texts, sources


def test_sources_are_the_file_stems_and_blank_lines_are_dropped(tmp_path):
    raw, report, texts, sources = read(FIXTURE, tmp_path)
    assert sources == [s for s, (n, _) in HAND_COUNTS.items() for _ in range(n)]
    assert report.rules == {"empty_lines": 2}  # gutenberg's two blank lines
    assert [reason for _, reason in raw.skipped] == ["README"]
    assert texts[3] == "*MOT:\tlook at the doggie ."  # speaker codes are part of the text


def test_word_counts_are_the_hand_counts(tmp_path):
    from curriculumc.runtime.data.prepare import prepare_data

    plan = Plan(
        data=DataSpec(source=str(FIXTURE), kind="path"),
        tokenizer=TokenizerSpec(vocab_size=300),
        train=TrainSpec(seq=64),  # no line is cut: every word is kept
    )
    data = prepare_data(plan, cache_dir=tmp_path / "cache")
    corpus = data.corpus
    assert data.summary["words"] == sum(w for _, w in HAND_COUNTS.values()) == 89
    assert corpus.source_names == tuple(HAND_COUNTS)
    per_source = {
        name: (int((corpus.source == i).sum()), int(corpus.words[corpus.source == i].sum()))
        for i, name in enumerate(corpus.source_names)
    }
    assert per_source == HAND_COUNTS


def test_held_out_files_beside_train_files_are_skipped(tmp_path):
    folder = tmp_path / "babylm_10M"
    shutil.copytree(FIXTURE, folder)
    (folder / "childes.dev").write_text("held out line\n", "utf-8")
    (folder / "childes.test").write_text("test line\n", "utf-8")
    raw, _, texts, sources = read(folder, tmp_path)
    assert "held out line" not in texts and "test line" not in texts
    assert set(sources) == set(HAND_COUNTS)
    assert sorted((p.rsplit("/", 1)[-1], why) for p, why in raw.skipped) == [
        ("README.md", "README"),
        ("childes.dev", HELD_OUT_REASON),
        ("childes.test", HELD_OUT_REASON),
    ]


def test_a_dev_file_is_read_when_no_train_file_is_beside_it(tmp_path):
    folder = tmp_path / "dev"
    folder.mkdir()
    (folder / "childes.dev").write_text("more juice\n", "utf-8")
    _, _, texts, sources = read(folder, tmp_path)
    assert (texts, sources) == (["more juice"], ["childes"])
