"""The rules that relate a spec's statements to each other, each a Diagnostic with a span.

Value problems (unknown names, percentages out of range, wrong types, ``at`` order) are
found while the plan is built (:func:`curriculumc.lang.builder.build_plan`); the rules here
relate statements to each other. Each rule is a plain function ``(spec, plan) ->
diagnostics``, listed in :data:`RULES`.

Decisions (documented in docs/language.md):

- the first ``at`` must be at step 0 (error E062): nothing would say what to train
  before it;
- ``sort`` without ``pace`` is a warning (W002): sorting alone changes nothing, batches
  are drawn uniformly from all the data;
- ``pace`` without ``sort`` is a warning (W003): the pool grows over the data in file
  order, which is rarely meant (write ``sort by random`` or ``sort by source(...)``);
- a statement that may appear once (model, data, ...) given twice is an error at the
  second (E037); ``train`` may be split over several statements, each setting once.
"""

from __future__ import annotations

from collections.abc import Iterable

from curriculumc import plan, registry
from curriculumc.errors import Diagnostic
from curriculumc.lang import ast
from curriculumc.lang.builder import first

E_DUPLICATE = "E037"
W_PACE_LATE = "W001"
W_SORT_ALONE = "W002"
W_PACE_ALONE = "W003"
W_VOCAB_POS = "W004"
W_EVAL_LATE = "W006"
W_WARMUP = "W007"
W_UNUSED_UNIT = "W008"
W_CHECKPOINT_LATE = "W009"
W_MIX_LATE = "W012"
E_SELF_PACED_TIME = "E077"

SINGLE_STATEMENTS = {
    ast.ModelStmt: "model",
    ast.DataStmt: "data",
    ast.TokenizerStmt: "tokenizer",
    ast.SortStmt: "sort",
    ast.CheckpointStmt: "checkpoint",
    ast.PushStmt: "push",
    ast.MixStmt: "mix",
    ast.SeqStmt: "seq",
    ast.BatchStmt: "batch ramp",
}


def _warning(code: str, message: str, node, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, getattr(node, "span", None), hint, "warning")


def duplicate_statements(spec: ast.Spec, _: plan.Plan) -> Iterable[Diagnostic]:
    """A statement that may appear once, given again: an error at the second."""
    seen: dict[str, ast.Statement] = {}
    for stmt in spec.statements:
        word = SINGLE_STATEMENTS.get(type(stmt))
        if isinstance(stmt, ast.PaceStmt):
            word = "pace" if stmt.target == "data" else "vocab"
        if isinstance(stmt, ast.LogStmt):
            for part, present in (("log every", stmt.every), ("log wandb", stmt.wandb_project)):
                if present is not None:
                    yield from _once(seen, part, stmt)
            continue
        if word:
            yield from _once(seen, word, stmt)


def _once(seen: dict, word: str, stmt) -> Iterable[Diagnostic]:
    if word in seen:
        line = seen[word].span.line if seen[word].span else "?"
        yield Diagnostic(
            E_DUPLICATE, f"'{word}' is given twice", stmt.span,
            hint=f"first given on line {line}; keep one",
        )  # fmt: skip
    else:
        seen[word] = stmt


def _pace_statement(spec: ast.Spec, target: str):
    for stmt in spec.of_type(ast.PaceStmt):
        if stmt.target == target:
            return stmt
    return None


def _length(result: plan.Plan) -> tuple[str, float]:
    """(the unit of the training's length, the length in it)."""
    length = result.train.length
    return ("steps", result.train.steps) if length is None else (length.unit, length.value)


def _at(value, unit: str) -> str:
    return f"step {value}" if unit == "steps" else plan.Time(value, unit).text()


def pacing_after_training(spec: ast.Spec, result: plan.Plan) -> Iterable[Diagnostic]:
    unit, length = _length(result)
    for target, pace in (("data", result.pace), ("vocab", result.vocab)):
        if pace.unit != unit:  # steps against words: known once resolved
            continue
        release = pace.release_step if unit == "steps" else pace.release_at
        if release is not None and release > length:
            word = "pace" if target == "data" else "vocab"
            yield _warning(
                W_PACE_LATE,
                f"'{word}' releases everything at {_at(release, unit)}, after training ends "
                f"({_at(length, unit)})",
                _pace_statement(spec, target),
                hint="shorten the stages' 'over'"
                if pace.stages
                else "shorten 'over' or add 'release at R%'",
            )


def ramp_after_training(spec: ast.Spec, result: plan.Plan) -> Iterable[Diagnostic]:
    """A batch ramp that ends after training (counted in the training's unit; one in
    another unit is known once resolved): the batch never reaches ``train.batch``. W001,
    as a pace that releases everything after the end."""
    ramp = result.batch_ramp
    unit, length = _length(result)
    if ramp is None or ramp.unit != unit or ramp.over <= length:
        return
    stmt = first(spec, ast.BatchStmt)
    yield _warning(
        W_PACE_LATE,
        f"'batch ramp' reaches {ramp.end} at {_at(ramp.over, unit)}, after "
        f"training ends ({_at(length, unit)})",
        stmt.over if stmt is not None and stmt.over is not None else stmt,
        hint="shorten 'over'",
    )


def mix_after_training(spec: ast.Spec, result: plan.Plan) -> Iterable[Diagnostic]:
    """A mix phase whose ``until`` is at or after training's end (counted in the training's
    unit; one in another unit is known once resolved: W010): the phases after it never
    run. One warning, at the first such ``until``."""
    mix, stmt = result.mix, first(spec, ast.MixStmt)
    if mix is None or stmt is None:
        return
    unit, length = _length(result)
    for index, (phase, written) in enumerate(zip(mix.phases, stmt.phases)):
        if phase.until is None:
            continue
        until = phase.until if mix.unit == "steps" else plan.Time(phase.until, mix.unit)
        if not _beyond(until, unit, length, strict=False):
            continue
        later = len(mix.phases) - index - 1
        never = "the phase after it never runs" if later == 1 else (
            f"the {later} phases after it never run"
        )  # fmt: skip
        yield _warning(
            W_MIX_LATE,
            f"the mix's phase {index + 1} lasts until {_at(phase.until, mix.unit)}, not before "
            f"training ends ({_at(length, unit)}): {never}",
            written.until if written.until is not None else stmt,
            hint="end it earlier, or train longer",
        )
        return


def sort_and_pace(spec: ast.Spec, result: plan.Plan) -> Iterable[Diagnostic]:
    sort = first(spec, ast.SortStmt)
    pace = _pace_statement(spec, "data")
    if sort is not None and result.pace.fn == "none" and (pace is None or pace.fn.value == "none"):
        yield _warning(
            W_SORT_ALONE, "'sort' without pacing has no effect: batches are drawn from all data",
            sort, hint="add e.g. 'pace root from 10% over 10000'",
        )  # fmt: skip
    if pace is not None and result.pace.fn != "none" and sort is None:
        yield _warning(
            W_PACE_ALONE, "'pace' without 'sort': the pool grows over the data in file order",
            pace, hint="add 'sort by random' (or a difficulty scorer) to say what comes first",
        )  # fmt: skip


def vocabulary_and_pos(spec: ast.Spec, result: plan.Plan) -> Iterable[Diagnostic]:
    """W004 where an objective asks about tokens the vocabulary curriculum hides: a hidden
    token is ``<unk>`` in the input, but its POS tag stays a ``pos`` target (under either
    rule); under ``inputs only`` its id also stays an MLM/CLM target."""
    if result.vocab.fn == "none":
        return
    stmt = _pace_statement(spec, "vocab")
    trained = result.trained_units()
    signatures = registry.objectives()
    if any(u.objective == "pos" for u in trained):
        yield _warning(
            W_VOCAB_POS,
            "a hidden token is <unk> in the input but keeps its POS tag as a target: the "
            "'pos' objective is asked the tag of an <unk>",
            stmt,
            hint="fine if intended; the POS loss then also covers tokens the model cannot read",
        )
    readers = sorted({
        u.name for u in trained
        if u.objective in signatures and signatures[u.objective].token_targets
    })  # fmt: skip
    if result.vocab_rule.hides == "inputs" and readers:
        names = ", ".join(f"'{n}'" for n in readers)
        yield _warning(
            W_VOCAB_POS,
            f"'inputs only': a hidden token is <unk> in the input, yet {names} still "
            f"predict{'s' * (len(readers) == 1)} it: the model is asked for tokens it never "
            "reads",
            stmt.hides if stmt is not None and stmt.hides is not None else stmt,
            hint="remove 'inputs only' to hide them from the token targets too (the seed "
            "system's rule)",
        )


def unused_units(spec: ast.Spec, result: plan.Plan) -> Iterable[Diagnostic]:
    used = {unit.name for unit in result.units}
    for stmt in spec.of_type(ast.UnitStmt):
        if stmt.name.value not in used:
            yield _warning(W_UNUSED_UNIT, f"unit '{stmt.name.value}' is never used", stmt.name,
                           hint=f"train it with 'at STEP {stmt.name.value}' or "
                           f"'during S%..E% {stmt.name.value}'")  # fmt: skip


def _beyond(time, unit: str, length: float, *, strict: bool) -> bool:
    """Whether ``time`` (steps or a Time) is after (``strict``) or at a training of
    ``length`` in ``unit`` -- when the two count the same thing (else: known once resolved:
    W010 then)."""
    if time is None:
        return False
    same = time.unit == unit if plan.is_time(time) else unit == "steps"
    value = time.value if plan.is_time(time) else time
    return same and (value > length if strict else value >= length)


def _shown(time) -> str:
    """``2000 steps`` or ``1M words``."""
    return time.text() if plan.is_time(time) else f"{time} steps"


def times_after_training(spec: ast.Spec, result: plan.Plan) -> Iterable[Diagnostic]:
    unit, length = _length(result)
    total = result.train.length or result.train.steps
    end = total.text() if plan.is_time(total) else f"step {total}"
    if _beyond(result.train.warmup, unit, length, strict=False):
        setting = next(
            (s for t in spec.of_type(ast.TrainStmt) for s in t.settings if s.key.value == "warmup"),
            None,
        )
        yield _warning(W_WARMUP, f"warmup ({_shown(result.train.warmup)}) lasts the whole "
                       f"training ({_shown(total)})", setting)  # fmt: skip
    statements = spec.of_type(ast.EvalStmt)
    # (a wrong eval statement is left out of the plan; then the pairing is unknown)
    for stmt, spec_eval in zip(
        statements, result.evals if len(result.evals) == len(statements) else ()
    ):
        every = spec_eval.every
        if _beyond(every, unit, length, strict=True):
            written = every.text() if plan.is_time(every) else every
            yield _warning(W_EVAL_LATE, f"'every {written}' is after training ends "
                           f"({end}): only the final evaluation runs", stmt.every)  # fmt: skip
    every = result.output.checkpoint_every
    if _beyond(every, unit, length, strict=True):
        yield _warning(W_CHECKPOINT_LATE, f"checkpoint every {_shown(every)} is after training "
                       f"ends ({end}): only the final checkpoint is saved",
                       first(spec, ast.CheckpointStmt))  # fmt: skip


def data_times_and_self_paced(spec: ast.Spec, result: plan.Plan) -> Iterable[Diagnostic]:
    """A time counted in data resolves from the draws before training; a self-paced order
    (``model_ppl``, re-scored by the model being trained) changes them during training."""
    sort = result.sort
    if sort is None or not any(t.name == "model_ppl" for t in sort.terms):
        return
    mix_in_data = result.mix is not None and result.mix.unit != "steps"
    warm = result.seq_warmup
    if warm is not None and warm.unit != "steps":  # it reads the draws, as a pace does
        mix_in_data = True
    ramp = result.batch_ramp
    if ramp is not None and ramp.unit != "steps":  # so does a batch ramp in data
        mix_in_data = True
    if not (
        result.times() or result.data_paces() or result.output.checkpoint_babylm or mix_in_data
    ):
        return
    what = result.times()[0][1].text() if result.times() else "a pace counted in data"
    if not result.times() and not result.data_paces() and mix_in_data:
        if result.mix is not None and result.mix.unit != "steps":
            what = f"a mix counted in {result.mix.unit}"
        elif warm is not None and warm.unit != "steps":
            what = f"a seq warmup counted in {warm.unit}"
        else:
            what = f"a batch ramp counted in {ramp.unit}"
    yield Diagnostic(
        E_SELF_PACED_TIME,
        f"{what} cannot be resolved before training: 'model_ppl' re-orders the data as "
        "the model trains, so what each step draws is not known in advance",
        first(spec, ast.SortStmt).span,
        hint="count the times in steps, or sort by a static scorer (reference_ppl scores "
        "with a saved model, once)",
    )


RULES = (
    duplicate_statements,
    pacing_after_training,
    ramp_after_training,
    mix_after_training,
    sort_and_pace,
    vocabulary_and_pos,
    unused_units,
    times_after_training,
    data_times_and_self_paced,
)
