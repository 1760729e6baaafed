"""The compiler: a parsed spec in, a checked :class:`~curriculumc.plan.Plan` out.

Two passes over the AST, both collecting diagnostics instead of stopping at the first:
the plan builder (:mod:`curriculumc.lang.builder`, every value problem) and the rules
(:data:`curriculumc.lang.rules.RULES`, problems between statements). Diagnostics come back
sorted by position.
"""

from __future__ import annotations

import dataclasses

from curriculumc import plan, registry
from curriculumc.errors import CurriculumError, Diagnostic, did_you_mean
from curriculumc.lang import ast
from curriculumc.lang.builder import E_SCORER, build_plan
from curriculumc.lang.plan_checks import check_plan
from curriculumc.lang.rules import RULES


def _position(diagnostic: Diagnostic):
    span = diagnostic.span
    if span is None:
        return (1, "", 0, 0)
    return (0, span.file, span.line, span.column)


def analyse(
    spec: ast.Spec, data_sources: tuple[str, ...] | None = None
) -> tuple[plan.Plan, list[Diagnostic]]:
    """Build the plan and collect every diagnostic (sorted by position); ``data_sources``:
    the data's source names, when read (see :func:`~curriculumc.lang.builder.build_plan`).

    The plan is meaningful only when no diagnostic is an error.
    """
    diagnostics: list[Diagnostic] = []
    result = build_plan(spec, diagnostics.append, data_sources)
    for rule in RULES:
        diagnostics.extend(rule(spec, result))
    if not any(d.is_error for d in diagnostics):
        # the checks every plan passes (also one read from plan.json): a spec the builder
        # accepted passes them; should one not, it is refused here, never run
        diagnostics.extend(check_plan(result, lambda path: spec.span))
    return result, sorted(diagnostics, key=_position)


def check_spec(spec: ast.Spec) -> list[Diagnostic]:
    """Every problem of ``spec`` (errors and warnings), in file order. Never raises."""
    return analyse(spec)[1]


def compile_spec(
    spec: ast.Spec, data_sources: tuple[str, ...] | None = None
) -> tuple[plan.Plan, list[Diagnostic]]:
    """Check and compile ``spec``: returns (plan, warnings). ``data_sources``: the data's
    source names, when the caller has read them.

    Raises :class:`CurriculumError` holding every diagnostic (errors first) when any
    is an error.
    """
    result, diagnostics = analyse(spec, data_sources)
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise CurriculumError(errors + [d for d in diagnostics if not d.is_error])
    return result, diagnostics


def make_control(source: plan.Plan, scorer: str = "random") -> plan.Plan:
    """The matched control of a plan: the same in everything, but sorted by ``scorer``
    (default ``random``) instead of its difficulty terms; pacing is kept."""
    if scorer not in registry.scorers():
        hint = did_you_mean(scorer, registry.scorers())
        raise CurriculumError.single(E_SCORER, f"unknown scorer '{scorer}'", hint=hint)
    return dataclasses.replace(source, sort=plan.SortSpec((plan.ScorerTerm(scorer),), False))
