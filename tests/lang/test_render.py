"""Rendering diagnostics: exact text, colour off unless asked."""

from __future__ import annotations

from curriculumc.errors import Diagnostic, Span
from curriculumc.lang.render import render_diagnostics

SOURCE = "model roberta-small\ntrain 20000 steps\npace rot from 10% over 10000\n"


def test_the_design_example_renders_exactly():
    diagnostic = Diagnostic(
        "E012", "unknown pacing function 'rot'", Span("specs/bad.cur", 3, 6, 3, 9, SOURCE),
        "did you mean 'root'?",
    )  # fmt: skip
    assert render_diagnostics([diagnostic]) == (
        "specs/bad.cur:3:6: error[E012]: unknown pacing function 'rot'\n"
        "  3 | pace rot from 10% over 10000\n"
        "    |      ^^^\n"
        "    = help: did you mean 'root'?\n"
        "\n"
        "1 error"
    )


def test_file_order_then_unlocated_and_a_summary():
    diagnostics = [
        Diagnostic("E999", "no position at all"),
        Diagnostic("W001", "late", Span("a.cur", 3, 1, 3, 5, SOURCE), severity="warning"),
        Diagnostic("E001", "early", Span("a.cur", 1, 7, 1, 20, SOURCE)),
    ]
    text = render_diagnostics(diagnostics)
    assert text.index("early") < text.index("late") < text.index("no position")
    assert text.endswith("2 errors, 1 warning")
    assert "error[E999]: no position at all" in text.split("\n")


def test_multi_line_span_is_underlined_to_the_end_of_its_first_line():
    text = render_diagnostics([Diagnostic("E001", "x", Span("a.cur", 2, 7, 3, 4, SOURCE))])
    assert "  2 | train 20000 steps\n    |       ^^^^^^^^^^^" in text


def test_data_file_spans_read_the_line_from_the_file(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text('{"text": "a"}\n{"txt": "b"}\n', encoding="utf-8")
    text = render_diagnostics([Diagnostic("E301", "no 'text' field", Span.point(str(data), 2))])
    assert f'{data}:2:1: error[E301]: no \'text\' field\n  2 | {{"txt": "b"}}\n    | ^' in text
    gone = render_diagnostics([Diagnostic("E301", "gone", Span.point(str(tmp_path / "x"), 9))])
    assert gone.split("\n")[0] == f"{tmp_path / 'x'}:9:1: error[E301]: gone"
    assert "|" not in gone


def test_colour_only_when_asked():
    diagnostic = Diagnostic("E012", "m", Span("a", 1, 1, 1, 2, "x"), "h")
    assert "\x1b[" not in render_diagnostics([diagnostic])
    assert "\x1b[1;31m" in render_diagnostics([diagnostic], color=True)
    assert render_diagnostics([]) == ""
