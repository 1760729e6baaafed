"""Print DSL text: the one place that knows how a spec is written down.

:func:`format_spec` prints a syntax tree (:mod:`curriculumc.lang.ast`) back as DSL text that
parses to the same meaning -- the facade's ``format_spec``, and the CLIMB importer, which
builds syntax-tree nodes and prints them with :func:`format_statement`. Values the tool
computed rather than read (a unit's keyword, a seed fraction) become number text by
:func:`number_text`, :func:`scalar_text` and :func:`percent_text`; :func:`call_text` is
the shape of a call, shared with the compiler's names of inline units and with
``explain``.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence

from curriculumc.lang.ast import (
    AtStmt,
    BatchStmt,
    Call,
    CheckpointStmt,
    DataStmt,
    DuringStmt,
    EvalStmt,
    LogStmt,
    MixStmt,
    ModelStmt,
    Name,
    Number,
    PaceStage,
    PaceStmt,
    PushStmt,
    Schedule,
    SeqStmt,
    Setting,
    SortStmt,
    Spec,
    Statement,
    String,
    Term,
    TokenizerStmt,
    TrainStmt,
    UnitStmt,
    Value,
)

# --- computed values -------------------------------------------------------------------


def number_text(value: int | float) -> str:
    """A number as DSL text: ``400000``, ``0.001``, ``1e-05`` (a whole float loses ``.0``)."""
    if isinstance(value, float):
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    return str(value)


def scalar_text(value) -> str:
    """A keyword's value as DSL text: ``true``/``false``, a number, or a name as it is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    return str(value)


def percent_text(fraction: float) -> str:
    """A fraction as exact percent text: 0.1 -> ``10%``, 0.125 -> ``12.5%``.

    Exact in decimal (the float's shortest repr, scaled by 100), so that 0.07 prints as
    ``7%`` and not as ``7.000000000000001%``.
    """
    value = decimal.Decimal(repr(float(fraction))).scaleb(2).normalize()
    return f"{format(value, 'f')}%"


def call_text(name: str, parts: Sequence[str]) -> str:
    """``name(a, b, k=v)`` from the argument texts, or ``name`` alone when there are none."""
    return f"{name}({', '.join(parts)})" if parts else name


# --- syntax trees ----------------------------------------------------------------------


def format_value(value: Value) -> str:
    """A value as written: a number's text, a bare name, or a quoted, escaped string."""
    if isinstance(value, Number):
        return value.text
    if isinstance(value, Name):
        return value.value
    escaped = value.value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def format_call(call: Call) -> str:
    """``ngram_ppl(n=3)``, ``pos(noun, verb)``, ``mlm``: arguments in the order written."""
    parts = [
        f"{a.key.value}={format_value(a.value)}" if a.key else format_value(a.value)
        for a in call.args
    ]
    return call_text(call.name.value, parts)


def format_terms(terms: tuple[Term, ...]) -> str:
    """``0.7 ngram_ppl(n=3) + 0.3 random``: weighted terms of a ``sort`` or an ``at``."""
    return " + ".join(
        f"{t.weight.text} {format_call(t.call)}" if t.weight else format_call(t.call) for t in terms
    )


def _format_schedule(s: Schedule) -> str:
    out = f"from {s.start.text}"
    if s.end:
        out += f" to {s.end.text}"
    if s.after:
        out += f" after {time_text(s.after)}"
    out += f" over {time_text(s.over)}"
    if s.release:
        out += f" release at {s.release.text}"
    return out


def _format_stage(stage: PaceStage) -> str:
    after = f" after {time_text(stage.after)}" if stage.after else ""
    return f"then {stage.fn.value} to {stage.end.text}{after} over {time_text(stage.over)}"


def _format_setting(s: Setting) -> str:
    """``batch 4096 tokens``, ``sample with replacement``, ``lr 1e-3``: key, value, word."""
    unit = f" {s.unit.value}" if s.unit else ""
    return f"{s.key.value} {format_value(s.value)}{unit}"


def format_statement(stmt: Statement) -> str:
    """One statement as DSL text. Raises ``TypeError`` for anything else."""
    if isinstance(stmt, ModelStmt):
        return f"model {format_value(stmt.target)}"
    if isinstance(stmt, DataStmt):
        source = format_value(stmt.source)
        if stmt.kind == "hub":
            source = f"hub {format_value(String(stmt.source.value))}"
        args = format_call(Call(Name(""), stmt.args)) if stmt.args else ""
        return f"data {source}{args}" + (" packed" if stmt.packed else "")
    if isinstance(stmt, TokenizerStmt):
        size = f" {stmt.size.text}" if stmt.size else ""
        return f"tokenizer {format_value(stmt.kind)}{size}"
    if isinstance(stmt, TrainStmt):
        return "train " + ", ".join(_format_setting(s) for s in stmt.settings)
    if isinstance(stmt, SortStmt):
        order = f" {stmt.order.value}" if stmt.order else ""
        return f"sort by {format_terms(stmt.terms)}{order}"
    if isinstance(stmt, PaceStmt):
        word = "pace" if stmt.target == "data" else "vocab"
        schedule = f" {_format_schedule(stmt.schedule)}" if stmt.schedule else ""
        schedule += "".join(f", {_format_stage(stage)}" for stage in stmt.stages)
        fn = stmt.fn.value
        if stmt.levels:  # the discrete form: 'pace 10% from 0, 30% from 5k'
            fn = ", ".join(f"{level.share.text} from {time_text(level.time)}"
                           for level in stmt.levels)  # fmt: skip
        order = f" by {stmt.order.value}" if stmt.order else ""
        # 'inputs only' is the one rule the DSL writes; the default (inputs and labels)
        # is written by leaving it out
        hides = " inputs only" if stmt.hides and stmt.hides.value == "inputs" else ""
        ties = f" ties {stmt.ties.rule.value}" if stmt.ties else ""
        return f"{word} {fn}{schedule}{order}{hides}{ties}"
    if isinstance(stmt, AtStmt):
        return f"at {time_text(stmt.time)} {format_terms(stmt.terms)}"
    if isinstance(stmt, DuringStmt):
        return f"during {stmt.start.text}..{stmt.end.text} {format_terms((stmt.term,))}"
    if isinstance(stmt, UnitStmt):
        lr = f" lr {stmt.lr.text}" if stmt.lr else ""
        warmup = f" warmup {stmt.warmup.text}" if stmt.warmup else ""
        return f"unit {stmt.name.value} = {format_call(stmt.call)}{lr}{warmup}"
    if isinstance(stmt, EvalStmt):
        out = f"eval {format_value(stmt.target)}"
        if stmt.every:
            out += f" every {time_text(stmt.every)}"
        if stmt.limit:
            out += f" limit {stmt.limit.text}"
        if stmt.at_phases:
            out += " at phases"
        if stmt.ties:
            out += f" ties {stmt.ties.value}"
        if stmt.pll:
            out += f" pll {stmt.pll.value}"
        return out
    if isinstance(stmt, LogStmt):
        parts = []
        if stmt.every:
            parts.append(f"every {stmt.every.text}")
        if stmt.wandb_project:
            parts.append(f"wandb project {format_value(stmt.wandb_project)}")
        return "log " + ", ".join(parts)
    if isinstance(stmt, CheckpointStmt):
        parts = []
        if stmt.every:
            parts.append(f"every {time_text(stmt.every)}")
        if stmt.keep:
            parts.append(f"keep {stmt.keep.text}")
        if stmt.at:
            unit = stmt.at[-1].unit
            parts.append("at " + ", ".join(n.text for n in stmt.at) + (f" {unit}" if unit else ""))
        if stmt.preset:
            parts.append(stmt.preset.value)
        return "checkpoint " + " ".join(parts)
    if isinstance(stmt, PushStmt):
        return f"push to hub {format_value(String(stmt.repo.value))}"
    if isinstance(stmt, MixStmt):
        phases = []
        for phase in stmt.phases:
            terms = " + ".join(
                f"{t.weight.text} {format_value(t.source)}" if t.weight else format_value(t.source)
                for t in phase.terms
            )
            phases.append(terms + (f" until {time_text(phase.until)}" if phase.until else ""))
        return "mix " + ", then ".join(phases)
    if isinstance(stmt, SeqStmt):
        schedule = f" {_format_schedule(stmt.schedule)}" if stmt.schedule else ""
        return f"seq {stmt.fn.value}{schedule}"
    if isinstance(stmt, BatchStmt):
        parts = [f"batch ramp from {stmt.start.text}"]
        for word, number in (("to", stmt.end), ("by", stmt.by)):
            if number is not None:
                parts.append(f"{word} {number.text}")
        if stmt.over is not None:
            parts.append(f"over {time_text(stmt.over)}")
        return " ".join(parts)
    raise TypeError(f"not a statement: {stmt!r}")


def time_text(number) -> str:
    """A time as written: ``10000``, ``50%``, ``2M words``."""
    return number.text + (f" {number.unit}" if number.unit else "")


def format_spec(spec: Spec) -> str:
    """The spec as DSL text, one statement a line; parses back to the same meaning.

    Relative paths stay relative: parse the text with the same ``base_dir``.
    """
    return "".join(format_statement(s) + "\n" for s in spec.statements)
