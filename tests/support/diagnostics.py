"""Checking a spec text and finding what a diagnostic points at (the language tests')."""

from __future__ import annotations

import curriculumc
from curriculumc.lang.parser import parse


def errors(text: str):
    """The error diagnostics of ``text`` (a DSL spec), in order."""
    return [d for d in curriculumc.check(parse(text, "t.cur")) if d.severity == "error"]


def only(text: str, code: str):
    """The one error of ``text`` with ``code`` (fails when there are none or several)."""
    found = [d for d in errors(text) if d.code == code]
    assert len(found) == 1, errors(text)
    return found[0]


def pointed_at(diagnostic, text: str) -> str:
    """The text a diagnostic's span covers (one line of ``text``)."""
    span = diagnostic.span
    line = text.splitlines()[span.line - 1]
    return line[span.column - 1 : span.end_column - 1]
