"""The semantic checks every Plan passes before it runs, whoever wrote it.

A compiled spec's plan and a ``plan.json`` from any other source (``run plan.json``,
:func:`curriculumc.load_plan`) go through :func:`check_plan`: the ranges and choices are
the builder's own (:mod:`curriculumc.lang.builder` and :mod:`curriculumc.lang.values`
constants, the registry's signatures, the pacing functions), so a value the compiler
refuses in a spec is refused in a plan too. Each problem names the JSON path of the value
(``train.steps: must be a whole number of at least 1, not -1``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from curriculumc import plan, registry
from curriculumc.errors import Diagnostic, Span
from curriculumc.lang.builder import (
    BATCH_UNITS,
    LR_SCHEDULES,
    MIN_BPE_VOCAB,
    POS_FORMATS,
    SAMPLING,
    TIE_RULES,
)
from curriculumc.lang.values import LARGEST
from curriculumc.pacing import PACING_FUNCTIONS

E_PLAN_VALUE = "E191"
FAMILIES = ("masked", "causal")
DATA_KINDS = ("registered", "path", "hub")
DATA_UNITS = ("line", "packed")
TOKENIZER_KINDS = ("bpe", "path")

Locate = Callable[[tuple], "Span | None"]


def _shown(value) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checks:
    def __init__(self, locate: Locate | None, prefix: bool):
        self.problems: list[Diagnostic] = []
        self.locate, self.prefix = locate, prefix

    def fail(self, path: tuple, message: str) -> None:
        where = ".".join(str(p) for p in path)
        span = self.locate(path) if self.locate else None
        self.problems.append(Diagnostic(E_PLAN_VALUE, f"{where}: {message}", span))

    def whole(self, path, value, minimum=1, maximum=LARGEST, *, optional=False) -> bool:
        if value is None and optional:
            return True
        if type(value) is not int or not minimum <= value <= maximum:
            self.fail(path, f"must be a whole number from {minimum} to {maximum:.0e}, "
                      f"not {_shown(value)}")  # fmt: skip
            return False
        return True

    def number(self, path, value, *, positive=False) -> bool:
        ok = type(value) in (int, float) and math.isfinite(value) and value >= 0
        if not ok or (positive and value == 0):
            need = "greater than 0" if positive else "0 or more"
            self.fail(path, f"must be a finite number {need}, not {_shown(value)}")
            return False
        return True

    def share(self, path, value, *, zero=False) -> bool:
        low_ok = (lambda v: 0 <= v) if zero else (lambda v: 0 < v)
        if (
            type(value) not in (int, float)
            or not math.isfinite(value)
            or not (low_ok(value) and value <= 1)
        ):
            self.fail(path, f"must be a fraction in {'[0' if zero else '(0'}, 1], "
                      f"not {_shown(value)}")  # fmt: skip
            return False
        return True

    def time(self, path, value, minimum=1, *, optional=False) -> bool:
        """Steps (a whole number from ``minimum``) or a :class:`~curriculumc.plan.Time`."""
        if not plan.is_time(value):
            return self.whole(path, value, minimum, optional=optional)
        if not self.choice((*path, "unit"), value.unit, plan.TIME_UNITS):
            return False
        if value.unit == "epochs":
            return self.number((*path, "value"), value.value, positive=minimum > 0)
        return self.whole((*path, "value"), value.value, min(minimum, 1))

    def choice(self, path, value, choices) -> bool:
        if value not in choices:
            self.fail(path, f"must be one of {', '.join(map(str, choices))}, not {_shown(value)}")
            return False
        return True

    def call(self, path, name, kwargs, signature: registry.Signature) -> None:
        allowed = dict(signature.keywords)
        for key, value in kwargs:
            if key not in allowed:
                self.fail((*path, "kwargs", key), f"unknown argument of '{name}'")
            elif allowed[key] == "int":
                low, high = signature.range_of(key)
                self.whole((*path, "kwargs", key), value, low, LARGEST if high is None else high)
            elif allowed[key] == "float":
                self.number((*path, "kwargs", key), value)
            elif allowed[key] == "fraction":
                self.share((*path, "kwargs", key), value)
            elif allowed[key] == "share":
                self.share((*path, "kwargs", key), value, zero=True)
        given = dict(kwargs)
        keys = [k for k, _ in registry.CORRUPTION]
        # a keyword left out counts its default (the compiler's rule, builder._check_corruption)
        split = [given.get(k, registry.DEFAULT_CORRUPTION[k]) for k in keys]
        if (
            all(k in allowed for k in keys)
            and any(k in given for k in keys)
            and all(type(v) in (int, float) for v in split)
            and sum(split) > 1 + 1e-12
        ):
            key = next(k for k in reversed(keys) if k in given)
            self.fail((*path, "kwargs", key), "random and keep are shares of the chosen "
                      f"tokens and add up to {sum(split):g}, more than all of them")  # fmt: skip


def check_plan(
    subject: plan.Plan, locate: Locate | None = None, *, prefix: bool = True
) -> list[Diagnostic]:
    """Every semantic problem of ``subject`` (a Diagnostic per value, code E191, its
    message starting with the value's JSON path); ``locate(json_path)`` gives a span."""
    c = _Checks(locate, prefix)
    model, data, tok, train = subject.model, subject.data, subject.tokenizer, subject.train
    c.choice(("model", "family"), model.family, FAMILIES)
    if not model.preset:
        c.fail(("model", "preset"), "must name a preset or a config path")
    if c.choice(("data", "kind"), data.kind, DATA_KINDS) and data.kind == "registered":
        c.choice(("data", "source"), data.source, tuple(registry.REGISTERED_CORPORA))
    c.choice(("data", "unit"), data.unit, DATA_UNITS)
    for key, value in data.options:
        where = ("data", "options", key)
        kind = registry.DATA_OPTIONS.get(key)
        if kind is None:
            c.fail(where, "unknown data option")
        elif key == "pos_format":
            c.choice(where, value, POS_FORMATS)
        elif kind == "int":
            c.whole(where, value, 0 if key == "seed" else 1)
        elif kind == "float":
            c.number(where, value)
        elif kind == "fraction":
            c.share(where, value)
    if c.choice(("tokenizer", "kind"), tok.kind, TOKENIZER_KINDS):
        if tok.kind == "bpe":
            c.whole(("tokenizer", "vocab_size"), tok.vocab_size, MIN_BPE_VOCAB)
        elif not tok.path:
            c.fail(("tokenizer", "path"), "a tokenizer of kind 'path' needs a path")
    if train.length is not None:  # 'train 2M words': steps 0 until resolved
        steps_ok = c.time(("train", "length"), train.length) and c.whole(
            ("train", "steps"), train.steps, 0
        )
    else:
        steps_ok = c.whole(("train", "steps"), train.steps)
    for name in ("batch", "seq", "grad_accum"):
        c.whole(("train", name), getattr(train, name))
    c.whole(("train", "seed"), train.seed, 0)
    c.time(("train", "warmup"), train.warmup, 0)
    c.number(("train", "lr"), train.lr, positive=True)
    c.number(("train", "clip"), train.clip)
    c.number(("train", "weight_decay"), train.weight_decay)
    c.choice(("train", "schedule"), train.schedule, LR_SCHEDULES)
    c.choice(("train", "sampling"), train.sampling, tuple(SAMPLING.values()))
    if c.choice(("train", "batch_unit"), train.batch_unit, BATCH_UNITS):
        if train.batch_unit == "tokens" and type(train.batch) is int and type(train.seq) is int:
            if train.batch < train.seq - 2:
                c.fail(("train", "batch"), f"a budget of {train.batch} tokens cannot hold one "
                       f"example of up to {train.seq - 2} tokens (seq {train.seq} - 2)")  # fmt: skip
    steps = train.steps if steps_ok and train.length is None else None
    if subject.sort is not None:
        known = registry.scorers()
        for i, term in enumerate(subject.sort.terms):
            where = ("sort", "terms", i)
            if c.choice((*where, "name"), term.name, tuple(sorted(known))):
                c.call(where, term.name, term.kwargs, known[term.name])
            c.number((*where, "weight"), term.weight, positive=True)
    for name in ("pace", "vocab"):
        pace = getattr(subject, name)
        if not c.choice((name, "fn"), pace.fn, (*PACING_FUNCTIONS, "none")):
            continue
        c.choice((name, "ties"), pace.ties, TIE_RULES)
        if pace.fn == "none":
            continue
        ok = c.share((name, "start"), pace.start) & c.share((name, "end"), pace.end)
        if ok and pace.end < pace.start:
            c.fail((name, "end"), f"the pool would shrink: end {pace.end} is below start "
                   f"{pace.start}")  # fmt: skip
        c.choice((name, "unit"), pace.unit, ("steps", *plan.TIME_UNITS))
        c.number((name, "over"), pace.over, positive=True)
        c.number((name, "after"), pace.after)
        if pace.release is not None:
            c.share((name, "release"), pace.release)
            if pace.stages:
                c.fail((name, "release"), "a staged pace has no release: its last stage says "
                       "where the pool ends")  # fmt: skip
        previous = pace.end if ok else None
        for i, stage in enumerate(pace.stages):
            where = (name, "stages", i)
            c.choice((*where, "fn"), stage.fn, tuple(PACING_FUNCTIONS))
            if c.share((*where, "end"), stage.end) and previous is not None:
                if stage.end < previous:
                    c.fail((*where, "end"), f"the pool would shrink: end {stage.end} is below "
                           f"{previous}, where the stage before ends")  # fmt: skip
                previous = stage.end
            else:
                previous = None
            c.number((*where, "over"), stage.over, positive=True)
            c.number((*where, "after"), stage.after)
    c.choice(("vocab_rule", "order"), subject.vocab_rule.order, plan.VOCAB_ORDERS)
    c.choice(("vocab_rule", "hides"), subject.vocab_rule.hides, plan.VOCAB_HIDES)
    objectives = registry.objectives()
    names = set()
    for i, unit in enumerate(subject.units):
        if unit.name in names:
            c.fail(("units", i, "name"), f"unit '{unit.name}' is defined twice")
        names.add(unit.name)
        if c.choice(("units", i, "objective"), unit.objective, tuple(sorted(objectives))):
            c.call(("units", i), unit.objective, unit.kwargs, objectives[unit.objective])
        if unit.lr is not None:
            c.number(("units", i, "lr"), unit.lr, positive=True)
        if unit.warmup is not None:
            c.share(("units", i, "warmup"), unit.warmup, zero=True)
    previous = None
    for i, phase in enumerate(subject.phases):
        where = ("phases", i)
        if not c.time((*where, "start"), phase.start, 0):
            continue
        for unit, weight in phase.objectives:
            if unit not in names:
                c.fail((*where, "objectives", unit), "names no unit of the plan")
            c.number((*where, "objectives", unit), weight, positive=True)
        if plan.is_time(phase.start):  # its step is known once resolved; one unit, increasing
            if (
                previous is not None
                and plan.is_time(previous)
                and (previous.unit != phase.start.unit or phase.start.value <= previous.value)
            ):
                c.fail((*where, "start"), "phases in data must start later, in one unit: "
                       f"{phase.start.text()} after {previous.text()}")  # fmt: skip
            previous = phase.start
            continue
        if plan.is_time(previous):
            c.fail((*where, "start"), f"a phase at step {phase.start} after one at "
                   f"{previous.text()}: phases start in one unit")  # fmt: skip
            continue
        if previous is None and phase.start != 0:
            c.fail((*where, "start"), f"the first phase starts at step {phase.start}, not 0")
        if previous is not None and phase.start <= previous:
            c.fail((*where, "start"), f"phases must start in increasing steps: {phase.start} "
                   f"is not after {previous}")  # fmt: skip
        if steps is not None and phase.start >= steps:
            c.fail((*where, "start"), f"step {phase.start} is never reached: training runs "
                   f"steps 0 to {steps - 1}")  # fmt: skip
        previous = phase.start
    for i, spec in enumerate(subject.evals):
        if spec.path is None:
            c.choice(("evals", i, "name"), spec.name, tuple(registry.EVAL_PRESETS))
        c.choice(("evals", i, "ties"), spec.ties, registry.TIE_RULES)
        c.choice(("evals", i, "pll"), spec.pll, registry.PLL_VARIANTS)
        c.time(("evals", i, "every"), spec.every, optional=True)
        for k, step in enumerate(spec.at_steps):
            c.whole(("evals", i, "at_steps", k), step)
        c.whole(("evals", i, "limit"), spec.limit, optional=True)
    warm = subject.seq_warmup
    if warm is not None:  # the compiler's checks of 'seq FN from S to E over N'
        where = ("seq_warmup",)
        c.choice((*where, "fn"), warm.fn, tuple(PACING_FUNCTIONS))
        c.choice((*where, "unit"), warm.unit, ("steps", *plan.TIME_UNITS))
        c.number((*where, "over"), warm.over, positive=True)
        c.number((*where, "after"), warm.after)
        seq = train.seq if type(train.seq) is int else LARGEST
        if c.whole((*where, "multiple"), warm.multiple) and c.whole(
            (*where, "start"), warm.start, warm.multiple, seq
        ):  # fmt: skip
            if warm.start % warm.multiple:
                c.fail((*where, "start"), f"must be a whole multiple of {warm.multiple}, not "
                       f"{warm.start}")  # fmt: skip
            c.whole((*where, "end"), warm.end, warm.start, seq)
    _check_mix(c, subject)
    _check_batch_ramp(c, subject)
    out = subject.output
    c.whole(("output", "log_every"), out.log_every)
    c.time(("output", "checkpoint_every"), out.checkpoint_every, optional=True)
    for k, time in enumerate(out.checkpoint_at):
        c.time(("output", "checkpoint_at", k), time)
    c.whole(("output", "keep"), out.keep)
    return c.problems


def _check_batch_ramp(c: _Checks, subject: plan.Plan) -> None:
    """The compiler's checks of ``batch ramp from S to E by I over N`` (E088-E092): E the
    train batch, ``1 <= S < E``, I dividing ``E - S``, a batch of examples, every size a
    multiple of grad_accum, ``over`` above 0."""
    ramp, train = subject.batch_ramp, subject.train
    if ramp is None:
        return
    where = ("batch_ramp",)
    c.choice((*where, "unit"), ramp.unit, ("steps", *plan.TIME_UNITS))
    c.number((*where, "over"), ramp.over, positive=True)
    if train.batch_unit == "tokens":
        c.fail(where, "a batch ramp needs a batch counted in examples, not tokens")
    if type(train.batch) is not int:
        return
    if ramp.end != train.batch:
        c.fail((*where, "end"), f"must be the train batch {train.batch}, not {_shown(ramp.end)}")
        return
    if not c.whole((*where, "start"), ramp.start, 1, max(1, train.batch - 1)):
        return
    if not c.whole((*where, "increment"), ramp.increment, 1, train.batch):
        return
    if (ramp.end - ramp.start) % ramp.increment:
        c.fail((*where, "increment"), f"must divide end - start ({ramp.end - ramp.start}), "
               f"not {ramp.increment}")  # fmt: skip
        return
    accumulate = train.grad_accum
    if type(accumulate) is int and accumulate >= 1:
        wrong = next((s for s in ramp.sizes() if s % accumulate), None)
        if wrong is not None:
            c.fail(where, f"size {wrong} does not split into grad_accum {accumulate}")


def _check_mix(c: _Checks, subject: plan.Plan) -> None:
    """The compiler's checks of ``mix``: a unit, phases whose weights are above 0 and sum
    to 1, increasing ``until`` on every phase but the last, and a batch of examples."""
    mix = subject.mix
    if mix is None:
        return
    c.choice(("mix", "unit"), mix.unit, ("steps", *plan.TIME_UNITS))
    if not mix.phases:
        c.fail(("mix", "phases"), "a mix needs at least one phase")
    if subject.train.batch_unit == "tokens":
        c.fail(("mix",), "a mix needs a batch counted in examples, not tokens")
    previous = None
    for i, phase in enumerate(mix.phases):
        where = ("mix", "phases", i)
        if not phase.weights:
            c.fail((*where, "weights"), "a phase needs at least one source")
        for name, weight in phase.weights:
            c.number((*where, "weights", name), weight, positive=True)
        total = sum(w for _, w in phase.weights if isinstance(w, (int, float)))
        if phase.weights and not math.isclose(total, 1.0, rel_tol=1e-9):
            c.fail((*where, "weights"), f"the shares must sum to 1, not {total:g}")
        last = i == len(mix.phases) - 1
        if last and phase.until is not None:
            c.fail((*where, "until"), "the last phase has no 'until'")
        elif not last and c.number((*where, "until"), phase.until, positive=True):
            if previous is not None and phase.until <= previous:
                c.fail((*where, "until"), f"must be after {previous}, not {phase.until}")
            previous = phase.until
