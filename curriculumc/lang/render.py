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

#: at most this many diagnostics are shown per file (then "... and N more")
MAX_PER_FILE = 100
#: the shown source line is clipped to this many characters around the span
MAX_LINE_WIDTH = 120
_CONTEXT = 40  # characters shown before the span when the line is clipped

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
    if span.line < 1:
        return None
    start = 0
    for _ in range(span.line - 1):  # no split: a long source is not copied per diagnostic
        start = source.find("\n", start) + 1
        if start == 0:
            return None
    end = source.find("\n", start)
    return source[start : end if end >= 0 else len(source)].rstrip("\r")


def _clip(text: str, start: int, width: int) -> tuple[str, int, int]:
    """``text`` cut to :data:`MAX_LINE_WIDTH` characters around the span that starts at
    ``start`` and is ``width`` wide (a cut is marked ``…``): (text, start, width)."""
    if len(text) <= MAX_LINE_WIDTH:
        return text, start, width
    begin = max(0, min(start - _CONTEXT, len(text) - MAX_LINE_WIDTH))
    end = begin + MAX_LINE_WIDTH
    shown = ("…" if begin else "") + text[begin:end] + ("…" if end < len(text) else "")
    start = start - begin + (1 if begin else 0)
    width = max(1, min(width, MAX_LINE_WIDTH - (start - (1 if begin else 0))))
    return shown, start, width


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
            gutter = " " * len(str(span.line))
            start = max(span.column - 1, 0)
            start = min(start, len(text))
            if span.end_line == span.line:
                width = max(span.end_column - span.column, 1)
            else:  # a multi-line span: underline to the end of the first line
                width = max(len(text) - start, 1)
            width = max(1, min(width, len(text) - start))
            text, start, width = _clip(text, start, width)
            text = "".join(" " if c == "\t" else c if c.isprintable() else "\ufffd" for c in text)
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
    blocks, per_file, hidden = [], {}, {}
    for diagnostic in ordered:
        file = diagnostic.span.file if diagnostic.span else None
        per_file[file] = per_file.get(file, 0) + 1
        if per_file[file] > MAX_PER_FILE:
            hidden[file] = hidden.get(file, 0) + 1
            if hidden[file] == 1:
                blocks.append(None)  # where the "and N more" line goes
                hidden[(file, "at")] = len(blocks) - 1
            continue
        blocks.append(render_diagnostic(diagnostic, color=color))
    for file, count in list(hidden.items()):
        if isinstance(file, tuple):
            continue
        where = f"{file}: " if file else ""
        blocks[hidden[(file, "at")]] = (
            f"{where}... and {count} more problem{'s' * (count != 1)} not shown"
        )
    return "\n\n".join(blocks) + "\n\n" + summary(ordered)
