"""The streamed pipeline (read once, tokenize in chunks) gives what the two-pass one gave.

``EXPECTED`` holds sha256 digests of every output -- the tokenizer file, each cached
array file, the stored summary, the content hash (the cache key) and the ``ngram_ppl``
scores -- recorded from the pipeline before streaming (commit 78d46b5: BPE trained on a
first read, a second read tokenized in 4096-line batches, ``ngram_ppl`` through
``NgramModel.fit_scored``) on real AO-CHILDES lines with edits that exercise the reading
rules (an empty line, a non-UTF-8 byte, non-ASCII text, a column appearing part-way).
Equal digests: the same ids, offsets, words, sources, columns, POS tags, summary and
scores, bit for bit, so existing caches stay valid. The memory test holds that peak
memory of tokenizing is bounded by the flat arrays, not by Python objects per line.
"""

from __future__ import annotations

import gc
import hashlib
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from support.data_inputs import aochildes_file

from curriculumc.plan import DataSpec, Plan, TokenizerSpec, TrainSpec
from curriculumc.runtime.data.prepare import prepare_data
from curriculumc.runtime.ordering.scorers.ngram import crossfit_perplexities

#: (name, file, data options, unit, seq, vocabulary, need_pos)
CASES = (
    ("mor-line", "edited.jsonl", (("pos_field", "mor"), ("pos_format", "mor")), "line", 16, 600, True),
    ("mor-packed", "edited.jsonl", (("pos_field", "mor"), ("pos_format", "mor")), "packed", 16, 600, True),
    ("plain-tagger", "plain.txt", (), "line", 32, 500, True),
    ("no-pos", "edited.jsonl", (), "line", 12, 600, False),
)  # fmt: skip

#: the digests of the two-pass pipeline (commit 78d46b5), per case
EXPECTED = json.loads((Path(__file__).with_name("streamed_digests.json")).read_text("utf-8"))


def build_fixtures(folder: Path) -> None:
    """``edited.jsonl``: the first 3,000 AO-CHILDES train lines with an empty line, a line
    holding a byte that is not UTF-8, a non-ASCII text and a ``depth`` column from line
    1,200 on; ``plain.txt``: the texts of its first 1,500 lines as plain text."""
    with aochildes_file().open("rb") as handle:
        lines = [next(handle) for _ in range(3000)]
    edited = []
    for k, line in enumerate(lines):
        if k == 10:
            edited.append(b"\n")
        if k == 500:
            line = line.replace(b'"text": "', b'"text": "caf\xc3\xa9 \xe2\x98\x95 ', 1)
        if k == 700:
            line = line.replace(b'"text": "', b'"text": "bad\xff ', 1)
        if k >= 1200:
            line = line.rstrip(b"\n")[:-1] + f', "depth": {k % 7}}}\n'.encode()
        edited.append(line)
    (folder / "edited.jsonl").write_bytes(b"".join(edited))
    texts = [json.loads(line)["text"] for line in lines[:1500]]
    texts[3] = "señor ñandú " + texts[3]
    (folder / "plain.txt").write_text("\n".join(texts) + "\n", "utf-8")


def digest(folder: Path, case) -> dict[str, str]:
    """sha256 of every output of ``prepare_data`` and of the in-sample and cross-fitted
    ``ngram_ppl`` scores, for one case; paths replaced by their file name."""
    name, file, options, unit, seq, vocab, need_pos = case
    path = folder / file
    plan = Plan(
        data=DataSpec(source=str(path), kind="path", unit=unit, options=options),
        tokenizer=TokenizerSpec(vocab_size=vocab),
        train=TrainSpec(seq=seq),
    )
    cache = folder / f"cache-{name}"
    data = prepare_data(plan, cache_dir=cache, need_pos=need_pos)
    corpus = data.corpus

    def sha(blob: bytes) -> str:
        return hashlib.sha256(blob).hexdigest()

    out = {
        "content_hash": corpus.content_hash,
        "tokenizer.json": sha((data.tokenizer_dir.parent / "tokenizer.json").read_bytes()),
    }
    (directory,) = (cache / "corpora").iterdir()
    for file_path in sorted(directory.iterdir()):
        blob = file_path.read_bytes()
        if file_path.suffix == ".json":
            blob = blob.replace(str(path).encode(), file.encode())
        out[file_path.name] = sha(blob)
    for n, folds in ((3, 1), (2, 1), (3, 3)):
        scores = crossfit_perplexities(
            corpus.ids, corpus.offsets, corpus.vocab_size, n, folds=folds, seed=7
        )
        out[f"ngram n={n} folds={folds}"] = sha(np.ascontiguousarray(scores).tobytes())
    return out


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streamed")
    build_fixtures(folder)
    return folder


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_streamed_outputs_equal_the_two_pass_pipeline(fixtures, case):
    assert digest(fixtures, case) == EXPECTED[case[0]]


def test_the_fixture_exercises_the_reading_rules(fixtures):
    data = prepare_data(
        Plan(
            data=DataSpec(source=str(fixtures / "edited.jsonl"), kind="path"),
            tokenizer=TokenizerSpec(vocab_size=600),
            train=TrainSpec(seq=16),
        ),
        cache_dir=fixtures / "cache-rules",
        need_pos=True,
    )
    rules = data.summary["rules"]
    assert rules["empty_lines"] == 1 and rules["invalid_utf8_lines"] == 1
    assert rules["missing:depth"] == 1200 and rules["truncated"] > 0
    assert rules["pos_from_mor"] > 2500 and rules["pos_tagged_words"] > 0
    assert data.summary["examples"] == 3000


def _traced_peak(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the peak bytes allocated (Python objects and numpy
    arrays) while it ran."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn(*args, **kwargs)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_tokenizing_memory_grows_with_the_flat_arrays_not_python_lists(tmp_path):
    from curriculumc.runtime.data import storage
    from curriculumc.runtime.data.progress import DataProgress
    from curriculumc.runtime.data.readers import load_raw
    from curriculumc.runtime.data.storage import StorageSettings, build_arrays
    from curriculumc.runtime.data.text_store import read_store
    from curriculumc.runtime.data.tokenizer import prepare_tokenizer

    build_fixtures(tmp_path)
    lines = (tmp_path / "edited.jsonl").read_bytes().splitlines(keepends=True)[:3000]
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_bytes(b"".join(lines * 6))  # 18k lines
    large.write_bytes(b"".join(lines * 18))  # 54k lines
    settings = StorageSettings("line", 32)
    raw = load_raw(DataSpec(source=str(small), kind="path"))
    tokenizer = prepare_tokenizer(
        TokenizerSpec(vocab_size=600),
        raw.texts,
        corpus_identity=raw.identity,
        cache_dir=tmp_path,
        seq=32,
    )
    peaks, sizes = [], []
    for path in (small, small, large):  # the first warms up (thread pool, caches): dropped
        raw = load_raw(DataSpec(source=str(path), kind="path"))
        store = read_store(raw, with_pos=False, progress=DataProgress("off"))
        (arrays, _), peak = _traced_peak(build_arrays, raw, tokenizer, settings, store=store)
        peaks.append(peak)
        sizes.append((len(store), arrays.ids.nbytes + arrays.offsets.nbytes))
    peaks, sizes = peaks[1:], sizes[1:]
    (n_small, flat_small), (n_large, flat_large) = sizes
    per_line = (peaks[1] - peaks[0]) / (n_large - n_small)
    flat_per_line = (flat_large - flat_small) / (n_large - n_small)
    # the flat arrays (ids, concatenated once; offsets, lengths, words; the summary's
    # per-line counts) are < 4x the ids and offsets per line, ~50 bytes; a Python list of
    # ids per line alone would take > 150 bytes a line (list, pointers, int objects)
    assert per_line < 4 * flat_per_line + 16, (per_line, flat_per_line)
    assert per_line < 96
    # a tokenizing chunk's Python objects are bounded by the chunk, not the corpus
    assert peaks[1] - 3 * flat_large < 64 * storage.TOKENIZE_CHUNK * 8


def _store_fields(store) -> dict:
    report = store.report
    return {
        "arrays": {
            name: np.asarray(getattr(store, name)).tobytes()
            for name in (
                "text",
                "text_offsets",
                "words",
                "source",
                "pos",
                "pos_offsets",
                "pos_given",
            )
            if getattr(store, name) is not None
        },
        "source_names": store.source_names,
        "columns": {name: values.tobytes() for name, values in sorted(store.columns.items())},
        "rules": dict(report.rules),
        "inputs": report.inputs,
        "input_rules": {k: dict(v) for k, v in report.input_rules.items()},
        "mor_unlisted": report.mor_unlisted,
        "columns_seen": report.columns_seen,
    }


@pytest.mark.parametrize("file", ["edited.jsonl", "plain.txt", "odd.txt"])
@pytest.mark.parametrize("with_pos", [False, True])
def test_a_file_read_in_parts_by_processes_equals_one_pass(fixtures, file, with_pos):
    from curriculumc.runtime.data.progress import DataProgress
    from curriculumc.runtime.data.readers import load_raw
    from curriculumc.runtime.data.text_store import read_store

    odd = fixtures / "odd.txt"  # a byte-order mark, old Mac and Windows line breaks, empties
    odd.write_bytes(
        b"\xef\xbb\xbfhello there\r\n\r\nyes\rno\rmaybe\n"
        + b"what is that\n" * 50
        + b"\xef\xbb\xbfbom again\n" * 3
    )
    options = (("pos_field", "mor"), ("pos_format", "mor")) if file.endswith(".jsonl") else ()
    raw = load_raw(DataSpec(source=str(fixtures / file), kind="path", options=options))
    stages = DataProgress("off")
    one = read_store(raw, with_pos=with_pos, progress=stages, workers=1)
    parts = read_store(raw, with_pos=with_pos, progress=stages, workers=2, min_bytes=0)
    assert _store_fields(parts) == _store_fields(one)
    assert len(one) > 50


@pytest.mark.parametrize(
    "bad, code",
    [(b"{not json\n", "E303"), (b'{"text": 3}\n', "E306"), (b"\x00\x01\n" * 40, "E316")],
)
def test_a_refused_part_raises_what_one_pass_raises(fixtures, tmp_path, bad, code):
    from curriculumc.errors import CurriculumError
    from curriculumc.runtime.data.progress import DataProgress
    from curriculumc.runtime.data.readers import load_raw
    from curriculumc.runtime.data.text_store import read_store

    lines = (fixtures / "edited.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "refused.jsonl"
    path.write_bytes(b"".join(lines[:1700]) + bad + b"".join(lines[1700:]))
    raw = load_raw(DataSpec(source=str(path), kind="path"))
    messages = []
    for workers, min_bytes in ((1, 1 << 40), (2, 0)):
        with pytest.raises(CurriculumError) as caught:
            read_store(
                raw,
                with_pos=False,
                progress=DataProgress("off"),
                workers=workers,
                min_bytes=min_bytes,
            )
        messages.append([(d.code, d.message, d.span) for d in caught.value.diagnostics])
    assert messages[0] == messages[1] and messages[0][0][0] == code
