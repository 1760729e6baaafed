"""Read a YAML spec into the same syntax tree as the DSL (so both compile alike).

A YAML spec holds the experiment (``model``, ``data``, ``tokenizer``, ``train``, ``eval``,
``log``, ``checkpoint``, ``push_to_hub``) and a ``curriculum:`` block that is either DSL
text or the structured form with the seed system's names::

    curriculum:
      scoring_fn: ngram_ppl            # or DSL terms: 0.7 ngram_ppl(n=3) + 0.3 random
      scoring_fn_kwargs: {n: 3}
      order: ascending
      pacing_fn: root
      pacing_fn_kwargs: {start_percent: 0.1, num_steps: 10000, end_percent: 0.8,
                         ties: include}  # optional: random (the default) or include
      steps: {0: mlm, 10000: pos, 15000: mlm + 0.5 pos}
      units: {pos_nv: {objective: pos, tags: [noun, verb], mask: 0.4, lr: 1e-3, warmup: 10%}}
      vocab: {pacing_fn: linear, pacing_fn_kwargs: {start_percent: 0.1, num_steps: 10000},
              order: pos_tags, hides: inputs}  # order/hides optional

``pacing_fn_kwargs``: ``start_percent`` = S, ``num_steps`` = N, ``end_percent`` = R
(release), and for the extended form ``to_percent`` = E, ``after_steps`` = T; ``ties`` is
the data pace's tie rule (``ties include``); ``stages`` a staged pace's later stages, a
list of ``{pacing_fn, to_percent, num_steps[, after_steps]}`` (the DSL's ``, then FN to E
[after T] over N``). The discrete form is ``pacing_fn: step`` with ``pacing_levels:
[{share: 0.1, from: 0}, {share: 0.3, from: 5k}, ...]`` instead of ``pacing_fn_kwargs``
(its tie rule: the ``pace.ties=`` override). Training settings with a word after the value
are one string, as in the DSL: ``train: {batch: 4096 tokens, sample: with replacement}``.
A unit's ``lr``/``warmup`` are its head's learning rate and warm-up share (the DSL's
``unit NAME = CALL lr LR warmup W``); the vocabulary's ``order`` (``token_ids``,
``pos_tags``, ``pos_tags_and_token_ids``) and ``hides`` (``inputs_and_labels``, the
default, or ``inputs``: the DSL's ``inputs only``).

The YAML is loaded safely by :mod:`curriculumc.lang.yaml_nodes` (nodes, so every value
keeps its line and column); its shape is checked against ``spec.schema.json``; every
diagnostic points into the YAML file, including those inside a DSL string.
"""

from __future__ import annotations

import re

import yaml

from curriculumc.errors import CurriculumError, Diagnostic, Span
from curriculumc.lang import ast
from curriculumc.lang.parser import decode, parse, parse_fragment
from curriculumc.lang.schemas import spec_schema, validate
from curriculumc.lang.yaml_nodes import (
    compose_yaml,
    construct,
    plain_data,
    yaml_errors,
    yaml_text,
)

E_YAML_VALUE = "E172"
_NUMBER = re.compile(ast.NUMBER_PATTERN)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Document:
    """The YAML text, its node tree, plain data, and the node at each JSON path."""

    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename
        self.nodes: dict[tuple, tuple[yaml.Node | None, yaml.Node]] = {}
        root = compose_yaml(text, filename)
        self.data = None
        if root is not None:
            # keys as written, so that ``0:`` and ``"0":`` are the same key, schema-checkable
            with yaml_errors(text, filename):
                self.data = plain_data(root, scalar=_scalar, visit=self._remember)

    def _remember(self, path: tuple, key_node: yaml.Node | None, node: yaml.Node) -> None:
        self.nodes[path] = (key_node, node)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            # a SafeLoader would refuse it on construction; say so with its position
            raise yaml.constructor.ConstructorError(
                None, None, f"the tag {node.tag!r} is not allowed", node.start_mark
            )

    def span(self, path: tuple, at_key: bool = False) -> Span | None:
        """The span of the value at ``path`` (of its key when ``at_key``), on one line: a
        block (the mapping under ``train:``) is pointed at by its first character."""
        key, node = self.nodes.get(path, (None, None))
        if at_key and key is not None:
            node = key
        if node is None:
            return None
        start, end = node.start_mark, node.end_mark
        line, column = start.line + 1, start.column + 1
        if end.line != start.line:
            end_line, end_column = line, column + 1
        else:
            end_line, end_column = end.line + 1, max(end.column + 1, column + 1)
        return Span(self.filename, line, column, end_line, end_column, self.text)

    def node(self, path: tuple):
        return self.nodes.get(path, (None, None))[1]


# --- scalar values -> AST values -------------------------------------------------------


def _scalar(node: yaml.ScalarNode):
    value = construct(node)
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(node.value)  # dates and the like: keep the text
    return value


def _value(doc: _Document, path: tuple, value) -> ast.Value:
    span = doc.span(path)
    if isinstance(value, bool):
        return ast.Name("true" if value else "false", span)
    if isinstance(value, (int, float)):
        return ast.Number(repr(value) if isinstance(value, float) else str(value), span)
    text = str(value)
    if _NUMBER.fullmatch(text):
        return ast.Number(text, span)
    if _NAME.fullmatch(text):
        return ast.Name(text, span)
    return ast.String(text, span)


def _number(doc, path, value, problems) -> ast.Number | None:
    node = _value(doc, path, value)
    if isinstance(node, ast.Number):
        return node
    problems.append(Diagnostic(E_YAML_VALUE, f"{'.'.join(map(str, path))} must be a number",
                               doc.span(path)))  # fmt: skip
    return None


_TIME = re.compile(f"({ast.NUMBER_PATTERN}) +([A-Za-z_][A-Za-z0-9_\\-]*)")


def _time(doc, path, value, problems) -> ast.Number | None:
    """A time: a number (steps), or a string with its unit (``2M words``, ``3 epochs``)."""
    if isinstance(value, str):
        match = _TIME.fullmatch(value.strip())
        if match:
            return ast.Number(match.group(1), doc.span(path), match.group(match.lastindex))
    return _number(doc, path, value, problems)


def _name_or_path(doc, path, text: str) -> ast.Name | ast.String:
    span = doc.span(path)
    return ast.Name(text, span) if _NAME.fullmatch(text) else ast.String(text, span)


# --- DSL fragments inside YAML strings -------------------------------------------------


def _mover(doc: _Document, path: tuple):
    """A function moving spans of DSL parsed from the string at ``path`` into the YAML."""
    node = doc.node(path)
    lines = doc.text.split("\n")
    if node.style in ("|", ">"):
        first = node.start_mark.line + 1  # 0-based index of the first content line
        indent = 0
        for line in lines[first:]:
            if line.strip():
                indent = len(line) - len(line.lstrip(" "))
                break

        def move(span: Span) -> Span:
            return Span(doc.filename, first + span.line, span.column + indent,
                        first + span.end_line, span.end_column + indent, doc.text)  # fmt: skip

        return move
    line = node.start_mark.line
    column = node.start_mark.column + (1 if node.style in ("'", '"') else 0)

    def move(span: Span) -> Span:
        shift = column if span.line == 1 else 0
        end_shift = column if span.end_line == 1 else 0
        return Span(doc.filename, line + span.line, span.column + shift,
                    line + span.end_line, span.end_column + end_shift, doc.text)  # fmt: skip

    return move


def _fragment(doc, path, text: str, start: str, problems):
    move = _mover(doc, path)
    try:
        return ast.map_spans(parse_fragment(str(text), start, doc.filename), move)
    except CurriculumError as exc:
        problems.extend(ast.map_spans(tuple(exc.diagnostics), move))
        return None


# --- sections --------------------------------------------------------------------------


def _experiment(doc: _Document, data: dict, problems: list) -> list:
    out = []
    if "model" in data:
        target = _name_or_path(doc, ("model",), data["model"])
        out.append(ast.ModelStmt(target, doc.span(("model",), True)))
    if "data" in data:
        entry = data["data"]
        span = doc.span(("data",), True)
        if isinstance(entry, str):
            source = _name_or_path(doc, ("data",), entry)
            kind = "registered" if isinstance(source, ast.Name) else "path"
            out.append(ast.DataStmt(kind, source, span=span))
        else:
            args = []
            for key, value in entry.items():
                if key in ("name", "path", "hub", "packed"):
                    continue
                key_span = doc.span(("data", key), True)
                args.append(ast.Arg(ast.Name(key, key_span), _value(doc, ("data", key), value),
                                    key_span))  # fmt: skip
            for kind, field in (("registered", "name"), ("path", "path"), ("hub", "hub")):
                if field in entry:
                    where = doc.span(("data", field))
                    source = ast.Name(entry[field], where) if kind == "registered" else (
                        ast.String(entry[field], where))  # fmt: skip
                    out.append(ast.DataStmt(kind, source, tuple(args),
                                            bool(entry.get("packed")), span))  # fmt: skip
                    break
    if "tokenizer" in data:
        entry = data["tokenizer"]
        span = doc.span(("tokenizer",), True)
        if "path" in entry:
            out.append(ast.TokenizerStmt(ast.String(entry["path"], doc.span(("tokenizer", "path"))),
                                         None, span))  # fmt: skip
        else:
            size = None
            if "vocab_size" in entry:
                size = _number(doc, ("tokenizer", "vocab_size"), entry["vocab_size"], problems)
            kind_span = doc.span(("tokenizer", "kind")) or span
            out.append(ast.TokenizerStmt(ast.Name(entry.get("kind", "bpe"), kind_span), size, span))
    if "train" in data:
        settings = []
        for key, value in data["train"].items():
            path = ("train", key)
            key_span = doc.span(path, True)
            if isinstance(value, str) and len(value.split()) > 1:  # batch: 4096 tokens
                parsed = _fragment(doc, path, value, "setting_value", problems)
                if parsed is None:
                    continue
                number, unit = parsed
            else:
                number, unit = _value(doc, path, value), None
            settings.append(ast.Setting(ast.Name(key, key_span), number, unit, key_span))
        if settings:
            out.append(ast.TrainStmt(tuple(settings), doc.span(("train",), True)))
    return out


def _outputs(doc: _Document, data: dict, problems: list) -> list:
    out = []
    for i, entry in enumerate(data.get("eval") or ()):
        path = ("eval", i)
        if isinstance(entry, str):
            out.append(ast.EvalStmt(ast.Name(entry, doc.span(path)), span=doc.span(path)))
            continue
        if "name" in entry:
            target = ast.Name(entry["name"], doc.span(path + ("name",)))
        else:
            target = ast.String(entry["path"], doc.span(path + ("path",)))
        every = limit = None
        if "every" in entry:
            every = _time(doc, path + ("every",), entry["every"], problems)
        if "limit" in entry:
            limit = _number(doc, path + ("limit",), entry["limit"], problems)
        rules = {
            key: ast.Name(str(entry[key]), doc.span(path + (key,)))
            for key in ("ties", "pll")
            if key in entry
        }
        out.append(ast.EvalStmt(target, every, limit, bool(entry.get("at_phases")),
                                doc.span(path), **rules))  # fmt: skip
    if "log" in data:
        entry = data["log"]
        every = wandb = None
        if "every" in entry:
            every = _number(doc, ("log", "every"), entry["every"], problems)
        if "wandb_project" in entry:
            wandb = ast.String(entry["wandb_project"], doc.span(("log", "wandb_project")))
        if every is not None or wandb is not None:
            out.append(ast.LogStmt(every, wandb, doc.span(("log",), True)))
    if "checkpoint" in data:
        entry = data["checkpoint"]
        every = keep = preset = None
        if "every" in entry:
            every = _time(doc, ("checkpoint", "every"), entry["every"], problems)
        if "keep" in entry:
            keep = _number(doc, ("checkpoint", "keep"), entry["keep"], problems)
        at = tuple(
            _time(doc, ("checkpoint", "at", i), value, problems)
            for i, value in enumerate(entry.get("at") or ())
        )
        if "preset" in entry:
            preset = ast.Name(str(entry["preset"]), doc.span(("checkpoint", "preset")))
        if None not in at and (every is not None or at or preset is not None):
            out.append(ast.CheckpointStmt(every, keep, doc.span(("checkpoint",), True), at, preset))
    if "push_to_hub" in data:
        repo = ast.String(data["push_to_hub"], doc.span(("push_to_hub",)))
        out.append(ast.PushStmt(repo, doc.span(("push_to_hub",), True)))
    return out


def _pace(doc, path: tuple, entry: dict, target: str, problems) -> ast.PaceStmt:
    fn = ast.Name(entry["pacing_fn"], doc.span(path + ("pacing_fn",)))
    span = doc.span(path + ("pacing_fn",), True)
    vocab_rule = {}  # the vocabulary's order and what it hides: {order: pos_tags, hides: inputs}
    for key in ("order", "hides"):
        if key in entry:
            vocab_rule[key] = _value(doc, path + (key,), entry[key])
    levels = entry.get("pacing_levels")
    if levels is not None:  # the discrete form: [{share: 0.1, from: 0}, {share: 0.3, from: 5k}]
        read = []
        for i, level in enumerate(levels):
            where = path + ("pacing_levels", i)
            share = _number(doc, where + ("share",), level["share"], problems)
            time = _time(doc, where + ("from",), level["from"], problems)
            if share is not None and time is not None:
                read.append(ast.PaceLevel(share, time, doc.span(where, True)))
        if len(read) == len(levels):
            return ast.PaceStmt(target, fn, None, None, span, levels=tuple(read), **vocab_rule)
    kwargs = entry.get("pacing_fn_kwargs")
    if kwargs is None:
        return ast.PaceStmt(target, fn, None, span=span, **vocab_rule)
    where = path + ("pacing_fn_kwargs",)
    ties = None
    if "ties" in kwargs:  # pacing_fn_kwargs: {..., ties: include}
        rule = _value(doc, where + ("ties",), kwargs["ties"])
        ties = ast.Ties(rule, doc.span(where + ("ties",), True))

    def number(key):
        if key not in kwargs:
            return None
        read = _time if key in ("num_steps", "after_steps") else _number
        return read(doc, where + (key,), kwargs[key], problems)

    start, over = number("start_percent"), number("num_steps")
    if start is None or over is None:
        return ast.PaceStmt(target, fn, None, ties, span, **vocab_rule)
    schedule = ast.Schedule(
        start,
        over,
        number("to_percent"),
        number("after_steps"),
        number("end_percent"),
        doc.span(where),
    )
    stages = []
    for i, stage in enumerate(kwargs.get("stages") or ()):
        at = where + ("stages", i)
        stage_fn = ast.Name(stage["pacing_fn"], doc.span(at + ("pacing_fn",)))
        end = _number(doc, at + ("to_percent",), stage["to_percent"], problems)
        over = _time(doc, at + ("num_steps",), stage["num_steps"], problems)
        after = None
        if "after_steps" in stage:
            after = _time(doc, at + ("after_steps",), stage["after_steps"], problems)
        if end is None or over is None:
            return ast.PaceStmt(target, fn, None, ties, span, **vocab_rule)
        stages.append(ast.PaceStage(stage_fn, end, over, after, doc.span(at, True)))
    return ast.PaceStmt(target, fn, schedule, ties, span, stages=tuple(stages), **vocab_rule)


def _unit(doc, name: str, entry, problems) -> ast.UnitStmt | None:
    path = ("curriculum", "units", name)
    name_node = ast.Name(name, doc.span(path, True))
    if isinstance(entry, str):
        call = _fragment(doc, path, entry, "call", problems)
        return ast.UnitStmt(name_node, call, doc.span(path, True)) if call else None
    args = []
    for key in ("tags", "args"):
        for i, item in enumerate(entry.get(key) or ()):
            args.append(
                ast.Arg(None, _value(doc, path + (key, i), item), doc.span(path + (key, i)))
            )
    for key, value in entry.items():
        if key in ("objective", "tags", "args", *_HEAD_KEYS):
            continue
        key_span = doc.span(path + (key,), True)
        args.append(ast.Arg(ast.Name(key, key_span), _value(doc, path + (key,), value), key_span))
    objective = ast.Name(entry["objective"], doc.span(path + ("objective",)))
    head = {key: _number(doc, path + (key,), entry[key], problems)
            for key in _HEAD_KEYS if key in entry}  # fmt: skip
    return ast.UnitStmt(name_node, ast.Call(objective, tuple(args), doc.span(path)),
                        doc.span(path, True), **head)  # fmt: skip


#: a unit's head settings in YAML (``lr 1e-3 warmup 10%`` in the DSL), not objective arguments
_HEAD_KEYS = ("lr", "warmup")


def _structured(doc: _Document, block: dict, problems: list) -> list:
    out = []
    path = ("curriculum",)
    for name, entry in (block.get("units") or {}).items():
        unit = _unit(doc, name, entry, problems)
        if unit is not None:
            out.append(unit)
    if "scoring_fn" in block:
        terms = _fragment(doc, path + ("scoring_fn",), block["scoring_fn"], "terms", problems)
        kwargs = block.get("scoring_fn_kwargs") or {}
        if terms and kwargs:
            if len(terms) > 1:
                problems.append(Diagnostic(
                    E_YAML_VALUE, "scoring_fn_kwargs needs a single scoring_fn",
                    doc.span(path + ("scoring_fn_kwargs",), True),
                    hint="write the arguments inline: ngram_ppl(n=3) + 0.5 random",
                ))  # fmt: skip
            else:
                extra = []
                for key, value in kwargs.items():
                    where = path + ("scoring_fn_kwargs", key)
                    key_span = doc.span(where, True)
                    extra.append(ast.Arg(ast.Name(key, key_span), _value(doc, where, value),
                                         key_span))  # fmt: skip
                call = terms[0].call
                call = ast.Call(call.name, call.args + tuple(extra), call.span)
                terms = (ast.Term(terms[0].weight, call, terms[0].span),)
        order = None
        if "order" in block:
            order = ast.Name(block["order"], doc.span(path + ("order",)))
        if terms:
            out.append(ast.SortStmt(terms, order, doc.span(path + ("scoring_fn",), True)))
    if "pacing_fn" in block:
        out.append(_pace(doc, path, block, "data", problems))
    for key, value in (block.get("steps") or {}).items():
        where = path + ("steps", key)
        written = _TIME.fullmatch(str(key).strip())  # '1M words': a time in data
        time = ast.Number(written.group(1), doc.span(where, True), written.group(written.lastindex)) if (
            written) else ast.Number(key, doc.span(where, True))  # fmt: skip
        terms = _fragment(doc, where, value, "terms", problems)
        if terms:
            key_span = doc.span(where, True)
            out.append(ast.AtStmt(time, terms, key_span))
    if "vocab" in block:
        out.append(_pace(doc, path + ("vocab",), block["vocab"], "vocab", problems))
    if "mix" in block:
        mix = _mix(doc, path + ("mix",), block["mix"], problems)
        if mix is not None:
            out.append(mix)
    if "seq_warmup" in block:
        out.append(_seq_warmup(doc, path + ("seq_warmup",), block["seq_warmup"], problems))
    if "batch_ramp" in block:
        ramp = _batch_ramp(doc, path + ("batch_ramp",), block["batch_ramp"], problems)
        if ramp is not None:
            out.append(ramp)
    return out


def _batch_ramp(doc, path: tuple, entry: dict, problems: list) -> ast.BatchStmt | None:
    """``batch_ramp: {start: 8, end: 32, increment: 8, over: 10%}``: the DSL's ``batch
    ramp from 8 to 32 by 8 over 10%`` (``end`` and ``increment`` optional, as there)."""

    def read(key, reader):
        return reader(doc, path + (key,), entry[key], problems) if key in entry else None

    start = read("start", _number)
    if start is None:  # the schema requires it; a wrong value is reported already
        return None
    return ast.BatchStmt(start, read("end", _number), read("increment", _number),
                         read("over", _time), doc.span(path, True))  # fmt: skip


def _seq_warmup(doc, path: tuple, entry: dict, problems: list) -> ast.SeqStmt:
    """``seq_warmup: {pacing_fn: linear, start: 32, end: 128, over: 20%[, after: 5%]}``:
    the DSL's ``seq linear from 32 to 128 [after 5%] over 20%`` (``pacing_fn: none``: none;
    without ``start`` and ``over``, no schedule: the builder says what is missing)."""
    fn = ast.Name(str(entry["pacing_fn"]), doc.span(path + ("pacing_fn",)))
    span = doc.span(path, True)

    def read(key, reader):
        return reader(doc, path + (key,), entry[key], problems) if key in entry else None

    start, over = read("start", _number), read("over", _time)
    if start is None or over is None:
        return ast.SeqStmt(fn, None, span)
    schedule = ast.Schedule(start, over, read("end", _number), read("after", _time), None,
                            doc.span(path))  # fmt: skip
    return ast.SeqStmt(fn, schedule, span)


def _mix(doc, path: tuple, entries: list, problems: list) -> ast.MixStmt | None:
    """``mix: [{weights: {Sawyer: 0.8, Snow: 0.2}, until: 30%}, {weights: {...}}]``: the
    DSL's ``mix 0.8 Sawyer + 0.2 Snow until 30%, then ...``; every phase but the last ends
    at its ``until``."""
    phases = []
    for index, entry in enumerate(entries):
        where = path + (index,)
        terms = []
        for name, weight in entry["weights"].items():
            key = where + ("weights", name)
            source = _name_or_path(doc, key, str(name))
            source = type(source)(source.value, doc.span(key, True))
            number = _number(doc, key, weight, problems)
            if number is not None:
                terms.append(ast.MixTerm(number, source, doc.span(key, True)))
        until = None
        if "until" in entry:
            until = _time(doc, where + ("until",), entry["until"], problems)
        elif index < len(entries) - 1:
            problems.append(Diagnostic(
                E_YAML_VALUE, "every mix phase but the last needs 'until' (when it ends)",
                doc.span(where), hint="add until: 30% (or a step count, or 2M words)",
            ))  # fmt: skip
        if index == len(entries) - 1 and until is not None:
            problems.append(Diagnostic(
                E_YAML_VALUE, "the last mix phase has no 'until': it lasts to the end",
                doc.span(where + ("until",), True), hint="remove its until",
            ))  # fmt: skip
        if terms:
            phases.append(ast.MixPhase(tuple(terms), until, doc.span(where)))
    if not phases:
        return None
    return ast.MixStmt(tuple(phases), doc.span(path, True))


def parse_yaml(text: str | bytes, filename: str = "<spec>.yaml", *, base_dir: str | None = None):
    """Parse a YAML spec into an :class:`ast.Spec`.

    Raises :class:`CurriculumError` for YAML that does not load, breaks the spec schema
    (each problem with its line and column) or holds DSL with syntax errors.
    """
    if isinstance(text, bytes):
        text = decode(text, filename)
    text = yaml_text(text)  # YAML's line breaks are ours: positions agree
    doc = _Document(text, filename)
    data = doc.data
    if data is None:
        data = {}
    problems = validate(data, spec_schema(), doc.span)
    if problems:
        raise CurriculumError(problems)
    statements = _experiment(doc, data, problems)
    block = data.get("curriculum")
    if isinstance(block, str):
        move = _mover(doc, ("curriculum",))
        try:
            inner = parse(block, filename, base_dir=base_dir, check=False)
            statements.extend(ast.map_spans(inner.statements, move))
        except CurriculumError as exc:
            problems.extend(ast.map_spans(tuple(exc.diagnostics), move))
    elif isinstance(block, dict):
        statements.extend(_structured(doc, block, problems))
    statements.extend(_outputs(doc, data, problems))
    if problems:
        raise CurriculumError(problems)
    lines = text.split("\n")
    whole = Span(filename, 1, 1, len(lines), len(lines[-1]) + 1, text)
    return ast.Spec(tuple(statements), filename, base_dir, whole)
