"""The entry point: prepare_data from a Plan, its summary, caches and lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.data_inputs import aochildes_slice

from curriculumc.errors import CurriculumError
from curriculumc.plan import DataSpec, Plan, TokenizerSpec, TrainSpec
from curriculumc.runtime.data.prepare import default_cache_dir, prepare_data


def aochildes_plan(path: Path, unit: str = "line") -> Plan:
    return Plan(
        data=DataSpec(source=str(path), kind="path", unit=unit),
        tokenizer=TokenizerSpec(vocab_size=600),
        train=TrainSpec(seq=32),
    )


def test_prepare_data_end_to_end_and_cached(tmp_path):
    path = aochildes_slice(tmp_path, 1500)
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    plan = aochildes_plan(path)
    data = prepare_data(plan, cache_dir=tmp_path / "cache", need_pos=True)
    corpus, summary = data.corpus, data.summary
    assert len(corpus) == len(rows) == summary["examples"] == summary["lines"]
    assert summary["words"] == sum(len(r["text"].split()) for r in rows)
    assert corpus.words.sum() == summary["words"] - summary["truncation"]["words_cut"]
    assert summary["tokens"] == len(corpus.ids) == len(corpus.pos)
    assert summary["cache"] == {"tokenizer": "trained", "corpus": "built"}
    assert summary["tokenizer"]["vocab_size"] == corpus.vocab_size == 600
    assert summary["inputs"] == [
        {"path": str(path), "format": "jsonl", "lines": len(rows), "examples": len(rows)}
    ]
    assert set(summary["rules"]) >= {"missing:age", "pos_from_mor", "pos_tagged_words"}
    assert summary["pos"]["mor_unlisted_codes"] == {}
    # the Hugging Face tokenizer encodes exactly as the stored ids (plus <s> ... </s>)
    tokenizer = data.tokenizer
    for i in (0, 7, 99):
        ids = tokenizer(rows[i]["text"])["input_ids"]
        assert ids[1:-1][:30] == corpus.example(i).tolist()
        assert (ids[0], ids[-1]) == (tokenizer.bos_token_id, tokenizer.eos_token_id)
    assert (data.tokenizer_dir / "tokenizer.json").exists()
    assert list(data.raw.texts())[:3] == [r["text"] for r in rows[:3]]

    again = prepare_data(plan, cache_dir=tmp_path / "cache", need_pos=True)
    assert again.summary["cache"] == {"tokenizer": "cached", "corpus": "cached"}
    assert again.corpus.content_hash == corpus.content_hash
    assert np.array_equal(again.corpus.pos, corpus.pos)
    assert {k: v for k, v in again.summary.items() if k != "cache"} == {
        k: v for k, v in summary.items() if k != "cache"
    }


def test_pos_report_says_where_the_tags_came_from(tmp_path):
    """Issue 17: a corpus without tags read ``tagged_missing: N, pos_missing: N`` beside
    ``pos_tagged_words``. The summary now says how many lines each source tagged (the
    offline tagger named, with why) and the data report says it in words."""
    from curriculumc.runtime.data.prepare import data_report_text
    from curriculumc.runtime.data.tagging import TAGGER_NAME

    path = aochildes_slice(tmp_path, 400)
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    rows = [r for r in rows if r["text"].strip()]
    plain = tmp_path / "plain.txt"
    plain.write_text("".join(r["text"] + "\n" for r in rows), "utf-8")
    data = prepare_data(aochildes_plan(plain), cache_dir=tmp_path / "cache", need_pos=True)
    pos = data.summary["pos"]
    words = sum(len(r["text"].split()) for r in rows)
    assert pos["lines"] == {"from_data": 0, "from_mor": 0, "by_tagger": len(rows)}
    assert pos["tagger"] == {
        "name": TAGGER_NAME,
        "words": words,
        "why": {"no_tags": len(rows), "tags_not_one_per_word": 0, "asked": 0},
    }
    report = data_report_text(data.summary)
    assert (
        f"POS tags: {len(rows):,} lines ({words:,} words) by the offline {TAGGER_NAME} "
        f"(no tags in the data {len(rows):,})" in report
    )
    assert "pos_missing" not in report and "tagged_missing" not in json.dumps(pos)
    mor = prepare_data(aochildes_plan(path), cache_dir=tmp_path / "cache", need_pos=True)
    assert "lines from CHILDES MOR codes" in data_report_text(mor.summary)


def test_packed_plan_has_full_chunks(tmp_path):
    path = aochildes_slice(tmp_path, 500)
    data = prepare_data(aochildes_plan(path, unit="packed"), cache_dir=tmp_path / "cache")
    lengths = data.corpus.lengths()
    assert (lengths[:-1] == 30).all()
    assert data.summary["unit"] == "packed" and data.summary["lines"] == 500
    assert data.summary["examples"] == len(data.corpus) < 500


def test_bad_line_surfaces_through_prepare_data(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n{"text": "no end"\n', "utf-8")
    plan = Plan(
        data=DataSpec(source=str(path), kind="path"), tokenizer=TokenizerSpec(vocab_size=300)
    )
    with pytest.raises(CurriculumError) as excinfo:
        prepare_data(plan, cache_dir=tmp_path / "cache")
    diagnostic = excinfo.value.diagnostics[0]
    assert (diagnostic.code, diagnostic.span.file, diagnostic.span.line) == ("E303", str(path), 2)
    assert "(column 18)" in diagnostic.message


def test_default_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CURRICULUMC_CACHE", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("CURRICULUMC_CACHE")
    monkeypatch.chdir(tmp_path)
    assert default_cache_dir() == tmp_path / ".cache" / "curriculumc"


def test_synth_plan_without_heavy_imports(tmp_path):
    # simulate calls prepare_data and must not import torch, transformers or datasets
    script = (
        "import sys; from pathlib import Path\n"
        "from curriculumc.plan import DataSpec, Plan, TokenizerSpec\n"
        "from curriculumc.runtime.data.prepare import prepare_data\n"
        "plan = Plan(data=DataSpec(options=(('words', 3000),)),"
        " tokenizer=TokenizerSpec(vocab_size=400))\n"
        f"data = prepare_data(plan, cache_dir=Path({str(tmp_path)!r}), need_pos=True)\n"
        "print(len(data.corpus), data.summary['pos']['lines']['from_data'])\n"
        "print(sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    counts, heavy = result.stdout.strip().splitlines()
    examples, from_data = map(int, counts.split())
    assert examples == from_data > 100  # every line has gold tags
    assert heavy == "[]"
