"""Bad data is counted per file and refused past a threshold, never trained on silently
(issue 13, item 9; item 7's data part): binary files, NUL lines, CR-only files, skipped
paths, FIFOs and devices, truncated .gz files, lone surrogate escapes."""

from __future__ import annotations

import gzip
import json
import os
import threading

import pytest
from support.data_inputs import aochildes_texts

from curriculumc.errors import CurriculumError
from curriculumc.plan import DataSpec, Plan, TokenizerSpec, TrainSpec
from curriculumc.runtime.data.prepare import prepare_data
from curriculumc.runtime.data.readers import ReadReport, load_raw


def path_spec(path, **options):
    return DataSpec(source=str(path), kind="path", options=tuple(sorted(options.items())))


def read(spec):
    raw = load_raw(spec)
    report = ReadReport()
    texts = [t for batch in raw.batches(report=report) for t in batch.texts]
    return raw, report, texts


def babylm_folder(tmp_path, lines=200):
    """A BabyLM-style folder: one plain-text ``.train`` file per source, ``\\n`` lines."""
    folder = tmp_path / "train_10M"
    folder.mkdir()
    texts = aochildes_texts(2 * lines)
    (folder / "childes.train").write_text("\n".join(texts[:lines]) + "\n", "utf-8")
    (folder / "switchboard.train").write_text("\n".join(texts[lines:]) + "\n", "utf-8")
    return folder, texts


BINARY = bytes(range(256)) * 4 + b"\n" + b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01" * 40


def test_a_binary_file_in_a_data_folder_is_refused_with_its_first_bad_line(tmp_path):
    folder, _ = babylm_folder(tmp_path)
    (folder / "logo.png").write_bytes(BINARY)
    with pytest.raises(CurriculumError) as excinfo:
        read(path_spec(folder))
    diagnostic = excinfo.value.diagnostics[0]
    assert diagnostic.code == "E316"
    assert (diagnostic.span.file, diagnostic.span.line) == (str(folder / "logo.png"), 1)
    assert "bad_lines=allow" in diagnostic.hint


def test_bad_lines_allow_reads_it_and_counts_every_bad_line_per_file(tmp_path):
    folder, texts = babylm_folder(tmp_path, lines=50)
    bad = folder / "mixed.train"
    bad.write_bytes(b"good line\n\x00\x00\x00\n\x00\ncaf\xe9\nbell\x07here\nlast\n")
    raw, report, read_texts = read(path_spec(folder, bad_lines="allow"))
    assert read_texts[:50] == texts[:50]
    assert read_texts[50:53] == ["good line", "caf\ufffd", "last"]  # NUL and binary dropped
    assert dict(report.input_rules[str(bad)]) == {
        "nul_lines": 2,
        "invalid_utf8_lines": 1,
        "binary_lines": 1,
    }
    assert report.inputs[str(bad)] == {"lines": 6, "examples": 3}
    assert report.rules["nul_lines"] == 2 and report.rules["binary_lines"] == 1


def test_a_share_threshold_decides_per_file(tmp_path):
    path = tmp_path / "few_bad.train"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(95)) + b"\x00\n" * 5)
    _, report, texts = read(path_spec(path, bad_lines="5%"))  # 5 of 100: allowed
    assert len(texts) == 95 and report.rules["nul_lines"] == 5
    with pytest.raises(CurriculumError) as excinfo:
        read(path_spec(path, bad_lines="4%"))
    assert (excinfo.value.diagnostics[0].code, excinfo.value.diagnostics[0].span.line) == (
        "E316",
        96,
    )
    with pytest.raises(CurriculumError) as excinfo:  # the default is 1%
        read(path_spec(path))
    assert excinfo.value.diagnostics[0].code == "E316"
    with pytest.raises(CurriculumError) as excinfo:
        load_raw(path_spec(path, bad_lines="sometimes"))
    assert excinfo.value.diagnostics[0].code == "E308"


def test_nul_only_lines_are_dropped_and_counted(tmp_path):
    path = tmp_path / "nul.train"
    path.write_bytes(b"".join(b"the dog %d\n" % i for i in range(300)) + b"\x00\x00\n")
    _, report, texts = read(path_spec(path))
    assert len(texts) == 300 and "\x00" not in "".join(texts)
    assert report.rules["nul_lines"] == 1


def test_a_cr_only_file_is_one_example_a_line(tmp_path):
    path = tmp_path / "oldmac.train"
    path.write_bytes(b"where is the ball\rthere it is\r\rgood job\r")
    _, report, texts = read(path_spec(path))
    assert texts == ["where is the ball", "there it is", "good job"]
    assert report.input_rules[str(path)]["cr_line_breaks"] == 3
    assert report.inputs[str(path)]["lines"] == 4
    # CRLF stays one break, and a bad line after CRs is named by its CR-counted line
    crlf = tmp_path / "dos.train"
    crlf.write_bytes(b"one\r\ntwo\r\n")
    _, report, texts = read(path_spec(crlf))
    assert texts == ["one", "two"] and report.rules["cr_line_breaks"] == 0
    jsonl = tmp_path / "cr.jsonl"
    jsonl.write_bytes(b'{"text": "a"}\r{"text": "b"}\r{"text": 3}\r')
    with pytest.raises(CurriculumError) as excinfo:
        read(path_spec(jsonl))
    assert (excinfo.value.diagnostics[0].code, excinfo.value.diagnostics[0].span.line) == (
        "E306",
        3,
    )


def test_skipped_paths_of_a_folder_are_recorded_with_why(tmp_path):
    folder, _ = babylm_folder(tmp_path, lines=20)
    (folder / "extra").mkdir()
    (folder / "extra" / "more.train").write_text("hidden away\n", "utf-8")
    os.symlink(folder / "gone.train", folder / "broken.train")
    os.mkfifo(folder / "pipe.train")
    (folder / "README.md").write_text("about\n", "utf-8")
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    raw = load_raw(path_spec(folder))
    assert [os.path.basename(i.path) for i in raw.inputs] == ["childes.train", "switchboard.train"]
    assert {os.path.basename(p): why for p, why in raw.skipped} == {
        ".DS_Store": "hidden",
        "README.md": "README",
        "broken.train": "dangling symlink",
        "extra": "folder",
        "pipe.train": "not a regular file (a FIFO)",
    }


def _resolves_within(seconds, call):
    outcome = {}

    def target():
        try:
            outcome["value"] = call()
        except CurriculumError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "reading the path hung"
    return outcome


def test_a_fifo_or_a_device_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "pipe.train"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        outcome = _resolves_within(10, lambda p=path: load_raw(path_spec(p)))
        diagnostic = outcome["error"].diagnostics[0]
        assert diagnostic.code == "E302"
    assert (
        "a FIFO"
        in _resolves_within(10, lambda: load_raw(path_spec(fifo)))["error"].diagnostics[0].message
    )


def test_a_folder_with_only_skipped_paths_says_what_it_skipped(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "sub").mkdir()
    with pytest.raises(CurriculumError) as excinfo:
        load_raw(path_spec(folder))
    assert excinfo.value.diagnostics[0].code == "E301"
    assert "sub (folder)" in excinfo.value.diagnostics[0].hint


def test_a_truncated_gz_corpus_is_refused_with_file_and_line(tmp_path):
    rows = [{"text": f"utterance number {i}", "source": "x"} for i in range(3000)]
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    path = tmp_path / "train.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CurriculumError) as excinfo:
        read(path_spec(path))
    diagnostic = excinfo.value.diagnostics[0]
    assert diagnostic.code == "E318" and diagnostic.span.file == str(path)
    assert 1 < diagnostic.span.line <= 3000
    assert "truncated" in diagnostic.message


def test_a_lone_surrogate_escape_in_json_lines_is_refused_with_its_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(
        '{"text": "fine \\u00e9"}\n{"text": "ok \\ud83d\\ude00"}\n{"text": "bad \\ud800"}\n',
        "utf-8",
    )
    with pytest.raises(CurriculumError) as excinfo:
        read(path_spec(path))
    diagnostic = excinfo.value.diagnostics[0]
    assert (diagnostic.code, diagnostic.span.file, diagnostic.span.line) == ("E319", str(path), 3)


def test_the_data_report_counts_per_file_and_lists_skipped_paths(tmp_path):
    from curriculumc.runtime.data.prepare import data_report, data_report_text

    folder, _ = babylm_folder(tmp_path, lines=100)
    (folder / "notes").mkdir()
    (folder / "childes.train").write_bytes(
        (folder / "childes.train").read_bytes() + b"\n\n\x00\n"  # 2 empty, 1 NUL: 1 of 103
    )
    plan = Plan(
        data=DataSpec(source=str(folder), kind="path", options=(("bad_lines", "2%"),)),
        tokenizer=TokenizerSpec(vocab_size=300),
        train=TrainSpec(seq=32),
    )
    data = prepare_data(plan, cache_dir=tmp_path / "cache")
    report = data_report(data.summary)
    childes, switchboard = report["files"]
    assert childes == {
        "path": str(folder / "childes.train"),
        "lines": 103,
        "kept": 100,
        "empty": 2,
        "not-utf8": 0,
        "binary": 0,
        "nul": 1,
        "cr-breaks": 0,
    }
    assert (switchboard["lines"], switchboard["kept"], switchboard["nul"]) == (100, 100, 0)
    assert report["skipped"] == [{"path": str(folder / "notes"), "reason": "folder"}]
    assert report["examples"] == 200 and report["rules"]["nul_lines"] == 1
    text = data_report_text(data.summary)
    assert "2 file(s) read, 1 path(s) skipped" in text
    assert f"skipped {folder / 'notes'}: folder" in text
    # the same report from the cache (the skipped paths are resolved again, not cached)
    again = prepare_data(plan, cache_dir=tmp_path / "cache")
    assert again.summary["cache"]["corpus"] == "cached"
    assert data_report(again.summary) == report
