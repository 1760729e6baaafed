"""The JSON Schemas shipped with curriculumc, and validation that reports Diagnostics.

``spec.schema.json`` describes the YAML spec form (editors can use it too);
``plan.schema.json`` describes a compiled plan (``plan.json``), so that a plan written by
another tool is checked before it runs. jsonschema is imported only when validating.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources

from curriculumc.errors import CurriculumError, Diagnostic, Span, did_you_mean
from curriculumc.lang import ast

E_SCHEMA = "E170"
E_PLAN = "E190"


@cache
def _schema_text(name: str) -> str:
    return resources.files("curriculumc.lang").joinpath(name).read_text("utf-8")


def spec_schema() -> dict:
    """The JSON Schema of the YAML spec form."""
    return json.loads(_schema_text("spec.schema.json"))


def plan_schema() -> dict:
    """The JSON Schema of a compiled plan."""
    return json.loads(_schema_text("plan.schema.json"))


def schema_text(which: str) -> str:
    """The schema file's text: ``which`` is ``spec`` or ``plan``."""
    return _schema_text(f"{which}.schema.json")


def _suggest(error) -> str | None:
    """For "Additional properties are not allowed": did you mean one of the known keys?"""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return None
    known = list(error.schema.get("properties", {}))
    extra = [k for k in error.instance if k not in known]
    for key in extra:
        hint = did_you_mean(str(key), known, most=1)
        if hint:
            return hint
    return "allowed keys: " + ", ".join(known) if known else None


# how spec.schema.json writes the number syntax (anchored, as JSON Schema patterns are not)
NUMBER_PATTERN = f"^{ast.NUMBER_PATTERN}$"
# ... and a batch: a number with an optional unit word (32, 32 examples, 4096 tokens)
BATCH_PATTERN = f"^({ast.NUMBER_PATTERN})( +[A-Za-z_][A-Za-z0-9_\\-]*)?$"


def _specific(error):
    """The most telling error under a oneOf/anyOf: the deepest one that is not merely
    "wrong type" for a branch the value was never meant to match."""
    while error.context:
        candidates = [
            e for e in error.context
            if e.validator != "type" or len(e.absolute_path) > len(error.absolute_path)
        ]  # fmt: skip
        if not candidates:
            break
        error = max(candidates, key=lambda e: len(e.absolute_path))
    return error


def validate(
    data,
    schema: dict,
    locate: Callable[[tuple, bool], Span | None],
    code: str = E_SCHEMA,
) -> list[Diagnostic]:
    """Diagnostics for every way ``data`` breaks ``schema``.

    ``locate(path, at_key)`` gives the span of the value at a JSON path (or of its key
    when ``at_key``, used for unknown keys).
    """
    from jsonschema import Draft202012Validator

    diagnostics = []
    for error in Draft202012Validator(schema).iter_errors(data):
        error = _specific(error)
        path = tuple(error.absolute_path)
        span = None
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set(error.schema.get("properties", {}))
            extra = [k for k in error.instance if k not in known]
            if extra:
                span = locate(path + (extra[0],), True)
                where = ".".join(str(p) for p in path)
                message = f"unknown key '{extra[0]}'" + (f" in '{where}'" if where else "")
        if error.validator == "pattern" and error.validator_value == NUMBER_PATTERN:
            message = f"{error.instance!r} is not a number (10k, 1e-3 or 10% are fine)"
        if error.validator == "pattern" and error.validator_value == BATCH_PATTERN:
            message = (
                f"{error.instance!r} is not a number (a batch is 32, 32 examples or 4096 tokens)"
            )
        if span is None:
            span = locate(path, False)
        if path and not message.startswith("unknown key"):
            message = f"{'.'.join(str(p) for p in path)}: {message}"
        diagnostics.append(Diagnostic(code, message, span, _suggest(error)))
    return diagnostics


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def read_plan(path: str):
    """A :class:`~curriculumc.plan.Plan` from a plan.json file, validated against the plan
    schema; raises CurriculumError (with the line of the problem where it can be found)."""
    from curriculumc.files import MAX_CONFIG_BYTES, read_limited
    from curriculumc.plan import Plan

    try:
        raw = read_limited(path, MAX_CONFIG_BYTES)
    except OSError as exc:
        raise CurriculumError.single(
            E_PLAN, f"cannot read plan '{path}': {exc.strerror or exc}"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        shown = raw.decode("utf-8", "replace")
        before = raw[: exc.start].decode("utf-8", "replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise CurriculumError.single(
            E_PLAN, f"plan is not UTF-8 text ({exc.reason} at byte {exc.start})",
            Span.point(path, line, column, shown),
        ) from None  # fmt: skip
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        span = Span(path, exc.lineno, exc.colno, exc.lineno, exc.colno + 1, text)
        raise CurriculumError.single(E_PLAN, f"plan is not valid JSON: {exc.msg}", span) from None
    except (ValueError, RecursionError) as exc:  # NaN, Infinity; 5,000 digits; nesting
        message = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        line, column = 1, 1
        found = re.search(r"(?<![\w\"])-?(NaN|Infinity)\b", text)
        if found and "JSON number" in message:
            line = text.count("\n", 0, found.start()) + 1
            column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
        raise CurriculumError.single(
            E_PLAN, f"plan is not valid JSON: {message[:120]}",
            Span.point(path, line, column, text),
        ) from None  # fmt: skip

    lines = text.split("\n")

    def locate(json_path: tuple, at_key: bool) -> Span:
        # the line where the last key of the path is written (good enough for plan files)
        keys = [p for p in json_path if isinstance(p, str)]
        line_number = 1
        for key in keys:
            needle = json.dumps(key) + ":"
            for number in range(line_number, len(lines) + 1):
                if needle in lines[number - 1]:
                    line_number = number
                    break
        column = lines[line_number - 1].find(json.dumps(keys[-1])) + 1 if keys else 1
        return Span.point(path, line_number, max(column, 1), text)

    diagnostics = validate(data, plan_schema(), locate, E_PLAN)
    if diagnostics:
        raise CurriculumError(diagnostics)
    try:
        result = Plan.from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise CurriculumError.single(
            E_PLAN, f"not a valid plan: {exc}", Span.point(path, 1, 1, text)
        ) from None
    from curriculumc.lang.plan_checks import check_plan

    problems = check_plan(result, lambda json_path: locate(json_path, False), prefix=True)
    if any(d.is_error for d in problems):
        raise CurriculumError([d for d in problems if d.is_error])
    return result
