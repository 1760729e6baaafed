"""Progress through the data stages: which stages are reported, and how (not the pixels)."""

from __future__ import annotations

import json

from support.data_inputs import aochildes_slice

from curriculumc.plan import DataSpec, Plan, TokenizerSpec, TrainSpec
from curriculumc.runtime.data.prepare import prepare_data
from curriculumc.runtime.data.progress import DataProgress, count_lines


def _plan(path) -> Plan:
    return Plan(
        data=DataSpec(source=str(path), kind="path"),
        tokenizer=TokenizerSpec(vocab_size=600),
        train=TrainSpec(seq=32),
    )


def test_every_stage_is_reported_once_then_nothing_when_cached(tmp_path):
    path = aochildes_slice(tmp_path, 1200)
    lines = len(path.read_text("utf-8").splitlines())
    words = sum(len(json.loads(r)["text"].split()) for r in path.read_text("utf-8").splitlines())
    said: list[str] = []
    stages = DataProgress("lines", emit=said.append)
    prepare_data(_plan(path), cache_dir=tmp_path / "cache", need_pos=True, progress=stages)
    starts = [(e[1], e[2]) for e in stages.events if e[0] == "start"]
    ends = {e[1]: e[2:] for e in stages.events if e[0] == "end"}
    assert starts == [
        ("BPE training", None),
        ("reading", lines),
        ("tokenizing", lines),
        ("tagging", lines),
    ]
    assert ends == {
        "reading": (lines, words),
        "BPE training": (lines, words),
        "tokenizing": (lines, words),
        "tagging": (lines, words),
    }
    # off a terminal: one summary line a stage (a short stage has no progress lines)
    assert [s.split(":")[1].strip() for s in said] == [
        "reading",
        "BPE training",
        "tokenizing",
        "tagging",
    ]
    assert all(f"{lines:,} lines, {words:,} words in " in s for s in said)

    again = DataProgress("lines", emit=said.append)
    prepare_data(_plan(path), cache_dir=tmp_path / "cache", need_pos=True, progress=again)
    assert again.events == [] and len(said) == 4  # all cached: no stage ran


def test_quiet_says_nothing_but_still_records(tmp_path):
    path = aochildes_slice(tmp_path, 300)
    said: list[str] = []
    stages = DataProgress("off", emit=said.append)
    prepare_data(_plan(path), cache_dir=tmp_path / "cache", progress=stages)
    assert said == []
    assert [e[1] for e in stages.events if e[0] == "end"] == [
        "reading",
        "BPE training",
        "tokenizing",
    ]
    assert DataProgress.for_run(quiet=True).mode == "off"
    assert DataProgress.for_run(interactive=False).mode == "lines"
    assert DataProgress.for_run(interactive=True).mode == "bar"


def test_a_long_stage_in_a_log_says_where_it_is_every_30_seconds():
    now = [0.0]
    said: list[str] = []
    stages = DataProgress("lines", emit=said.append, clock=lambda: now[0])
    with stages.stage("tagging", 100) as stage:
        for done in range(1, 101):
            now[0] += 1.0  # 100 s in all, an update a second
            stage.update(done, 10 * done)
    progress, summary = said[:-1], said[-1]
    assert len(progress) == 3  # at 30, 60 and 90 s -- not one line per update or per 10 %
    assert all("ETA" in line and "lines" in line for line in progress)
    assert summary == "data: tagging: 100 lines, 1,000 words in 1m40s (10 words/s)"


def test_count_lines(tmp_path):
    class Input:
        def __init__(self, path, format="text"):
            self.path, self.format = str(path), format

    ended, open_end = tmp_path / "a.txt", tmp_path / "b.txt"
    ended.write_bytes(b"one\ntwo\n\nthree\n")
    open_end.write_bytes(b"one\ntwo")
    assert count_lines([Input(ended)]) == 4
    assert count_lines([Input(ended), Input(open_end)]) == 6
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(b"")
    assert count_lines([Input(ended), Input(gz)]) is None
