"""Render diagnostics as text, compiler style (a pure function; colour only on request).

::

    specs/bad.cur:3:6: error[E012]: unknown pacing function 'rot'
      3 | pace rot from 10% over 10000
        |      ^^^
        = help: did you mean 'root'?
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from curriculumc.errors import Diagnostic, Span

_COLORS = {"error": "\x1b[1;31m", "warning": "\x1b[1;33m", "help": "\x1b[1;36m", "bold": "\x1b[1m"}
_RESET = "\x1b[0m"


def _paint(text: str, what: str, color: bool) -> str:
    return f"{_COLORS[what]}{text}{_RESET}" if color else text


def _source_line(span: Span) -> str | None:
    """The text of the span's first line: from ``span.source``, else from the file."""
    source = span.source
    if source is None:
        try:
            path = Path(span.file)
            if not path.is_file():
                return None
            with path.open("rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    if number == span.line:
                        return raw.decode("utf-8", errors="replace").rstrip("\r\n")
        except OSError:
            return None
        return None
    lines = source.split("\n")
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1].rstrip("\r")
    return None


def _sort_key(item: tuple[int, Diagnostic]):
    index, diagnostic = item
    span = diagnostic.span
    if span is None:
        return (1, "", 0, 0, index)
    return (0, span.file, span.line, span.column, index)


def render_diagnostic(diagnostic: Diagnostic, *, color: bool = False) -> str:
    """One diagnostic: the header, the source line with carets, the help line."""
    span = diagnostic.span
    head = (
        f"{_paint(diagnostic.severity + '[' + diagnostic.code + ']', diagnostic.severity, color)}"
    )
    message = _paint(diagnostic.message, "bold", color)
    lines = []
    if span is None:
        lines.append(f"{head}: {message}")
    else:
        lines.append(f"{span.file}:{span.line}:{span.column}: {head}: {message}")
        text = _source_line(span)
        if text is not None:
            # one character per column, nothing the terminal would interpret: tabs become
            # spaces, other control characters a replacement mark
            text = "".join(" " if c == "\t" else c if c.isprintable() else "\ufffd" for c in text)
            gutter = " " * len(str(span.line))
            start = max(span.column - 1, 0)
            start = min(start, len(text))
            if span.end_line == span.line:
                width = max(span.end_column - span.column, 1)
            else:  # a multi-line span: underline to the end of the first line
                width = max(len(text) - start, 1)
            carets = _paint("^" * width, diagnostic.severity, color)
            lines.append(f"{span.line} | {text}".rstrip())
            lines.append(f"{gutter} | {' ' * start}{carets}")
            lines = [lines[0]] + ["  " + line for line in lines[1:]]
    if diagnostic.hint:
        indent = "  " + " " * len(str(span.line)) + " " if span and len(lines) > 1 else "  "
        lines.append(f"{indent}= {_paint('help', 'help', color)}: {diagnostic.hint}")
    return "\n".join(lines)


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    """``2 errors, 1 warning`` (empty when there are none)."""
    diagnostics = list(diagnostics)
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


def render_diagnostics(diagnostics: Iterable[Diagnostic], *, color: bool = False) -> str:
    """Every diagnostic in file order (those without a position last), then a summary.

    Takes any iterable of :class:`Diagnostic`; returns the text (no trailing newline).
    Pure: reads a data file only to show a line when a span has no ``source``.
    """
    ordered = [d for _, d in sorted(enumerate(diagnostics), key=_sort_key)]
    if not ordered:
        return ""
    blocks = [render_diagnostic(d, color=color) for d in ordered]
    return "\n\n".join(blocks) + "\n\n" + summary(ordered)
