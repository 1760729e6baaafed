"""Reading a spec's values: numbers, shares, times, names, paths -- each checked.

Every ``read_*`` function takes an AST value, what it is called in messages, and a
``report`` callback; a wrong value is reported as a positioned Diagnostic and ``None`` is
returned (the caller falls back to the default), so that one pass over a spec finds every
value problem. Used by the plan builder (:mod:`curriculumc.lang.builder`) and the
``key=value`` overrides.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable

from curriculumc.errors import Diagnostic, did_you_mean
from curriculumc.lang import ast
from curriculumc.plan import TIME_UNITS, Time, steps_number

Report = Callable[[Diagnostic], None]

E_TYPE = "E030"
E_PERCENT = "E031"
E_RANGE = "E033"
E_CHOICE = "E022"
W_MISSING_PATH = "W005"
E_NOT_FILE = "E041"
LARGEST = 10**12  # no count in a spec is larger; keeps arithmetic on absurd input cheap


# --- reporting -------------------------------------------------------------------------


def report_error(report: Report, code: str, message: str, node, hint=None, severity="error"):
    """Report a Diagnostic at ``node``'s span (a value's problem; the caller goes on)."""
    span = getattr(node, "span", None)
    report(Diagnostic(code, message, span, hint, severity))


def report_unknown(report: Report, code: str, what: str, name: ast.Name, choices) -> None:
    """``unknown WHAT 'x'`` with "did you mean" (else the known names) as the hint."""
    hint = did_you_mean(name.value, choices)
    if hint is None:
        hint = "known: " + ", ".join(sorted(choices))
    report_error(report, code, f"unknown {what} '{name.value}'", name, hint)


# --- reading values --------------------------------------------------------------------


def _kind(value) -> str:
    if isinstance(value, ast.Number):
        return f"the number {value.text}"
    if isinstance(value, ast.Name):
        return f"the name '{value.value}'"
    return "a quoted string"


def read_int(
    value, what: str, report: Report, *, minimum: int = 1, maximum: int | None = None
) -> int | None:
    """A whole number in [``minimum``, ``maximum``] (``10k`` = 10000; no ``maximum``: at most
    :data:`LARGEST`); reports and returns None otherwise."""
    if not isinstance(value, ast.Number) or value.percent:
        report_error(report, E_TYPE, f"{what} must be a whole number, not {_kind(value)}", value)
        return None
    number = value.integer()
    if number is None:
        report_error(report, E_TYPE, f"{what} must be a whole number, not {value.text}", value)
        return None
    if maximum is not None and not minimum <= number <= maximum:
        report_error(
            report, E_RANGE, f"{what} must be between {minimum} and {maximum}, not {value.text}",
            value,
        )  # fmt: skip
        return None
    if number < minimum or number > LARGEST:
        bound = "at least" if number < minimum else "at most"
        limit = minimum if number < minimum else f"{LARGEST:.0e}"
        report_error(report, E_RANGE, f"{what} must be {bound} {limit}, not {value.text}", value)
        return None
    return number


def read_float(value, what: str, report: Report, *, positive: bool = False) -> float | None:
    """A finite number >= 0 (> 0 when ``positive``)."""
    if not isinstance(value, ast.Number) or value.percent:
        report_error(report, E_TYPE, f"{what} must be a number, not {_kind(value)}", value)
        return None
    number = value.magnitude
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        need = "greater than 0" if positive else "0 or more"
        report_error(report, E_RANGE, f"{what} must be {need}, not {value.text}", value)
        return None
    return number


def read_share(value, what: str, report: Report, *, zero: bool = False) -> float | None:
    """A share of a whole: a percentage in (0, 100] or a fraction in (0, 1] (with
    ``zero``: [0, 100] / [0, 1])."""
    if not isinstance(value, ast.Number):
        report_error(report, E_TYPE, f"{what} must be a percentage, not {_kind(value)}", value)
        return None
    share = value.share
    if not math.isfinite(share) or not (0 <= share if zero else 0 < share) or share > 1:
        hint = None
        if not value.percent and math.isfinite(share) and 1 < share <= 100:
            hint = f"did you mean {value.text}%?"
        low = "[0" if zero else "(0"
        shown = f"a percentage in {low}, 100]" if value.percent else f"a fraction in {low}, 1]"
        report_error(report, E_PERCENT, f"{what} must be {shown}, not {value.text}", value, hint)
        return None
    return share


def read_time(
    value, what: str, report: Report, steps: int | Time, *, minimum: int = 0, exact: bool = False
) -> int | float | Time | None:
    """A time: optimizer steps (``10000``, ``10k``, ``10000 steps``), data drawn (``2M
    words``, ``500k tokens``, ``3 epochs``: a :class:`~curriculumc.plan.Time`) or ``50%``
    of training -- of its ``steps``, or of its length when that is a Time (``train 2M
    words``: ``50%`` is ``1M words``, exactly).

    A share of training in steps is rounded to whole steps, or with ``exact`` kept exact:
    ``6.25%`` of 300 steps is 18.75 (``share * steps`` in floating point, the seed system's
    ``start_percent * total_steps``), stored as an int when whole (pacing's ``after`` and
    ``over``; phases and warm-up stay whole steps)."""
    unit = getattr(value, "unit", None)
    if unit is not None and unit != "steps":
        return _read_data_time(value, what, report, unit, minimum)
    if isinstance(value, ast.Number) and value.percent and unit is not None:
        report_error(
            report, E_TYPE, f"{what}: a share of training takes no unit ({value.text} {unit})",
            value, hint=f"write {value.text}",
        )  # fmt: skip
        return None
    if isinstance(steps, Time) and isinstance(value, ast.Number) and value.percent:
        if not _in_percent_range(value, what, report):
            return None
        resolved = Time(steps_number(value.share * steps.value), steps.unit)
        if minimum and resolved.value <= 0:
            report_error(report, E_RANGE, f"{what} must be more than 0, not {value.text}", value)
            return None
        return resolved
    if isinstance(value, ast.Number) and value.percent:
        if not _in_percent_range(value, what, report):
            return None
        resolved = steps_number(value.share * steps) if exact else value.share_of(steps)
        if resolved < minimum:
            report_error(
                report, E_RANGE,
                f"{what} must be at least {minimum} step{'s' * (minimum != 1)}; "
                f"{value.text} of {steps} is {resolved}",
                value,
            )  # fmt: skip
            return None
        return resolved
    if isinstance(value, ast.Number) and value.integer() is None and 0 < value.magnitude < 1:
        report_error(
            report, E_TYPE, f"{what} must be a whole number of steps, not {value.text}", value,
            hint=f"write {value.share * 100:g}% for a share of training",
        )  # fmt: skip
        return None
    return read_int(value, what, report, minimum=minimum)


def _in_percent_range(value: ast.Number, what: str, report: Report) -> bool:
    """A share of training in [0%, 100%] (E031 otherwise)."""
    if math.isfinite(value.magnitude) and 0 <= value.magnitude <= 100:
        return True
    report_error(
        report, E_PERCENT, f"{what} must be a percentage in [0, 100], not {value.text}", value
    )
    return False


def _read_data_time(value, what: str, report: Report, unit: str, minimum: int) -> Time | None:
    """``2M words`` / ``500k tokens`` (whole counts) or ``2.5 epochs``."""
    if unit not in TIME_UNITS:  # the grammar admits only these; a YAML value may not
        report_unknown(report, E_CHOICE, "time unit", ast.Name(unit, value.span), TIME_UNITS)
        return None
    if unit == "epochs":
        number = read_float(value, what, report, positive=minimum > 0)
        return None if number is None else Time(number, unit)
    number = read_int(value, what, report, minimum=min(minimum, 1))
    return None if number is None else Time(number, unit)


def read_text(value, what: str, report: Report) -> str | None:
    """A name or a quoted string."""
    if isinstance(value, (ast.Name, ast.String)):
        return value.value
    report_error(
        report, E_TYPE, f"{what} must be a name or a quoted string, not {_kind(value)}", value
    )
    return None


def read_choice(value, what: str, report: Report, choices) -> str | None:
    """A name out of ``choices`` (with "did you mean")."""
    if not isinstance(value, ast.Name):
        report_error(report, E_TYPE, f"{what} must be one of {', '.join(choices)}", value)
        return None
    if value.value not in choices:
        report_unknown(report, E_CHOICE, what, value, choices)
        return None
    return value.value


def read_bool(value, what: str, report: Report) -> bool | None:
    if isinstance(value, ast.Name) and value.value in ("true", "false"):
        return value.value == "true"
    report_error(report, E_TYPE, f"{what} must be true or false, not {_kind(value)}", value)
    return None


def read_typed(
    value, type_name: str, what: str, report: Report, *, bounds: tuple[int, int | None] = (0, None)
):
    """A value of a registry type: ``int`` (within ``bounds``, both ends included; see
    :attr:`curriculumc.registry.Signature.ranges`), ``float``, ``fraction`` (in (0, 1]),
    ``share`` (in [0, 1]), ``str`` or ``bool``."""
    if type_name == "int":
        return read_int(value, what, report, minimum=bounds[0], maximum=bounds[1])
    if type_name == "float":
        return read_float(value, what, report)
    if type_name == "fraction":
        return read_share(value, what, report)
    if type_name == "share":
        return read_share(value, what, report, zero=True)
    if type_name == "bool":
        return read_bool(value, what, report)
    return read_text(value, what, report)


def resolve_path(spec: ast.Spec, text: str) -> str:
    """An absolute path: ``text`` relative to the spec's folder (``~`` expanded)."""
    path = os.path.expanduser(text)
    if not os.path.isabs(path):
        path = os.path.join(spec.base_dir or os.getcwd(), path)
    return os.path.abspath(path)


def check_exists(path: str, node, what: str, report: Report) -> None:
    """Warn (W005) when ``path`` does not exist on this machine; an error (E041) when it is
    neither a file nor a folder (a device such as /dev/zero, a FIFO, a socket: reading it
    would never end or never start). Only ``stat``: never opens it."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        mode = None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        report_error(
            report, E_NOT_FILE, f"{what} '{path}' is not a regular file or a folder", node,
            hint="name a file or a folder of files (not a device, FIFO or socket)",
        )  # fmt: skip
        return
    if mode is None:
        report_error(
            report, W_MISSING_PATH, f"{what} '{path}' does not exist here", node,
            hint="fine if it exists where the plan runs; otherwise fix the path "
            "(relative paths are relative to the spec file)",
            severity="warning",
        )  # fmt: skip
