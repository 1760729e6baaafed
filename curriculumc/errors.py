"""The one error type of curriculumc.

Every problem the tool reports -- a syntax error in a spec, an unknown scorer, a bad line
in a corpus file -- is a :class:`Diagnostic` with a code, a message, a :class:`Span` and a
hint. Stages collect diagnostics; when any is an error they raise :class:`CurriculumError`,
which carries all of them so that a user sees every problem at once.
"""

from __future__ import annotations

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
