"""``validate`` checks a mix's sources against a data file that names them inside (JSON
Lines): the sources it reads are the ones a run trains on (the readers' rules), a source
the data lacks is an error at its position, and the read is kept by content so a second
validate -- or one after a run -- does not read again."""

from __future__ import annotations

import json

import pytest

from curriculumc.cli import main
from curriculumc.runtime.data import readers
from curriculumc.runtime.data.progress import as_data_progress
from curriculumc.runtime.data.readers import corpus_sources, load_raw
from curriculumc.runtime.data.text_store import read_store

RECORDS = [
    {"text": "the dog runs", "source": "Sawyer"},
    {"text": "look at that", "source": "Snow"},
    {"text": "", "source": "Ghost"},  # no text: no example, so no source
    {"text": "a ball"},  # no source field: the file's stem
    {"text": "more juice", "source": 7},  # read as text, as the reader does
    {"text": "up we go", "source": "Sawyer"},
]


def _jsonl(folder):
    path = folder / "kids.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), "utf-8")
    return path


def _spec(folder, names: str):
    data = _jsonl(folder)
    spec = folder / "mixed.cur"
    spec.write_text(f'data "{data}"\ntrain 100 steps, batch 4\nmix {names}\nat 0 mlm\n')
    return spec


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("CURRICULUMC_CACHE", str(folder))
    return folder


def test_the_sources_read_are_the_ones_a_run_trains_on(tmp_path, cache):
    from curriculumc.plan import DataSpec

    spec = DataSpec(source=str(_jsonl(tmp_path)), kind="path")
    found = corpus_sources(spec)
    assert found == ("7", "Sawyer", "Snow", "kids")
    # the store a run tokenizes from names the same sources (in first-seen order)
    store = read_store(load_raw(spec), with_pos=False, progress=as_data_progress(False))
    assert tuple(sorted(store.source_names)) == found
    assert (cache / "sources" / f"{load_raw(spec).identity}.json").is_file()


def test_a_source_the_data_lacks_is_an_error_at_its_position(tmp_path, cache, capsys):
    spec = _spec(tmp_path, "0.5 Sawyer + 0.5 Snwo")
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    assert f"{spec}:3:22: error[E080]: the data has no source 'Snwo'" in err
    assert "did you mean 'Snow'?" in err and "W011" not in err
    good = _spec(tmp_path, "0.5 Sawyer + 0.25 Snow + 0.25 kids")
    assert main(["validate", str(good)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"{good}: Spec is well-formed" and "W011" not in captured.err


def test_the_read_is_kept_and_a_corpus_too_big_to_read_stays_a_warning(
    tmp_path, cache, capsys, monkeypatch
):
    spec = _spec(tmp_path, "0.5 Sawyer + 0.5 Snwo")
    assert main(["validate", str(spec)]) == 1  # read, and kept
    monkeypatch.setattr(readers, "SOURCES_SCAN_BYTES", 0)  # nothing may be read now
    capsys.readouterr()
    assert main(["validate", str(spec)]) == 1  # the kept sources still tell
    assert "E080" in capsys.readouterr().err
    monkeypatch.setenv("CURRICULUMC_CACHE", str(tmp_path / "empty"))
    assert main(["validate", str(spec)]) == 0  # not read, not kept: the warning
    assert "warning[W011]" in capsys.readouterr().err


def test_a_prepared_corpus_leaves_its_sources_for_validate(tmp_path, cache, monkeypatch):
    from curriculumc.plan import DataSpec, Plan, TokenizerSpec, TrainSpec
    from curriculumc.runtime.data.prepare import prepare_data

    data = DataSpec(source=str(_jsonl(tmp_path)), kind="path")
    plan = Plan(data=data, tokenizer=TokenizerSpec(vocab_size=300), train=TrainSpec(seq=16))
    corpus = prepare_data(plan, cache_dir=cache).corpus
    monkeypatch.setattr(readers, "SOURCES_SCAN_BYTES", 0)
    assert corpus_sources(data) == tuple(sorted(corpus.source_names))


def test_unreadable_data_is_the_error_a_run_would_stop_on(tmp_path, cache, capsys):
    spec = _spec(tmp_path, "0.5 Sawyer + 0.5 Snow")
    (tmp_path / "kids.jsonl").write_text('{"text": "fine", "source": "Snow"}\n{"text": \n')
    assert main(["validate", str(spec)]) == 1
    assert "E303" in capsys.readouterr().err  # invalid JSON, with its line


def test_the_example_spec_is_checked_against_ao_childes(tmp_path, cache, capsys):
    """``specs/mixture.cur`` over the real AO-CHILDES JSON Lines: validate reads its 21
    CHILDES corpora and passes without W011; a misspelt corpus is E080 with the right one."""
    from support.paths import REPO, shared_data

    data = shared_data("aochildes", "train.jsonl")
    spec = REPO / "specs" / "mixture.cur"
    assert main(["validate", str(spec)]) == 0
    assert "W011" not in capsys.readouterr().err
    (kept,) = (cache / "sources").glob("*.json")
    assert len(json.loads(kept.read_text())) == 21
    text = spec.read_text().replace("0.4 Rollins", "0.4 Rolins")
    text = text.replace('"../../shared/data/aochildes/train.jsonl"', f'"{data}"')
    wrong = tmp_path / "mixture.cur"
    wrong.write_text(text)
    assert main(["validate", str(wrong)]) == 1
    err = capsys.readouterr().err
    assert "error[E080]: the data has no source 'Rolins'" in err
    assert "did you mean 'Rollins'?" in err
