"""``key=value`` overrides (like Hydra's), applied to a spec's syntax tree before compiling.

Because they change the *spec*, derived values follow: ``train.steps=200`` re-derives
``warmup 10%`` and ``at 50%``. Values are read with the spec language's own syntax
(``10k``, ``20%``, ``1e-3``, ``ngram_ppl(n=3) + 0.5 random``) and then checked like any
statement; their diagnostics point into a synthetic ``<overrides>`` source that shows the
offending text. Paths are relative to the current directory.

Keys: ``model``, ``data`` (a corpus name or a path), ``data.path``, ``data.hub``,
``data.packed``, ``data.<option>`` (see ``registry.DATA_OPTIONS``), ``tokenizer.vocab_size``,
``tokenizer.path``, ``train.<setting>`` (steps, batch, seq, lr, warmup, seed, schedule,
accumulate, clip, decay, sample), ``seed`` and ``steps`` (short for ``train.seed`` /
``train.steps``), ``sort``, ``sort.order``, ``pace`` / ``vocab`` (a pacing function or
``none``), ``pace.<part>`` / ``vocab.<part>`` (start, end, after, over, release),
``pace.ties``, ``vocab.order`` (``token_ids``, ``pos_tags``, ``pos_tags_and_token_ids``)
and ``vocab.hides`` (``inputs``, the spec's ``inputs only``, or the default
``inputs_and_labels``), ``seq`` (a sequence-length warmup's shape, or ``none``) and
``seq.<part>`` (start, end, after, over), ``mix`` (a whole mixture, ``mix=0.8 A + 0.2 B until 30%,
then 0.5 A + 0.5 B``, or ``none``), ``ramp`` (a batch-size ramp, ``ramp=from 8 to 32 over
10%``, or ``none``), ``eval.every``, ``eval.limit``, ``log.every``, ``log.wandb_project``,
``checkpoint.every``, ``checkpoint.keep``, ``push``. A ``train.*`` value may carry the
setting's word (``train.batch=4096 tokens``, ``train.sample=with replacement``);
``train.batch=N`` alone keeps the unit the spec wrote. On a staged pace (``pace A, then
B``) ``pace=FN`` and ``pace.<part>`` change the first stage only (``pace.over=`` its
length; the later stages keep theirs and start where it now ends); a discrete pace's
shares and steps cannot be overridden (``pace.ties`` can).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from curriculumc import registry
from curriculumc.errors import CurriculumError, Diagnostic, Span, did_you_mean
from curriculumc.lang import ast
from curriculumc.lang.builder import TRAIN_SETTINGS
from curriculumc.lang.parser import parse_fragment

E_OVERRIDE_FORM = "E150"
E_OVERRIDE_KEY = "E151"
E_OVERRIDE_VALUE = "E152"
E_OVERRIDE_TARGET = "E153"

SOURCE_NAME = "<overrides>"
_SCHEDULE_PARTS = ("start", "end", "after", "over", "release")
#: a sequence-length warmup's parts (``seq.start=16``; ``seq=none``): a pace's, less release
_SEQ_PARTS = ("start", "end", "after", "over")
KEYS = (
    "model", "data", "data.path", "data.hub", "data.packed",
    *(f"data.{o}" for o in registry.DATA_OPTIONS),
    "tokenizer.vocab_size", "tokenizer.path",
    *(f"train.{s}" for s in TRAIN_SETTINGS), "seed", "steps",
    "sort", "sort.order",
    "pace", *(f"pace.{p}" for p in _SCHEDULE_PARTS), "pace.ties",
    "vocab", *(f"vocab.{p}" for p in _SCHEDULE_PARTS), "vocab.order", "vocab.hides",
    "seq", *(f"seq.{p}" for p in _SEQ_PARTS), "mix", "ramp",
    "eval.every", "eval.limit", "log.every", "log.wandb_project",
    "checkpoint.every", "checkpoint.keep", "push",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Override:
    """One ``key=value``; ``text`` is the raw value, ``span`` covers it in ``<overrides>``."""

    key: str
    text: str
    key_span: Span
    span: Span


def parse_overrides(items: Sequence[str]) -> list[Override]:
    """Split ``key=value`` strings; raises CurriculumError for malformed ones or unknown keys."""
    found, problems = _split_overrides(items)
    if problems:
        raise CurriculumError(problems)
    return found


def _split_overrides(items: Sequence[str]) -> tuple[list[Override], list[Diagnostic]]:
    """The well-formed overrides with known keys, and a Diagnostic for each other one."""
    source = "\n".join(items)
    found, problems = [], []
    for line, item in enumerate(items, start=1):
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            span = Span(SOURCE_NAME, line, 1, line, max(len(item), 1) + 1, source)
            problems.append(Diagnostic(E_OVERRIDE_FORM, f"an override is key=value, not '{item}'",
                                       span, hint="e.g. train.steps=200"))  # fmt: skip
            continue
        key_start = len(item) - len(item.lstrip()) + 1
        key_span = Span(SOURCE_NAME, line, key_start, line, key_start + len(key), source)
        # the value's span covers the value without the spaces around it
        start = len(item) - len(text) + (len(text) - len(text.lstrip())) + 1
        end = max(start + len(text.strip()), start + 1)
        span = Span(SOURCE_NAME, line, start, line, end, source)
        if key not in KEYS:
            hint = did_you_mean(key, KEYS) or "keys: " + ", ".join(k for k in KEYS if "." not in k)
            if key == "vocab.ties":  # token ids never tie
                hint = "a tie rule belongs to the data pace: pace.ties=include"
            problems.append(Diagnostic(E_OVERRIDE_KEY, f"unknown override '{key}'", key_span, hint))
            continue
        found.append(Override(key, text.strip(), key_span, span))
    return found, problems


def _fragment(override: Override, start: str, words: str = ""):
    """The override's value parsed as DSL (``value``, ``terms``, or with ``words`` before
    it a ``statement``: ``mix`` + the value), spans in <overrides> (the words' own spans
    fall on the value's first column)."""
    line, column, source = override.span.line, override.span.column, override.span.source
    shift = len(words)

    def move(span: Span) -> Span:
        start = max(column, span.column - shift + column - 1)
        end = max(start + 1, span.end_column - shift + column - 1)
        return Span(SOURCE_NAME, line, start, line, end, source)

    try:
        node = parse_fragment(words + override.text, start, SOURCE_NAME)
    except CurriculumError as exc:
        raise CurriculumError(
            [dataclasses.replace(d, code=E_OVERRIDE_VALUE, span=move(d.span) if d.span else None)
             for d in exc.diagnostics]
        ) from None  # fmt: skip
    return ast.map_spans(node, move)


#: the statement words an override's value is read after (``mix=...``: ``mix ...``)
_STATEMENT_WORDS = {"mix": ("mix ", ast.MixStmt), "ramp": ("batch ramp ", ast.BatchStmt)}


def _statement(statements: list, override: Override) -> None:
    """A whole statement given by its override (``mix``, ``ramp``): the value read after
    the statement's words, replacing the spec's statement; ``none`` removes it."""
    words, kind = _STATEMENT_WORDS[override.key]
    statements[:] = [s for s in statements if not isinstance(s, kind)]
    if override.text != "none":
        statements.append(_fragment(override, "statement", words))


def _value(override: Override) -> ast.Value:
    return _fragment(override, "value")


def _name(override: Override, what: str) -> ast.Name:
    """The override's value, which must be a name (a pacing function, an order)."""
    value = _value(override)
    if not isinstance(value, ast.Name):
        raise CurriculumError.single(
            E_OVERRIDE_VALUE, f"'{override.key}' must be {what}, not '{override.text}'",
            override.span,
        )  # fmt: skip
    return value


def _path(override: Override) -> ast.String:
    return ast.String(os.path.abspath(os.path.expanduser(override.text)), override.span)


def _replace_or_add(statements: list, kind: type, new, where=None) -> None:
    for i, stmt in enumerate(statements):
        if isinstance(stmt, kind) and (where is None or where(stmt)):
            statements[i] = new(stmt)
            return
    statements.append(new(None))


def _set_arg(args: tuple, key: str, value, span: Span) -> tuple:
    kept = tuple(a for a in args if a.key is None or a.key.value != key)
    return kept + (ast.Arg(ast.Name(key, span), value, span),)


def _needs(statements, kind, override: Override, word: str, where=None):
    if not any(isinstance(s, kind) and (where is None or where(s)) for s in statements):
        raise CurriculumError.single(
            E_OVERRIDE_TARGET, f"'{override.key}' changes the '{word}' statement, but the spec "
            f"has none", override.key_span, hint=f"override '{word}' itself first",
        )  # fmt: skip


def _apply(statements: list, o: Override) -> None:
    key = {"seed": "train.seed", "steps": "train.steps"}.get(o.key, o.key)
    head, _, part = key.partition(".")
    if key == "model":
        value = _value(o)
        target = value if isinstance(value, ast.Name) else _path(o)
        _replace_or_add(statements, ast.ModelStmt, lambda s: ast.ModelStmt(target, o.span))
    elif key == "data":
        if o.text in registry.REGISTERED_CORPORA or o.text.isidentifier():
            new = ast.DataStmt("registered", ast.Name(o.text, o.span), span=o.span)
        else:
            new = ast.DataStmt("path", _path(o), span=o.span)
        _replace_or_add(statements, ast.DataStmt, lambda s: new)
    elif head == "data":

        def change(stmt):
            stmt = stmt or ast.DataStmt("registered", ast.Name("synth", o.span), span=o.span)
            if part == "path":
                return dataclasses.replace(stmt, kind="path", source=_path(o))
            if part == "hub":
                return dataclasses.replace(stmt, kind="hub", source=ast.String(o.text, o.span))
            if part == "packed":
                return dataclasses.replace(stmt, packed=o.text.lower() in ("true", "1", "yes"))
            return dataclasses.replace(stmt, args=_set_arg(stmt.args, part, _value(o), o.span))

        _replace_or_add(statements, ast.DataStmt, change)
    elif head == "tokenizer":
        if part == "path":
            new = ast.TokenizerStmt(_path(o), None, o.span)
        else:
            new = ast.TokenizerStmt(ast.Name("bpe", o.span), _value(o), o.span)
        _replace_or_add(statements, ast.TokenizerStmt, lambda s: new)
    elif head == "train":
        field = TRAIN_SETTINGS[part]
        value, unit = _fragment(o, "setting_value")  # 4096 tokens, with replacement
        if unit is None and field == "batch":  # train.batch=8192 keeps the spec's unit
            written = [s for t in statements if isinstance(t, ast.TrainStmt) for s in t.settings
                       if TRAIN_SETTINGS.get(s.key.value) == "batch"]  # fmt: skip
            unit = written[0].unit if written else None
        for i, stmt in enumerate(statements):
            if isinstance(stmt, ast.TrainStmt):
                kept = tuple(s for s in stmt.settings if TRAIN_SETTINGS.get(s.key.value) != field)
                statements[i] = dataclasses.replace(stmt, settings=kept)
        statements[:] = [s for s in statements if not (isinstance(s, ast.TrainStmt) and
                                                       not s.settings)]  # fmt: skip
        setting = ast.Setting(ast.Name(part, o.key_span), value, unit, o.span)
        statements.append(ast.TrainStmt((setting,), o.span))
    elif key == "sort":
        terms = _fragment(o, "terms")
        _replace_or_add(statements, ast.SortStmt, lambda s: ast.SortStmt(
            terms, s.order if s else None, o.span))  # fmt: skip
    elif key == "sort.order":
        _needs(statements, ast.SortStmt, o, "sort")
        order = _name(o, "ascending or descending")
        _replace_or_add(statements, ast.SortStmt, lambda s: dataclasses.replace(s, order=order))
    elif head in ("pace", "vocab"):
        target = "data" if head == "pace" else "vocab"

        def is_target(stmt):
            return stmt.target == target

        if not part:
            fn = _name(o, "a pacing function or none")

            def change(stmt):
                kept = stmt if stmt and o.text != "none" else None  # 'none' has neither
                schedule = kept.schedule if kept else None
                # a staged pace keeps its later stages: FN is the first stage's shape
                stages = kept.stages if kept else ()
                return ast.PaceStmt(target, fn, schedule, kept.ties if kept else None, o.span,
                                    stages=stages)  # fmt: skip

            _replace_or_add(statements, ast.PaceStmt, change, is_target)
        elif head == "vocab" and part in ("order", "hides"):  # by ORDER, inputs only
            _needs(statements, ast.PaceStmt, o, head, is_target)
            what = "a vocabulary order" if part == "order" else "inputs or inputs_and_labels"
            choice = _name(o, what)
            _replace_or_add(statements, ast.PaceStmt,
                            lambda s: dataclasses.replace(s, **{part: choice}), is_target)  # fmt: skip
        elif part == "ties":
            _needs(statements, ast.PaceStmt, o, head, is_target)
            ties = ast.Ties(_value(o), o.span)
            _replace_or_add(statements, ast.PaceStmt,
                            lambda s: dataclasses.replace(s, ties=ties), is_target)  # fmt: skip
        else:
            _needs(statements, ast.PaceStmt, o, head, is_target)
            value = _value(o)

            def change(stmt):
                if stmt.levels:
                    raise CurriculumError.single(
                        E_OVERRIDE_TARGET, f"the discrete '{head}' has no '{part}' to change: "
                        "its shares and steps are written in the spec", o.key_span,
                    )  # fmt: skip
                if stmt.schedule is None:
                    raise CurriculumError.single(
                        E_OVERRIDE_TARGET, f"'{head} {stmt.fn.value}' has no schedule to change",
                        o.key_span,
                    )  # fmt: skip
                return dataclasses.replace(
                    stmt, schedule=dataclasses.replace(stmt.schedule, **{part: value})
                )

            _replace_or_add(statements, ast.PaceStmt, change, is_target)
    elif head == "seq":  # the warmup; the model's positions are train.seq
        if not part:
            fn = _name(o, "a pacing shape or none (the model's positions: train.seq=N)")

            def change(stmt):
                kept = stmt if stmt and o.text != "none" else None
                return ast.SeqStmt(fn, kept.schedule if kept else None, o.span)

            _replace_or_add(statements, ast.SeqStmt, change)
        else:
            _needs(statements, ast.SeqStmt, o, "seq")
            value = _value(o)

            def change(stmt):
                if stmt.schedule is None:
                    raise CurriculumError.single(
                        E_OVERRIDE_TARGET, f"'seq {stmt.fn.value}' has no schedule to change",
                        o.key_span,
                    )  # fmt: skip
                schedule = dataclasses.replace(stmt.schedule, **{part: value})
                return dataclasses.replace(stmt, schedule=schedule)

            _replace_or_add(statements, ast.SeqStmt, change)
    elif key in _STATEMENT_WORDS:
        _statement(statements, o)
    elif head == "eval":
        _needs(statements, ast.EvalStmt, o, "eval")
        value = _value(o)
        statements[:] = [
            dataclasses.replace(s, **{part: value}) if isinstance(s, ast.EvalStmt) else s
            for s in statements
        ]
    elif head == "log":
        value = _value(o)
        field = "every" if part == "every" else "wandb_project"
        cleared = [dataclasses.replace(s, **{field: None}) if isinstance(s, ast.LogStmt) else s
                   for s in statements]  # fmt: skip
        statements[:] = [
            s
            for s in cleared
            if not (isinstance(s, ast.LogStmt) and s.every is None and s.wandb_project is None)
        ]
        statements.append(ast.LogStmt(**{field: value}, span=o.span))
    elif head == "checkpoint":
        value = _value(o)
        if part == "every":
            _replace_or_add(statements, ast.CheckpointStmt, lambda s: ast.CheckpointStmt(
                value, s.keep if s else None, o.span))  # fmt: skip
        else:
            _needs(statements, ast.CheckpointStmt, o, "checkpoint")
            _replace_or_add(statements, ast.CheckpointStmt,
                            lambda s: dataclasses.replace(s, keep=value))  # fmt: skip
    elif key == "push":
        new = ast.PushStmt(ast.String(o.text, o.span), o.span)
        _replace_or_add(statements, ast.PushStmt, lambda s: new)


def apply_overrides(spec: ast.Spec, items: Sequence[str]) -> ast.Spec:
    """``spec`` with the ``key=value`` overrides in ``items`` applied, in order.

    Raises :class:`CurriculumError` with every problem of every override at once: the
    malformed ones, unknown keys, values that do not parse, and -- when any of those is
    found -- the value errors of the others (which the compiler would report next).
    Otherwise values are checked later, like any spec.
    """
    if not items:
        return spec
    statements = list(spec.statements)
    overrides, problems = _split_overrides(items)
    for override in overrides:
        try:
            _apply(statements, override)
        except CurriculumError as exc:
            problems.extend(exc.diagnostics)
    changed = dataclasses.replace(spec, statements=tuple(statements))
    if problems:
        from curriculumc.lang.compiler import check_spec

        problems.extend(
            d for d in check_spec(changed)
            if d.is_error and d.span is not None and d.span.file == SOURCE_NAME
        )  # fmt: skip
        problems.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
        raise CurriculumError(problems)
    return changed
