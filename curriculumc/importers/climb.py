"""Import a curriculum from the seed system (Cambridge BabyLM 2023, "CLIMB") as a ``.cur`` spec.

The seed system configured curricula as Hydra config groups::

    conf/config.yaml                  defaults: [dataset: x, model: y, tokenizer: z,
                                                 data_curriculum: d, vocabulary_curriculum: v,
                                                 objective_curriculum: o] + trainer: {...}
    conf/data_curriculum/d.yaml       difficulty_scorer_name, difficulty_scorer_kwargs,
                                      pacing_fn_name, pacing_fn_kwargs
    conf/vocabulary_curriculum/v.yaml vocabulary_curriculum_name + the same pacing keys
    conf/objective_curriculum/o.yaml  defaults: [units: [mlm, pos_noun_verb]]; steps: ...
    conf/objective_curriculum/units/pos_noun_verb.yaml
                                      pos_noun_verb: {task_head_params, optimizer_params,
                                        scheduler_params, optional_kwargs: {pos_tags, ...}}
                                      (settings under the unit's name: Hydra merges every
                                      listed unit file into ``units``)

:func:`read_climb_config` composes such a folder the way Hydra would, with the compiler's
own resolution (:func:`curriculumc.lang.compose.compose_nodes` by :data:`SEED_RULES`: each
chosen group file lands under its group's key, the file's own keys where ``_self_`` is
listed -- last by default --, a group chosen as ``null`` is absent; nested ``defaults``
resolve inside the group's folder). :func:`convert_climb` turns the composed config into
spec text that means the same, built as syntax-tree nodes and written by
:mod:`curriculumc.lang.printer`:

- pacing: the pool stays at ``starting_difficulty`` (S) until ``start_percent`` of
  ``max_training_steps`` and reaches ``max_difficulty`` (E) at ``end_percent``, which is
  exactly ``pace FN from S to E after T over N`` with T = start_percent·steps and
  N = (end_percent − start_percent)·steps;
- the data pool: the seed keeps every example whose score is at or below
  ``np.percentile(scores, 100·p)`` (``remove_scores_above_max_difficulty``: ties
  included), which is ``ties include`` on the data ``pace``; its curriculum sampler draws
  every batch afresh from that pool (``torch.multinomial`` per batch, without replacement
  only within it), which is ``sample with replacement``; and uniformly only with
  ``uniform_sampling: true`` (every config the seed ships), which is what curriculumc does;
  without a data curriculum the seed trains with the HF Trainer's shuffled epochs, which
  is curriculumc's default;
- scorers: ``ngram_perplexity(n_gram=k)`` → ``ngram_ppl(n=k)`` (in-sample, as the seed
  scores), ``self_perplexity(update=u)`` → ``model_ppl(every=u, first=u)`` (the seed
  scores first at step u: before it, ``n_gram: 0`` gives every example the same score,
  all data uniformly), ``data_split`` → ``source(...)`` in the order of the seed's tables
  (:data:`DATA_SPLIT_SPOKEN_FIRST` / :data:`DATA_SPLIT_GRAMMATICAL_FIRST`; sources the seed
  ranks equally get consecutive ranks, which is reported);
- ``trainer.batch_size`` is per device: the global ``batch`` is it × ``devices``
  (:data:`CLIMB_DEVICES` unless given, and said in the ``# assumed:`` notes);
- objective ``steps: {unit: [start, end]}`` (overlapping ranges train several units at
  once) become ``at`` phases at every range boundary with the units active there; the
  older ``steps: {0: mlm, 10000: pos}`` maps one to one;
- units become ``unit`` statements (``pos(noun, verb, mask=40%, mask_other=15%)``).

Whatever cannot be carried over is listed in :attr:`ClimbImport.not_carried` and written
into the spec as ``# not carried over:`` comments; assumptions the mapping makes are
listed the same way (``# assumed:``). Error codes E861-E889 (and E003/E004/E171 for files that cannot be read).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curriculumc.errors import CurriculumError, Diagnostic, Span
from curriculumc.lang import ast
from curriculumc.lang.compose import DefaultsRules, compose_nodes
from curriculumc.lang.printer import format_statement, number_text, percent_text
from curriculumc.lang.yaml_nodes import construct, node_span, plain_data, yaml_errors
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
#: our ``mlm`` masks this share by default, as the seed's units do
MLM_DEFAULT_MASK = 0.15
#: the seed's pacing defaults (its ``get_pacing_fn`` signature)
PACING_DEFAULTS = {"start_percent": 0.0, "starting_difficulty": 0.2, "max_difficulty": 1.0}

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

#: the seed's model names → our presets
MODEL_NAMES = {
    "roberta_pre_layer_norm": "roberta-small",
    "roberta": "roberta-small",
    "gpt2": "gpt-small",
}
#: the seed's ``model_kwargs`` names → our preset fields (checked against the preset)
MODEL_KWARGS = {
    "num_hidden_layers": "layers",
    "num_attention_heads": "heads",
    "hidden_size": "hidden",
    "intermediate_size": "ffn",
}
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
        return construct(node)


def _plain(root) -> tuple[dict, dict[tuple, Span]]:
    """Plain data of a composed node tree (keys as YAML reads them: ``0:`` is the number 0)
    and the span of every mapping key written in a file, by key path."""
    where: dict[tuple, Span] = {}

    def remember(path: tuple, key_node, node) -> None:
        if key_node is not None and key_node.source is not None:
            where[path] = node_span(key_node)

    data = plain_data(root, key=_value, scalar=_value, visit=remember) if root is not None else {}
    return data, where


def read_climb_config(path: str | Path) -> _Config:
    """Compose a seed-system config: a folder holding ``config.yaml``, or a config file
    (its folder is the config folder). Raises :class:`CurriculumError` (E004, E861-E862)."""
    path = Path(path)
    if path.is_dir():
        file = path / "config.yaml"
        if not file.is_file():
            candidates = sorted(path.glob("*.yaml"))
            if len(candidates) != 1:
                raise CurriculumError.single(
                    "E004", f"no config.yaml in '{path}'", hint="name the config file itself"
                )
            file = candidates[0]
    elif path.is_file():
        file = path
    else:
        raise CurriculumError.single("E004", f"cannot read '{path}': No such file or directory")
    root, _, _ = compose_nodes(file, SEED_RULES, config_dir=file.parent)
    data, where = _plain(root)
    return _Config(data, where, file.parent)


# ------------------------------------------------------------------------------ converting


def _number(value) -> str:
    # the seed's settings are numbers, or number text YAML 1.1 reads as a string (1e-3)
    return number_text(int(value) if float(value).is_integer() else float(value))


def _call(name: str, **keywords) -> ast.Call:
    """``name(k=v)`` with the keywords that are not None, each value as the seed wrote it."""
    args = tuple(
        ast.Arg(ast.Name(k), ast.Number(str(v))) for k, v in keywords.items() if v is not None
    )
    return ast.Call(ast.Name(name), args)


def _names(names) -> tuple[ast.Term, ...]:
    """``a + b``: objectives or units of one phase, each with weight 1."""
    return tuple(ast.Term(None, ast.Call(ast.Name(str(n)))) for n in names)


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
        self.lines: list[str] = []
        self.not_carried: list[str] = []
        self.assumed: list[str] = []
        self.errors: list[Diagnostic] = []
        self.steps = 0

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
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            self.error("E864", f"{'.'.join(map(str, path))} must be a number", *path)
            return None
        return float(value)

    def to_steps(self, fraction: float, what: str) -> int:
        exact = fraction * self.steps
        steps = round(exact)
        if abs(exact - steps) > 1e-6:
            self.assumed.append(
                f"{what}: {fraction:g} of {self.steps} steps is {exact:g}; rounded to {steps}"
            )
        return steps

    # --- sections --------------------------------------------------------------------

    def convert(self, source: str) -> ClimbImport:
        self.train()
        self.model()
        self.dataset()
        self.tokenizer()
        if self.errors and any(d.code == "E863" for d in self.errors):
            raise CurriculumError(self.errors)
        self.data_curriculum()
        self.vocabulary_curriculum()
        self.objective_curriculum()
        self.leftovers()
        if self.errors:
            raise CurriculumError(self.errors)
        header = [
            f"# imported from the seed system (CLIMB) config {source}",
            "# by `curriculumc import climb`; check the notes at the end.",
        ]
        footer: list[str] = []
        if self.assumed:
            footer += ["", "# assumed:"] + [f"#   - {a}" for a in self.assumed]
        if self.not_carried:
            footer += ["", "# not carried over:"] + [f"#   - {n}" for n in self.not_carried]
        text = "\n".join([*header, *self.lines, *footer]) + "\n"
        return ClimbImport(text, tuple(self.not_carried), tuple(self.assumed), source)

    def train(self) -> None:
        trainer = self.get("trainer", default={}) or {}
        steps = trainer.get("max_training_steps")
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
        for key, name in (("lr", "lr"), ("num_warmup_steps", "warmup")):
            if key in trainer:
                parts.append(f"{name} {_number(trainer[key])}")
        seq = self.get("data_preprocessing", "max_input_length")
        if seq is not None:
            parts.append(f"seq {_number(seq)}")
        seed = self.get("experiment", "seed")
        if seed is not None:
            parts.append(f"seed {_number(seed)}")
        self.lines.append("train " + ", ".join(parts))
        handled = {"max_training_steps", "batch_size", "lr", "num_warmup_steps"}
        for key in sorted(set(trainer) - handled):
            if key == "eval_blimp" and trainer[key]:
                self.lines.append(format_statement(ast.EvalStmt(ast.Name("blimp"))))
                continue
            if key == "eval_blimp":
                continue
            self.not_carried.append(f"trainer.{key}: {trainer[key]!r}")

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
        preset = MODEL_NAMES.get(name) or (name if name in MODEL_PRESETS else None)
        if preset is None:
            preset = "roberta-small"
            self.assumed.append(f"model '{name}' has no preset here; used roberta-small")
        line = format_statement(ast.ModelStmt(ast.Name(preset)))
        differs = []
        for key, value in sorted((model.get("model_kwargs") or {}).items()):
            ours = MODEL_PRESETS[preset].get(MODEL_KWARGS.get(key, ""), None)
            if key == "vocab_size":
                continue  # the tokenizer line carries it
            if ours is None or ours != value:
                differs.append(f"{key}={value}")
        if differs:
            self.not_carried.append(
                f"model_kwargs {', '.join(differs)} (the preset {preset} is used as it is)"
            )
        self.lines.insert(0, line)

    def dataset(self) -> None:
        dataset = self.get("dataset") or {}
        packed = bool(self.get("data_preprocessing", "join_sentences"))
        if self.data_override:
            source = ast.String(self.data_override)
            self.lines.insert(1, format_statement(ast.DataStmt("path", source, packed=packed)))
            if dataset:
                self.not_carried.append(
                    f"dataset {dataset.get('name')!r} (replaced by {self.data_override!r})"
                )
            return
        if not dataset:
            return
        hub = ast.String(str(dataset.get("name", "")))
        self.lines.insert(1, format_statement(ast.DataStmt("hub", hub, packed=packed)))
        if dataset.get("subconfig"):
            self.not_carried.append(
                f"dataset.subconfig {dataset['subconfig']!r} (a hub configuration name; "
                "point `data` at a local copy of that subset)"
            )
        for key in ("include_punctuation",):
            value = self.get("data_preprocessing", key)
            if value is not None:
                self.not_carried.append(f"data_preprocessing.{key}: {value!r}")

    def tokenizer(self) -> None:
        tokenizer = self.get("tokenizer")
        vocab = self.get("model", "model_kwargs", "vocab_size")
        if not tokenizer and vocab is None:
            return
        size = int(vocab) if isinstance(vocab, int) else 8192
        size_text = ast.Number(number_text(size))
        self.lines.append(format_statement(ast.TokenizerStmt(ast.Name("bpe"), size_text)))
        if tokenizer and tokenizer.get("name"):
            self.not_carried.append(
                f"tokenizer {tokenizer['name']!r} (a pretrained tokenizer; a byte-level BPE "
                f"of {size} is trained on the data instead)"
            )

    def pacing(self, section: str, what: str, target: str) -> ast.PaceStmt | None:
        """``pace``/``vocab`` (``target`` data/vocab) ``FN from S to E after T over N`` of a
        section's pacing, or None for none."""
        name = self.get(section, "pacing_fn_name")
        if name in (None, "none", "None"):
            return None
        if not isinstance(name, str) or name not in PACING_FUNCTIONS:
            self.error(
                "E865",
                f"unknown pacing function {name!r}",
                section, "pacing_fn_name",
                hint=f"the seed's functions are {', '.join(PACING_FUNCTIONS)}",
            )  # fmt: skip
            return None
        kwargs = {**PACING_DEFAULTS, **(self.get(section, "pacing_fn_kwargs") or {})}
        for key in sorted(set(kwargs) - {*PACING_DEFAULTS, "end_percent"}):
            if key == "growth_rate_c" and kwargs[key] == 10:
                continue  # our exp/log use the seed's default growth rate, 10
            self.not_carried.append(f"{section}.pacing_fn_kwargs.{key}: {kwargs[key]!r}")
        if "end_percent" not in kwargs:
            self.error(
                "E864", f"{section}.pacing_fn_kwargs.end_percent is missing", section,
                hint="the share of training at which the pool reaches max_difficulty",
            )  # fmt: skip
            return None
        where = (section, "pacing_fn_kwargs")
        start_p = self.fraction(kwargs["start_percent"], *where, "start_percent")
        end_p = self.fraction(kwargs["end_percent"], *where, "end_percent")
        low = self.fraction(kwargs["starting_difficulty"], *where, "starting_difficulty")
        high = self.fraction(kwargs["max_difficulty"], *where, "max_difficulty")
        if None in (start_p, end_p, low, high):
            return None
        if not 0 <= start_p <= end_p:
            self.error(
                "E864", "pacing needs 0 <= start_percent <= end_percent", *where, "end_percent"
            )
            return None
        after = self.to_steps(start_p, f"{what} pacing start")
        over = self.to_steps(end_p, f"{what} pacing end") - after
        schedule = ast.Schedule(
            start=ast.Number(percent_text(low)),
            over=ast.Number(number_text(over)),
            end=ast.Number(percent_text(high)) if high != 1.0 else None,
            after=ast.Number(number_text(after)) if after else None,
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
        sort = None
        if scorer == "ngram_perplexity":
            n = kwargs.pop("n_gram", None)
            sort = _call("ngram_ppl", n=n)
            if "update" in kwargs:
                self.not_carried.append(
                    f"difficulty_scorer_kwargs.update: {kwargs.pop('update')!r} (n-gram scores "
                    "are computed once)"
                )
        elif scorer == "self_perplexity":
            # the seed scores with the model at every multiple of `update` after step 0;
            # before that, n_gram: 0 gives all examples the same score (all data, uniformly)
            update = kwargs.pop("update", None)
            sort = _call("model_ppl", every=update or None, first=update or None)
            n = kwargs.pop("n_gram", None)
            if n:
                first = f"step {update}" if update else "its first scoring"
                self.not_carried.append(
                    f"self_perplexity's initial {n}-gram scoring before the first model "
                    f"scoring (model_ppl draws all data uniformly until {first})"
                )
        elif scorer == "data_split":
            spoken_first = kwargs.pop("spoken_first", True)
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
        elif scorer:
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
        for key, value in sorted(kwargs.items()):
            self.not_carried.append(f"difficulty_scorer_kwargs.{key}: {value!r}")
        pace = self.pacing("data_curriculum", "data", "data")
        if sort:
            self.lines.append(format_statement(ast.SortStmt((ast.Term(None, sort),))))
        self.lines.append(format_statement(pace or ast.PaceStmt("data", ast.Name("none"))))
        # the seed's curriculum sampler draws every batch afresh from the pool
        # (torch.multinomial per batch): with replacement across steps, not in epochs
        self.lines.append("train sample with replacement")

    def vocabulary_curriculum(self) -> None:
        section = self.get("vocabulary_curriculum")
        if not section:
            return
        name = section.get("vocabulary_curriculum_name")
        pace = self.pacing("vocabulary_curriculum", "vocabulary", "vocab")
        if name in ("token_ids", "pos_tags_and_token_ids"):
            if pace:
                self.lines.append(format_statement(pace))
            if name == "pos_tags_and_token_ids":
                self.not_carried.append(
                    "vocabulary curriculum by POS tags (the POS part of pos_tags_and_token_ids; "
                    "the token-id part is carried over as `vocab`)"
                )
        elif name == "pos_tags":
            self.not_carried.append(
                "vocabulary curriculum by POS tags (pos_tags): curriculumc's vocab curriculum "
                "releases token ids lowest first only"
            )
        else:
            self.error(
                "E867",
                f"unknown vocabulary curriculum {name!r}",
                "vocabulary_curriculum", "vocabulary_curriculum_name",
                hint="the seed's are token_ids, pos_tags, pos_tags_and_token_ids",
            )  # fmt: skip

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

    def unit_call(self, name: str, unit: Mapping, where: tuple) -> ast.Call | None:
        """The objective call of a unit, or None when the unit is plain ``mlm``."""
        optional = dict(unit.get("optional_kwargs") or {})
        consequence = {
            "optimizer_params": "every unit trains with the trainer's optimizer and lr here; "
            "per-unit learning rates are a later change",
            "scheduler_params": "every unit follows the trainer's lr schedule here",
            "task_head_params": "the task head is curriculumc's own for the objective",
        }
        for key in ("task_head_params", "optimizer_params", "scheduler_params"):
            if unit.get(key):
                self.not_carried.append(
                    f"unit {name}: {key} {dict(unit[key])!r} ({consequence[key]})"
                )
        for key in sorted(set(unit) - UNIT_KEYS):
            self.not_carried.append(f"unit {name}: {key}: {unit[key]!r}")
        args: list[ast.Arg] = []

        def share(key: str, fraction) -> None:
            args.append(ast.Arg(ast.Name(key), ast.Number(percent_text(fraction))))

        if "pos_tags" in optional or name.startswith("pos"):
            objective = "pos"
            for tag in optional.pop("pos_tags", None) or ():
                args.append(ast.Arg(None, ast.Name(self.tag(str(tag), name))))
            if "mask_probability_pos" in optional:
                share("mask", optional.pop("mask_probability_pos"))
            if "mask_probability_other" in optional:
                share("mask_other", optional.pop("mask_probability_other"))
        elif name.startswith("mlm") or "mask_probability" in optional:
            objective = "mlm"
            mask = optional.pop("mask_probability", MLM_DEFAULT_MASK)
            if mask != MLM_DEFAULT_MASK:
                share("mask", mask)
        elif name in ("clm", "causal_lm"):
            objective = "clm"
        else:
            self.error(
                "E868",
                f"objective unit {name!r} has no counterpart here",
                *where,
                hint="curriculumc's objectives are mlm, clm, pos",
            )  # fmt: skip
            return None
        for key, value in sorted(optional.items()):
            self.not_carried.append(f"unit {name}: optional_kwargs.{key}: {value!r}")
        if not args and name == objective:
            return None  # the plain objective: no unit statement needed
        return ast.Call(ast.Name(objective), tuple(args))

    def tag(self, tag: str, unit: str) -> str:
        upper = tag.upper()
        if upper not in UNIVERSAL_TAGS:
            mapped = UD_TO_UNIVERSAL.get(upper)
            if mapped is None:
                self.error("E869", f"unit {unit}: unknown POS tag {tag!r}", "objective_curriculum")
                return tag.lower()
            self.assumed.append(f"unit {unit}: POS tag {tag} read as universal {mapped}")
            upper = mapped
        return _TAG_SPELLING[upper]

    def objective_curriculum(self) -> None:
        section = self.get("objective_curriculum")
        if not section:
            return
        names: dict[str, str] = {}
        for name, (unit, where) in self.units(section.get("units") or {}).items():
            call = self.unit_call(name, unit, where)
            names[name] = name
            if call is not None:
                self.lines.append(format_statement(ast.UnitStmt(ast.Name(name), call)))
        steps = section.get("steps")
        if not steps:
            return
        keys = list(steps)
        if all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
            phases = self.integer_phases(steps, names)
        else:
            phases = self.range_phases(steps, names)
        if phases:  # the one-line form: the phases read as one timeline
            self.lines.append(", ".join(format_statement(p) for p in phases))
        for key in sorted(set(section) - {"units", "steps"}):
            self.not_carried.append(f"objective_curriculum.{key}: {section[key]!r}")

    def resolve(self, name: Any, names: Mapping[str, str]) -> str:
        name = str(name)
        if name in names:
            return names[name]
        if name in ("mlm", "clm", "pos"):
            return name
        self.error(
            "E870",
            f"objective steps name unit {name!r}, which the config does not define",
            "objective_curriculum", "steps",
            hint=f"units: {', '.join(names) or 'none'}",
        )  # fmt: skip
        return name

    def integer_phases(self, steps: Mapping, names: Mapping[str, str]) -> list[ast.AtStmt]:
        phases = []
        for start in sorted(steps):
            value = steps[start]
            active = value if isinstance(value, list) else [value]
            terms = _names(self.resolve(u, names) for u in active)
            phases.append(ast.AtStmt(ast.Number(str(start)), terms))
        return phases

    def range_phases(self, steps: Mapping, names: Mapping[str, str]) -> list[ast.AtStmt]:
        ranges: list[tuple[str, float, float]] = []
        for unit, value in steps.items():
            where = ("objective_curriculum", "steps", unit)
            if not isinstance(value, list) or len(value) != 2:
                self.error("E871", f"steps.{unit} must be [start_fraction, end_fraction]", *where)
                continue
            low = self.fraction(value[0], *where)
            high = self.fraction(value[1], *where)
            if low is None or high is None:
                continue
            if not 0 <= low < high:
                self.error("E871", f"steps.{unit}: need 0 <= start < end, got {value}", *where)
                continue
            ranges.append((self.resolve(unit, names), low, high))
        if not ranges:
            return []
        # a unit is active on [start, end): the boundaries are every start and end
        cuts = sorted({0.0, *(r[1] for r in ranges), *(r[2] for r in ranges)})
        phases: list[ast.AtStmt] = []
        previous: tuple[str, ...] | None = None
        for cut in cuts:
            if cut >= 1.0:
                break
            active = tuple(u for u, low, high in ranges if low <= cut < high)
            if not active:
                end = next((c for c in cuts if c > cut), 1.0)
                self.not_carried.append(
                    f"no objective is active from {percent_text(cut)} to "
                    f"{percent_text(min(end, 1.0))} "
                    "of training; " + ("the first phase starts at 0 instead" if previous is None
                                       else "the previous phase continues")
                )  # fmt: skip
                if previous is None:
                    continue
                active = previous
            if active == previous:
                continue
            if previous is None and cut > 0:
                cut = 0.0
            phases.append(ast.AtStmt(ast.Number(self.when(cut)), _names(active)))
            previous = active
        return phases

    def when(self, fraction: float) -> str:
        """A phase start: ``0``, ``50%`` when exact in steps, else steps rounded up."""
        if fraction == 0:
            return "0"
        exact = fraction * self.steps
        if abs(exact - round(exact)) < 1e-9:
            return percent_text(fraction)
        # the seed's rule is "active from step >= fraction * steps": the first such step
        self.assumed.append(
            f"an objective range boundary at {fraction:g} of {self.steps} steps starts at step "
            f"{math.ceil(exact)}"
        )
        return str(math.ceil(exact))

    def leftovers(self) -> None:
        known = {*GROUPS, "trainer", "experiment", "data_preprocessing"}
        for key in sorted(set(self.config.data) - known):
            self.not_carried.append(f"{key}: {self.config.data[key]!r}")
        experiment = self.get("experiment") or {}
        for key in sorted(set(experiment) - {"seed", "name", "group"}):
            self.not_carried.append(f"experiment.{key}: {experiment[key]!r}")
        for key in sorted(set(self.get("data_preprocessing") or {}) - {
            "max_input_length", "join_sentences", "include_punctuation"
        }):  # fmt: skip
            self.not_carried.append(
                f"data_preprocessing.{key}: {self.get('data_preprocessing', key)!r}"
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
    *,
    data: str | None = None,
    sources: Sequence[str] | None = None,
    devices: int | None = None,
) -> ClimbImport:
    """Read and convert a seed config folder or file; see :func:`convert_climb`."""
    _check_devices(devices)
    config = read_climb_config(path)
    return convert_climb(config, source=str(path), data=data, sources=sources, devices=devices)
