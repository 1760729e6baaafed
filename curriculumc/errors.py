"""The one error type of curriculumc.

Every problem the tool reports -- a syntax error in a spec, an unknown scorer, a bad line
in a corpus file -- is a :class:`Diagnostic` with a code, a message, a :class:`Span` and a
hint. Stages collect diagnostics; when any is an error they raise :class:`CurriculumError`,
which carries all of them so that a user sees every problem at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A region of a source file, 1-based lines and columns, end exclusive.

    ``source`` is the full text of the file (kept so that rendering can show the line
    without reading the file again); it is excluded from equality and repr.
    """

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    source: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def point(cls, file: str, line: int, column: int = 1, source: str | None = None) -> Span:
        """A one-character span (used for data-file errors: file and line)."""
        return cls(file, line, column, line, column + 1, source)


@dataclass(frozen=True)
class Diagnostic:
    """One problem: ``severity`` is ``"error"`` or ``"warning"``; ``code`` like ``E012``."""

    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class CurriculumError(Exception):
    """Raised when a spec, plan or data input is wrong; ``.diagnostics`` lists every problem."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = (diagnostics,)
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(first.message if first else "curriculum error")

    @classmethod
    def single(
        cls, code: str, message: str, span: Span | None = None, hint: str | None = None
    ) -> CurriculumError:
        """Shorthand for an error with one diagnostic."""
        return cls((Diagnostic(code, message, span, hint),))


def did_you_mean(word: str, choices: Iterable[str], *, most: int = 2) -> str | None:
    """The hint ``did you mean 'x'?`` (``'x' or 'y'`` for two) for the closest of ``choices``.

    Takes the word written, the names it may have meant and how many close names to
    offer (``most``); returns None when none is close (``difflib``'s ratio below 0.6).
    The order of ``choices`` does not matter: difflib ranks by closeness, then by name.
    """
    close = difflib.get_close_matches(word, sorted(choices), n=most, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
