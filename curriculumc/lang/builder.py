"""Compile a spec's syntax tree into a :class:`~curriculumc.plan.Plan`.

Resolves defaults, presets, percentages of training, paths and units. Each section
builder reads values through the ``read_*`` functions, which report a Diagnostic for a
wrong value (and fall back to the default) instead of raising; so one pass both finds
every value problem and builds the plan. the rules of :mod:`curriculumc.lang.rules` add those
that relate statements to each other (order of ``at``, duplicates, interactions).

Defaults (a spec may be a single line): model roberta-small, data synth, tokenizer bpe
8192, train 20000 steps, batch 32, seq 128, lr 1e-3, warmup 10% of the steps, seed 42,
linear decay; no sort, no pacing; with no ``at``, the model family's natural objective
(mlm or clm) from step 0.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

from curriculumc import plan, pos_tags, presets, registry
from curriculumc.errors import Diagnostic, did_you_mean
from curriculumc.files import MAX_CONFIG_BYTES, read_limited
from curriculumc.lang import ast
from curriculumc.lang.printer import call_text, percent_text, scalar_text
from curriculumc.lang.values import (
    E_CHOICE,
    E_PERCENT,
    E_TYPE,
    Report,
    check_exists,
    read_choice,
    read_float,
    read_int,
    read_share,
    read_text,
    read_time,
    read_typed,
    report_error,
    report_unknown,
    resolve_path,
)
from curriculumc.pacing import PACING_FUNCTIONS

# value errors
E_EXTRA_WORD = "E032"
E_WEIGHT = "E034"
E_BUDGET = "E039"
E_ARGS = "E035"
E_DUPLICATE_ARG = "E036"
# unknown names
E_MODEL = "E010"
E_SCORER = "E011"
E_PACING = "E012"
E_OBJECTIVE = "E013"
E_EVAL = "E015"
E_DATA_OPTION = "E016"
E_CORPUS = "E017"
E_SETTING = "E018"
E_TAG = "E019"
E_KEYWORD = "E020"
E_TOKENIZER = "E021"
# statements
E_UNIT = "E038"
E_CONFIG = "E040"
E_SCHEDULE = "E065"
E_PACE_ORDER = "E064"
E_LEVEL_ORDER = "E075"
E_AT_ORDER = "E060"
E_AT_LATE = "E061"
E_AT_FIRST = "E062"
E_FAMILY = "E063"
E_DUPLICATE_EVAL = "E066"
E_TIES_PLACE = "E067"
E_DURING_MIX = "E068"
E_DURING_RANGE = "E069"
E_DURING_GAP = "E070"
E_DURING_OVERLAP = "E071"
E_UNIT_WARMUP = "E072"
E_CORRUPTION = "E073"
E_VOCAB_RULE = "E074"
E_TIME_UNITS = "E076"
E_CHECKPOINT_PRESET = "E078"
E_MIX_TWICE = "E079"
E_MIX_SOURCE = "E080"
E_MIX_ORDER = "E081"
E_MIX_BUDGET = "E082"
W_MIX_UNCHECKED = "W011"
E_SEQ_LENGTH = "E085"
E_SEQ_ORDER = "E086"
E_SEQ_SCHEDULE = "E087"
E_RAMP_SIZES = "E088"
E_RAMP_INCREMENT = "E089"
E_RAMP_BUDGET = "E090"
E_RAMP_ACCUMULATE = "E091"
E_RAMP_OVER = "E092"
#: ``checkpoint NAME``: the presets (babylm: the BabyLM rules' word checkpoints)
CHECKPOINT_PRESETS = ("babylm",)

#: ``train`` setting -> TrainSpec field (and the aliases a researcher may write)
TRAIN_SETTINGS = {
    "steps": "steps",
    "batch": "batch",
    "seq": "seq",
    "lr": "lr",
    "warmup": "warmup",
    "seed": "seed",
    "schedule": "schedule",
    "accumulate": "grad_accum",
    "grad_accum": "grad_accum",
    "clip": "clip",
    "decay": "weight_decay",
    "weight_decay": "weight_decay",
    "sample": "sampling",
    # 'train 2M words' / 'train 10 epochs': the length counted in data (one field with steps)
    "words": "steps",
    "tokens": "steps",
    "epochs": "steps",
}
#: ``batch N [unit]`` -> TrainSpec.batch_unit (no unit: examples)
BATCH_UNITS = ("examples", "tokens")
#: ``sample WORDING`` -> TrainSpec.sampling
SAMPLING = {"without replacement": "epochs", "with replacement": "replacement"}
#: ``ties RULE`` of the data pace -> Pace.ties
TIE_RULES = ("random", "include")
LR_SCHEDULES = ("linear", "cosine", "constant")
POS_FORMATS = ("universal", "mor", "tagger")
MIN_BPE_VOCAB = 300  # 256 byte symbols + special tokens + some merges


def first(spec: ast.Spec, kind: type):
    found = spec.of_type(kind)
    return found[0] if found else None


# --- sections --------------------------------------------------------------------------


def build_train(spec: ast.Spec, report: Report) -> plan.TrainSpec:
    """The ``train`` settings of every ``train`` statement (each setting given once)."""
    given: dict[str, ast.Setting] = {}
    for stmt in spec.of_type(ast.TrainStmt):
        for setting in stmt.settings:
            name = setting.key.value
            if name not in TRAIN_SETTINGS:
                report_unknown(report, E_SETTING, "training setting", setting.key, TRAIN_SETTINGS)
                continue
            field = TRAIN_SETTINGS[name]
            if field in given:
                line = given[field].span.line if given[field].span else "?"
                report_error(
                    report, E_DUPLICATE_ARG, f"training setting '{name}' given twice",
                    setting, hint=f"first given on line {line}",
                )  # fmt: skip
                continue
            timed = field == "warmup" and setting.unit is not None
            if timed and _is_time_setting(setting):
                pass  # 'warmup 100k words': read below as a time
            elif setting.unit is not None and field not in ("batch", "sampling"):
                report_error(
                    report, E_EXTRA_WORD,
                    f"unexpected '{setting.unit.value}' after the value of '{name}'",
                    setting.unit, hint="only 'batch' takes a unit ('batch 4096 tokens'), "
                    "and 'warmup' a time's ('warmup 100k words')",
                )  # fmt: skip
            given[field] = setting

    def value(field, read, *args, **kwargs):
        setting = given.get(field)
        if setting is None:
            return None
        return read(setting.value, f"'{setting.key.value}'", report, *args, **kwargs)

    fields = {}
    length = given.get("steps")
    if (
        length is not None
        and length.key.value in plan.TIME_UNITS
        and (isinstance(length.value, ast.Number))
    ):
        # 'train 2M words': steps 0 until the plan is resolved against its data
        timed = dataclasses.replace(length.value, unit=length.key.value)
        fields["length"] = read_time(timed, f"'{length.key.value}'", report, 0, minimum=1)
        fields["steps"] = 0 if fields["length"] is not None else None
    else:
        fields["steps"] = value("steps", read_int)
    fields["batch"] = value("batch", read_int)
    fields["seq"] = value("seq", read_int)
    fields["grad_accum"] = value("grad_accum", read_int)
    fields["seed"] = value("seed", read_int, minimum=0)
    fields["lr"] = value("lr", read_float, positive=True)
    fields["clip"] = value("clip", read_float)
    fields["weight_decay"] = value("weight_decay", read_float)
    fields["schedule"] = value("schedule", read_choice, LR_SCHEDULES)
    if "batch" in given:
        fields["batch_unit"] = _batch_unit(given["batch"], report)
    if "sampling" in given:
        fields["sampling"] = _sampling(given["sampling"], report)
    steps = fields.get("length") or fields["steps"] or plan.TrainSpec.steps
    warmup = given.get("warmup")
    if warmup is not None and _is_time_setting(warmup):
        timed = dataclasses.replace(warmup.value, unit=warmup.unit.value)
        fields["warmup"] = read_time(timed, "'warmup'", report, steps)
    else:
        fields["warmup"] = value("warmup", read_time, steps)
    if fields["warmup"] is None:  # not given (or wrong): 10% of the training
        ten = ast.Number("10%")
        fields["warmup"] = read_time(ten, "", report, steps) if plan.is_time(steps) else (
            ten.share_of(steps))  # fmt: skip
    seq = fields["seq"] or plan.TrainSpec.seq
    if fields.get("batch_unit") == "tokens" and fields["batch"] is not None:
        longest = seq - 2  # an example's text is cut to seq - 2 tokens (<s>, </s>)
        if fields["batch"] < longest:
            report_error(
                report, E_BUDGET,
                f"a budget of {fields['batch']} tokens cannot hold one example of up to "
                f"{longest} tokens of text (seq {seq} - 2)",
                given["batch"].value,
                hint=f"give at least 'batch {longest} tokens' (e.g. 'batch {32 * seq} tokens'), "
                "lower 'seq', or count examples: 'batch 32'",
            )  # fmt: skip
            fields["batch"] = None
    return plan.TrainSpec(**{k: v for k, v in fields.items() if v is not None})


def _is_time_setting(setting: ast.Setting) -> bool:
    """``warmup 100k words``: a number and a time's unit."""
    unit = setting.unit
    return (
        isinstance(setting.value, ast.Number)
        and unit is not None
        and (unit.value in (*plan.TIME_UNITS, "steps"))
    )


def _batch_unit(setting: ast.Setting, report: Report) -> str | None:
    """``batch 32`` / ``batch 32 examples`` -> examples; ``batch 4096 tokens`` -> tokens."""
    if setting.unit is None:
        return "examples"
    return read_choice(setting.unit, "batch unit", report, BATCH_UNITS)


def _sampling(setting: ast.Setting, report: Report) -> str | None:
    """``sample with replacement`` / ``sample without replacement``; another wording is an
    error at the word that is wrong (the value, or the word after it)."""
    first, second = setting.value, setting.unit
    shown = " ".join(_written(node) for node in (first, second) if node is not None)
    if shown in SAMPLING:
        return SAMPLING[shown]
    choices = " or ".join(f"'sample {w}'" for w in SAMPLING)
    starts_right = isinstance(first, ast.Name) and first.value in ("with", "without")
    if starts_right and second is None:
        message, where = f"missing 'replacement' after 'sample {first.value}'", first
        hint = f"write 'sample {first.value} replacement'"
    else:
        message = f"unknown sampling '{shown}'"
        where = second if starts_right else first
        phrases = [f"sample {w}" for w in SAMPLING]
        hint = did_you_mean(f"sample {shown}", phrases, most=1) or f"write {choices}"
        if shown in SAMPLING.values():  # the plan's name for it (sampling: epochs)
            wording = next(w for w, name in SAMPLING.items() if name == shown)
            hint = f"sampling '{shown}' is written 'sample {wording}'"
    report_error(report, E_CHOICE, message, where, hint)
    return None


def _written(node) -> str:
    """A value as the user wrote it (a number's text, a name, a string's content)."""
    return node.text if isinstance(node, ast.Number) else str(node.value)


def _config_family(path: str, node, report: Report) -> str | None:
    """``masked`` or ``causal`` from a transformers config.json (a file or its folder)."""
    config = Path(path)
    try:
        if os.path.isdir(config):
            config = config / "config.json"
        # a regular file of a config's size: never /dev/zero read to the end, nor a FIFO
        data = json.loads(read_limited(config, MAX_CONFIG_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not valid JSON"
        if isinstance(exc, UnicodeDecodeError):
            reason = "not UTF-8 text"
        report_error(
            report, E_CONFIG, f"cannot read the model config '{config}': {reason}", node,
            hint="give a preset name (" + ", ".join(presets.MODEL_PRESETS) + ") or a config.json",
        )  # fmt: skip
        return None
    if not isinstance(data, dict):
        data = {}
    family = presets.family_of_config(data)
    if family is not None:
        return family
    model_type = str(data.get("model_type", ""))
    report_error(
        report, E_CONFIG,
        f"cannot tell whether the model in '{config}' is masked or causal "
        f"(model_type {model_type or 'missing'!r})",
        node, hint="set model_type (e.g. roberta, gpt2) or is_decoder in the config",
    )  # fmt: skip
    return None


def build_model(spec: ast.Spec, report: Report) -> plan.ModelSpec:
    stmt = first(spec, ast.ModelStmt)
    if stmt is None:
        return plan.ModelSpec()
    target = stmt.target
    if isinstance(target, ast.Name):
        preset = presets.MODEL_PRESETS.get(target.value)
        if preset is None:
            report_unknown(report, E_MODEL, "model preset", target, presets.MODEL_PRESETS)
            return plan.ModelSpec()
        return plan.ModelSpec(target.value, preset["family"])
    path = resolve_path(spec, target.value)
    family = _config_family(path, target, report)
    return plan.ModelSpec(path, family) if family else plan.ModelSpec()


def _options(args, report: Report) -> tuple:
    options = {}
    for arg in args:
        if arg.key is None:
            report_error(report, E_ARGS, "data options are written key=value", arg)
            continue
        key = arg.key.value
        if key not in registry.DATA_OPTIONS:
            report_unknown(report, E_DATA_OPTION, "data option", arg.key, registry.DATA_OPTIONS)
            continue
        if key in options:
            report_error(report, E_DUPLICATE_ARG, f"data option '{key}' given twice", arg)
            continue
        type_name = registry.DATA_OPTIONS[key]
        if key == "pos_format":
            value = read_choice(arg.value, "pos_format", report, POS_FORMATS)
        elif type_name == "int":
            value = read_int(arg.value, f"'{key}'", report, minimum=0 if key == "seed" else 1)
        else:
            value = read_typed(arg.value, type_name, f"'{key}'", report)
        if value is not None:
            options[key] = value
    return tuple(sorted(options.items()))


def build_data(spec: ast.Spec, report: Report) -> plan.DataSpec:
    stmt = first(spec, ast.DataStmt)
    if stmt is None:
        return plan.DataSpec()
    unit = "packed" if stmt.packed else "line"
    options = _options(stmt.args, report)
    source = stmt.source.value
    if stmt.kind == "registered":
        if source not in registry.REGISTERED_CORPORA:
            hint = did_you_mean(source, registry.REGISTERED_CORPORA)
            report_error(
                report, E_CORPUS, f"unknown corpus '{source}'", stmt.source,
                hint=hint or 'quote a path (data "train.jsonl") or name a hub dataset '
                '(data hub org/name)',
            )  # fmt: skip
        return plan.DataSpec(source, "registered", options, unit)
    if stmt.kind == "path":
        path = resolve_path(spec, source)
        check_exists(path, stmt.source, "data path", report)
        return plan.DataSpec(path, "path", options, unit)
    return plan.DataSpec(source, "hub", options, unit)


def build_tokenizer(spec: ast.Spec, report: Report) -> plan.TokenizerSpec:
    stmt = first(spec, ast.TokenizerStmt)
    if stmt is None:
        return plan.TokenizerSpec()
    if isinstance(stmt.kind, ast.String):
        path = resolve_path(spec, stmt.kind.value)
        check_exists(path, stmt.kind, "tokenizer path", report)
        return plan.TokenizerSpec("path", plan.TokenizerSpec.vocab_size, path)
    if stmt.kind.value != "bpe":
        report_unknown(report, E_TOKENIZER, "tokenizer", stmt.kind, ("bpe",))
        return plan.TokenizerSpec()
    size = plan.TokenizerSpec.vocab_size
    if stmt.size is not None:
        size = read_int(stmt.size, "the vocabulary size", report, minimum=MIN_BPE_VOCAB) or size
    return plan.TokenizerSpec("bpe", size)


def _call_arguments(
    call: ast.Call, signature: registry.Signature, what: str, report: Report, spec=None
):
    """(positional, keyword) values of a scorer or objective call, checked; a keyword that
    names a path (``signature.paths``) is resolved against the spec's folder."""
    positional = [a for a in call.args if a.key is None]
    keywords = [a for a in call.args if a.key is not None]
    names = []
    if positional and signature.positional is None:
        report_error(report, E_ARGS, f"{what} takes no positional arguments", positional[0])
    elif signature.positional == "name" and len(positional) != 1:
        node = positional[1] if positional else call
        report_error(
            report, E_ARGS, f"{what} takes exactly one name, e.g. {call.name.value}(x)", node
        )
    for arg in positional if signature.positional else ():
        text = read_text(arg.value, f"an argument of {what}", report)
        if text is not None:
            names.append((text, arg))
    allowed = dict(signature.keywords)
    kwargs = {}
    for arg in keywords:
        key = arg.key.value
        if key not in allowed:
            choices = allowed or {}
            hint = did_you_mean(key, choices) or (
                "it takes: " + ", ".join(choices) if choices else f"{what} takes no keywords"
            )
            report_error(report, E_KEYWORD, f"unknown argument '{key}' of {what}", arg.key, hint)
            continue
        if key in kwargs:
            report_error(report, E_DUPLICATE_ARG, f"argument '{key}' given twice", arg)
            continue
        bounds = signature.range_of(key)
        value = read_typed(arg.value, allowed[key], f"'{key}'", report, bounds=bounds)
        if value is not None and key in signature.paths and spec is not None:
            value = resolve_path(spec, value)
            check_exists(value, arg.value, f"the {key} of {what}", report)
        if value is not None:
            kwargs[key] = (value, arg)
    given = {a.key.value for a in keywords}
    for key in signature.required:
        # an unknown keyword (a misspelt one) was reported already
        if key not in given and given <= set(allowed):
            report_error(report, E_ARGS, f"{what} needs {key}=…", call,
                         hint=f"e.g. {call.name.value}({key}=\"…\")")  # fmt: skip
    _check_corruption(kwargs, allowed, what, report)
    return names, tuple(sorted((k, v) for k, (v, _) in kwargs.items()))


def _check_corruption(kwargs: dict, allowed: dict, what: str, report: Report) -> None:
    """``random`` and ``keep`` are shares of the chosen tokens (the rest become
    ``<mask>``): together at most all of them, a keyword left out counting its default."""
    keys = [k for k, _ in registry.CORRUPTION]
    if not all(k in allowed for k in keys) or not any(k in kwargs for k in keys):
        return
    shares = {k: kwargs[k][0] if k in kwargs else registry.DEFAULT_CORRUPTION[k] for k in keys}
    total = sum(shares.values())
    if total <= 1 + 1e-12:
        return
    where = max((kwargs[k][1] for k in keys if k in kwargs), key=lambda a: _order(a.span))
    parts = " + ".join(
        f"{k} {percent_text(v)}" + ("" if k in kwargs else " (the default)")
        for k, v in shares.items()
    )
    report_error(
        report, E_CORRUPTION,
        f"the chosen tokens of {what} cannot be split so: {parts} is more than 100%",
        where, hint="random= and keep= are shares of the chosen tokens; the rest become <mask>",
    )  # fmt: skip


def _order(span) -> tuple:
    return (0, 0) if span is None else (span.line, span.column)


def _weight(term: ast.Term, report: Report) -> float | None:
    if term.weight is None:
        return 1.0
    if term.weight.percent:
        return read_share(term.weight, "a weight", report)
    weight = term.weight.magnitude
    if not math.isfinite(weight) or weight <= 0:
        report_error(report, E_WEIGHT, f"a weight must be greater than 0, not {term.weight.text}",
                term.weight, hint="leave a term out instead of giving it weight 0")  # fmt: skip
        return None
    return weight


def build_sort(spec: ast.Spec, report: Report) -> plan.SortSpec | None:
    stmt = first(spec, ast.SortStmt)
    if stmt is None:
        return None
    known = registry.scorers()
    terms = []
    for term in stmt.terms:
        weight = _weight(term, report)
        name = term.call.name
        if name.value not in known:
            report_unknown(report, E_SCORER, "scorer", name, known)
            continue
        what = f"scorer '{name.value}'"
        positional, kwargs = _call_arguments(term.call, known[name.value], what, report, spec)
        if known[name.value].positional == "names" and not positional and name.value == "source":
            report_error(
                report, E_ARGS, "source needs the sources in order, e.g. source(a, b)", term
            )
        if weight is not None:
            args = tuple(text for text, _ in positional)
            terms.append(plan.ScorerTerm(name.value, args, kwargs, weight))
    descending = stmt.order is not None and stmt.order.value == "descending"
    return plan.SortSpec(tuple(terms), descending)


def build_pace(stmt: ast.PaceStmt | None, total: int | plan.Time, report: Report) -> plan.Pace:
    """A data or vocabulary pace; ``plan.Pace()`` (``none``) when absent or wrong. Its
    times are counted in one unit (:func:`_pace_unit`): steps, or words, tokens or epochs
    drawn (``Pace.unit``)."""
    if stmt is None:
        return plan.Pace()
    measured = _pace_unit(stmt, total, report)
    if measured is None:
        return plan.Pace()
    unit, steps = measured
    pace = _build_pace(stmt, steps, report, _pace_time(unit, steps, report))
    return pace if unit == "steps" or pace.fn == "none" else dataclasses.replace(pace, unit=unit)


def _pace_times(stmt: ast.PaceStmt) -> list[ast.Number]:
    """Every time a pace statement writes (its 'after's and 'over's, its levels' 'from')."""
    nodes = []
    if stmt.schedule is not None:
        nodes += [stmt.schedule.after, stmt.schedule.over]
    for stage in stmt.stages:
        nodes += [stage.after, stage.over]
    nodes += [level.time for level in stmt.levels or ()]
    return [n for n in nodes if isinstance(n, ast.Number)]


def _time_unit(node: ast.Number, total: int | plan.Time) -> str | None:
    """The unit a written time counts (a share of training: the training's; a bare 0:
    None, any unit's 0)."""
    if node.unit is not None:
        return node.unit
    if node.percent:
        return total.unit if plan.is_time(total) else "steps"
    return None if node.magnitude == 0 else "steps"


def _pace_unit(stmt, total, report: Report) -> tuple[str, int | float] | None:
    """(the unit of a pace's times, what a share of training is in it); None -- reported,
    E076 -- when they mix units."""
    return _one_unit(_pace_times(stmt), total, report, "a pace")


def _one_unit(nodes, total, report: Report, what: str) -> tuple[str, int | float] | None:
    units = [(u, n) for n in nodes if (u := _time_unit(n, total)) is not None]
    unit = units[0][0] if units else "steps"
    for other, node in units[1:]:
        if other != unit:
            report_error(
                report, E_TIME_UNITS,
                f"{what} counts its times in one unit: {node.text} {other} after "
                f"{units[0][1].text} {unit}",
                node, hint=f"write every time of {what} in {unit} (a share of training, "
                "50%, is counted in the unit of the training's length)",
            )  # fmt: skip
            return None
    if plan.is_time(total):
        return unit, total.value if unit == total.unit else 0
    return unit, total if unit == "steps" else 0


def _pace_time(unit: str, scale, report: Report):
    """How a pace of ``unit`` reads a time: a number in that unit (a share of training is
    ``share * scale``, exact)."""
    if unit == "steps":
        return lambda node, what, **options: read_time(node, what, report, scale, **options)

    def read(node, what, *, minimum=0, exact=False):
        total = plan.Time(scale, unit)
        found = read_time(node, what, report, total, minimum=minimum)
        return found.value if plan.is_time(found) else found  # a bare 0: 0

    return read


def _build_pace(stmt: ast.PaceStmt, steps, report: Report, read) -> plan.Pace:
    fn = stmt.fn.value
    word = "pace" if stmt.target == "data" else "vocab"
    ties = _tie_rule(stmt, report)
    if stmt.levels:
        return _build_levels(stmt, steps, report, ties, read)
    if fn == "none":
        if stmt.schedule is not None:
            report_error(report, E_SCHEDULE, f"'{word} none' takes no schedule", stmt.schedule)
        for stage in stmt.stages[:1]:
            report_error(report, E_SCHEDULE, f"'{word} none' has no stages", stage)
        return plan.Pace()
    known = fn in PACING_FUNCTIONS
    if not known:  # still check the schedule below: every problem is reported at once
        report_unknown(report, E_PACING, "pacing function", stmt.fn, (*PACING_FUNCTIONS, "none"))
    schedule = stmt.schedule
    if schedule is None:
        report_error(
            report, E_SCHEDULE, f"'{word} {fn}' needs a schedule", stmt,
            hint=f"write '{word} {fn} from 10% over 10000 [release at 80%]'",
        )  # fmt: skip
        return plan.Pace()
    start = read_share(schedule.start, "the start ('from')", report)
    end = 1.0
    if schedule.end is not None:
        end = read_share(schedule.end, "the end ('to')", report)
    after = 0
    if schedule.after is not None:
        after = read(schedule.after, "'after'", exact=True)
    over = read(schedule.over, "'over'", minimum=1, exact=True)
    if (
        after is not None
        and over is not None
        and schedule.after is not None
        and schedule.after.percent
        and schedule.over.percent
    ):
        # both shares: the ramp ends at (a + o) * T exactly, the seed's step_end = e * T
        ends = ast.share_sum(schedule.after, schedule.over) * steps
        over = plan.steps_number(_ramp(after, ends)) if ends - after >= 1 else over
    release = None
    if schedule.release is not None:
        release = read_share(schedule.release, "'release at'", report)
        if release is None:
            return plan.Pace()
    if None in (start, end, after, over):
        return plan.Pace()
    if end < start:
        report_error(
            report, E_PACE_ORDER,
            f"the pool would shrink: 'to' {schedule.end.text} is below 'from' "
            f"{schedule.start.text}",
            schedule.end,
        )  # fmt: skip
        return plan.Pace()
    if stmt.stages and schedule.release is not None:
        report_error(
            report, E_SCHEDULE, "a staged pace has no 'release at': the last stage says where "
            "the pool ends", schedule.release,
            hint="remove 'release at'; end the last stage 'to 100%' to release everything",
        )  # fmt: skip
        return plan.Pace()
    # a share of training is exact over the stages too: with every 'after' and 'over' a
    # percentage, stage k ends at step (sum of them)% * T
    shares = [n for n in (schedule.after, schedule.over) if n is not None]
    stages = _build_stages(stmt, steps, report, (start, end, after, over), shares, read)
    if not known or stages is None:
        return plan.Pace()
    return plan.Pace(fn, start, end, over, after, release, ties or plan.Pace.ties, stages)


def _build_stages(stmt: ast.PaceStmt, steps, report: Report, first, shares, read):
    """The follow-on stages of a staged pace (None: one was wrong, reported)."""
    out: list[plan.PaceStage] = []
    ok = True
    _, previous_end, begins, over = first
    # how the stage before says where it ends ('to E'; without one, the default 100%)
    previous = stmt.schedule.end.text if stmt.schedule.end is not None else "100%"
    for number, stage in enumerate(stmt.stages, start=2):
        fn = stage.fn.value
        if fn not in PACING_FUNCTIONS:
            report_unknown(report, E_PACING, "pacing function", stage.fn, PACING_FUNCTIONS)
            ok = False
        end = read_share(stage.end, f"stage {number}'s end ('to')", report)
        pause = 0
        if stage.after is not None:
            pause = read(stage.after, f"stage {number}'s 'after'", exact=True)
        length = read(stage.over, f"stage {number}'s 'over'", minimum=1, exact=True)
        if None in (end, pause, length):
            ok = False
            shares = None
            continue
        if previous_end is not None and end < previous_end:
            report_error(
                report, E_PACE_ORDER,
                f"the pool would shrink: stage {number}'s 'to' {stage.end.text} is below "
                f"{previous}, where stage {number - 1} ends",
                stage.end,
                hint=f"a stage starts where the one before it ended: write 'to {previous}' "
                "or more",
            )  # fmt: skip
            ok = False
        if shares is not None and begins is not None and over is not None:
            numbers = [n for n in (stage.after, stage.over) if n is not None]
            if all(n.percent for n in (*shares, *numbers)):
                shares = shares + numbers
                starts = begins + over + pause
                ends = ast.share_sum(*shares) * steps
                if ends - starts >= 1:
                    length = plan.steps_number(_ramp(starts, ends))
            else:
                shares = None
        if begins is not None and over is not None:
            begins = begins + over + pause
        over = length
        previous_end, previous = end, stage.end.text
        out.append(plan.PaceStage(fn, end, length, pause))
    return tuple(out) if ok else None


def _build_levels(stmt: ast.PaceStmt, steps, report: Report, ties, read) -> plan.Pace:
    """DeepSpeed's discrete form ``S0 from 0, S1 from T1, ...``: the pool is Sk from step Tk
    on -- a staged pace of ``step`` shapes (stage k jumps from S(k-1) to Sk at Tk)."""
    levels = stmt.levels
    shares = [read_share(level.share, "a share", report) for level in levels]
    times = [read(level.time, "'from'", exact=True) for level in levels]
    ok = None not in shares and None not in times
    if times[0] is not None and times[0] != 0:
        report_error(
            report, E_LEVEL_ORDER, f"the first share starts at step 0, not {levels[0].time.text}",
            levels[0].time, hint=f"write '{levels[0].share.text} from 0'",
        )  # fmt: skip
        ok = False
    for i in range(1, len(levels)):
        if None not in (times[i], times[i - 1]) and times[i] <= times[i - 1]:
            report_error(
                report, E_LEVEL_ORDER,
                f"the steps must increase: 'from {levels[i].time.text}' is not after "
                f"'from {levels[i - 1].time.text}'",
                levels[i].time, hint="list the shares in the order they take effect",
            )  # fmt: skip
            ok = False
        if None not in (shares[i], shares[i - 1]) and shares[i] < shares[i - 1]:
            report_error(
                report, E_PACE_ORDER,
                f"the pool would shrink: {levels[i].share.text} is below "
                f"{levels[i - 1].share.text} before it",
                levels[i].share, hint=f"write {levels[i - 1].share.text} or more",
            )  # fmt: skip
            ok = False
    if not ok:
        return plan.Pace()
    stages = []
    begins, over = 0, times[1]
    for i in range(2, len(levels)):
        begins = begins + over  # where the plan puts this stage's beginning (Pace.stage_spans)
        over = plan.steps_number(_ramp(begins, times[i]))  # so that it jumps at times[i]
        stages.append(plan.PaceStage("step", shares[i], over, 0))
    return plan.Pace("step", shares[0], shares[1], times[1], 0, None, ties or plan.Pace.ties,
                     tuple(stages))  # fmt: skip


def _ramp(after: float, ends: float) -> float:
    """``ends - after`` (the seed's ``step_end - step_start``), nudged by a few ulps where
    floating point would put ``after + over`` -- where the plan's pacing jumps and ends --
    on the other side of a whole step than ``ends``; the ramp's whole steps,
    ``floor(over)``, stay the seed's ``int(step_end - step_start)``."""
    over = ends - after
    candidates = [over]
    for direction in (math.inf, -math.inf):
        value = over
        for _ in range(4):
            value = math.nextafter(value, direction)
            candidates.append(value)
    fitting = [c for c in candidates if math.floor(c) == math.floor(over)]
    for ok in (lambda c: after + c == ends, lambda c: math.ceil(after + c) == math.ceil(ends)):
        found = [c for c in fitting if ok(c)]
        if found:
            return found[0]
    return over


def build_vocab_rule(stmt: ast.PaceStmt | None, report: Report) -> plan.VocabRule:
    """The order of a vocabulary curriculum (``by ORDER``) and what a hidden token is hidden
    from (``inputs only``); the defaults when absent or wrong."""
    if stmt is None or (stmt.order is None and stmt.hides is None):
        return plan.VocabRule()
    if stmt.fn.value == "none":
        node = stmt.order or stmt.hides
        report_error(
            report, E_VOCAB_RULE, "'vocab none' shows every token from the start: it has no "
            "order and hides nothing", node, hint="remove it, or pace the vocabulary",
        )  # fmt: skip
        return plan.VocabRule()
    fields = {}
    if stmt.order is not None:
        fields["order"] = read_choice(stmt.order, "vocabulary order", report, plan.VOCAB_ORDERS)
    if stmt.hides is not None:
        fields["hides"] = read_choice(stmt.hides, "what hidden tokens are hidden from",
                                      report, plan.VOCAB_HIDES)  # fmt: skip
    return plan.VocabRule(**{k: v for k, v in fields.items() if v is not None})


def _tie_rule(stmt: ast.PaceStmt, report: Report) -> str | None:
    """The ``ties`` rule of a data pace (None: not written, or wrong). A tie rule says which
    examples a pool's edge releases; the vocabulary and ``pace none`` have no such edge."""
    if stmt.ties is None:
        return None
    if stmt.target == "vocab":
        report_error(
            report, E_TIES_PLACE, "'ties' belongs to the data pace: the vocabulary is released "
            "by token id, which never ties", stmt.ties,
            hint="remove it here; write it on 'pace' (pace root from 10% over 10000 ties include)",
        )  # fmt: skip
        return None
    if stmt.fn.value == "none":
        report_error(
            report, E_TIES_PLACE, "'pace none' releases all data: it has no pool edge for "
            "'ties' to decide", stmt.ties, hint="remove 'ties', or pace the data",
        )  # fmt: skip
        return None
    return read_choice(stmt.ties.rule, "tie rule", report, TIE_RULES)


def _tags(names, report: Report) -> tuple[str, ...]:
    tags = set()
    for text, arg in names:
        tag = pos_tags.SPEC_NAMES.get(text.lower())
        if tag is None:
            report_error(
                report, E_TAG, f"unknown part-of-speech tag '{text}'", arg,
                did_you_mean(text.lower(), pos_tags.SPEC_NAMES)
                or "tags: " + ", ".join(pos_tags.SPEC_NAMES),
            )  # fmt: skip
            continue
        tags.add(tag)
    return tuple(sorted(tags, key=pos_tags.TAG_INDEX.__getitem__))


def _unit_from_call(name: str | None, call: ast.Call, report: Report) -> plan.Unit | None:
    """The unit a call makes (``name`` None: named by its canonical text)."""
    known = registry.objectives()
    objective = call.name.value
    what = f"objective '{objective}'"
    names, kwargs = _call_arguments(call, known[objective], what, report)
    if objective == "pos":
        args = _tags(names, report)
    else:
        args = tuple(text for text, _ in names)
    if name is None:
        name = canonical_unit_name(objective, args, kwargs)
    return plan.Unit(name, objective, args, kwargs)


def canonical_unit_name(objective: str, args: tuple, kwargs: tuple) -> str:
    """``pos(noun, verb, mask=0.4)``: the name of an inline unit, the same however written."""
    shown = [("punct" if a == "." else a.lower()) if objective == "pos" else str(a) for a in args]
    shown += [f"{k}={scalar_text(v)}" for k, v in kwargs]
    return call_text(objective, shown)


def declared_units(spec: ast.Spec, report: Report) -> dict[str, tuple[ast.UnitStmt, plan.Unit]]:
    """The ``unit`` statements, checked: name -> (statement, unit)."""
    known = registry.objectives()
    declared = {}
    for stmt in spec.of_type(ast.UnitStmt):
        name = stmt.name.value
        if name in known:
            report_error(report, E_UNIT, f"unit '{name}' has the name of an objective", stmt.name,
                    hint="choose another name, e.g. " + f"{name}_1")  # fmt: skip
            continue
        if name in declared:
            report_error(report, E_UNIT, f"unit '{name}' is defined twice", stmt.name,
                    hint=f"first defined on line {declared[name][0].span.line}")  # fmt: skip
            continue
        objective = stmt.call.name
        if objective.value not in known:
            report_unknown(report, E_OBJECTIVE, "objective", objective, known)
            continue
        unit = _unit_from_call(name, stmt.call, report)
        if unit is not None:
            declared[name] = (stmt, _head_settings(stmt, unit, report))
    return declared


def _head_settings(stmt: ast.UnitStmt, unit: plan.Unit, report: Report) -> plan.Unit:
    """``lr LR [warmup W]`` of a unit statement: its head's own learning rate and warm-up."""
    lr = warmup = None
    if stmt.lr is not None:
        lr = read_float(stmt.lr, "a unit's 'lr'", report, positive=True)
    if stmt.warmup is not None:
        if stmt.lr is None:
            report_error(
                report, E_UNIT_WARMUP, f"'warmup' of unit '{unit.name}' needs its 'lr'",
                stmt.warmup, hint=f"a unit's warm-up belongs to its own head schedule: write "
                f"'lr 1e-3 warmup {stmt.warmup.text}', or remove 'warmup' (the head then "
                "trains with the run's schedule)",
            )  # fmt: skip
        else:
            warmup = read_share(stmt.warmup, "a unit's 'warmup'", report, zero=True)
    return dataclasses.replace(unit, lr=lr, warmup=warmup)


def _family_problem(objective: str, family: str) -> str | None:
    if family == "masked" and objective in registry.CAUSAL_ONLY:
        return "a masked model"
    if family == "causal" and objective in registry.MASKED_ONLY:
        return "a causal model"
    return None


def build_phases(
    spec: ast.Spec, family: str, steps: int, report: Report
) -> tuple[tuple[plan.Unit, ...], tuple[plan.Phase, ...]]:
    """The units used in ``at`` (or ``during``) statements (sorted by name) and the
    objective phases."""
    declared = declared_units(spec, report)
    units: dict[str, plan.Unit] = {}
    during = spec.of_type(ast.DuringStmt)
    if during and plan.is_time(steps):
        report_error(
            report, E_TIME_UNITS,
            f"'during' takes shares of a training counted in steps, not of {steps.text()}",
            during[0], hint="write the phases with 'at' ('at 0 mlm, at 1M words pos'), or "
            "give the training's length in steps",
        )  # fmt: skip
        during = ()
    if during:
        resolved = _during_phases(spec, declared, family, steps, units, report)
        if resolved is not None:
            ordered = tuple(sorted(units.values(), key=lambda u: u.name))
            return ordered, resolved
        units.clear()
    phases = []
    for stmt in spec.of_type(ast.AtStmt):
        start = read_time(stmt.time, "the step of 'at'", report, steps)
        if plan.is_time(start) and start.value == 0:
            start = 0  # no data drawn yet: step 0 in any unit
        weights: dict[str, float] = {}
        for term in stmt.terms:
            found = _term_unit(term, declared, family, report)
            if found is None:
                continue
            unit, weight = found
            if unit.name in weights:
                report_error(
                    report, E_DUPLICATE_ARG, f"'{unit.name}' appears twice in one 'at'", term
                )
                continue
            if weight is not None:
                weights[unit.name] = weight
                units[unit.name] = unit
        if start is not None:
            phases.append((start, stmt, tuple(sorted(weights.items()))))
    _check_phase_times(phases, steps, report)
    if not phases:  # the plan's rule, written out so that the plan says what it trains
        for unit in plan.natural_units(family):
            units[unit.name] = unit
        return tuple(units.values()), (plan.natural_phase(family),)
    ordered = tuple(sorted(units.values(), key=lambda u: u.name))
    return ordered, tuple(plan.Phase(start, weights) for start, _, weights in phases)


def _term_unit(term: ast.Term, declared: dict, family: str, report: Report):
    """The unit of an objective term of ``at``/``during`` and its weight (None: wrong
    weight), or None when the term names nothing."""
    known = registry.objectives()
    weight = _weight(term, report)
    call = term.call
    name = call.name.value
    if name in declared:
        if call.args:
            report_error(report, E_ARGS, f"unit '{name}' takes no arguments", call.args[0],
                    hint=f"its arguments are set where it is defined "
                    f"(line {declared[name][0].span.line})")  # fmt: skip
        unit = declared[name][1]
    elif name in known:
        unit = _unit_from_call(None, call, report)
    else:
        report_unknown(report, E_OBJECTIVE, "objective or unit", call.name, {*known, *declared})
        return None
    problem = _family_problem(unit.objective, family)
    if problem:
        natural = presets.FAMILY_OBJECTIVE[family]
        report_error(
            report, E_FAMILY, f"objective '{unit.objective}' does not fit {problem}",
            call, hint=f"use '{natural}', or a model of the other family",
        )  # fmt: skip
    return unit, weight


def active_steps(start: float, end: float, steps: int) -> tuple[int, int]:
    """The first and last step t of ``[0, steps)`` with ``start <= t / steps <= end``
    (computed as ``t / steps`` in floating point, the seed system's objective ranges);
    ``first > last`` when there is none."""
    lo = max(0, math.ceil(start * steps))
    while lo > 0 and (lo - 1) / steps >= start:
        lo -= 1
    while lo < steps and lo / steps < start:
        lo += 1
    hi = min(steps - 1, math.floor(end * steps))
    while hi + 1 < steps and (hi + 1) / steps <= end:
        hi += 1
    while hi >= 0 and hi / steps > end:
        hi -= 1
    return lo, hi


def _during_share(value: ast.Number, what: str, report: Report) -> float | None:
    if not value.percent:
        report_error(
            report, E_TYPE, f"{what} must be a percentage of training, not {value.text}", value,
            hint=f"write 'during 0%..50% OBJ'; {value.text} of the steps is "
            f"{value.share * 100:g}%" if 0 <= value.share <= 1 else "write 'during 0%..50% OBJ'",
        )  # fmt: skip
        return None
    share = value.magnitude
    if not math.isfinite(share) or not 0 <= share <= 100:
        report_error(report, E_PERCENT, f"{what} must be a percentage in [0, 100], not "
                     f"{value.text}", value)  # fmt: skip
        return None
    return value.share


def _during_phases(spec, declared, family, steps, units, report) -> tuple | None:
    """The phases of ``during`` statements: one at every step where the set of active
    units changes. None (after reporting) when the spec mixes them with ``at``."""
    durings = spec.of_type(ast.DuringStmt)
    ats = spec.of_type(ast.AtStmt)
    if ats:
        later = max(durings[0], ats[0], key=lambda stmt: _order(stmt.span))
        word = "during" if isinstance(later, ast.DuringStmt) else "at"
        span = later.span
        if span is not None:  # the keyword itself
            span = dataclasses.replace(span, end_line=span.line, end_column=span.column + len(word))
        report(Diagnostic(
            E_DURING_MIX, "'during' and 'at' cannot be mixed: one says when each objective "
            "starts, the other when each is active", span,
            "write every objective's range with 'during S%..E% OBJ', or every phase with "
            "'at STEP OBJ'",
        ))  # fmt: skip
        return None
    ranges = []  # (first step, last step, unit name, weight, statement)
    for stmt in durings:
        start = _during_share(stmt.start, "the start of 'during'", report)
        end = _during_share(stmt.end, "the end of 'during'", report)
        found = _term_unit(stmt.term, declared, family, report)
        if None in (start, end) or found is None:
            continue
        unit, weight = found
        if end < start:
            report_error(report, E_DURING_RANGE, f"'during {stmt.start.text}..{stmt.end.text}' "
                         "ends before it starts", stmt.end)  # fmt: skip
            continue
        lo, hi = active_steps(start, end, steps)
        if lo > hi:
            report_error(
                report, E_DURING_RANGE,
                f"'during {stmt.start.text}..{stmt.end.text}' holds no step of training: no "
                f"step t of 0 to {steps - 1} has {stmt.start.text} <= t/{steps} <= "
                f"{stmt.end.text}",
                stmt.start,
            )  # fmt: skip
            continue
        clash = next((r for r in ranges if r[2] == unit.name and r[0] <= hi and lo <= r[1]), None)
        if clash is not None:
            report_error(
                report, E_DURING_OVERLAP,
                f"'{unit.name}' is in two 'during' ranges that share steps "
                f"{max(lo, clash[0]):,}–{min(hi, clash[1]):,}",
                stmt.term, hint=f"the other is on line {clash[4].span.line}; a unit has one "
                "weight at a time",
            )  # fmt: skip
            continue
        if weight is None:
            continue
        units[unit.name] = unit
        ranges.append((lo, hi, unit.name, weight, stmt))
    if not ranges:
        return None
    cuts = sorted({0, *(r[0] for r in ranges), *(r[1] + 1 for r in ranges if r[1] + 1 < steps)})
    phases: list[plan.Phase] = []
    for i, cut in enumerate(cuts):
        active = tuple(sorted((r[2], r[3]) for r in ranges if r[0] <= cut <= r[1]))
        if not active:
            last = cuts[i + 1] - 1 if i + 1 < len(cuts) else steps - 1
            before = [r for r in ranges if r[1] + 1 == cut]
            node = before[-1][4].end if before else min(ranges, key=lambda r: r[0])[4].start
            report_error(
                report, E_DURING_GAP,
                f"no objective is trained at steps {cut:,}–{last:,}: no 'during' range "
                f"holds them",
                node, hint="ranges include both ends (t/T from S to E): let the next range "
                "start where this one ends, e.g. 'during 0%..50% a' and 'during 50%..100% b'",
            )  # fmt: skip
            continue
        if not phases or phases[-1].objectives != active:
            phases.append(plan.Phase(cut, active))
    if phases and phases[0].start != 0:
        return None
    return tuple(phases)


def _when(time) -> str:
    """``step 2000`` or ``5M words``: a phase's start as messages name it."""
    return time.text() if plan.is_time(time) else f"step {time}"


def _check_phase_times(phases, steps: int | plan.Time, report: Report) -> None:
    """The 'at' times: the first at 0, increasing, in one unit (E076), within training."""
    if phases and _one_unit([stmt.time for _, stmt, _ in phases], steps, report, "'at'") is None:
        return
    previous = None
    for start, stmt, _ in phases:
        value = start.value if plan.is_time(start) else start
        if previous is None and value != 0:
            report_error(
                report, E_AT_FIRST, f"the first 'at' is at {_when(start)}, not 0", stmt.time,
                hint="nothing says what to train before it: start with 'at 0 ...'",
            )  # fmt: skip
        if previous is not None and value <= previous[0]:
            word = "steps" if not plan.is_time(start) else "times"
            report_error(
                report, E_AT_ORDER,
                f"'at' {word} must increase: {_when(start)} is not after {_when(previous[2])}",
                stmt.time, hint=f"the previous 'at' is on line {previous[1].span.line}",
            )  # fmt: skip
        if not plan.is_time(start) and not plan.is_time(steps) and start >= steps:
            report_error(
                report, E_AT_LATE,
                f"step {start} is never reached: training runs steps 0 to {steps - 1}",
                stmt.time,
            )  # fmt: skip
        elif (
            plan.is_time(start)
            and plan.is_time(steps)
            and start.unit == steps.unit
            and (start.value >= steps.value)
        ):
            report_error(
                report, E_AT_LATE,
                f"{start.text()} is never reached: training ends at {steps.text()}", stmt.time,
            )  # fmt: skip
        previous = (value, stmt, start)


def build_evals(
    spec: ast.Spec, steps: int | plan.Time, report: Report
) -> tuple[plan.EvalSpec, ...]:
    evals = []
    seen: dict[str, ast.EvalStmt] = {}
    for stmt in spec.of_type(ast.EvalStmt):
        path = None
        if isinstance(stmt.target, ast.Name):
            name = stmt.target.value
            if name not in registry.EVAL_PRESETS:
                report_unknown(report, E_EVAL, "evaluation", stmt.target, registry.EVAL_PRESETS)
                continue
        else:
            path = resolve_path(spec, stmt.target.value)
            check_exists(path, stmt.target, "evaluation path", report)
            name = Path(path).stem or "eval"
        if name in seen:
            report_error(report, E_DUPLICATE_EVAL, f"evaluation '{name}' is given twice", stmt.target,
                    hint=f"first given on line {seen[name].span.line}")  # fmt: skip
            continue
        seen[name] = stmt
        every = limit = None
        if stmt.every is not None:
            every = read_time(stmt.every, "'every'", report, steps, minimum=1)
        if stmt.limit is not None:
            limit = read_int(stmt.limit, "'limit'", report)
        rules = {}
        for key, what, choices in (("ties", "tie rule", registry.TIE_RULES),
                                   ("pll", "PLL variant", registry.PLL_VARIANTS)):  # fmt: skip
            value = getattr(stmt, key)
            if value is not None:
                rules[key] = read_choice(value, what, report, choices) or choices[0]
        evals.append(plan.EvalSpec(name, path, every, stmt.at_phases, limit, **rules))
    return tuple(evals)


def build_output(spec: ast.Spec, steps: int | plan.Time, report: Report) -> plan.OutputSpec:
    fields = {}
    for stmt in spec.of_type(ast.LogStmt):
        if stmt.every is not None:
            fields["log_every"] = read_int(stmt.every, "'log every'", report)
        if stmt.wandb_project is not None:
            fields["wandb_project"] = read_text(stmt.wandb_project, "the project", report)
    stmt = first(spec, ast.CheckpointStmt)
    if stmt is not None:
        if stmt.every is not None:
            fields["checkpoint_every"] = read_time(stmt.every, "'checkpoint every'", report,
                                                   steps, minimum=1)  # fmt: skip
        if stmt.keep is not None:
            fields["keep"] = read_int(stmt.keep, "'keep'", report)
        if stmt.at:
            fields["checkpoint_at"] = _checkpoint_times(stmt.at, steps, report)
        if stmt.preset is not None:
            if stmt.preset.value in CHECKPOINT_PRESETS:
                fields["checkpoint_babylm"] = True
            else:
                report_unknown(report, E_CHECKPOINT_PRESET, "checkpoint preset", stmt.preset,
                               CHECKPOINT_PRESETS)  # fmt: skip
    stmt = first(spec, ast.PushStmt)
    if stmt is not None:
        fields["push_to_hub"] = stmt.repo.value
    return plan.OutputSpec(**{k: v for k, v in fields.items() if v is not None})


def _checkpoint_times(numbers, steps, report: Report) -> tuple | None:
    """``checkpoint at 1M, 2M, 5M words``: increasing times in one unit (steps or data)."""
    times = [read_time(n, "'checkpoint at'", report, steps, minimum=1) for n in numbers]
    if None in times:
        return None
    values = [t.value if plan.is_time(t) else t for t in times]
    for i in range(1, len(times)):
        if values[i] <= values[i - 1]:
            report_error(
                report, E_AT_ORDER,
                f"checkpoint times must increase: {numbers[i].text} is not after "
                f"{numbers[i - 1].text}", numbers[i],
            )  # fmt: skip
            return None
    return tuple(times)


# --- mix: data mixtures over time -------------------------------------------------------

#: the suffixes the readers take as JSON Lines (a file whose sources are in its lines)
_JSON_SUFFIXES = (".jsonl", ".json")


def known_sources(data: plan.DataSpec) -> tuple[str, ...] | None:
    """The sources of ``data`` when they are known without reading it, else None: a plain
    text file (its stem) or a folder of plain-text files (a BabyLM corpus folder: the file
    stems, less hidden and README files and -- beside ``*.train`` files -- the held-out
    ``*.dev``/``*.test``). The readers' rule (``runtime/data/readers.py``: ``_resolve_path``,
    ``_file_input``), read from names alone; a JSON Lines file or a datasets folder names
    its sources inside, and is None. A test compares the two."""
    if data.kind != "path":
        return None
    path = Path(data.source)
    try:
        if path.is_file():
            files = [path]
        elif path.is_dir():
            if (path / "dataset_dict.json").exists() or (path / "state.json").exists():
                return None
            files = [
                p for p in sorted(path.iterdir())
                if not p.name.startswith(".") and not p.name.upper().startswith("README")
                and p.is_file()
            ]  # fmt: skip
            if any(p.suffix == ".train" for p in files):
                files = [p for p in files if p.suffix not in (".dev", ".test")]
        else:
            return None
    except OSError:
        return None
    names = [p.name[:-3] if p.name.endswith(".gz") else p.name for p in files]
    if not names or any(n.endswith(_JSON_SUFFIXES) for n in names):
        return None
    return tuple(sorted({Path(n).stem for n in names}))


def _counts_examples(train: plan.TrainSpec, report: Report, code: str, stmt, what: str,
                     why: str) -> bool:  # fmt: skip
    """Whether the batch is counted in examples, as ``what`` (a mix, a batch ramp) needs;
    with a token budget, ``code`` at ``stmt`` saying ``why`` it needs them."""
    if train.batch_unit != "tokens":
        return True
    report_error(
        report, code, f"{what} {why}: it needs a batch counted in examples, not "
        f"{train.batch:,} tokens", stmt, hint=f"write 'train batch 32' (examples) with {what}",
    )  # fmt: skip
    return False


def build_mix(
    spec: ast.Spec, total: int | plan.Time, train: plan.TrainSpec, data: plan.DataSpec,
    report: Report, data_sources: tuple[str, ...] | None = None,
) -> plan.Mix | None:  # fmt: skip
    """The data mixture of ``mix`` (None without one, or when it is wrong). Weights are
    normalised per phase; ``until`` reads a time as ``at`` does, all in one unit (E076)
    and increasing (E081). A source the data does not have is E080 when the data's sources
    are known -- ``data_sources`` (read from the data by the caller: ``validate`` does),
    or :func:`known_sources` -- else W011 (checked when the corpus is read)."""
    stmt = first(spec, ast.MixStmt)
    if stmt is None:
        return None
    ok = _counts_examples(train, report, E_MIX_BUDGET, stmt, "a mix",
                          "splits each step's examples between sources")  # fmt: skip
    untils = [phase.until for phase in stmt.phases if phase.until is not None]
    measured = _one_unit(untils, total, report, "a mix")
    if measured is None:
        return None
    unit, scale = measured
    read = _pace_time(unit, scale, report)
    known = data_sources if data_sources is not None else known_sources(data)
    phases, previous = [], None
    for phase in stmt.phases:
        weights: dict[str, float] = {}
        for term in phase.terms:
            weight = _weight(ast.Term(term.weight, None, term.span), report)
            name = term.source.value
            if name in weights:
                report_error(
                    report, E_MIX_TWICE, f"source '{name}' is named twice in one phase of "
                    "the mix", term.source, hint="give each source one weight per phase",
                )  # fmt: skip
                ok = False
                continue
            if known is not None and name not in known:
                hint = did_you_mean(name, known) or "known: " + ", ".join(known)
                report_error(
                    report, E_MIX_SOURCE, f"the data has no source '{name}'", term.source,
                    hint=hint,
                )  # fmt: skip
                ok = False
            if weight is None:
                ok = False
                continue
            weights[name] = weight
        until = None
        if phase.until is not None:
            until = read(phase.until, "the 'until' of a mix phase", minimum=1)
            if until is None:
                ok = False
            elif previous is not None and until <= previous:
                report_error(
                    report, E_MIX_ORDER, f"a mix phase must end after the one before it: "
                    f"'until {phase.until.text}' is not after {plan.count_text(previous)}",
                    phase.until, hint="write the phases in order, each 'until' later",
                )  # fmt: skip
                ok = False
            previous = until if until is not None else previous
        total_weight = sum(weights.values())
        if weights:
            shares = tuple(sorted((n, w / total_weight) for n, w in weights.items()))
            phases.append(plan.MixPhase(shares, until))
        else:
            ok = False
    if known is None and ok:
        report_error(
            report, W_MIX_UNCHECKED, "the mix's sources are checked when the data is read "
            f"({', '.join(sorted({t.source.value for p in stmt.phases for t in p.terms}))})",
            stmt.phases[0], severity="warning",
            hint="a run stops before training on a source the data does not have (E367)",
        )  # fmt: skip
    if not ok:
        return None
    return plan.Mix(tuple(phases), unit)


# --- seq: sequence-length warmup --------------------------------------------------------


def build_seq_warmup(
    spec: ast.Spec, total: int | plan.Time, train: plan.TrainSpec, report: Report
) -> plan.SeqWarmup | None:
    """The sequence-length warmup of ``seq FN from S [to E] [after T] over N`` (None for
    none, ``seq none``, or when it is wrong). S and E are lengths in positions (``<s>`` and
    ``</s>`` included, as ``train seq`` counts them): S a whole multiple of
    :data:`plan.SEQ_MULTIPLE` (E085), ``S <= E <= train.seq`` (E086; E defaults to
    ``train.seq``); the times read as a pace's (one unit, E076; a share of training
    exact); no ``release at`` (E087)."""
    stmt = first(spec, ast.SeqStmt)
    if stmt is None:
        return None
    fn, schedule = stmt.fn.value, stmt.schedule
    if fn == "none":
        if schedule is not None:
            report_error(report, E_SEQ_SCHEDULE, "'seq none' takes no schedule", schedule)
        return None
    known = fn in PACING_FUNCTIONS
    if not known:  # the schedule is still checked: every problem at once
        report_unknown(report, E_PACING, "pacing function", stmt.fn, (*PACING_FUNCTIONS, "none"))
    if schedule is None:
        report_error(
            report, E_SEQ_SCHEDULE, f"'seq {fn}' needs a schedule", stmt,
            hint=f"write 'seq {fn} from 32 to {train.seq} over 20%'",
        )  # fmt: skip
        return None
    ok = known
    if schedule.release is not None:
        report_error(
            report, E_SEQ_SCHEDULE, "a seq warmup has no 'release at': the length is its "
            "'to' once the ramp ends", schedule.release, hint="remove 'release at'",
        )  # fmt: skip
        ok = False
    measured = _one_unit([n for n in (schedule.after, schedule.over) if n is not None],
                         total, report, "a seq warmup")  # fmt: skip
    if measured is None:
        return None
    unit, scale = measured
    read = _pace_time(unit, scale, report)
    multiple = plan.SEQ_MULTIPLE
    start = read_int(schedule.start, "a seq warmup's 'from' (positions)", report, minimum=multiple)
    if start is not None and start % multiple:
        lower = start - start % multiple
        report_error(
            report, E_SEQ_LENGTH, f"a seq warmup's lengths are whole multiples of {multiple}: "
            f"'from {schedule.start.text}' is not", schedule.start,
            hint=f"did you mean 'from {lower}' or 'from {lower + multiple}'?",
        )  # fmt: skip
        start = None
    end = train.seq
    if schedule.end is not None:
        end = read_int(schedule.end, "a seq warmup's 'to' (positions)", report, minimum=multiple)
    after = 0 if schedule.after is None else read(schedule.after, "'after'", exact=True)
    over = read(schedule.over, "'over'", minimum=1, exact=True)
    if None not in (after, over) and schedule.after is not None and schedule.after.percent \
            and schedule.over.percent:  # fmt: skip
        # both shares: the ramp ends at (a + o) * T exactly, as a pace's does
        ends = ast.share_sum(schedule.after, schedule.over) * scale
        over = plan.steps_number(_ramp(after, ends)) if ends - after >= 1 else over
    where = schedule.end if schedule.end is not None else schedule.start
    if end is not None and end > train.seq:
        report_error(
            report, E_SEQ_ORDER, f"a seq warmup cannot go past the model's positions: 'to "
            f"{end}' is above the training's seq {train.seq}", where,
            hint=f"write 'to {train.seq}', or raise 'train seq' (the model's maximum)",
        )  # fmt: skip
        return None
    if None in (start, end, after, over):
        return None
    if start > end:
        report_error(
            report, E_SEQ_ORDER, f"a seq warmup's length would shrink: 'from {start}' is "
            f"above {'to ' if schedule.end is not None else 'the training seq '}{end}", where,
            hint=f"start at most at {end - end % multiple}",
        )  # fmt: skip
        return None
    if not ok:
        return None
    return plan.SeqWarmup(fn, start, end, over, after, unit)


# --- batch ramp: batch-size warmup -----------------------------------------------------


def _whole(node: ast.Number, what: str, report: Report) -> int | None:
    """A whole number as written (any sign: the ramp's own checks say what is wrong)."""
    number = node.integer() if isinstance(node, ast.Number) else None
    if number is None:
        return read_int(node, what, report)  # reports E030 (not a whole number)
    return number


def _divisors(number: int) -> list[int]:
    """The divisors of ``number``, smallest first."""
    small = [d for d in range(1, math.isqrt(number) + 1) if number % d == 0]
    return sorted({*small, *(number // d for d in small)})


def _listed(numbers, most: int = 8) -> str:
    """``8, 16, 24, 32`` (the first ``most``, then ``...``)."""
    shown = [str(n) for n in numbers[:most]]
    return ", ".join(shown + (["..."] if len(numbers) > most else []))


def build_batch_ramp(
    spec: ast.Spec, total: int | plan.Time, train: plan.TrainSpec, report: Report
) -> plan.BatchRamp | None:
    """The batch-size ramp of ``batch ramp from S [to E] [by I] over N`` (None when absent
    or wrong): Megatron's ``--rampup-batch-size S I N``. E is the training's batch
    (a written 'to' must be it) and ``1 <= S < E`` (E088); I divides ``E - S`` (E089;
    default ``gcd(S, E)``); a batch counted in examples (E090); every size a multiple of
    ``train.grad_accum`` (E091); ``over`` written and above 0 (E092), read as a seq
    warmup's (a share of training exact, in the length's unit)."""
    stmt = first(spec, ast.BatchStmt)
    if stmt is None:
        return None
    if not _counts_examples(train, report, E_RAMP_BUDGET, stmt, "a batch ramp",
                            "counts examples (as Megatron's does)"):  # fmt: skip
        return None
    end, ok = train.batch, True
    start = _whole(stmt.start, "a batch ramp's 'from' (examples)", report)
    if stmt.end is not None:
        written = _whole(stmt.end, "a batch ramp's 'to' (examples)", report)
        if written is not None and written != end:
            report_error(
                report, E_RAMP_SIZES, f"a batch ramp ends at the training's batch: 'to "
                f"{stmt.end.text}' is not {end}", stmt.end,
                hint=f"write 'to {end}', or leave 'to' out (the train batch, {end})",
            )  # fmt: skip
            ok = False
        ok = ok and written is not None
    if start is not None and not 1 <= start < end:
        why = "at least 1" if start < 1 else f"below the training's batch {end}"
        report_error(
            report, E_RAMP_SIZES, f"a batch ramp's 'from' must be {why}, not "
            f"{stmt.start.text}", stmt.start,
            hint=f"start between 1 and {end - 1} (it grows to the train batch, {end})",
        )  # fmt: skip
        start = None
    increment = None
    if start is not None:
        increment = math.gcd(start, end)
    if stmt.by is not None:
        increment = _whole(stmt.by, "a batch ramp's 'by' (examples)", report)
        if increment is not None and increment < 1:
            report_error(
                report, E_RAMP_INCREMENT, f"a batch ramp's 'by' must be at least 1, not "
                f"{stmt.by.text}", stmt.by,
                hint="leave 'by' out for the default, gcd(from, to)",
            )  # fmt: skip
            increment = None
        elif increment is not None and start is not None and (end - start) % increment:
            shown = _listed(_divisors(end - start), 12)
            report_error(
                report, E_RAMP_INCREMENT, f"a batch ramp grows by whole increments from "
                f"{start} to {end}: 'by {stmt.by.text}' does not divide {end - start}",
                stmt.by, hint=f"use one of {shown} (or leave 'by' out: {math.gcd(start, end)})",
            )  # fmt: skip
            increment = None
    over = unit = None
    if stmt.over is None:
        report_error(
            report, E_RAMP_OVER, "a batch ramp needs 'over': how long the batch takes to "
            "grow", stmt, hint="add e.g. 'over 10%' (or 2000 steps, 1M words, 0.5 epochs)",
        )  # fmt: skip
    else:
        measured = _one_unit([stmt.over], total, report, "a batch ramp")
        if measured is not None:
            unit, scale = measured
            over = _pace_time(unit, scale, report)(stmt.over, "'over'", exact=True)
            if over is not None and over <= 0:
                report_error(
                    report, E_RAMP_OVER, f"a batch ramp's 'over' must be more than 0, not "
                    f"{stmt.over.text}", stmt.over,
                    hint="write a time above 0, or remove the ramp",
                )  # fmt: skip
                over = None
    if None in (start, increment) or not ok:
        return None
    sizes = range(start, end + 1, increment)
    accumulate = train.grad_accum
    wrong = next((size for size in sizes if size % accumulate), None)
    if wrong is not None:
        where = stmt.start if start % accumulate or stmt.by is None else stmt.by
        report_error(
            report, E_RAMP_ACCUMULATE, f"every size of a batch ramp splits into grad_accum "
            f"{accumulate} micro-batches: {wrong} does not (sizes {_listed(sizes)})",
            where, hint=f"choose 'from' and 'by' multiples of {accumulate}",
        )  # fmt: skip
        return None
    if over is None:
        return None
    return plan.BatchRamp(start, end, increment, over, unit)


def build_plan(
    spec: ast.Spec, report: Report, data_sources: tuple[str, ...] | None = None
) -> plan.Plan:
    """The plan of ``spec``; every wrong value is reported and replaced by its default.
    ``data_sources``: the data's source names when the caller has read them (a mix's
    sources are then checked against them)."""
    train = build_train(spec, report)
    model = build_model(spec, report)
    total = train.length or train.steps  # what '50%' is a share of
    units, phases = build_phases(spec, model.family, total, report)
    paces = {stmt.target: stmt for stmt in reversed(spec.of_type(ast.PaceStmt))}
    data = build_data(spec, report)
    return plan.Plan(
        model=model,
        data=data,
        tokenizer=build_tokenizer(spec, report),
        train=train,
        sort=build_sort(spec, report),
        pace=build_pace(paces.get("data"), total, report),
        vocab=build_pace(paces.get("vocab"), total, report),
        vocab_rule=build_vocab_rule(paces.get("vocab"), report),
        units=units,
        phases=phases,
        evals=build_evals(spec, total, report),
        output=build_output(spec, total, report),
        mix=build_mix(spec, total, train, data, report, data_sources),
        seq_warmup=build_seq_warmup(spec, total, train, report),
        batch_ramp=build_batch_ramp(spec, total, train, report),
    )
