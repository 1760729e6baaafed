"""Import a curriculum from the seed system (Cambridge BabyLM 2023, "CLIMB") as a ``.cur`` spec.

The seed system configured curricula as Hydra config groups::

    conf/config.yaml                  defaults: [base_config, _self_, dataset: x,
                                        objective_curriculum: o, model: y, tokenizer: z]
                                      + experiment, data_preprocessing, trainer
    conf/data_curriculum/d.yaml       difficulty_scorer_name, difficulty_scorer_kwargs,
                                      pacing_fn_name, pacing_fn_kwargs
    conf/vocabulary_curriculum/v.yaml vocabulary_curriculum_name + the same pacing keys
    conf/objective_curriculum/o.yaml  defaults: [units: [mlm, pos_noun_verb]];
                                      steps: {unit: [start, end]} (shares of training)
    conf/objective_curriculum/units/pos_noun_verb.yaml
                                      pos_noun_verb: {task_head_params, optimizer_params,
                                        scheduler_params, optional_kwargs: {pos_tags, ...}}

:func:`read_climb_config` composes such a folder the way Hydra does, with the compiler's
own resolution (:func:`curriculumc.lang.compose.compose_nodes` by :data:`SEED_RULES`), and
the command line's overrides: ``group=option`` (also ``+group=option``, Hydra's way of
adding a group its defaults list lacks, as ``data_curriculum`` and
``vocabulary_curriculum``), ``group=null``, and ``key.path=value``
(``trainer.max_training_steps=300``; ``+key=value`` adds a key). :func:`convert_climb`
turns the composed config into spec text that means the same, built as syntax-tree
nodes and written by :mod:`curriculumc.lang.printer`. docs/climb.md lists every option
and what it becomes; in short:

- pacing in shares of training: ``pace FN from S [to E] after a% over (e - a)%`` (a, e the
  seed's ``start_percent``/``end_percent``, printed exactly in decimal so that the compiler
  resolves ``after = a·T`` and ``after + over = e·T`` -- the seed's ``step_start`` and
  ``step_end`` -- and an override of the steps rescales them), ``ties include`` (the
  seed's percentile pool), ``train sample with replacement`` (its per-batch draws);
- scorers: ``ngram_perplexity(n_gram=k)`` → ``ngram_ppl(n=k)``, ``self_perplexity(update=u)``
  → ``model_ppl(every=u, first=u)``, ``data_split`` → ``source(...)`` in the seed's order;
- ``trainer.batch_size`` is per device: ``batch`` is it × ``devices`` (default
  :data:`CLIMB_DEVICES`, said in the ``# assumed:`` notes);
- objective ``steps: {unit: [start, end]}`` → ``during start..end unit`` (both ends
  included, the seed's ``start <= t/T <= end``); each unit → ``unit NAME = OBJ(...) lr X
  warmup 10%`` (the seed's MLM corrupts 90 − u % ``<mask>``, 10% random, u kept:
  ``mlm(mask=15%, random=10%, keep=u)``);
- ``vocabulary_curriculum`` → ``vocab FN from S after a% over (e - a)% by ORDER``.

Whatever cannot be carried over is listed in :attr:`ClimbImport.not_carried` and written
into the spec as ``# not carried over:`` comments, each with its consequence; assumptions
are listed the same way (``# assumed:``). Error codes E861-E872 (and E003/E004/E171 for
files that cannot be read).
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curriculumc.errors import CurriculumError, Diagnostic, Span, did_you_mean
from curriculumc.lang import ast
from curriculumc.lang.compose import DefaultsRules, compose_nodes
from curriculumc.lang.printer import format_call, format_statement, number_text, percent_text
from curriculumc.lang.yaml_nodes import (
    Source,
    compose_yaml,
    construct,
    key_text,
    node_span,
    plain_data,
    read_yaml_file,
    tag_source,
    yaml_errors,
)
from curriculumc.pacing import PACING_FUNCTIONS
from curriculumc.pos_tags import SPEC_NAMES, UNIVERSAL_TAGS
from curriculumc.presets import MODEL_PRESETS

GROUPS = (
    "dataset",
    "tokenizer",
    "model",
    "data_curriculum",
    "vocabulary_curriculum",
    "objective_curriculum",
)
#: the seed's ``get_pacing_fn`` defaults (its signature: ``start_percent`` and
#: ``end_percent`` have none, the seed stops without them)
PACING_DEFAULTS = {"starting_difficulty": 0.2, "max_difficulty": 1.0}
PACING_REQUIRED = ("start_percent", "end_percent")
#: the seed's ``_DataCollatorForLanguageModeling``: of the chosen tokens ``0.9 - u`` become
#: ``<mask>``, 10% a random token, ``u`` (``unmask_probability``) stay as they are
SEED_MLM_RANDOM = 0.1
#: the seed's POS collator corrupts 80% <mask> / 10% random / 10% kept: curriculumc's default
SEED_POS_SPLIT = {"random": 0.1, "keep": 0.1}
#: a unit's head warm-up: the seed's ``num_warmup_steps = task_num_steps // 10``
SEED_HEAD_WARMUP = 0.1
#: the seed evaluates (and saves a checkpoint) every ``max_training_steps // 8`` steps and
#: logs every ``max_training_steps // 1000`` (train.py's TrainingArguments)
SEED_EVAL_PARTS = 8
SEED_LOG_PARTS = 1000
#: the seed's ``experiment.dry_run`` (train.py): these steps, warm-up and scorer update
DRY_RUN = {"steps": 100, "warmup": 10, "update": 75, "subsample": 1000}

#: the seed's ``data_split`` difficulties of the BabyLM 2023 sources (its file names less
#: ``.txt``), easiest first: groups of sources that share one difficulty, each group in the
#: order the seed lists it. ``spoken_first: true`` and ``spoken_first: false`` ("grammatical
#: first") are two fixed tables of the seed, not one order and its reverse.
DATA_SPLIT_SPOKEN_FIRST = (
    ("aochildes",),
    ("bnc_spoken", "switchboard"),
    ("open_subtitles", "qed"),
    ("cbt", "children_stories"),
    ("simple_wikipedia",),
    ("wikipedia", "gutenberg"),
)
DATA_SPLIT_GRAMMATICAL_FIRST = (
    ("cbt", "children_stories"),
    ("simple_wikipedia",),
    ("wikipedia", "gutenberg"),
    ("open_subtitles",),
    ("bnc_spoken", "switchboard"),
    ("qed", "aochildes"),
)
#: CLIMB's ``trainer.batch_size`` is per device; its config says "32 across 4 GPUs gives an
#: effective batch size of 128": the number of devices assumed unless ``devices`` is given
CLIMB_DEVICES = 4
#: the settings of a CLIMB task unit (its file puts them under the unit's name)
UNIT_KEYS = frozenset(
    {"task_head_params", "optimizer_params", "scheduler_params", "optional_kwargs"}
)
#: the vocabulary curricula of the seed (``vocabulary_curriculum_name``) = our orders
VOCAB_ORDERS = ("token_ids", "pos_tags", "pos_tags_and_token_ids")

#: the seed's ``model_kwargs`` names → our preset fields
MODEL_KWARGS = {
    "num_hidden_layers": "layers",
    "num_attention_heads": "heads",
    "hidden_size": "hidden",
    "intermediate_size": "ffn",
}
#: the seed's model names: pre-layer-norm or not (both are masked models)
MODEL_LAYER_NORM = {"roberta_pre_layer_norm": True, "roberta": False}
#: model_kwargs that are the architecture's defaults in curriculumc's presets too, or are
#: set from the tokenizer: nothing is lost when they are not carried over
MODEL_KWARGS_SAME = {
    "layer_norm_eps": 1e-5,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "initializer_range": 0.02,
    "type_vocab_size": 1,
}
MODEL_KWARGS_IGNORED = frozenset(
    {"vocab_size", "bos_token_id", "eos_token_id", "pad_token_id", "name_or_path",
     "architectures", "model_type", "torch_dtype", "transformers_version", "use_cache",
     "classifier_dropout", "position_embedding_type", "max_position_embeddings"}
)  # fmt: skip
#: vocabulary sizes of the seed's pretrained tokenizers that do not end in their size
TOKENIZER_SIZES = {"roberta-base": 50265, "babylm/roberta-base-strict-small": 50265}
#: Universal Dependencies v2 tags that are not among the 12 universal tags we use
UD_TO_UNIVERSAL = {
    "PROPN": "NOUN",
    "AUX": "VERB",
    "CCONJ": "CONJ",
    "SCONJ": "CONJ",
    "PART": "PRT",
    "PUNCT": ".",
    "INTJ": "X",
    "SYM": "X",
}
_TAG_SPELLING = {tag: name for name, tag in SPEC_NAMES.items()}
#: OmegaConf (the seed's YAML loader) reads ``1e-3`` as a float; PyYAML's YAML 1.1 as text
_EXPONENT_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+")
OVERRIDES = "<overrides>"


@dataclass(frozen=True)
class ClimbImport:
    """The result of an import: spec text, what was not carried over, what was assumed."""

    text: str
    not_carried: tuple[str, ...]
    assumptions: tuple[str, ...]
    source: str


# ------------------------------------------------------------------------------ reading


@dataclass
class _Config:
    """A composed config: plain data, and where each key path was written."""

    data: dict
    where: dict[tuple, Span]
    folder: Path

    def span(self, *path) -> Span | None:
        while path:
            if path in self.where:
                return self.where[path]
            path = path[:-1]
        return None


#: the seed's configs are Hydra's: each chosen file lands under its group's key
#: the seed's train.py registers ``base_config`` (its BabyLMConfig dataclass) with Hydra's
#: ConfigStore: a schema for the keys, not a file, so its defaults entry is skipped
SEED_RULES = DefaultsRules(
    "_group_", "E861", "E862", "E861", "E861", schemas=frozenset({"base_config"})
)


def _value(node):
    source = node.source
    if source is None:  # a key made up for a group's package: a plain string
        return node.value
    # a tag the safe loader refuses (``!!python/object``) is an error in the node's file
    with yaml_errors(source.text, source.path):
        value = construct(node)
    if (
        isinstance(value, str)
        and isinstance(node, yaml.ScalarNode)
        and node.style is None
        and _EXPONENT_FLOAT.fullmatch(value)
    ):
        return float(value.replace("_", ""))
    return value


def _plain(root, prefix: tuple = ()) -> tuple[Any, dict[tuple, Span]]:
    """Plain data of a composed node tree (keys as YAML reads them: ``0:`` is the number 0)
    and the span of every mapping key written in a file, by key path."""
    where: dict[tuple, Span] = {}

    def remember(path: tuple, key_node, node) -> None:
        if key_node is not None and key_node.source is not None:
            where[path] = node_span(key_node)
        elif not path and node is not None and getattr(node, "source", None) is not None:
            where[path] = node_span(node)

    if root is None:
        return {}, where
    data = plain_data(root, key=_value, scalar=_value, visit=remember, path=prefix)
    return data, where


@dataclass(frozen=True)
class _Override:
    """One command-line override: ``key=value`` (``add``: written ``+key=value``)."""

    key: str
    add: bool
    key_node: yaml.Node
    value: yaml.Node


def _overrides(items: Sequence[str]) -> list[_Override]:
    """The overrides as YAML nodes whose spans point into ``<overrides>`` (line i: item i,
    written ``key: value``)."""
    lines: list[str] = []
    adds: list[bool] = []
    for number, item in enumerate(items, start=1):
        key, sep, value = item.partition("=")
        bare = key.strip().lstrip("+")
        if not sep or not bare or any(c.isspace() or c in ":{}[]#" for c in bare):
            raise CurriculumError.single(
                "E861", f"an override is group=option or key=value, not {item!r}",
                Span.point(OVERRIDES, number, 1, "\n".join(items)),
                hint="e.g. data_curriculum=log_ngram or trainer.max_training_steps=300",
            )  # fmt: skip
        adds.append(key.strip().startswith("+"))
        lines.append(f"{bare}: {value.strip() or 'null'}")
    if not lines:
        return []
    text = "\n".join(lines)
    node = compose_yaml(text, OVERRIDES)
    source = Source(OVERRIDES, text, tuple(lines))
    tag_source(node, source)
    return [_Override(key_text(k), add, k, v) for (k, v), add in zip(node.value, adds, strict=True)]


def _config_file(path: Path) -> Path:
    if path.is_dir():
        file = path / "config.yaml"
        if not file.is_file():
            candidates = sorted(path.glob("*.yaml"))
            if len(candidates) != 1:
                raise CurriculumError.single(
                    "E004", f"no config.yaml in '{path}'", hint="name the config file itself"
                )
            file = candidates[0]
        return file
    if path.is_file():
        return path
    raise CurriculumError.single("E004", f"cannot read '{path}': No such file or directory")


def _choose(node: yaml.Node | None, choice: _Override, file: Path) -> None:
    """Make ``choice`` (``group=option``) the defaults list's choice for its group, as
    Hydra does: the entry replaced, or appended when the list has none for the group."""
    if not isinstance(node, yaml.MappingNode):
        raise CurriculumError.single(
            "E861", f"'{file}' is not a mapping: no defaults list to choose in",
            node_span(choice.key_node),
        )  # fmt: skip
    found = [v for k, v in node.value if key_text(k) == "defaults"]
    if not found or not isinstance(found[0], yaml.SequenceNode):
        raise CurriculumError.single(
            "E861", f"'{file}' has no defaults list to choose {choice.key} in",
            node_span(choice.key_node),
        )  # fmt: skip
    entries = found[0].value
    for i, item in enumerate(entries):
        if isinstance(item, yaml.MappingNode) and len(item.value) == 1:
            key = key_text(item.value[0][0]).removeprefix("override ").strip().strip("/")
            if key == choice.key:
                item.value[0] = (item.value[0][0], choice.value)
                return
        if isinstance(item, yaml.ScalarNode) and "/" in str(item.value):
            group, _, _ = str(item.value).strip().rpartition("/")
            if group.strip("/") == choice.key:
                entries[i] = _entry(choice)
                return
    entries.append(_entry(choice))


def _entry(choice: _Override) -> yaml.MappingNode:
    entry = yaml.MappingNode("tag:yaml.org,2002:map", [(choice.key_node, choice.value)])
    entry.source = choice.value.source
    entry.start_mark, entry.end_mark = choice.key_node.start_mark, choice.value.end_mark
    return entry


def _set(config: _Config, override: _Override) -> None:
    """``key.path=value`` on the composed config (Hydra: a new key needs ``+``)."""
    parts = override.key.split(".")
    current: Any = config.data
    path: tuple = ()
    for i, part in enumerate(parts):
        key: Any = part
        if isinstance(current, Mapping) and part not in current and part.isdigit():
            key = int(part) if int(part) in current else part
        last = i == len(parts) - 1
        if not isinstance(current, dict):
            raise CurriculumError.single(
                "E861", f"cannot set {override.key}: {'.'.join(map(str, path))} is not a mapping",
                node_span(override.key_node),
            )  # fmt: skip
        if key not in current and not override.add:
            hint = did_you_mean(str(part), map(str, current))
            raise CurriculumError.single(
                "E861",
                f"the composed config has no key {'.'.join([*map(str, path), str(part)])}",
                node_span(override.key_node),
                hint=hint or f"write +{override.key}=... to add it (Hydra's rule)",
            )
        path = (*path, key)
        if last:
            value, where = _plain(override.value, path)
            current[key] = value
            config.where = {p: s for p, s in config.where.items() if p[: len(path)] != path}
            config.where.update(where)
            config.where[path] = node_span(override.key_node)
        else:
            current = current.setdefault(key, {})


def read_climb_config(path: str | Path, overrides: Sequence[str] = ()) -> _Config:
    """Compose a seed-system config: a folder holding ``config.yaml``, or a config file
    (its folder is the config folder), with command-line ``overrides`` as Hydra reads
    them (``group=option``, ``+group=option``, ``group=null``, ``key.path=value``,
    ``+key.path=value``). Raises :class:`CurriculumError` (E004, E861-E862)."""
    file = _config_file(Path(path))
    parsed = _overrides(overrides)
    folder = file.parent
    _, node = read_yaml_file(file)
    choices = [
        o for o in parsed
        if "." not in o.key and (o.key in GROUPS or (folder / o.key).is_dir())
    ]  # fmt: skip
    for choice in choices:
        _choose(node, choice, file)
    root, _, _ = compose_nodes(file, SEED_RULES, config_dir=folder, node=node)
    data, where = _plain(root)
    config = _Config(data if isinstance(data, dict) else {}, where, folder)
    chosen = {c.key for c in choices}
    for override in parsed:
        if override.key not in chosen:
            _set(config, override)
    return config


# ------------------------------------------------------------------------------ converting


def _number(value) -> str:
    # the seed's settings are numbers, or number text YAML 1.1 reads as a string (1e-3)
    return number_text(int(value) if float(value).is_integer() else float(value))


def _decimal(value: float) -> decimal.Decimal:
    return decimal.Decimal(repr(float(value)))


def _percent(share: decimal.Decimal | float) -> str:
    """A share as exact percent text (a Decimal is printed as it is: ``0.8125`` → 81.25%)."""
    if not isinstance(share, decimal.Decimal):
        return percent_text(share)
    text = format(share.scaleb(2).normalize(), "f")
    return f"{text}%"


def _call(name: str, **keywords) -> ast.Call:
    """``name(k=v)`` with the keywords that are not None, each value as the seed wrote it."""
    args = tuple(
        ast.Arg(ast.Name(k), ast.Number(str(v))) for k, v in keywords.items() if v is not None
    )
    return ast.Call(ast.Name(name), args)


def _statement(stmt) -> str:
    """A statement as DSL text, by the printer; the forms the printer may not know yet
    (``during``, a unit's ``lr``/``warmup``, ``vocab ... by``) completed here."""
    if isinstance(stmt, ast.DuringStmt):
        try:
            return format_statement(stmt)
        except TypeError:
            term = stmt.term
            weight = f"{term.weight.text} " if term.weight else ""
            return f"during {stmt.start.text}..{stmt.end.text} {weight}{format_call(term.call)}"
    text = format_statement(stmt)
    if isinstance(stmt, ast.UnitStmt):
        if stmt.lr is not None and " lr " not in text:
            text += f" lr {stmt.lr.text}"
        if stmt.warmup is not None and " warmup " not in text:
            text += f" warmup {stmt.warmup.text}"
    if isinstance(stmt, ast.PaceStmt) and stmt.order is not None and " by " not in text:
        text += f" by {stmt.order.value}"
    return text


def seed_active(steps: Mapping, units: Sequence[str], step: int, total: int) -> tuple[str, ...]:
    """The seed's ``ObjectiveCurriculum.__getitem__``: the units with ``start <= step /
    total <= end`` (both ends included), in the order the units are listed."""
    share = step / total
    return tuple(u for u in units if u in steps and steps[u][0] <= share <= steps[u][1])


def seed_valid_steps(steps: Mapping) -> bool:
    """The seed's ``ObjectiveCurriculum._is_valid_curriculum`` coverage rule: the ranges,
    sorted by start, must each start at or before the previous range's end, until one
    reaches 1 (its rule as written: the previous range, not the furthest end so far)."""
    current = 0.0
    for low, high in sorted(steps.values(), key=lambda r: r[0]):
        if low > current:
            return False
        current = high
        if current == 1:
            break
    return current >= 1


class _Converter:
    def __init__(
        self,
        config: _Config,
        *,
        data: str | None,
        sources: Sequence[str] | None,
        devices: int | None = None,
    ):
        self.config = config
        self.devices_given = devices is not None
        self.devices = CLIMB_DEVICES if devices is None else devices
        self.data_override = data
        self.sources = tuple(sources) if sources else None
        self.sections: dict[str, list[str]] = {
            k: [] for k in ("model", "data", "tokenizer", "train", "sort", "vocab", "units",
                            "phases", "eval", "output")
        }  # fmt: skip
        self.not_carried: list[str] = []
        self.assumed: list[str] = []
        self.errors: list[Diagnostic] = []
        self.steps = 0
        self.dry_run = False
        self.has_pos = False
        self.vocab_order: str | None = None

    # --- helpers ---------------------------------------------------------------------

    def get(self, *path, default=None):
        current: Any = self.config.data
        for part in path:
            if not isinstance(current, Mapping) or part not in current:
                return default
            current = current[part]
        return current

    def error(self, code: str, message: str, *path, hint: str | None = None) -> None:
        self.errors.append(Diagnostic(code, message, self.config.span(*path), hint))

    def fraction(self, value: Any, *path) -> float | None:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            self.error("E864", f"{'.'.join(map(str, path))} must be a number", *path)
            return None
        return float(value)

    def share(self, value: Any, *path, low: float = 0.0, high: float = 1.0) -> float | None:
        number = self.fraction(value, *path)
        if number is not None and not low <= number <= high:
            self.error(
                "E864", f"{'.'.join(map(str, path))} must be in [{low:g}, {high:g}], not {value}",
                *path,
            )  # fmt: skip
            return None
        return number

    def every(self, parts: int) -> str:
        """The seed's ``max_training_steps // parts`` as a time: a share when exact."""
        steps = self.steps // parts
        if steps * parts == self.steps:
            return _percent(decimal.Decimal(1) / parts)
        return number_text(max(1, steps))

    # --- sections --------------------------------------------------------------------

    def convert(self, source: str) -> ClimbImport:
        self.experiment()
        self.train()
        self.model()
        self.dataset()
        self.tokenizer()
        if self.errors and any(d.code == "E863" for d in self.errors):
            raise CurriculumError(self.errors)
        self.data_curriculum()
        self.vocabulary_curriculum()
        self.objective_curriculum()
        self.evaluation()
        self.seed_system()
        self.leftovers()
        if self.errors:
            raise CurriculumError(self.errors)
        header = [
            f"# imported from the seed system (CLIMB) config {source}",
            "# by `curriculumc import climb`; check the notes at the end.",
        ]
        body = [line for lines in self.sections.values() for line in lines]
        footer: list[str] = []
        if self.assumed:
            footer += ["", "# assumed:"] + [f"#   - {a}" for a in self.assumed]
        if self.not_carried:
            footer += ["", "# not carried over:"] + [f"#   - {n}" for n in self.not_carried]
        text = "\n".join([*header, *body, *footer]) + "\n"
        return ClimbImport(text, tuple(self.not_carried), tuple(self.assumed), source)

    def experiment(self) -> None:
        experiment = self.get("experiment") or {}
        self.dry_run = experiment.get("dry_run") is True
        if self.dry_run:
            self.assumed.append(
                f"experiment.dry_run: the seed's dry run trains {DRY_RUN['steps']} steps with "
                f"{DRY_RUN['warmup']} warm-up steps and re-scores self_perplexity every "
                f"{DRY_RUN['update']} steps (train.py): so does this spec"
            )
            self.not_carried.append(
                f"experiment.dry_run's data subsampling (every {DRY_RUN['subsample']}th "
                "example, 1/10 of that on several GPUs): curriculumc trains on all the data"
            )

    def train(self) -> None:
        trainer = self.get("trainer", default={}) or {}
        steps = trainer.get("max_training_steps")
        if self.dry_run:
            steps = DRY_RUN["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
            self.error(
                "E863",
                "trainer.max_training_steps must be a positive integer: the seed's fractions "
                "of training are fractions of it",
                "trainer", "max_training_steps",
            )  # fmt: skip
            return
        self.steps = steps
        # written as researchers write it, number first (the printer writes `steps N`)
        parts = [f"{number_text(steps)} steps"]
        if "batch_size" in trainer:
            parts.append(f"batch {self.batch(trainer['batch_size'])}")
        if "lr" in trainer:
            lr = self.fraction(trainer["lr"], "trainer", "lr")
            if lr is not None:
                parts.append(f"lr {_number(lr)}")
        warmup = DRY_RUN["warmup"] if self.dry_run else trainer.get("num_warmup_steps")
        if warmup is not None:
            if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
                self.error(
                    "E864", "trainer.num_warmup_steps must be a whole number of steps",
                    "trainer", "num_warmup_steps",
                )  # fmt: skip
            else:
                # the seed's warm-up is a number of steps (HF warmup_steps), not a share:
                # an override of the training length leaves it as it is, as in the seed
                parts.append(f"warmup {number_text(min(warmup, steps))}")
                if warmup > steps:
                    self.assumed.append(
                        f"trainer.num_warmup_steps {warmup} is longer than the "
                        f"{steps} training steps: the seed's learning rate never leaves "
                        f"warm-up (it reaches {steps}/{warmup} of trainer.lr); written as "
                        f"warmup {steps}, which peaks at the last step instead"
                    )
        seq = self.get("data_preprocessing", "max_input_length")
        if seq is not None:
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 3:
                self.error(
                    "E864", "data_preprocessing.max_input_length must be a whole number",
                    "data_preprocessing", "max_input_length",
                )  # fmt: skip
            else:
                parts.append(f"seq {number_text(seq)}")
        seed = self.get("experiment", "seed")
        if seed is not None:
            parts.append(f"seed {_number(seed)}")
        # the HF Trainer's AdamW (weight_decay 0.0 by default) and the heads' AdamW (0.0)
        parts.append("decay 0")
        self.sections["train"].append("train " + ", ".join(parts))
        handled = {"max_training_steps", "batch_size", "lr", "num_warmup_steps",
                   "eval_blimp", "eval_perplexity", "eval_glue", "eval_msgs"}  # fmt: skip
        for key in sorted(set(trainer) - handled):
            self.not_carried.append(
                f"trainer.{key}: {trainer[key]!r} (not a setting the seed reads)"
            )

    def batch(self, per_device: Any) -> str:
        """The global batch: the seed's per-device ``batch_size`` × the devices."""
        where = ("trainer", "batch_size")
        if isinstance(per_device, bool) or not isinstance(per_device, int) or per_device <= 0:
            self.error("E864", "trainer.batch_size must be a positive integer", *where)
            return "1"
        total = per_device * self.devices
        if self.devices_given:
            self.assumed.append(
                f"trainer.batch_size {per_device} is per device; on {self.devices} devices "
                f"(--devices) the batch is {total}"
            )
        else:
            self.assumed.append(
                f"trainer.batch_size {per_device} is per device and the seed trained on "
                f'{self.devices} devices (its config: "32 across 4 GPUs gives an effective '
                f'batch size of 128"), so the batch is {total}; give --devices for another '
                "count"
            )
        return number_text(total)

    def model(self) -> None:
        model = self.get("model")
        if not model:
            return
        name = str(model.get("name", ""))
        kwargs = dict(model.get("model_kwargs") or {})
        if name not in MODEL_LAYER_NORM:
            self.error(
                "E864", f"model {name!r} is none of the seed's models",
                "model", "name", hint="the seed's models are roberta_pre_layer_norm, roberta",
            )  # fmt: skip
            return
        pre = MODEL_LAYER_NORM[name]
        wanted = {ours: kwargs.get(theirs) for theirs, ours in MODEL_KWARGS.items()}
        masked = {
            p: fields for p, fields in MODEL_PRESETS.items()
            if fields["family"] == "masked" and fields["arch"] == "roberta"
        }  # fmt: skip
        equal = [
            p for p, f in masked.items()
            if all(f.get(k) == v for k, v in wanted.items()) and bool(f.get("pre_layer_norm")) == pre
        ]  # fmt: skip
        if equal:
            preset = equal[0]
        else:
            # the nearest in size of the presets (hidden size, then layers)
            hidden, layers = wanted.get("hidden") or 0, wanted.get("layers") or 0
            preset = min(
                (p for p in masked if p != "roberta-tiny"),
                key=lambda p: (
                    abs(masked[p]["hidden"] - hidden),
                    abs(masked[p]["layers"] - layers),
                ),
            )
            shown = ", ".join(f"{k}={kwargs[k]}" for k in MODEL_KWARGS if k in kwargs)
            ours = ", ".join(f"{t}={masked[preset].get(o)}" for t, o in MODEL_KWARGS.items())
            self.not_carried.append(
                f"model {name} ({shown}{'' if pre else ', post-layer-norm'}): no preset "
                f"of curriculumc is this model; the nearest, {preset} ({ours}, "
                f"pre-layer-norm), is used -- a different model size, so results are not "
                'comparable (write `model "config.json"` with the seed\'s sizes for the same one)'
            )
        self.sections["model"].append(format_statement(ast.ModelStmt(ast.Name(preset))))
        for key, value in sorted(kwargs.items()):
            if key in MODEL_KWARGS or key in MODEL_KWARGS_IGNORED:
                continue
            if key == "tie_word_embeddings":
                continue  # said with the seed's separate MLM head (seed_system)
            if MODEL_KWARGS_SAME.get(key) == value:
                continue
            self.not_carried.append(
                f"model.model_kwargs.{key}: {value!r} (the preset's own value is used)"
            )

    def dataset(self) -> None:
        dataset = self.get("dataset") or {}
        join = self.get("data_preprocessing", "join_sentences")
        packed = join is not False  # the seed's only shipped setting, and the default here
        if join is False:
            self.not_carried.append(
                "data_preprocessing.join_sentences: False: the seed then splits each long "
                "line into several examples of max_input_length tokens; curriculumc's "
                "one-example-a-line cuts a line at seq - 2 tokens"
            )
        else:
            self.assumed.append(
                "data_preprocessing.join_sentences: the seed joins the lines and cuts "
                "max_input_length-token chunks: `packed` (the seed's chunks keep each line's "
                "own <s> ... </s> and drop the rest of every 1,000 lines; curriculumc's put "
                "</s> between lines and <s> ... </s> around each chunk of seq - 2 tokens)"
            )
        if self.data_override:
            source = ast.String(self.data_override)
            self.sections["data"].append(
                format_statement(ast.DataStmt("path", source, packed=packed))
            )
            if dataset:
                self.not_carried.append(
                    f"dataset {dataset.get('name')!r} (replaced by {self.data_override!r})"
                )
        elif dataset:
            hub = ast.String(str(dataset.get("name", "")))
            self.sections["data"].append(format_statement(ast.DataStmt("hub", hub, packed=packed)))
            if dataset.get("subconfig"):
                self.not_carried.append(
                    f"dataset.subconfig {dataset['subconfig']!r} (a hub configuration name; "
                    "point `data` at a local copy of that subset with --data)"
                )
        if self.get("data_preprocessing", "include_punctuation") is False:
            self.not_carried.append(
                "data_preprocessing.include_punctuation: False (the seed strips punctuation "
                "from the text; curriculumc trains on the text as it is)"
            )
        callbacks = self.get("data_preprocessing", "callback_functions")
        if callbacks:
            self.not_carried.append(
                f"data_preprocessing.callback_functions: {callbacks!r} (the seed calls these "
                "methods of its preprocessor on every batch of lines)"
            )

    def tokenizer(self) -> None:
        tokenizer = self.get("tokenizer") or {}
        vocab = self.get("model", "model_kwargs", "vocab_size")
        if not tokenizer and vocab is None:
            return
        name = str(tokenizer.get("name", ""))
        found = re.search(r"(\d+)$", name)
        named = TOKENIZER_SIZES.get(name) or (int(found.group(1)) if found else None)
        if isinstance(vocab, int) and named is not None and named != vocab:
            self.error(
                "E864",
                f"tokenizer {name!r} has {named} tokens but model.model_kwargs.vocab_size is "
                f"{vocab}: the seed stops (train.py: tokenizer.vocab_size == "
                "model.config.vocab_size)",
                "tokenizer", "name",
                hint=f"add model.model_kwargs.vocab_size={named}",
            )  # fmt: skip
            return
        size = vocab if isinstance(vocab, int) else named or 8192
        size_text = ast.Number(number_text(size))
        self.sections["tokenizer"].append(
            format_statement(ast.TokenizerStmt(ast.Name("bpe"), size_text))
        )
        if name:
            self.not_carried.append(
                f"tokenizer {name!r} (a pretrained tokenizer on the hub; a byte-level BPE of "
                f"{size} tokens is trained on the data instead: other token boundaries, and "
                "another id order for a token_ids vocabulary curriculum)"
            )
        for key, value in sorted(tokenizer.items()):
            if key != "name" and value is not None:
                self.not_carried.append(
                    f"tokenizer.{key}: {value!r} (a loading option of the pretrained tokenizer)"
                )

    def pacing(self, section: str, what: str, target: str) -> ast.PaceStmt | None:
        """``pace``/``vocab`` (``target`` data/vocab) ``FN from S [to E] [after a%] over
        (e - a)%`` of a section's pacing, or None when the seed's pacing releases all."""
        name = self.get(section, "pacing_fn_name")
        if not isinstance(name, str) or name not in PACING_FUNCTIONS:
            # the seed's get_pacing_fn: any other name (None too) is `lambda step: 1.0`
            self.assumed.append(
                f"{section}.pacing_fn_name {name!r} is none of the seed's pacing functions "
                f"({', '.join(PACING_FUNCTIONS)}): its get_pacing_fn then gives 1.0 at every "
                f"step (all of the {what}), and so does this spec"
            )
            return None
        kwargs = {**PACING_DEFAULTS, **(self.get(section, "pacing_fn_kwargs") or {})}
        for key in sorted(set(kwargs) - {*PACING_DEFAULTS, *PACING_REQUIRED}):
            self.error(
                "E864", f"{section}.pacing_fn_kwargs.{key}: the seed's get_pacing_fn takes no "
                "such argument (it stops)", section, "pacing_fn_kwargs", key,
            )  # fmt: skip
        missing = [k for k in PACING_REQUIRED if k not in kwargs]
        if missing:
            self.error(
                "E864", f"{section}.pacing_fn_kwargs.{missing[0]} is missing (the seed's "
                "get_pacing_fn has no default for it)", section, "pacing_fn_kwargs",
                hint="start_percent / end_percent: the shares of training at which the pool "
                "starts to grow / reaches max_difficulty",
            )  # fmt: skip
            return None
        where = (section, "pacing_fn_kwargs")
        start_p = self.share(kwargs["start_percent"], *where, "start_percent")
        end_p = self.share(kwargs["end_percent"], *where, "end_percent")
        low = self.share(kwargs["starting_difficulty"], *where, "starting_difficulty")
        high = self.share(kwargs["max_difficulty"], *where, "max_difficulty")
        if None in (start_p, end_p, low, high):
            return None
        if not start_p < end_p:
            self.error(
                "E864", "pacing needs start_percent < end_percent (the seed asserts it)",
                *where, "end_percent",
            )  # fmt: skip
            return None
        if low <= 0:
            self.error(
                "E864", f"{section}.pacing_fn_kwargs.starting_difficulty must be above 0",
                *where, "starting_difficulty",
            )  # fmt: skip
            return None
        # exact shares: a and e - a in decimal, so that the compiler's after + over is e
        after, ends = _decimal(start_p), _decimal(end_p)
        over = ends - after
        if float(after + over) != end_p:  # pragma: no cover - exact by construction
            self.assumed.append(f"{what} pacing: {after}% + {over}% is not {end_p!r} in floats")
        schedule = ast.Schedule(
            start=ast.Number(_percent(low)),
            over=ast.Number(_percent(over)),
            end=ast.Number(_percent(high)) if high != 1.0 else None,
            after=ast.Number(_percent(after)) if after else None,
        )
        # the seed's data pool is a percentile threshold: ties at the edge are all included
        ties = ast.Ties(ast.Name("include")) if target == "data" else None
        return ast.PaceStmt(target, ast.Name(name), schedule, ties)

    def data_curriculum(self) -> None:
        section = self.get("data_curriculum")
        if not section:
            return
        scorer = section.get("difficulty_scorer_name")
        kwargs = dict(section.get("difficulty_scorer_kwargs") or {})
        where = ("data_curriculum", "difficulty_scorer_kwargs")
        sort = None
        if scorer == "ngram_perplexity":
            n = kwargs.pop("n_gram", None)
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 8:
                self.error("E864", "ngram_perplexity needs n_gram, a whole number 1-8", *where)
                return
            sort = _call("ngram_ppl", n=n)
            self.not_carried.append(
                f"ngram_perplexity's model: the seed scores by an unsmoothed NLTK MLE "
                f"{n}-gram model (everygrams up to {n}) of the token ids, curriculumc by an "
                "interpolated Kneser-Ney one; both in-sample, so the orders are close but "
                "not identical"
            )
            factor = kwargs.pop("train_subsample_factor", 1)
            if factor != 1:
                self.not_carried.append(
                    f"ngram_perplexity's train_subsample_factor {factor!r} (the seed fits its "
                    "n-gram model on every k-th example; curriculumc on all)"
                )
        elif scorer == "self_perplexity":
            # the seed scores with the model at every multiple of `update` after step 0
            update = DRY_RUN["update"] if self.dry_run else kwargs.pop("update", None)
            kwargs.pop("update", None)
            if isinstance(update, bool) or not isinstance(update, int) or update <= 0:
                self.error("E864", "self_perplexity needs update, a positive whole number", *where)
                return
            sort = _call("model_ppl", every=update, first=update)
            n = kwargs.pop("n_gram", 0)
            if isinstance(n, int) and n > 0:
                self.not_carried.append(
                    f"self_perplexity's initial {n}-gram scoring: until step {update} the seed "
                    f"paces the pool by in-sample {n}-gram perplexity (at its starting "
                    "difficulty, the easiest share of the data by that score); curriculumc's "
                    f"model_ppl draws from all data, uniformly, until step {update} (as the "
                    "seed does with n_gram: 0)"
                )
        elif scorer == "data_split":
            spoken_first = kwargs.pop("spoken_first", None)
            if not isinstance(spoken_first, bool):
                self.error("E864", "data_split needs spoken_first: true or false", *where)
                return
            if self.sources:
                order = self.sources
            else:
                table, label = (
                    (DATA_SPLIT_SPOKEN_FIRST, "spoken_first=true: spoken first")
                    if spoken_first
                    else (DATA_SPLIT_GRAMMATICAL_FIRST, "spoken_first=false: grammatical first")
                )
                order = tuple(s for group in table for s in group)
                self.assumed.append(
                    f"data_split({label}) orders the BabyLM sources as the seed's table: "
                    + ", ".join(order) + " (give --sources for another corpus)"
                )  # fmt: skip
                shared = [" = ".join(group) for group in table if len(group) > 1]
                self.not_carried.append(
                    "data_split's equal difficulties (" + "; ".join(shared) + "): source() "
                    "ranks every listed source on its own, so sources of one difficulty enter "
                    "the pool one after the other (in the seed's listed order), not together"
                )  # fmt: skip
            sort = ast.Call(ast.Name("source"), tuple(ast.Arg(None, ast.Name(s)) for s in order))
        else:
            self.error(
                "E866",
                f"unknown difficulty scorer {scorer!r}",
                "data_curriculum", "difficulty_scorer_name",
                hint="the seed's scorers are ngram_perplexity, self_perplexity, data_split",
            )  # fmt: skip
            return
        uniform = kwargs.pop("uniform_sampling", False)
        if uniform is not True:  # the seed's default: draws weighted by difficulty score
            self.not_carried.append(
                f"difficulty_scorer_kwargs.uniform_sampling: {uniform!r} (the seed then draws "
                "each example with probability proportional to its score; curriculumc draws "
                "uniformly from the pool, as uniform_sampling: true)"
            )
        for key in sorted(kwargs):
            self.error(
                "E864", f"difficulty_scorer_kwargs.{key} is not an argument of the seed's "
                f"{scorer} (its constructor stops on it)", *where, key,
            )  # fmt: skip
        pace = self.pacing("data_curriculum", "data", "data")
        if pace is not None:
            self.sections["sort"].append(format_statement(ast.SortStmt((ast.Term(None, sort),))))
            self.sections["sort"].append(format_statement(pace))
        # the seed's curriculum sampler draws every batch afresh from the pool
        # (torch.multinomial per batch): with replacement across steps, not in epochs
        self.sections["sort"].append("train sample with replacement")

    def vocabulary_curriculum(self) -> None:
        section = self.get("vocabulary_curriculum")
        if not section:
            return
        name = section.get("vocabulary_curriculum_name")
        if name not in VOCAB_ORDERS:
            self.error(
                "E867",
                f"unknown vocabulary curriculum {name!r}",
                "vocabulary_curriculum", "vocabulary_curriculum_name",
                hint="the seed's are token_ids, pos_tags, pos_tags_and_token_ids",
            )  # fmt: skip
            return
        pace = self.pacing("vocabulary_curriculum", "vocabulary", "vocab")
        if pace is None:
            return
        pace = ast.PaceStmt(pace.target, pace.fn, pace.schedule, pace.ties, order=ast.Name(name))
        self.sections["vocab"].append(_statement(pace))
        self.vocab_order = name

    # --- objectives ------------------------------------------------------------------

    def units(self, listed: Mapping) -> dict[str, tuple[Mapping, tuple]]:
        """The seed's units by name, each with the key path it was read from.

        Each unit file puts its settings under the unit's own name (``pos_noun_verb:
        {optional_kwargs: ...}``) and Hydra merges the listed files into ``units``; the
        composition here places each listed file under its option's name first, so a unit
        is ``units.<file>.<unit>``. A file whose top-level keys are a unit's settings is
        refused: the seed never read units that way (Hydra would take each setting for a
        unit of its own)."""
        found: dict[str, tuple[Mapping, tuple]] = {}
        for option, content in listed.items():
            where = ("objective_curriculum", "units", option)
            if not isinstance(content, Mapping) or set(map(str, content)) & UNIT_KEYS:
                inside = (next(iter(content)),) if isinstance(content, Mapping) and content else ()
                self.error(
                    "E861",
                    f"unit file {option}.yaml must put its settings under the unit's name",
                    *where,
                    *inside,
                    hint=f"as the seed's files do: {option}: {{optional_kwargs: {{...}}}}",
                )
                continue
            for name, unit in content.items():
                path = (*where, name)
                if not isinstance(unit, Mapping) and unit is not None:
                    self.error("E861", f"unit {name} must be a mapping of settings", *path)
                    continue
                found[str(name)] = (unit or {}, path)
        return found

    def unit_name(self, name: str) -> str:
        """The spec's name of a seed unit: its own, unless that is an objective's name
        (a unit may not be called ``mlm``): then ``climb_<name>``."""
        if name in ("mlm", "clm", "pos"):
            return f"climb_{name}"
        return name

    def unit_stmt(self, name: str, unit: Mapping, where: tuple) -> ast.UnitStmt | None:
        """The ``unit`` statement of a seed unit, by the seed's rule for its task: a name
        containing ``pos`` is the POS task, else the name is the task (only ``mlm``)."""
        optional = dict(unit.get("optional_kwargs") or {})
        at = (*where, "optional_kwargs")
        args: list[ast.Arg] = []

        def share(key: str, fraction: float) -> None:
            args.append(ast.Arg(ast.Name(key), ast.Number(_percent(fraction))))

        def required(key: str, high: float = 1.0) -> float | None:
            if key not in optional:
                self.error(
                    "E864", f"unit {name}: optional_kwargs.{key} is missing (the seed asserts "
                    "it)", *where,
                )  # fmt: skip
                return None
            return self.share(optional.pop(key), *at, key, high=high)

        if "pos" in name:
            self.has_pos = True
            objective = "pos"
            tags = optional.pop("pos_tags", None)
            if not isinstance(tags, list) or not tags:
                self.error("E864", f"unit {name}: optional_kwargs.pos_tags must list tags", *at)
                return None
            for tag in tags:
                args.append(ast.Arg(None, ast.Name(self.tag(str(tag), name, at))))
            mask, other = required("mask_probability_pos"), required("mask_probability_other")
            if mask is None or other is None:
                return None
            share("mask", mask)
            share("mask_other", other)
            # the seed's POS collator: 80% <mask>, 10% random, 10% kept -- the default split
        elif name == "mlm":
            objective = "mlm"
            mask = required("mask_probability")
            keep = required("unmask_probability", high=1 - SEED_MLM_RANDOM)
            if mask is None or keep is None:
                return None
            share("mask", mask)
            share("random", SEED_MLM_RANDOM)
            share("keep", keep)
        else:
            self.error(
                "E868",
                f"objective unit {name!r} has no counterpart in the seed or here",
                *where,
                hint="the seed's units are mlm and those whose name contains pos",
            )  # fmt: skip
            return None
        for key, value in sorted(optional.items()):
            self.not_carried.append(
                f"unit {name}: optional_kwargs.{key}: {value!r} (the seed does not read it)"
            )
        lr = self.head_optimizer(name, unit)
        head = dict(unit.get("task_head_params") or {})
        if head:
            self.not_carried.append(
                f"unit {name}: task_head_params {head!r} (the seed's head config settings; "
                "curriculumc's head has its own)"
            )
        scheduler = dict(unit.get("scheduler_params") or {})
        if scheduler:
            self.not_carried.append(
                f"unit {name}: scheduler_params {scheduler!r}: the seed does not read them "
                "either (its unit schedule is always linear with 10% warm-up), so nothing "
                "changes"
            )
        call = ast.Call(ast.Name(objective), tuple(args))
        return ast.UnitStmt(
            ast.Name(self.unit_name(name)),
            call,
            lr=ast.Number(_number(lr)),
            warmup=ast.Number(_percent(SEED_HEAD_WARMUP)),
        )

    def head_optimizer(self, name: str, unit: Mapping) -> float:
        """The unit head's learning rate (``optimizer_params.lr``; the seed's AdamW
        default 1e-3 when absent); its other AdamW settings are reported."""
        params = dict(unit.get("optimizer_params") or {})
        lr = params.pop("lr", None)
        if lr is None:
            lr = 1e-3
            self.assumed.append(
                f"unit {name}: no optimizer_params.lr; the seed's AdamW default, 1e-3"
            )
        else:
            lr = self.fraction(lr, "objective_curriculum", "units") or 1e-3
        if params.get("weight_decay", 0.0) == 0.0:
            params.pop("weight_decay", None)
        for key, value in sorted(params.items()):
            self.not_carried.append(
                f"unit {name}: optimizer_params.{key}: {value!r} (curriculumc's one AdamW "
                "has its own betas and eps for every parameter)"
            )
        return lr

    def tag(self, tag: str, unit: str, where: tuple) -> str:
        upper = tag.upper()
        if tag not in UNIVERSAL_TAGS:
            hint = (
                f"the seed's tags are its POS_TAG_MAP's: {', '.join(UNIVERSAL_TAGS)}"
                + (f"; {tag} is universal {UD_TO_UNIVERSAL[upper]}" if upper in UD_TO_UNIVERSAL
                   else "")
            )  # fmt: skip
            self.error(
                "E869", f"unit {unit}: POS tag {tag!r} is none of the seed's (it stops on it)",
                *where, "pos_tags", hint=hint,
            )  # fmt: skip
            return "x"
        return _TAG_SPELLING[tag]

    def objective_curriculum(self) -> None:
        section = self.get("objective_curriculum")
        if not section:
            self.not_carried.append(
                "no objective_curriculum: the seed cannot run without one; curriculumc "
                "trains the model's natural objective (mlm)"
            )
            return
        units = self.units(section.get("units") or {})
        names = {n: self.unit_name(n) for n in units}
        for name, (unit, where) in units.items():
            stmt = self.unit_stmt(name, unit, where)
            if stmt is not None:
                self.sections["units"].append(_statement(stmt))
        steps = section.get("steps")
        for key in sorted(set(section) - {"units", "steps"}):
            self.not_carried.append(f"objective_curriculum.{key}: {section[key]!r}")
        if not steps:
            self.error(
                "E871", "objective_curriculum.steps is missing: the seed needs a range for "
                "every unit", "objective_curriculum",
            )  # fmt: skip
            return
        if all(isinstance(k, int) and not isinstance(k, bool) for k in steps):
            self.integer_phases(steps, names)
            return
        if "mlm" not in units:
            self.error(
                "E870", "the seed needs a unit named mlm (ObjectiveCurriculum asserts it)",
                "objective_curriculum", "units",
            )  # fmt: skip
        self.range_phases(steps, names)

    def integer_phases(self, steps: Mapping, names: Mapping[str, str]) -> None:
        """The older ``steps: {0: mlm, 10000: pos}``: from each step on, these units."""
        phases = []
        for start in sorted(steps):
            value = steps[start]
            active = value if isinstance(value, list) else [value]
            terms = tuple(
                ast.Term(None, ast.Call(ast.Name(self.resolve(u, names)))) for u in active
            )
            phases.append(format_statement(ast.AtStmt(ast.Number(str(start)), terms)))
        self.sections["phases"].append(", ".join(phases))

    def resolve(self, name: Any, names: Mapping[str, str]) -> str:
        name = str(name)
        if name in names:
            return names[name]
        if name in ("mlm", "pos"):
            return name
        self.error(
            "E870",
            f"objective steps name unit {name!r}, which the config does not define",
            "objective_curriculum", "steps",
            hint=f"units: {', '.join(names) or 'none'}",
        )  # fmt: skip
        return name

    def range_phases(self, steps: Mapping, names: Mapping[str, str]) -> None:
        """``steps: {unit: [start, end]}`` → ``during start..end unit``, both ends
        included (the seed's ``start <= t / T <= end``), checked by the seed's rules."""
        ranges: dict[str, tuple[float, float]] = {}
        for unit, value in steps.items():
            where = ("objective_curriculum", "steps", unit)
            if str(unit) not in names:
                self.assumed.append(
                    f"objective_curriculum.steps.{unit} names no unit: the seed ignores it, "
                    "and so does this spec"
                )
                continue
            if not isinstance(value, list) or len(value) != 2:
                self.error("E871", f"steps.{unit} must be [start, end]", *where)
                continue
            low, high = self.fraction(value[0], *where), self.fraction(value[1], *where)
            if low is None or high is None:
                continue
            if not 0 <= low <= high <= 1:
                self.error(
                    "E871", f"steps.{unit}: the seed needs 0 <= start <= end <= 1, got {value}",
                    *where,
                )  # fmt: skip
                continue
            ranges[str(unit)] = (low, high)
        for unit in names:
            if unit not in steps:
                self.error(
                    "E871", f"unit {unit} has no steps range (the seed refuses the curriculum)",
                    "objective_curriculum", "steps",
                )  # fmt: skip
        if self.errors or not ranges:
            return
        if not seed_valid_steps(ranges):
            self.error(
                "E871",
                "the seed refuses these objective steps (ObjectiveCurriculum."
                "_is_valid_curriculum): sorted by start, each range must start at or before "
                "the previous one's end, until one reaches 1",
                "objective_curriculum", "steps",
            )  # fmt: skip
            return
        for unit, (low, high) in ranges.items():
            term = ast.Term(None, ast.Call(ast.Name(names[unit])))
            stmt = ast.DuringStmt(
                ast.Number(_percent(_decimal(low))), ast.Number(_percent(_decimal(high))), term
            )
            self.sections["phases"].append(_statement(stmt))

    # --- evaluation, outputs and the seed's fixed behaviour --------------------------

    def evaluation(self) -> None:
        """The seed evaluates every ``T // 8`` steps (eval_blimp, eval_perplexity) and,
        at the end, the best checkpoint on everything (train.py's ``eval_best``)."""
        trainer = self.get("trainer") or {}
        parts = 2 if self.dry_run else SEED_EVAL_PARTS
        every = self.every(parts)
        for key, name in (("eval_blimp", "blimp"), ("eval_perplexity", "ppl")):
            periodic = trainer.get(key) is True
            stmt = ast.EvalStmt(ast.Name(name), every=ast.Number(every) if periodic else None)
            self.sections["eval"].append(format_statement(stmt))
        for key, what in (("eval_glue", "GLUE"), ("eval_msgs", "MSGS")):
            when = "during training and " if trainer.get(key) is True else ""
            self.not_carried.append(
                f"trainer.{key}: {trainer.get(key)!r} (the seed fine-tunes on {what} "
                f"{when}at the end, on its best checkpoint, always; curriculumc has no "
                "fine-tuning evaluation: run the BabyLM pipeline on the saved model)"
            )
        if self.steps:
            log = max(1, self.steps // (100 if self.dry_run else SEED_LOG_PARTS))
            self.sections["output"].append(f"log every {number_text(log)}")
            self.sections["output"].append(f"checkpoint every {every} keep {parts}")
        self.not_carried.append(
            "the seed's evaluation before the first step and its final choice of model: it "
            "keeps the checkpoint with the lowest eval perplexity (load_best_model_at_end) "
            "and evaluates that; curriculumc's final model is the last step's"
        )

    def seed_system(self) -> None:
        """What the seed does whatever its config says, and curriculumc does otherwise."""
        section = self.get("objective_curriculum") or {}
        if section:
            self.not_carried.append(
                "the seed's MLM head: a separate RobertaPreLayerNormLMHead (its own decoder "
                "matrix, not tied to the input embeddings; tie_word_embeddings: false), "
                "trained by its unit's own AdamW; curriculumc's mlm uses the model's LM head, "
                "tied to the input embeddings, and `lr` sets its untied weights"
            )
            self.not_carried.append(
                "the seed's optimizers: the backbone's is the HF Trainer's AdamW (betas 0.9/"
                "0.999, eps 1e-8, weight decay 0, gradients clipped at 1.0) and each unit "
                "head has its own transformers AdamW (betas 0.9/0.999, eps 1e-6, weight decay "
                "0, no clipping); curriculumc has one AdamW (betas 0.9/0.98, eps 1e-6) with a "
                "learning rate per head, `decay 0` for all, and clips all gradients together"
            )
            self.not_carried.append(
                "the seed's unit schedules step one step early: its TaskTrainerCallback runs "
                "after global_step += 1 and steps the units active at step t + 1, so a unit "
                "that starts after step 0 has its scheduler advanced once before its first "
                "step (its k-th active step uses the schedule's value for k + 1), and a unit "
                "that ends before the last step never applies its last step's gradient to its "
                "head; the schedule spans int(T * (end - start)) steps while the unit is "
                "active for every step with start <= t/T <= end. curriculumc's head schedule "
                "counts the unit's own active steps from 0 (Plan.head_lr): at most one step "
                "of the warm-up and decay apart"
            )
        if self.vocab_order in ("pos_tags", "pos_tags_and_token_ids") and self.has_pos:
            self.not_carried.append(
                "the seed's vocabulary map also rewrites POS class labels: at positions of a "
                "hidden tag it replaces a labels_pos_* class number above its highest special "
                "token id with the <unk> id (a wrong POS class); curriculumc leaves POS "
                "targets as they are"
            )
        if self.has_pos:
            self.not_carried.append(
                "the seed's POS tags are the cambridge-climb/BabyLM dataset's tagged_text; "
                "curriculumc's come from the data's pos column or its tagger (data option "
                "pos_format)"
            )

    def leftovers(self) -> None:
        known = {*GROUPS, "trainer", "experiment", "data_preprocessing"}
        for key in sorted(set(self.config.data) - known):
            self.not_carried.append(
                f"{key}: {self.config.data[key]!r} (not a key of the seed's config)"
            )
        experiment = self.get("experiment") or {}
        consequences = {
            "name": "a run name: curriculumc names runs by their folder",
            "group": "the seed's wandb project and hub repository name",
            "offline_run": "offline: the seed then neither logs to wandb nor pushes to the "
            "hub; curriculumc does neither unless asked (`log wandb project`, `push to hub`)",
            "resume_checkpoint_path": "resume with `curriculumc run --resume`",
            "resume_run_id": "the wandb run to resume",
        }
        for key in sorted(set(experiment) - {"seed", "dry_run"}):
            self.not_carried.append(
                f"experiment.{key}: {experiment[key]!r} ({consequences.get(key, 'not read by the seed')})"
            )
        if not experiment.get("offline_run"):
            self.not_carried.append(
                "the seed's online run: wandb logging (entity baby-lm, project = "
                "experiment.group) and a hub push of every checkpoint; curriculumc logs to "
                "metrics.jsonl (add `log wandb project NAME` / `push to hub org/name`)"
            )
        for key in sorted(set(self.get("data_preprocessing") or {}) - {
            "max_input_length", "join_sentences", "include_punctuation", "callback_functions"
        }):  # fmt: skip
            self.not_carried.append(
                f"data_preprocessing.{key}: {self.get('data_preprocessing', key)!r} (not read by the seed)"
            )


def _check_devices(devices: int | None) -> None:
    if devices is not None and (
        isinstance(devices, bool) or not isinstance(devices, int) or devices <= 0
    ):
        raise CurriculumError.single("E864", f"devices must be a positive integer, not {devices!r}")


def convert_climb(
    config: _Config,
    *,
    source: str = "",
    data: str | None = None,
    sources: Sequence[str] | None = None,
    devices: int | None = None,
) -> ClimbImport:
    """Spec text for a composed seed config (see :func:`read_climb_config`).

    ``data`` replaces the seed's dataset (a path or name written into ``data "..."``);
    ``sources`` gives the order of sources for a ``data_split`` curriculum; ``devices`` is
    the number of devices the seed's per-device ``trainer.batch_size`` is multiplied by
    (default :data:`CLIMB_DEVICES`, noted as assumed). Raises :class:`CurriculumError`
    (E863-E871) listing every problem found.
    """
    _check_devices(devices)
    return _Converter(config, data=data, sources=sources, devices=devices).convert(source)


def import_climb(
    path: str | Path,
    overrides: Sequence[str] = (),
    *,
    data: str | None = None,
    sources: Sequence[str] | None = None,
    devices: int | None = None,
) -> ClimbImport:
    """Read a seed config folder or file with Hydra-style ``overrides`` (``group=option``,
    ``key.path=value``; see :func:`read_climb_config`) and convert it (:func:`convert_climb`)."""
    _check_devices(devices)
    config = read_climb_config(path, overrides)
    source = " ".join([str(path), *overrides])
    return convert_climb(config, source=source, data=data, sources=sources, devices=devices)
