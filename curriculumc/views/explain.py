"""A compiled curriculum in words: what ``curriculumc explain`` prints.

:func:`explain` turns a :class:`~curriculumc.plan.Plan` into a short plain-text timeline: what
the data is sorted by, how it is paced, then one block per stretch of training in which
nothing changes (split at every step of :meth:`Plan.boundaries` and at every phase start),
and the totals. Every number shown comes from the Plan's own schedule methods
(:meth:`Plan.data_fraction`, :meth:`Plan.vocab_fraction`, :meth:`Plan.objectives`) -- there
is no second copy of the pacing math here.

The text has no colour and wraps at a fixed width, so tests compare it exactly.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from curriculumc.lang.printer import call_text
from curriculumc.plan import EvalSpec, Pace, Plan, ScorerTerm

LABEL_WIDTH = 14  # "  objectives" plus two spaces: values line up in one column
MAX_LISTED_EVALS = 5  # longer lists are shortened to "a, b, ..., z (n times)"


@dataclass(frozen=True)
class Segment:
    """Steps ``[start, end)`` over which the objectives do not change and no boundary falls.

    ``reasons`` are the :meth:`Plan.boundaries` labels of the step ``start`` (empty for 0).
    """

    start: int
    end: int
    reasons: tuple[str, ...] = ()


def segments(plan: Plan) -> tuple[Segment, ...]:
    """Split ``[0, plan.train.steps)`` at every boundary and phase start.

    Returns the segments in order; an empty tuple when the plan has no steps.
    """
    total = plan.train.steps
    if total <= 0:
        return ()
    reasons: dict[int, list[str]] = {}
    for step, what in plan.boundaries():
        reasons.setdefault(step, []).append(what)
    cuts = {0, total}
    cuts.update(step for step in reasons if step < total)
    cuts.update(p.start for p in plan.phases if 0 < p.start < total)
    ordered = sorted(cuts)
    return tuple(
        Segment(lo, hi, tuple(reasons.get(lo, ()))) for lo, hi in zip(ordered, ordered[1:])
    )


def explain(plan: Plan, *, width: int = 80) -> str:
    """The plan's timeline in words, wrapped at ``width`` columns (no colour).

    Takes a compiled :class:`Plan`; returns the text, ending without a newline.
    Raises ``ValueError`` when ``width`` is too small to lay the text out (< 40).
    """
    if width < 40:
        raise ValueError(f"width {width} is too small for explain (need at least 40)")
    # (label, value): label None = a title flush left, "" = continues the row above;
    # a row None = a blank line
    rows: list[tuple[str | None, str] | None] = []
    rows += _header(plan)
    for segment in segments(plan):
        rows.append(None)
        rows.append((None, _segment_title(plan, segment)))
        rows += _segment_body(plan, segment)
    rows.append(None)
    rows += _totals(plan)
    return "\n".join(_layout(rows, width))


# --- the parts -------------------------------------------------------------------------


def _header(plan: Plan) -> list[tuple[str, str]]:
    rows = [("sorted by", _sort_text(plan))]
    rows.append(("data pace", _pace_text(plan.pace, "data")))
    rows.append(("vocabulary", _pace_text(plan.vocab, "vocabulary")))
    defined = [u for u in plan.units if u.objective != u.name or u.args or u.kwargs]
    if defined:
        rows.append(
            (
                "units",
                "; ".join(f"{u.name} = {_call(u.objective, u.args, u.kwargs)}" for u in defined),
            )
        )
    return rows


def _sort_text(plan: Plan) -> str:
    if plan.sort is None or not plan.sort.terms:
        return "nothing (the data keeps its order)"
    terms = plan.sort.terms
    if len(terms) == 1:
        text = _term(terms[0])
    else:
        text = " + ".join(f"{t.weight:g} × {_term(t)}" for t in terms) + " (z-scored)"
    if _is_random(plan):
        return f"{text}: a fixed random order (the control)"
    order = "descending, hardest first" if plan.sort.descending else "ascending, easiest first"
    return f"{text}, {order}"


def _term(term: ScorerTerm) -> str:
    return _call(term.name, term.args, term.kwargs)


def _call(name: str, args: tuple, kwargs: tuple) -> str:
    parts = [_scalar(a) for a in args] + [f"{k}={_scalar(v)}" for k, v in kwargs]
    return call_text(name, parts)


def _scalar(value) -> str:
    # a display, not DSL text: six significant digits read better than a float's repr
    return f"{value:g}" if isinstance(value, float) else str(value)


def _pace_text(pace: Pace, what: str) -> str:
    if pace.fn == "none":
        whole = "all data" if what == "data" else "the full vocabulary"
        return f"none: {whole} from the start"
    text = f"{pace.fn} from {_pct(pace.start)}"
    if pace.end != 1.0:
        text += f" to {_pct(pace.end)}"
    text += f" over {_steps(pace.over)} steps"
    if pace.after:
        text += f", starting at step {_steps(pace.after)}"
    release = pace.release_step
    if release is not None and pace.release is not None and pace.release < 1.0:
        text += f", released at {_steps(release)} ({_pct(pace.release)})"
    return text


def _segment_title(plan: Plan, segment: Segment) -> str:
    span = segment.end - segment.start
    drawn = span * _examples_per_step(plan)
    title = (
        f"steps {_steps(segment.start)}–{_steps(segment.end)}"
        f" ({_steps(span)} steps, {_steps(drawn)} examples)"
    )
    return title


def _segment_body(plan: Plan, segment: Segment) -> list[tuple[str, str]]:
    first, last = segment.start, segment.end - 1
    rows = [("  changes", "; ".join(segment.reasons))] if segment.reasons else []
    rows += [
        ("  data", _share_text(plan, plan.data_fraction(first), plan.data_fraction(last), "data")),
        ("  objectives", _objectives_text(plan.objectives(first))),
        (
            "  vocabulary",
            _share_text(plan, plan.vocab_fraction(first), plan.vocab_fraction(last), "vocabulary"),
        ),
    ]
    if plan.evals:
        listed = [_eval_text(plan, e, segment) for e in plan.evals]
        listed = [text for text in listed if text]
        rows.append(("  evals", "; ".join(listed) if listed else "none"))
    return rows


def _share_text(plan: Plan, first: float, last: float, what: str) -> str:
    """How much of the data (or vocabulary) is released over one segment."""
    pace = plan.pace if what == "data" else plan.vocab
    if first == 1.0 and last == 1.0:
        return "all data" if what == "data" else "full vocabulary"
    # the vocabulary is released lowest ids first; for a BPE those are the bytes and the
    # earliest (most frequent) merges -- "the first 10%" says no more than that
    which = f"{_pool_word(plan)} " if what == "data" else ""
    noun = "of the data" if what == "data" else "of the vocabulary"
    if first == last:
        return f"{which}{_pct(first)} {noun}, fixed ({pace.fn})"
    direction = "rising" if last > first else "falling"
    return f"{which}{_pct(first)} → {_pct(last)} {noun}, {direction} ({pace.fn})"


def _pool_word(plan: Plan) -> str:
    if plan.sort is None or not plan.sort.terms:
        return "first"
    if _is_random(plan):
        return "a random"
    return "hardest" if plan.sort.descending else "easiest"


def _is_random(plan: Plan) -> bool:
    return plan.sort is not None and all(t.name == "random" for t in plan.sort.terms)


def _objectives_text(weights: dict[str, float]) -> str:
    if not weights:
        return "none (no loss is trained)"
    return " + ".join(f"{name} ×{weight:g}" for name, weight in weights.items())


def _eval_text(plan: Plan, spec: EvalSpec, segment: Segment) -> str:
    steps = plan.evaluation_steps(spec, segment.start, segment.end)
    if not steps:
        return ""
    return f"{spec.name} at {_step_list(steps)}"


def _step_list(steps: list[int]) -> str:
    if len(steps) <= MAX_LISTED_EVALS:
        return ", ".join(_steps(s) for s in steps)
    shown = ", ".join(_steps(s) for s in steps[:2])
    return f"{shown}, …, {_steps(steps[-1])} ({len(steps)} times)"


def _totals(plan: Plan) -> list[tuple[str, str]]:
    train = plan.train
    per_step = _examples_per_step(plan)
    # examples of the "line" unit are truncated to seq and padded: seq is an upper bound
    upto = "" if plan.data.unit == "packed" else "up to "
    batch = f"batch {train.batch}"
    if train.grad_accum > 1:
        batch += f" × {train.grad_accum} accumulated"
    rows = [
        (
            "total",
            f"{_steps(train.steps)} steps, {batch} × seq {train.seq}"
            f" = {upto}{_steps(per_step * train.seq)} tokens per step",
        ),
        (
            "",
            f"{_steps(train.steps * per_step)} examples drawn,"
            f" {upto}{_steps(train.steps * per_step * train.seq)} tokens",
        ),
    ]
    for spec in plan.evals:
        runs = plan.evaluation_steps(spec)
        how = []
        if spec.every:
            how.append(f"every {_steps(spec.every)} steps")
        if spec.at_phases:
            how.append("at phase boundaries")
        how.append("at the end")
        where = f" ({spec.path})" if spec.path else ""
        count = f"{len(runs)} evaluation{'s' * (len(runs) != 1)}"
        when = " and ".join(how)  # at most three parts: every N, at phases, at the end
        rows.append(("", f"{spec.name}{where} {when}: {count}"))
    return rows


def _examples_per_step(plan: Plan) -> int:
    return plan.train.batch * max(1, plan.train.grad_accum)


# --- formatting ------------------------------------------------------------------------


def _steps(n: int) -> str:
    return f"{n:,}"


def _pct(x: float) -> str:
    """A share as a percentage with at most one decimal; never shows 100% or 0% for a share
    that is not exactly that (a pool at 99.99% is not all the data)."""
    value = round(x * 100, 1)
    if value == 100 and x < 1:
        return "≈100%"
    if value == 0 and x > 0:
        return "≈0%"
    return f"{value:g}%"


def _layout(rows: list[tuple[str | None, str] | None], width: int) -> list[str]:
    lines: list[str] = []
    for row in rows:
        if row is None:
            lines.append("")
            continue
        label, value = row
        if label is None:  # a segment title; its wrapped tail is indented a little
            first, rest = "", "    "
        else:
            first, rest = f"{label:<{LABEL_WIDTH}}", " " * LABEL_WIDTH
        lines += textwrap.wrap(
            value,
            width=width,
            initial_indent=first,
            subsequent_indent=rest,
            break_on_hyphens=False,
        )
    return lines
