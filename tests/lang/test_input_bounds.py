"""Issue 13: bounded resources, no escaping exceptions, checked plans, YAML duplicates,
all override problems at once, atomic writes. Each test fails on the code before it."""

from __future__ import annotations

import errno
import json
import os
import time

import pytest
from support.paths import REPO

import curriculumc
from curriculumc import cli, files
from curriculumc.errors import CurriculumError
from curriculumc.lang.render import MAX_PER_FILE, render_diagnostics

DEMO = REPO / "specs" / "demo.cur"
PLAN = REPO / "tests" / "golden" / "plans" / "demo.cur.json"


def _problems(call):
    with pytest.raises(CurriculumError) as info:
        call()
    return [
        (d.code, d.message, d.span and (d.span.line, d.span.column)) for d in info.value.diagnostics
    ]


# --- 6: resources ----------------------------------------------------------------------


def test_billion_laughs_is_refused_before_expanding():
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    start = time.perf_counter()
    problems = _problems(lambda: curriculumc.loads("\n".join(lines) + "\n", "x.yaml"))
    assert problems == [("E171", "not valid YAML here: its aliases expand to more than "
                         "100,000 values", (1, 1))]  # fmt: skip
    assert time.perf_counter() - start < 5


def test_a_long_line_of_errors_renders_in_bounded_time_and_size():
    text = "pace rot from 10% over 1; " * 4000  # 104 KB, 4000 diagnostics on one line
    with pytest.raises(CurriculumError) as info:
        curriculumc.loads(text)
    start = time.perf_counter()
    shown = render_diagnostics(info.value.diagnostics)
    assert time.perf_counter() - start < 2
    assert shown.count("error[") == MAX_PER_FILE == 100
    assert "<spec>: ... and 3900 more problems not shown" in shown
    assert max(len(line) for line in shown.splitlines()) < 140  # the line is clipped
    assert shown.endswith("4000 errors")
    # the caret still points at the span inside the clipped line
    block = shown.split("\n\n")[50].splitlines()
    assert block[0].startswith("<spec>:1:1301: error[E037]")
    assert block[1][block[2].index("^") - 0 :].startswith("pace")


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_model_path_that_is_no_regular_file_is_refused_at_once(tmp_path, target):
    if target == "fifo":
        target = str(tmp_path / "fifo")
        os.mkfifo(target)
    problems = _problems(lambda: curriculumc.loads(f'model "{target}"'))
    assert problems == [("E040", f"cannot read the model config '{target}': not a regular file",
                         (1, 7))]  # fmt: skip


def test_data_named_as_a_device_is_an_error(tmp_path):
    problems = _problems(lambda: curriculumc.loads('data "/dev/zero"'))
    assert problems == [("E041", "data path '/dev/zero' is not a regular file or a folder", (1, 6))]


def test_a_spec_file_that_is_a_device_is_not_read_forever():
    problems = _problems(lambda: curriculumc.load("/dev/zero"))
    assert problems == [("E004", "cannot read '/dev/zero': not a regular file", None)]


# --- 7: escaping exceptions -------------------------------------------------------------


def test_escapes_become_located_diagnostics():
    assert _problems(lambda: curriculumc.load(DEMO, ["vocab=0"])) == [
        ("E152", "'vocab' must be a pacing function or none, not '0'", (1, 7))
    ]
    digits = "9" * 5000
    code, message, where = _problems(
        lambda: curriculumc.loads(f"train:\n  steps: {digits}\n", "x.yaml"))[0]  # fmt: skip
    assert (code, where) == ("E171", (2, 10)) and message.startswith("not valid YAML: cannot read")
    deep = "curriculum: " + "[" * 500 + "]" * 500 + "\n"
    assert _problems(lambda: curriculumc.loads(deep, "x.yaml")) == [
        ("E171", "not valid YAML: nested more than 64 levels deep", (1, 76))
    ]
    long = "a" * 300
    [(code, message, where)] = _problems(lambda: curriculumc.loads(f'model "{long}"'))
    assert (code, where) == ("E040", (1, 7)) and message.endswith("File name too long")


@pytest.mark.parametrize("brk", ["\u2028", "\x85", "\r", "\u2029"])
def test_yaml_positions_count_the_lines_the_renderer_shows(brk):
    text = f"model: [un{brk}closed\n"
    [(code, _, (line, column))] = _problems(lambda: curriculumc.loads(text, "x.yaml"))
    source_lines = text.replace(brk, "\n").split("\n")
    assert code == "E171" and line <= len(source_lines)
    assert (line, column) == (3, 1)


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    def explode(args):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(cli, "_silence_stdout", lambda: None)
    parser = cli.build_parser()
    args = parser.parse_args(["validate", str(DEMO)])
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(type(args), "func", staticmethod(explode), raising=False)
    parser.set_defaults(func=explode)
    assert cli.main(["validate", str(DEMO)]) == cli.EXIT_BROKEN_PIPE == 141
    assert capsys.readouterr().err == ""


# --- 8: plans are checked like compiled specs -------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("train", "steps", -1, "train.steps: must be a whole number from 1 to 1e+12, not -1"),
        ("pace", "start", 5, "pace.start: must be a fraction in (0, 1], not 5.0"),
        ("output", "keep", -1, "output.keep: must be a whole number from 1 to 1e+12, not -1"),
        ("train", "grad_accum", 0, "train.grad_accum: must be a whole number from 1 to 1e+12, "
         "not 0"),
        ("train", "batch_unit", "bytes", "train.batch_unit: must be one of examples, tokens, "
         "not 'bytes'"),
        ("train", "sampling", "x", "train.sampling: must be one of epochs, replacement, not 'x'"),
        ("pace", "ties", "x", "pace.ties: must be one of random, include, not 'x'"),
    ],
)  # fmt: skip
def test_hand_edited_plans_are_refused_with_the_json_path(tmp_path, section, key, value, message):
    data = json.loads(PLAN.read_text("utf-8"))
    data[section][key] = value
    path = tmp_path / "plan.json"
    text = json.dumps(data, indent=2)
    path.write_text(text, encoding="utf-8")
    [(code, shown, (line, _))] = _problems(lambda: curriculumc.load_plan(path))
    assert (code, shown) == ("E191", message)
    assert f'"{key}"' in text.split("\n")[line - 1]


def test_nan_in_a_plan_is_refused_at_its_line(tmp_path):
    text = PLAN.read_text("utf-8").replace('"clip": 1.0', '"clip": NaN')
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    [(code, message, (line, column))] = _problems(lambda: curriculumc.load_plan(path))
    assert (code, message) == ("E190", "plan is not valid JSON: NaN is not a JSON number")
    assert text.split("\n")[line - 1][column - 1 :].startswith("NaN")


def test_every_golden_plan_passes_the_plan_checks():
    from curriculumc.lang.plan_checks import check_plan

    for path in sorted((REPO / "tests" / "golden" / "plans").glob("*.json")):
        assert check_plan(curriculumc.load_plan(path)) == [], path


# --- 11: duplicate keys, all overrides, atomic writes ------------------------------------


def test_duplicate_yaml_keys_are_refused_with_both_positions():
    text = "train:\n  steps: 10\n  steps: 20\n"
    assert _problems(lambda: curriculumc.loads(text, "x.yaml")) == [
        ("E173", "key 'steps' is given twice (first on line 2, column 3)", (3, 3))
    ]


def test_every_bad_override_is_shown():
    problems = _problems(
        lambda: curriculumc.load(DEMO, ["train.steps=x", "train.lr=y", "foo=1", "sort.order=3"])
    )
    assert [(c, w) for c, _, w in problems] == [("E030", (1, 13)), ("E030", (2, 10)),
                                                ("E151", (3, 1)), ("E152", (4, 12))]  # fmt: skip


def test_a_failed_write_leaves_no_file_and_names_the_path(tmp_path, monkeypatch, capsys):
    target = tmp_path / "plan.json"

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    assert cli.main(["compile", str(DEMO), "-o", str(target)]) == 1
    assert capsys.readouterr().err.strip().endswith(f"no space left on device ({target})")
    assert list(tmp_path.iterdir()) == []  # neither a 0-byte plan nor a temporary file
