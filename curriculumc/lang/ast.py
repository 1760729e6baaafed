"""The syntax tree of a curriculum spec: frozen dataclasses, every node with a span.

Nodes keep what the user wrote (a :class:`Number` keeps its text, ``10%`` or ``1.5k``);
meaning -- defaults, presets, percentages of training -- is given by
:mod:`curriculumc.lang.rules` and :mod:`curriculumc.lang.builder`. Both the DSL parser
(:mod:`curriculumc.lang.parser`) and the YAML reader (:mod:`curriculumc.lang.yaml_form`) build
these nodes, so everything after parsing is shared.

:func:`dump` prints a tree for snapshot tests; :mod:`curriculumc.lang.printer` prints it back
as DSL text.
"""

from __future__ import annotations

import dataclasses
import decimal
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from curriculumc.errors import Span

# Exact decimal arithmetic for numbers as written (so that 10% is exactly 0.1 and 1.1k is
# 1100); traps off so that absurd inputs (1e999999999k) give Infinity, never an exception.
_DECIMAL = decimal.Context(prec=60, Emax=10**9, Emin=-(10**9), traps=[])
_SUFFIX = {"k": 1000, "K": 1000, "M": 1000000}
#: How a number is written: the grammar's NUMBER terminal (``grammar/curriculum.lark``) as a
#: Python regex, for the readers that meet numbers outside the grammar -- YAML values
#: (:mod:`~curriculumc.lang.yaml_form`) and the spec schema's ``pattern``
#: (:mod:`~curriculumc.lang.schemas`). tests/test_parse.py checks that all three agree.
NUMBER_PATTERN = r"-?(\d[\d_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?[kKM]?%?"


# --- values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A number as written: ``20000``, ``10_000``, ``1.5k``, ``1e-3``, ``0.1``, ``50%``.

    ``unit``: the unit a time was written with (``2M words``: ``words``; one of
    ``steps``, ``words``, ``tokens``, ``epochs``), None for a bare number."""

    text: str
    span: Span | None = None
    unit: str | None = None

    @property
    def percent(self) -> bool:
        return self.text.endswith("%")

    def _decimal(self) -> decimal.Decimal:
        body = self.text.rstrip("%").replace("_", "")
        scale = 1
        if body and body[-1] in _SUFFIX:
            scale = _SUFFIX[body[-1]]
            body = body[:-1]
        try:
            number = decimal.Decimal(body, context=_DECIMAL)
        except decimal.InvalidOperation:
            return decimal.Decimal("NaN")
        return _DECIMAL.multiply(number, scale)

    @property
    def magnitude(self) -> float:
        """The number without its ``%`` (``10%`` -> 10.0, ``1.5k`` -> 1500.0)."""
        return float(self._decimal())

    @property
    def share(self) -> float:
        """As a share of a whole: ``10%`` -> 0.1, ``0.1`` -> 0.1 (exactly rounded)."""
        if not self.percent:
            return self.magnitude
        return float(_DECIMAL.divide(self._decimal(), 100))

    def integer(self) -> int | None:
        """The whole number written (``1.5k`` -> 1500), or None if it is not one (or huge)."""
        value = self.magnitude
        if self.percent or not math.isfinite(value) or abs(value) > 1e15:
            return None
        exact = self._decimal()
        if exact != exact.to_integral_value(context=_DECIMAL):
            return None
        return int(exact)

    def share_of(self, total: int) -> int:
        """``50%`` of ``total`` steps, rounded to the nearest step (half to even)."""
        return int(round(_DECIMAL.multiply(self._decimal(), total) / 100))


def share_sum(*numbers: Number) -> float:
    """The sum of percentages as one share, added exactly before rounding to a float:
    ``share_sum(6.25%, 81.25%)`` is 0.875 (where ``after X% over Y%`` ends)."""
    total = sum((n._decimal() for n in numbers), decimal.Decimal(0))
    return float(_DECIMAL.divide(total, 100))


@dataclass(frozen=True)
class Name:
    """A bare name: ``roberta-small``, ``ngram_ppl``, ``noun``."""

    value: str
    span: Span | None = None


@dataclass(frozen=True)
class String:
    """A quoted string (paths, hub ids); ``value`` has the quotes and escapes removed."""

    value: str
    span: Span | None = None


Value = Union[Number, Name, String]  # noqa: UP007 (used at run time)


@dataclass(frozen=True)
class Arg:
    """``noun`` (positional, ``key`` None) or ``mask=40%`` in a call's parentheses."""

    key: Name | None
    value: Value
    span: Span | None = None


@dataclass(frozen=True)
class Call:
    """``ngram_ppl(n=3)``, ``pos(noun, verb)``, ``mlm``."""

    name: Name
    args: tuple[Arg, ...] = ()
    span: Span | None = None


@dataclass(frozen=True)
class Term:
    """``0.5 pos``: a call with an optional weight (a scorer or an objective)."""

    weight: Number | None
    call: Call
    span: Span | None = None


# --- statements ------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelStmt:
    """``model roberta-small`` (a Name) or ``model "config.json"`` (a String)."""

    target: Name | String
    span: Span | None = None


@dataclass(frozen=True)
class DataStmt:
    """``data synth(words=200k)``; ``kind`` is ``registered``, ``path`` or ``hub``."""

    kind: str
    source: Name | String
    args: tuple[Arg, ...] = ()
    packed: bool = False
    span: Span | None = None


@dataclass(frozen=True)
class TokenizerStmt:
    """``tokenizer bpe 8192`` (``kind`` a Name) or ``tokenizer "path"`` (a String)."""

    kind: Name | String
    size: Number | None = None
    span: Span | None = None


@dataclass(frozen=True)
class Setting:
    """One ``key value [word]`` of a ``train`` statement (``20000 steps`` -> steps 20000).

    ``unit`` is the word after the value, when one is written: the unit of ``batch 4096
    tokens``, the rest of ``sample without replacement`` (value ``without``, unit
    ``replacement``). The builder says which settings take one.
    """

    key: Name
    value: Value
    unit: Name | None = None
    span: Span | None = None


@dataclass(frozen=True)
class TrainStmt:
    settings: tuple[Setting, ...]
    span: Span | None = None


@dataclass(frozen=True)
class SortStmt:
    """``sort by TERMS [ascending|descending]``."""

    terms: tuple[Term, ...]
    order: Name | None = None
    span: Span | None = None


@dataclass(frozen=True)
class Schedule:
    """``from S [to E] [after T] over N [release at R]``."""

    start: Number
    over: Number
    end: Number | None = None
    after: Number | None = None
    release: Number | None = None
    span: Span | None = None


@dataclass(frozen=True)
class PaceStage:
    """``, then FN to E [after T] over N``: a follow-on stage of a staged pace; it starts
    where the stage before it ended (``after``: a pause of T steps first)."""

    fn: Name
    end: Number
    over: Number
    after: Number | None = None
    span: Span | None = None


@dataclass(frozen=True)
class PaceLevel:
    """``S from T`` of the discrete form (``pace 10% from 0, 30% from 5k``): the pool is S
    from step T on."""

    share: Number
    time: Number
    span: Span | None = None


@dataclass(frozen=True)
class Ties:
    """``ties include`` / ``ties random``: which examples a pool's edge releases when
    scores tie there (data pacing only; ``span`` covers the whole clause)."""

    rule: Name
    span: Span | None = None


@dataclass(frozen=True)
class PaceStmt:
    """``pace FN SCHEDULE [ties RULE]`` or ``pace none``; ``target`` is ``data`` or ``vocab``.

    A vocabulary pace may say in which order tokens are released (``order``: the name
    after ``by``, e.g. ``pos_tags``) and what a hidden token is hidden from (``hides``: a
    name, ``inputs`` for the DSL's ``inputs only``); None: the defaults (token ids, inputs
    and labels).

    A staged pace has ``stages`` after its first schedule; the discrete form has
    ``levels`` instead of a schedule (and ``fn`` is then ``step``, spanning the first level).
    """

    target: str
    fn: Name
    schedule: Schedule | None = None
    ties: Ties | None = None
    span: Span | None = None
    order: Name | None = None
    hides: Name | None = None
    stages: tuple[PaceStage, ...] = ()
    levels: tuple[PaceLevel, ...] = ()


@dataclass(frozen=True)
class AtStmt:
    """``at STEP TERMS``: from STEP on, train these objectives with these weights."""

    time: Number
    terms: tuple[Term, ...]
    span: Span | None = None


@dataclass(frozen=True)
class DuringStmt:
    """``during S..E [W] OBJ``: the objective is trained at every step t with
    ``S <= t / T <= E`` (T the training steps; both ends included), with weight W."""

    start: Number
    end: Number
    term: Term
    span: Span | None = None


@dataclass(frozen=True)
class UnitStmt:
    """``unit NAME = CALL [lr LR] [warmup W]``: ``lr`` is the unit's own head learning
    rate, ``warmup`` its warm-up share of the unit's active steps (only with ``lr``)."""

    name: Name
    call: Call
    span: Span | None = None
    lr: Number | None = None
    warmup: Number | None = None


@dataclass(frozen=True)
class EvalStmt:
    """``eval blimp every 2000 [limit K]`` / ``eval "pairs" at phases``."""

    target: Name | String
    every: Number | None = None
    limit: Number | None = None
    at_phases: bool = False
    span: Span | None = None
    ties: Name | None = None  # ``ties babylm``
    pll: Name | None = None  # ``pll pll-word-l2r``


@dataclass(frozen=True)
class LogStmt:
    """``log every 10`` / ``log wandb project NAME`` (one of them or both)."""

    every: Number | None = None
    wandb_project: Name | String | None = None
    span: Span | None = None


@dataclass(frozen=True)
class CheckpointStmt:
    """``checkpoint every 1000 [keep 3]`` / ``checkpoint at 1M, 2M words`` / ``checkpoint
    babylm`` (``preset``), or several of them in one statement."""

    every: Number | None = None
    keep: Number | None = None
    span: Span | None = None
    at: tuple[Number, ...] = ()
    preset: Name | None = None


@dataclass(frozen=True)
class PushStmt:
    repo: Name | String
    span: Span | None = None


@dataclass(frozen=True)
class MixTerm:
    """``0.8 Sawyer``: a source of a data mixture with its optional weight (1 if omitted)."""

    weight: Number | None
    source: Name | String
    span: Span | None = None


@dataclass(frozen=True)
class MixPhase:
    """One phase of ``mix``: its weighted sources, and the time it lasts until (None for
    the last phase)."""

    terms: tuple[MixTerm, ...]
    until: Number | None = None
    span: Span | None = None


@dataclass(frozen=True)
class MixStmt:
    """``mix 0.8 A + 0.2 B until 30%, then 0.3 A + 0.7 B``: per-source shares of each
    step's examples, phase by phase."""

    phases: tuple[MixPhase, ...]
    span: Span | None = None


@dataclass(frozen=True)
class SeqStmt:
    """``seq linear from 32 [to 128] [after T] over N`` or ``seq none``: a sequence-length
    warmup (``schedule.start``/``end`` are lengths in positions, not shares)."""

    fn: Name
    schedule: Schedule | None = None
    span: Span | None = None


@dataclass(frozen=True)
class BatchStmt:
    """``batch ramp from 8 [to 32] [by 8] over N``: a batch-size ramp (``start``, ``end``
    and ``by`` are batch sizes in examples; ``over`` a time, None when not written)."""

    start: Number
    end: Number | None = None
    by: Number | None = None
    over: Number | None = None
    span: Span | None = None


Statement = Union[  # noqa: UP007
    ModelStmt,
    DataStmt,
    TokenizerStmt,
    TrainStmt,
    SortStmt,
    PaceStmt,
    AtStmt,
    DuringStmt,
    UnitStmt,
    EvalStmt,
    LogStmt,
    CheckpointStmt,
    PushStmt,
    MixStmt,
    SeqStmt,
    BatchStmt,
]


@dataclass(frozen=True)
class Spec:
    """A whole spec. ``base_dir``: the folder relative paths are resolved against
    (the spec file's folder; None means the current directory)."""

    statements: tuple[Statement, ...]
    filename: str = "<spec>"
    base_dir: str | None = None
    span: Span | None = None

    def of_type(self, kind: type) -> tuple:
        """The statements of one type, in file order."""
        return tuple(s for s in self.statements if isinstance(s, kind))


# --- generic walks ---------------------------------------------------------------------


def map_spans(node, fn: Callable[[Span], Span]):
    """A copy of ``node`` (any AST value, tuple or None) with ``fn`` applied to every span.

    Used to move spans parsed from a fragment (a DSL string inside YAML, an override)
    to where the fragment really is.
    """
    if isinstance(node, tuple):
        return tuple(map_spans(n, fn) for n in node)
    if isinstance(node, Span):
        return fn(node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {}
        for f in dataclasses.fields(node):
            item = getattr(node, f.name)
            if isinstance(item, (tuple, Span)) or dataclasses.is_dataclass(item):
                changes[f.name] = map_spans(item, fn)
        return dataclasses.replace(node, **changes)
    return node


def dump(node, indent: int = 0) -> str:
    """A readable, position-free tree of ``node`` for snapshot tests."""
    pad = "  " * indent
    if isinstance(node, Number):
        return f"{pad}Number {node.text}{' ' + node.unit if node.unit else ''}"
    if isinstance(node, Name):
        return f"{pad}Name {node.value}"
    if isinstance(node, String):
        return f"{pad}String {node.value!r}"
    if isinstance(node, tuple):
        return "\n".join(dump(n, indent) for n in node)
    lines = [f"{pad}{type(node).__name__}"]
    for f in dataclasses.fields(node):
        if f.name in ("span", "filename", "base_dir"):
            continue
        item = getattr(node, f.name)
        if item is None or item == () or item is False:
            continue
        if isinstance(item, (str, bool)):
            lines.append(f"{pad}  {f.name}: {item}")
        elif isinstance(item, tuple):
            lines.append(f"{pad}  {f.name}:")
            lines.append(dump(item, indent + 2))
        else:
            lines.append(f"{pad}  {f.name}:")
            lines.append(dump(item, indent + 2))
    return "\n".join(lines)


# --- printing ------------------------------------------------------------------------
