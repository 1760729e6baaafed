"""Parse spec text into the syntax tree (:mod:`curriculumc.lang.ast`).

The lark LALR parser is built once per process from
``grammar/curriculum.lark``. The tree is turned into AST nodes by a Transformer that only
*builds* nodes -- no validation happens there (lark would wrap exceptions in VisitError);
meaning is checked by :mod:`curriculumc.lang.rules`.

Syntax errors are named in words by matching the parser state against a table of
labelled bad inputs (``UnexpectedInput.match_examples``). To report every problem at
once, a file that fails is re-parsed statement by statement (split at newlines and at
``;`` outside parentheses and strings): each bad statement gives one syntax error, and
the statements that parse are checked as the compiler checks a spec (less the findings
a missing statement could cause), with their positions in the file.
"""

from __future__ import annotations

import difflib
import os
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from curriculumc.errors import CurriculumError, Diagnostic, Span, did_you_mean
from curriculumc.lang import ast

E_SYNTAX = "E001"
E_CHARACTER = "E002"
E_ENCODING = "E003"

STATEMENT_KEYWORDS = (
    "model", "data", "tokenizer", "train", "sort", "pace", "vocab", "at", "during", "unit",
    "eval", "log", "checkpoint", "push", "mix", "seq", "batch",
)  # fmt: skip

#: start symbols: a whole spec, one statement, and fragments used by YAML and overrides
#: (``setting_value``: a training setting's value with its optional word, ``4096 tokens``)
START = ("spec", "statement", "terms", "call", "value", "setting_value")


def _levels_fn(levels) -> ast.Name:
    """The discrete form's shape: ``step`` (its span: the first level's)."""
    return ast.Name("step", levels[0].span)


def _terms_span(terms) -> Span | None:
    """The span from a phase's first term to the end of its last."""
    first, last = terms[0].span, terms[-1].span
    if first is None or last is None:
        return first
    return Span(first.file, first.line, first.column, last.end_line, last.end_column, first.source)


@cache
def parser() -> Lark:
    """The LALR parser for every start symbol in :data:`START` (built once per process).

    The built tables are cached by lark in a private per-user folder (not the shared
    temporary folder: lark's cache is a pickle); lark rebuilds them when the grammar or
    lark's version changes, and builds in memory when the folder cannot be written.
    """
    grammar = resources.files("curriculumc.grammar").joinpath("curriculum.lark").read_text("utf-8")
    options = dict(
        parser="lalr",
        lexer="contextual",
        start=list(START),
        propagate_positions=True,
        maybe_placeholders=True,
    )
    folder = _cache_folder()
    if folder is not None:
        try:
            return Lark(grammar, cache=os.path.join(folder, "grammar.lark-cache"), **options)
        except OSError:
            pass
    return Lark(grammar, **options)


def _cache_folder() -> str | None:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(root, "curriculumc")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def decode(data: bytes, filename: str) -> str:
    """UTF-8 text of ``data``; raises CurriculumError pointing at the first bad byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8", errors="replace")
        line = good.count("\n") + 1
        column = len(good) - (good.rfind("\n") + 1) + 1
        shown = data.decode("utf-8", errors="replace")
        raise CurriculumError.single(
            E_ENCODING,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x})",
            Span(filename, line, column, line, column + 1, shown),
            hint="save the spec as UTF-8",
        ) from None
    return text.removeprefix("\ufeff")


def parse(
    text: str | bytes,
    filename: str = "<spec>",
    *,
    base_dir: str | None = None,
    check: bool = True,
) -> ast.Spec:
    """Parse a whole spec.

    Takes the spec text (``bytes`` are decoded as UTF-8), the file name used in
    diagnostics and the folder relative paths are relative to. Returns an
    :class:`ast.Spec`. Raises :class:`CurriculumError` with every syntax error found --
    one per bad statement -- and, with ``check`` (the default), every problem the
    compiler's checks find in the statements that did parse, less those a bad statement
    may have caused (see :data:`_DEPENDS_ON`). ``check=False`` is for DSL that is only part
    of a spec (a YAML ``curriculum:`` block): its statements alone may not make sense.
    """
    if isinstance(text, bytes):
        text = decode(text, filename)
    try:
        tree = parser().parse(text, start="spec")
    except UnexpectedInput as exc:
        broken, diagnostics = _recover(text, filename)
        if not diagnostics:  # every statement parses alone: report the file's own error
            raise CurriculumError([_syntax_diagnostic(exc, text, filename)]) from None
        if check:
            diagnostics = _with_checks(diagnostics, broken, text, filename, base_dir)
        raise CurriculumError(diagnostics) from None
    return _spec(tree, text, filename, base_dir)


def _spec(tree, text: str, filename: str, base_dir: str | None) -> ast.Spec:
    statements = _ToAst(filename, text).transform(tree)
    lines = text.split("\n")
    whole = Span(filename, 1, 1, len(lines), len(lines[-1]) + 1, text)
    return ast.Spec(tuple(statements), filename, base_dir, whole)


def parse_fragment(text: str, start: str, filename: str = "<fragment>"):
    """Parse a piece of DSL (``start``: ``terms``, ``call``, ``value`` or ``statement``).

    Spans are relative to ``text`` (line 1, column 1); move them with
    :func:`curriculumc.lang.ast.map_spans`. Raises CurriculumError on a syntax error.
    """
    try:
        tree = parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise CurriculumError([_syntax_diagnostic(exc, text, filename)]) from None
    result = _ToAst(filename, text).transform(tree)
    return result[0] if start == "statement" and isinstance(result, list) else result


# --- tree -> AST -----------------------------------------------------------------------


def _unquote(text: str) -> str:
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            out.append({"n": "\n", "t": "\t"}.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


@v_args(meta=True)
class _ToAst(Transformer):
    """Builds AST nodes with spans; never validates (see the module docstring)."""

    def __init__(self, filename: str, source: str):
        super().__init__()
        self.filename = filename
        self.source = source

    def _span(self, item) -> Span:
        return Span(
            self.filename, item.line, item.column, item.end_line, item.end_column, self.source
        )

    def _leaf(self, token: Token):
        if not isinstance(token, Token):  # already a node (a time)
            return token
        span = self._span(token)
        if token.type == "NUMBER":
            return ast.Number(str(token), span)
        if token.type == "STRING":
            return ast.String(_unquote(str(token)), span)
        if token.type == "REPO":
            return ast.String(str(token), span)
        return ast.Name(str(token), span)

    def _leaf_or_none(self, token):
        return None if token is None else self._leaf(token)

    # --- top level
    def spec(self, meta, children):
        statements = []
        for child in children:
            statements.extend(child if isinstance(child, list) else [child])
        return statements

    def model(self, meta, children):
        return ast.ModelStmt(self._leaf(children[0]), self._span(meta))

    def registered_source(self, meta, children):
        return ("registered", self._leaf(children[0]))

    def path_source(self, meta, children):
        return ("path", self._leaf(children[0]))

    def hub_source(self, meta, children):
        return ("hub", ast.String(self._leaf(children[-1]).value, self._span(children[-1])))

    def data(self, meta, children):
        (kind, source), args, packed = children
        return ast.DataStmt(kind, source, args or (), packed is not None, self._span(meta))

    def tokenizer_named(self, meta, children):
        name, size = children
        return ast.TokenizerStmt(self._leaf(name), self._leaf_or_none(size), self._span(meta))

    def tokenizer_path(self, meta, children):
        return ast.TokenizerStmt(self._leaf(children[0]), None, self._span(meta))

    def train(self, meta, children):
        return ast.TrainStmt(tuple(children), self._span(meta))

    def setting(self, meta, children):
        key, (value, unit) = children
        return ast.Setting(self._leaf(key), value, unit, self._span(meta))

    def setting_value(self, meta, children):
        value, unit = children
        return (value, self._leaf_or_none(unit))

    def setting_number_first(self, meta, children):
        number, key = children
        return ast.Setting(self._leaf(key), self._leaf(number), span=self._span(meta))

    def sort(self, meta, children):
        terms, order = children
        return ast.SortStmt(terms, self._leaf_or_none(order), self._span(meta))

    def pace(self, meta, children):
        fn, schedule, *stages, ties = children
        return ast.PaceStmt("data", self._leaf(fn), schedule, ties, self._span(meta),
                            stages=tuple(stages))  # fmt: skip

    def vocab(self, meta, children):
        fn, schedule, *stages, order, hides, ties = children
        return ast.PaceStmt("vocab", self._leaf(fn), schedule, ties, self._span(meta), order, hides,
                            stages=tuple(stages))  # fmt: skip

    def pace_levels(self, meta, children):
        levels, ties = children
        return ast.PaceStmt("data", _levels_fn(levels), None, ties, self._span(meta),
                            levels=levels)  # fmt: skip

    def vocab_levels(self, meta, children):
        levels, order, hides, ties = children
        return ast.PaceStmt("vocab", _levels_fn(levels), None, ties, self._span(meta), order, hides,
                            levels=levels)  # fmt: skip

    def stage(self, meta, children):
        fn, end, after, over = children
        return ast.PaceStage(self._leaf(fn), self._leaf(end), self._leaf(over),
                             self._leaf_or_none(after), self._span(meta))  # fmt: skip

    def levels(self, meta, children):
        return tuple(children)

    def level(self, meta, children):
        share, time = children
        return ast.PaceLevel(self._leaf(share), self._leaf(time), self._span(meta))

    def vocab_order(self, meta, children):
        return self._leaf(children[0])

    def vocab_hides(self, meta, children):
        return ast.Name("inputs", self._span(meta))  # 'inputs only': hidden from the inputs

    def ties(self, meta, children):
        return ast.Ties(self._leaf(children[0]), self._span(meta))

    def schedule(self, meta, children):
        start, end, after, over, release = (self._leaf_or_none(c) for c in children)
        return ast.Schedule(start, over, end, after, release, self._span(meta))

    def at(self, meta, children):
        return list(children)

    def at_clause(self, meta, children):
        time, terms = children
        return ast.AtStmt(self._leaf(time), terms, self._span(meta))

    def during(self, meta, children):
        start, end, term = children
        return ast.DuringStmt(self._leaf(start), self._leaf(end), term, self._span(meta))

    def unit(self, meta, children):
        name, call, options = children
        fields = dict(options or ())
        return ast.UnitStmt(self._leaf(name), call, self._span(meta), **fields)

    def unit_options(self, meta, children):
        return [c for c in children if c is not None]

    def unit_lr(self, meta, children):
        return ("lr", self._leaf(children[0]))

    def unit_warmup(self, meta, children):
        return ("warmup", self._leaf(children[0]))

    def eval(self, meta, children):
        target, *options = children
        fields = dict(every=None, limit=None, at_phases=False, ties=None, pll=None)
        for key, value in options:
            fields[key] = value  # a repeated option: the last one counts
        return ast.EvalStmt(self._leaf(target), span=self._span(meta), **fields)

    def eval_every(self, meta, children):
        return ("every", self._leaf(children[0]))

    def eval_limit(self, meta, children):
        return ("limit", self._leaf(children[0]))

    def eval_at_phases(self, meta, children):
        return ("at_phases", True)

    def eval_ties(self, meta, children):
        return ("ties", self._leaf(children[0]))

    def eval_pll(self, meta, children):
        return ("pll", self._leaf(children[0]))

    def log(self, meta, children):
        fields = dict(children)
        return ast.LogStmt(fields.get("every"), fields.get("wandb_project"), self._span(meta))

    def log_every(self, meta, children):
        return ("every", self._leaf(children[0]))

    def log_wandb(self, meta, children):
        return ("wandb_project", self._leaf(children[0]))

    def checkpoint(self, meta, children):
        fields = dict(every=None, keep=None, at=(), preset=None)
        for key, value in children:
            fields[key] = value  # a repeated option: the last one counts
        return ast.CheckpointStmt(span=self._span(meta), **fields)

    def checkpoint_every(self, meta, children):
        return ("every", self._leaf(children[0]))

    def checkpoint_keep(self, meta, children):
        return ("keep", self._leaf(children[0]))

    def checkpoint_at(self, meta, children):
        *numbers, unit = children
        unit = None if unit is None else str(unit)
        return ("at", tuple(ast.Number(str(n), self._span(n), unit) for n in numbers))

    def checkpoint_preset(self, meta, children):
        return ("preset", self._leaf(children[0]))

    def time(self, meta, children):
        number, unit = children
        return ast.Number(str(number), self._span(meta), None if unit is None else str(unit))

    def push(self, meta, children):
        return ast.PushStmt(self._leaf(children[0]), self._span(meta))

    def mix(self, meta, children):
        first, *rest = children
        terms, phases = first, []
        for until, following in rest:  # each 'until T, then ...' ends the phase before it
            phases.append(ast.MixPhase(terms, until, _terms_span(terms)))
            terms = following
        phases.append(ast.MixPhase(terms, None, _terms_span(terms)))
        return ast.MixStmt(tuple(phases), self._span(meta))

    def mix_phase(self, meta, children):
        until, terms = children
        return (until, terms)

    def mix_terms(self, meta, children):
        return tuple(children)

    def mix_term(self, meta, children):
        weight, source = children
        return ast.MixTerm(self._leaf_or_none(weight), self._leaf(source), self._span(meta))

    def seq_warmup(self, meta, children):
        fn, schedule = children
        return ast.SeqStmt(self._leaf(fn), schedule, self._span(meta))

    def batch_ramp(self, meta, children):
        start, end, by, over = (self._leaf_or_none(c) for c in children)
        return ast.BatchStmt(start, end, by, over, self._span(meta))

    # --- shared pieces
    def terms(self, meta, children):
        return tuple(children)

    def term(self, meta, children):
        weight, call = children
        return ast.Term(self._leaf_or_none(weight), call, self._span(meta))

    def call(self, meta, children):
        name, args = children
        return ast.Call(self._leaf(name), args or (), self._span(meta))

    def args(self, meta, children):
        return tuple(c for c in children if c is not None)

    def keyword_arg(self, meta, children):
        key, value = children
        return ast.Arg(self._leaf(key), value, self._span(meta))

    def positional_arg(self, meta, children):
        return ast.Arg(None, children[0], self._span(meta))

    def value(self, meta, children):
        return self._leaf(children[0])


# --- syntax errors in words ------------------------------------------------------------

# Labelled bad statements: a failing statement is named after the first example that
# fails in the same parser state (lark's match_examples). Keep each example minimal.
_EXAMPLES: dict[str, tuple[str, ...]] = {
    "expected a statement (model, data, tokenizer, train, sort, pace, vocab, at, during, "
    "unit, eval, log, checkpoint, push, mix, seq)": (
        "foo",
        "foo bar",
        "12",
        '"x"',
        "(",
        "+",
        "=",
        ",",
    ),
    "missing the sources after 'mix' (e.g. 'mix 0.8 a + 0.2 b')": ("mix",),
    "missing a time after 'until' (e.g. 'until 30%')": ("mix a until", "mix a until ,"),
    "expected ', then' and the next phase's sources after 'until TIME'": (
        "mix a until 30%",
        "mix a until 30% then b",
        "mix a until 30%,",
        "mix a until 30%, then",
    ),
    "missing the model preset or config path after 'model'": ("model",),
    "missing the data source after 'data' (a corpus name, a quoted path or hub ID)": ("data",),
    "expected a hub dataset ID such as org/name": ("data hub", "data hub x"),
    "missing the tokenizer ('bpe 8192' or a quoted path)": ("tokenizer",),
    "missing a training setting (e.g. '20000 steps' or 'batch 32')": ("train", "train 1,"),
    "missing the setting's value": ("train batch", "train lr ,"),
    "missing the setting's name after the number (e.g. '20000 steps')": ("train 20000",),
    "missing 'by' after 'sort'": ("sort", "sort ngram_ppl"),
    "missing {term}": ("sort by", "sort by 0.5", "sort by x +", "sort by x + 0.5"),
    "missing the pacing function (e.g. 'root' or 'none')": ("pace", "vocab"),
    "missing 'from' (write 'FN from S% over N')": ("pace root 10%", "pace root over 10"),
    "missing 'over' (write 'FN from S% over N')": (
        "pace root from 10%",
        "pace root from 10% release at 80%",
        "pace root from 10% to 90%",
        "pace root from 10% after 100",
        "pace root from 10% to 90% after 100",
        "pace root from 10% 100",
    ),
    "missing the shape after 'seq' (e.g. 'seq linear from 32 to 128 over 20%', or 'seq none')": (
        "seq",
        "seq 32",
    ),
    "missing 'from' (write 'seq FN from 32 [to 128] over N')": (
        "seq linear over 10",
        "seq linear 32",
    ),
    "missing 'ramp' after 'batch' (write 'batch ramp from 8 over 10%'; the batch itself is "
    "a train setting, 'train batch 32')": ("batch", "batch 8"),
    "missing 'from' (write 'batch ramp from 8 [to 32] [by 8] over N')": (
        "batch ramp",
        "batch ramp 8",
        "batch ramp over 10%",
    ),
    "missing the vocabulary order after 'by' (token_ids, pos_tags or pos_tags_and_token_ids)": (
        "vocab linear from 1% over 10 by",
        "vocab linear from 1% over 10 by 3",
    ),
    "expected 'only' after 'inputs' (write '... inputs only')": (
        "vocab linear from 1% over 10 inputs",
        "vocab linear from 1% over 10 by pos_tags inputs",
        "vocab linear from 1% over 10 inputs x",
    ),
    "missing the range after 'during' (write 'during 0%..50% OBJ')": ("during", "during mlm"),
    "expected '..' after the start of 'during' (write 'during 0%..50% OBJ', percentages of "
    "training)": ("during 0%", "during 0% 50% mlm", "during 0..5% x", "during 0% mlm"),
    "missing 'at' after 'release' (write 'release at R%')": (
        "pace root from 1% over 10 release 8%",
    ),
    "'ties' comes after the schedule (write '... over N release at R% ties RULE')": (
        "pace root from 10% over 10 ties include release at 80%",
    ),
    "missing the tie rule after 'ties' (write 'ties random' or 'ties include')": (
        "pace root from 10% over 10 ties",
        "pace root from 10% over 10 release at 80% ties",
        "pace root ties",
        "pace root from 10% over 10 ties 3",
    ),
    "missing a number": (
        "pace root from over 10",
        "pace root from 10% over",
        "pace root from 10% over 10 release at",
        "pace root from 10% to over 10",
        "pace root from 10% after over 10",
        "at mlm",
        "at",
        "eval blimp every",
        "eval blimp limit",
        "checkpoint every",
        "checkpoint every 10 keep",
        "log every",
        "during 0%..",
        "during 0%.. mlm",
        "unit a = mlm lr",
        "unit a = mlm warmup",
        "unit a = mlm lr 1e-3 warmup",
    ),
    "missing an objective": ("at 0", "at 0 0.5", "during 0%..50%", "during 0%..50% 0.5"),
    "expected 'at' after ',' (write 'at 0 mlm, at 1000 pos')": ("at 0 mlm, 100 pos", "at 0 x,"),
    "unclosed parenthesis": (
        "sort by x(",
        "sort by x(n=3",
        "at 0 pos(noun, verb",
        "at 0 pos(noun,",
        "at 0 pos(n=",
        "data synth(words=1",
    ),
    "missing ',' between arguments": ("at 0 pos(noun verb)", "sort by x(n=3 m=4)"),
    "missing the argument after '='": ("at 0 pos(n=)",),
    "missing '=' (write 'unit NAME = CALL')": ("unit x pos", "unit x"),
    "missing the unit's name (write 'unit NAME = CALL')": ("unit", "unit = pos"),
    "missing the unit's objective after '='": ("unit x =",),
    "missing the evaluation (a preset such as blimp, or a quoted path)": ("eval",),
    "expected 'phases' after 'at'": ("eval blimp at", "eval blimp at 100"),
    "expected 'every' or 'wandb project NAME' after 'log'": ("log", "log 10"),
    "expected 'project NAME' after 'wandb'": ("log wandb", "log wandb project"),
    "missing 'every' after 'checkpoint'": ("checkpoint", "checkpoint 100"),
    "expected 'to hub ORG/NAME' after 'push'": ("push", "push to", "push to hub", "push hub x/y"),
    "unexpected text after the end of the statement (statements are separated by "
    "newlines or ';')": (
        "model roberta-small extra",
        'model "x" extra',
        "data synth extra",
        "data synth packed x",
        "tokenizer bpe 8192 x",
        "train 10 steps x",
        "train batch 32 tokens x",
        "train sample with replacement x",
        "sort by x 3",
        "sort by x(n=3) 3",
        "sort by x descending y",
        "pace none 10",
        "pace root from 10% over 10 x",
        "pace root from 10% over 10 release at 8% x",
        "pace root from 10% over 10 ties include x",
        "at 0 mlm pos",
        "at 0 pos(noun) x",
        "unit a = b c",
        "unit a = b lr 1e-3 c",
        "unit a = b lr 1e-3 lr 2",
        "unit a = b warmup 1% warmup 2",
        "unit a = b lr 1e-3 warmup 10% x",
        "during 0%..50% mlm pos",
        "during 0%..50% pos(noun) x",
        "vocab linear from 1% over 10 by pos_tags x",
        "vocab linear from 1% over 10 inputs only x",
        "eval blimp foo",
        "eval blimp every 10 x",
        "log every 10 x",
        "checkpoint every 10 x",
        "checkpoint every 10 keep 3 x",
        "push to hub a/b c",
    ),
}


def _error_key(exc: UnexpectedInput) -> tuple:
    """What identifies where a parse failed: parser state, acceptable tokens, token type."""
    state = exc.state
    if hasattr(state, "state_stack"):  # a lark ParserState: compare depth and LALR state
        state = (len(state.state_stack), state.position)
    accepts = getattr(exc, "accepts", None) or getattr(exc, "allowed", None) or ()
    token = getattr(exc, "token", None)
    return (type(exc).__name__, state, frozenset(accepts)), getattr(token, "type", None)


@cache
def _example_index() -> tuple[tuple[tuple, str | None, str, str], ...]:
    """(failure key, token type, token text, label) of every labelled bad input."""
    index = []
    for label, examples in _EXAMPLES.items():
        for example in examples:
            try:
                parser().parse(example, start="statement")
            except UnexpectedInput as exc:
                key, token_type = _error_key(exc)
                index.append((key, token_type, str(getattr(exc, "token", "")), label))
    return tuple(index)


def _label(exc: UnexpectedInput) -> str | None:
    """The label of the first example failing the same way (lark's match_examples rule:
    same state and acceptable tokens; an exact token match wins over a same-type one)."""
    key, token_type = _error_key(exc)
    token = str(getattr(exc, "token", ""))
    same_state = [e for e in _example_index() if e[0] == key]
    for _, example_type, example_token, label in same_state:
        if example_type == token_type and example_token == token:
            return label
    for _, example_type, _, label in same_state:
        if example_type == token_type:
            return label
    return same_state[0][3] if same_state else None


@cache
def _terminal_words() -> dict[str, str]:
    words = {}
    for terminal in parser().terminals:
        pattern = terminal.pattern
        if pattern.type == "str":
            words[terminal.name] = f"'{pattern.value}'"
    words.update(
        NAME="a name",
        NUMBER="a number",
        STRING="a quoted string",
        REPO="an ID such as org/name",
        ORDER="'ascending' or 'descending'",
        PACKED="'packed'",
        _SEP="a newline or ';'",
        **{"$END": "the end of the statement"},
    )
    return words


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "the end of the statement"
    if token.type == "_SEP":
        return "the end of the line" if "\n" in token else "';'"
    return f"'{token}'"


def _expected(exc: UnexpectedInput) -> str | None:
    names = getattr(exc, "accepts", None) or getattr(exc, "expected", None) or ()
    words = _terminal_words()
    shown = sorted({words.get(n, n) for n in names if n != "_SEP"})
    if not shown:
        return None
    if len(shown) > 6:
        shown = shown[:6] + ["..."]
    return "expected " + ", ".join(shown)


def _printable(char: str) -> str:
    return repr(char) if char.isprintable() else f"U+{ord(char):04X}"


def _syntax_diagnostic(
    exc: UnexpectedInput,
    text: str,
    filename: str,
    *,
    source: str | None = None,
    line_offset: int = 0,
    column_offset: int = 0,
) -> Diagnostic:
    """A Diagnostic for one lark error in ``text``; when ``text`` is one statement of a
    file, ``source`` is the file's text and the offsets move positions into it."""

    def span(line: int, column: int, width: int) -> Span:
        line += line_offset
        column += column_offset if line == line_offset + 1 else 0
        return Span(filename, line, column, line, column + max(width, 1), _source)

    _source = text if source is None else source
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        where = span(exc.line, exc.column, 1)
        if char == '"':
            return Diagnostic(E_CHARACTER, "unclosed string", where, "add the closing '\"'")
        return Diagnostic(
            E_CHARACTER,
            f"unexpected character {_printable(char)}",
            where,
            _expected(exc),
        )
    token = getattr(exc, "token", None)
    label = _label(exc)
    if token is None or token.type == "$END":
        line, column = _end_position(text)
        where = span(line, column, 1)
        found = "the end of the statement"
    else:
        width = len(token) if token.type != "_SEP" else 1
        if token.end_line is not None and token.end_line != token.line:
            width = 1
        where = span(token.line, token.column, width)
        found = _describe(token)
    hint = _expected(exc)
    if label and label.startswith("expected a statement") and token is not None:
        hint = did_you_mean(str(token), STATEMENT_KEYWORDS, most=1) or hint
    if label and "{term}" in label:  # the scorer/objective pieces are shared by sort and at
        words = text.split()
        kinds = {"sort": "a scorer", "at": "an objective", "during": "an objective"}
        term = kinds.get(words[0] if words else "", "a term")
        label = label.replace("{term}", term)
    if label:
        message = f"{label}; found {found}"
    elif token is None or token.type == "$END":
        message = "syntax error: the statement ends too early"
    else:
        message = f"syntax error: unexpected {found}"
    return Diagnostic(E_SYNTAX, message, where, hint)


def _end_position(text: str) -> tuple[int, int]:
    """Line and column just after the last meaningful character of ``text``."""
    lines = text.split("\n")
    while len(lines) > 1 and not _strip_comment(lines[-1]).strip():
        lines.pop()
    stripped = _strip_comment(lines[-1]).rstrip()
    return len(lines), len(stripped) + 1


def _strip_comment(line: str) -> str:
    in_string = False
    for i, char in enumerate(line):
        if char == '"':
            in_string = not in_string
        elif char == "#" and not in_string:
            return line[:i]
    return line


def _split_statements(text: str) -> list[tuple[int, int, str]]:
    """(line, column, text) of each statement: split at newlines, and at ';' outside
    strings and parentheses; comments removed."""
    chunks = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = _strip_comment(line)
        start, depth, in_string = 0, 0, False
        for i, char in enumerate(line):
            if char == '"':
                in_string = not in_string
            elif in_string:
                continue
            elif char == "(":
                depth += 1
            elif char == ")":
                depth = max(0, depth - 1)
            elif char == ";" and depth == 0:
                chunks.append((number, start + 1, line[start:i]))
                start = i + 1
        chunks.append((number, start + 1, line[start:]))
    return [c for c in chunks if c[2].strip()]


def _recover(text: str, filename: str) -> tuple[list[tuple[int, int, str]], list[Diagnostic]]:
    """The statements that do not parse alone, as (line, column, text), and the syntax
    error of each: one per bad statement (both lists empty if each statement parses)."""
    broken, diagnostics = [], []
    for line, column, chunk in _split_statements(text):
        try:
            parser().parse(chunk, start="statement")
        except UnexpectedInput as exc:
            broken.append((line, column, chunk))
            diagnostics.append(
                _syntax_diagnostic(
                    exc,
                    chunk,
                    filename,
                    source=text,
                    line_offset=line - 1,
                    column_offset=column - 1,
                )
            )
    return broken, diagnostics


# --- checking the rest of a file with syntax errors ----------------------------------------

#: After a syntax error, the statements that parsed are checked as a spec of their own.
#: Without the bad statement the defaults stand in for it, so a check relating it to
#: others could report a problem that is only its absence (a broken 'model gpt-tiny'
#: makes 'at 0 clm' look wrong for the default masked model). These are the codes left
#: out after a bad statement of each kind (its first word, or the keyword that word is
#: closest to); a bad statement of no recognisable kind leaves out all of them.
_DEPENDS_ON: dict[str, frozenset[str]] = {
    "model": frozenset({"E063"}),  # an objective that does not fit the model's family
    # the training length and seq: 'at' after the end, budgets, late pacing/eval/checkpoint
    # (and a batch ramp's sizes, which end at the train batch: E088-E091)
    "train": frozenset(
        {"E039", "E061", "E088", "E089", "E090", "E091", "W001", "W006", "W007", "W009"}
    ),
    "sort": frozenset({"W003"}),  # pace without sort
    "pace": frozenset({"W002"}),  # sort without pacing
    "at": frozenset({"E062", "W008"}),  # the first 'at' not at 0, a unit never used
    "unit": frozenset({"E013"}),  # an unknown objective or unit
}


def _statement_kind(chunk: str) -> str | None:
    """The keyword a bad statement starts with, or the one its first word is closest to."""
    words = chunk.split()
    word = words[0].split("(")[0] if words else ""
    if word in STATEMENT_KEYWORDS:
        return word
    close = difflib.get_close_matches(word, STATEMENT_KEYWORDS, n=1, cutoff=0.6)
    return close[0] if close else None


def _with_checks(
    syntax: list[Diagnostic],
    broken: list[tuple[int, int, str]],
    text: str,
    filename: str,
    base_dir: str | None,
) -> list[Diagnostic]:
    """``syntax`` with the problems the compiler finds in the statements that parsed:
    errors first, each group in file order (as the compiler reports them)."""
    lines = text.split("\n")
    for line, column, chunk in broken:  # blank the bad statements: positions stay exact
        row = lines[line - 1]
        lines[line - 1] = row[: column - 1] + " " * len(chunk) + row[column - 1 + len(chunk) :]
    try:
        tree = parser().parse("\n".join(lines), start="spec")
    except UnexpectedInput:  # cannot happen (each statement left parses): syntax alone
        return syntax
    from curriculumc.lang.compiler import check_spec

    kinds = {_statement_kind(chunk) for _, _, chunk in broken}
    if None in kinds:
        left_out = frozenset().union(*_DEPENDS_ON.values())
    else:
        left_out = frozenset().union(*(_DEPENDS_ON.get(kind, frozenset()) for kind in kinds))
    found = [d for d in check_spec(_spec(tree, text, filename, base_dir)) if d.code not in left_out]
    every = syntax + found
    ordered = sorted(every, key=_file_position)
    return [d for d in ordered if d.is_error] + [d for d in ordered if not d.is_error]


def _file_position(diagnostic: Diagnostic) -> tuple:
    span = diagnostic.span
    return (1, 0, 0) if span is None else (0, span.line, span.column)
