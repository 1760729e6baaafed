"""The Plan: a compiled curriculum, the contract between compiler and runtime.

A Plan is frozen, versioned and round-trips through JSON. Its hash is the sha256 of its
canonical JSON (sorted keys, no spaces), so two specs that mean the same thing -- the
one-line DSL, the multi-line DSL, the YAML structured form -- have the same hash.

The runtime imports this module and never the parser: a Plan written by another tool
(JSON valid against the plan schema) runs the same.

The schedule methods (:meth:`Plan.data_fraction`, :meth:`Plan.objectives`,
:meth:`Plan.vocab_fraction`) are pure functions of the step. The trainer, ``plot``,
``explain`` and ``simulate`` all call these; there is no second implementation.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace

from curriculumc.pacing import paced_fraction
from curriculumc.presets import FAMILY_OBJECTIVE

PLAN_VERSION = 3

Scalar = typing.Union[str, int, float, bool, None]  # noqa: UP007 (used at run time)
#: a field holding ``((key, value), ...)``; serialised as a JSON object
MAPPING = {"mapping": True}
#: a field holding a number of steps that may be fractional (an exact share of training):
#: a whole number is stored as an int, so ``2000`` and ``10%`` of 20,000 hash the same
STEPS = {"steps": True}
#: a field left out of the plan's JSON while it holds its default, so that adding it kept
#: every earlier plan's JSON and hash (``Pace.stages``: a one-stage pace writes no stages)
OMIT_DEFAULT = {"omit_default": True}
#: a field that is not part of the plan's JSON at all (the clock a resolved plan carries)
TRANSIENT = {"transient": True, "omit_default": True}


def steps_number(value: float) -> int | float:
    """``value`` as a plan stores a step count: an int when whole, else the float."""
    if isinstance(value, bool):
        raise TypeError("a step count is a number, not a boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: the units a time may be written in besides optimizer steps (``2M words``, ``3 epochs``)
TIME_UNITS = ("words", "tokens", "epochs")


@dataclass(frozen=True)
class Time:
    """A time counted in the data a run draws rather than in optimizer steps: ``2M words``,
    ``500k tokens``, ``3 epochs``. It resolves to the first step count by which the run has
    drawn that much (:meth:`Clock.step_of`): words and tokens as the trainer counts them
    seen (``TokenizedCorpus.text_words`` / ``text_tokens``), an epoch as many examples
    drawn as the corpus has. The draws are a pure function of the plan and the data, so
    the step is too: :meth:`Plan.resolve` computes every one before training."""

    value: float
    unit: str  # one of TIME_UNITS

    def __post_init__(self):
        object.__setattr__(self, "value", steps_number(self.value))

    def text(self) -> str:
        """``2M words``, ``500k tokens``, ``1,234,567 words``, ``2.5 epochs``."""
        return f"{count_text(self.value)} {self.unit}"


def count_text(value: float) -> str:
    """A count as people write it: ``2M``, ``500k``, ``1,234,567``, ``2.5``."""
    if isinstance(value, int) or float(value).is_integer():
        number = int(value)
        for size, suffix in ((1_000_000, "M"), (1_000, "k")):
            if number >= size and number % (size // 10) == 0:  # 1.5M, 250k
                return f"{number / size:,g}{suffix}"
        return f"{number:,}"
    return f"{value:g}"


def is_time(value) -> bool:
    """Whether ``value`` is a :class:`Time` (a count of data, not of steps)."""
    return isinstance(value, Time)


class Clock:
    """What a run has drawn before each of its steps: ``examples[t]``, ``words[t]`` and
    ``tokens[t]`` are the totals of steps ``0 .. t - 1`` (so index 0 holds 0), for ``t`` up
    to :attr:`steps`. The sampler makes it by replaying its draws
    (``curriculumc.runtime.ordering.clock``); :meth:`Plan.resolve` reads it. ``n_examples``
    is the corpus's size: an epoch is that many examples drawn.
    """

    def __init__(
        self,
        examples: Sequence[int],
        words: Sequence[int],
        tokens: Sequence[int],
        n_examples: int,
    ):
        if not len(examples) == len(words) == len(tokens) >= 1:
            raise ValueError("a clock needs the same number (at least 1) of each reading")
        self.examples, self.words, self.tokens = examples, words, tokens
        self.n_examples = int(n_examples)

    @property
    def steps(self) -> int:
        """The last step count the clock knows (its readings cover 0 .. steps)."""
        return len(self.examples) - 1

    def _series(self, unit: str) -> Sequence[int]:
        if unit == "words":
            return self.words
        if unit == "tokens":
            return self.tokens
        if unit == "epochs":
            return self.examples
        raise ValueError(f"unknown time unit {unit!r}")

    def reading(self, unit: str, step: int) -> float:
        """How much has been drawn before ``step`` in ``unit`` (``steps``: ``step`` itself;
        ``epochs``: examples drawn / the corpus's examples). Raises ``ValueError`` for a
        step the clock does not cover."""
        if unit == "steps":
            return step
        if not 0 <= step <= self.steps:
            raise ValueError(f"the clock covers steps 0 to {self.steps}, not {step}")
        value = int(self._series(unit)[step])
        return value / max(self.n_examples, 1) if unit == "epochs" else value

    def step_of(self, time: Time) -> int | None:
        """The first step count ``t`` by which ``time`` has been drawn (``reading(t) >=
        value``): after ``t`` steps the run has drawn at least that much, after ``t - 1``
        less. None when the clock's last step has not reached it."""
        series = self._series(time.unit)
        target = time.value
        if time.unit == "epochs":  # whole examples: an epoch of N is N examples
            target = math.ceil(time.value * self.n_examples - 1e-9)
        target = math.ceil(target)
        t = bisect.bisect_left(series, target)
        return t if t <= self.steps else None


@dataclass(frozen=True)
class ModelSpec:
    """``preset``: a name from :data:`curriculumc.presets.MODEL_PRESETS` or a config.json path."""

    preset: str = "roberta-small"
    family: str = "masked"  # "masked" | "causal"


@dataclass(frozen=True)
class DataSpec:
    """Where the training text comes from.

    ``kind``: ``"registered"`` (``source`` is a registered corpus name such as ``synth``),
    ``"path"`` (``source`` is an absolute path to a file or folder) or ``"hub"`` (a dataset
    id). ``options`` are the corpus's settings (e.g. ``words``, ``text_field``).
    ``unit``: ``"line"`` -- one example a line, truncated to ``seq`` -- or ``"packed"`` into
    ``seq``-token chunks.
    """

    source: str = "synth"
    kind: str = "registered"
    options: tuple[tuple[str, Scalar], ...] = field(default=(), metadata=MAPPING)
    unit: str = "line"


@dataclass(frozen=True)
class TokenizerSpec:
    """``kind``: ``"bpe"`` (train a byte-level BPE of ``vocab_size``) or ``"path"``."""

    kind: str = "bpe"
    vocab_size: int = 8192
    path: str | None = None


def batch_text(batch: int, unit: str) -> str:
    """A global batch in words: ``32 examples`` or ``4,096 tokens`` (the one wording)."""
    return f"{batch:,} {'tokens' if unit == 'tokens' else 'examples'}"


@dataclass(frozen=True)
class TrainSpec:
    """Optimisation settings; every time is in optimizer steps.

    ``batch`` is the global batch of an optimizer step, counted in ``batch_unit``:
    ``"examples"`` (a fixed number of examples) or ``"tokens"`` (a token budget: each step
    draws examples until the next would exceed ``batch`` tokens, like fairseq's
    ``--max-tokens``; tokens of text, each example cut to ``seq - 2``, without
    ``<s>``/``</s>`` or padding: the tokens a curriculum and its control are matched on).
    ``sampling``: ``"epochs"`` -- without replacement within an epoch over the released
    pool -- or ``"replacement"`` -- every step drawn afresh from the pool (distinct
    examples within a step), the rule of curriculumc before plan version 2.

    ``length`` (``train 2M words``, ``train 10 epochs``; None: ``steps`` is the length):
    train until the run has drawn that much -- ``steps`` is then 0 in the written plan and
    :meth:`Plan.resolve` sets it to the first step count that reaches ``length``.
    ``warmup`` is steps or, written in data (``warmup 100k words``), a :class:`Time`.
    """

    steps: int = 20000
    batch: int = 32
    batch_unit: str = "examples"  # "examples" | "tokens"
    sampling: str = "epochs"  # "epochs" | "replacement"
    seq: int = 128
    lr: float = 1e-3
    warmup: int | Time = 2000
    schedule: str = "linear"  # "linear" | "cosine" | "constant" decay after warmup
    seed: int = 42
    grad_accum: int = 1
    clip: float = 1.0
    weight_decay: float = 0.01
    length: Time | None = field(default=None, metadata=OMIT_DEFAULT)

    def batch_text(self) -> str:
        """The global batch in words: ``32 examples`` or ``4,096 tokens``."""
        return batch_text(self.batch, self.batch_unit)


@dataclass(frozen=True)
class ScorerTerm:
    """One difficulty scorer, e.g. ``ngram_ppl(n=3)``, with its weight in a combination."""

    name: str
    args: tuple[Scalar, ...] = ()
    kwargs: tuple[tuple[str, Scalar], ...] = field(default=(), metadata=MAPPING)
    weight: float = 1.0


@dataclass(frozen=True)
class SortSpec:
    """Order of the examples: by the (z-scored, weighted) sum of the terms' scores."""

    terms: tuple[ScorerTerm, ...] = ()
    descending: bool = False


@dataclass(frozen=True)
class PaceStage:
    """A follow-on stage of a staged pace: it starts where the stage before it ended --
    at that stage's end fraction, ``after`` steps (a pause; 0: none) after its end step --
    and runs the shape ``fn`` to ``end`` over ``over`` steps (the same shapes and the same
    whole-step rule as the first stage)."""

    fn: str
    end: float
    over: float = field(metadata=STEPS)
    after: float = field(default=0, metadata=STEPS)

    def __post_init__(self):
        object.__setattr__(self, "over", steps_number(self.over))
        object.__setattr__(self, "after", steps_number(self.after))


@dataclass(frozen=True)
class Pace:
    """A pacing schedule (for data or vocabulary); see :func:`curriculumc.pacing.paced_fraction`.

    ``fn == "none"`` means everything from step 0. ``start``/``end`` are fractions,
    ``after``/``over`` steps -- fractional when a share of training resolves to one (6.25%
    of 300 steps is 18.75; the ramp then lasts ``floor(over)`` steps, the seed system's
    rule) --, ``release`` a share of ``over`` after which everything is released (None: no
    release; the pool stays at ``end`` after the ramp).

    ``stages`` (a staged pace; empty for one stage, and then not written in the JSON):
    the stages after this first one, each starting where the one before it ended (see
    :class:`PaceStage`); the pool stays at the last stage's ``end`` after it. A staged pace
    has no ``release``. DeepSpeed's discrete form (``pace 10% from 0, 30% from 5k``) is a
    staged pace of ``step`` shapes.

    ``unit`` is what ``after`` and ``over`` (and the stages') count: ``steps``, or a
    :data:`TIME_UNITS` unit (``pace root from 10% over 50M words``) -- the pace is then a
    function of the words (tokens, epochs) drawn before the step rather than of the step:
    :meth:`fraction` takes that reading, the ramp is not cut to whole units, and a plan
    resolved against its data (:meth:`Plan.resolve`) reads it off its clock.

    ``ties`` (data pacing only) says which examples a fraction releases when scores tie
    at its edge: ``"random"`` -- exactly ``ceil(fraction * N)`` of the sorted examples,
    equal scores in a seeded random order (never file position) -- or ``"include"`` --
    the seed system's percentile rule: every example whose score is at or below the
    ``fraction`` percentile of the scores, ties included.
    """

    fn: str = "none"
    start: float = 1.0
    end: float = 1.0
    over: float = field(default=0, metadata=STEPS)
    after: float = field(default=0, metadata=STEPS)
    release: float | None = None
    ties: str = "random"  # "random" | "include"
    stages: tuple[PaceStage, ...] = field(default=(), metadata=OMIT_DEFAULT)
    unit: str = field(default="steps", metadata=OMIT_DEFAULT)

    def __post_init__(self):
        object.__setattr__(self, "over", steps_number(self.over))
        object.__setattr__(self, "after", steps_number(self.after))

    def stage_spans(self) -> tuple[tuple[str, float, float, float, float], ...]:
        """Every stage as ``(fn, start, end, begins, over)``: its shape, the fractions it
        runs from and to, the step it begins at (``after`` of the first; for a later one
        the end of the one before plus its pause) and its length in steps."""
        if self.fn == "none":
            return ()
        spans = [(self.fn, self.start, self.end, self.after, self.over)]
        for stage in self.stages:
            _, _, start, begins, over = spans[-1]
            spans.append((stage.fn, start, stage.end, begins + over + stage.after, stage.over))
        return tuple(spans)

    @property
    def final(self) -> float:
        """The fraction the pool stays at once every stage has run (1.0 for ``none``)."""
        if self.fn == "none":
            return 1.0
        return self.stages[-1].end if self.stages else self.end

    def fraction(self, step: float) -> float:
        """The released fraction at ``step`` -- in :attr:`unit`: the step, or the words
        (tokens, epochs) drawn before it (pure): the stage whose span holds ``step`` (the
        first until it ends, the last from its beginning on) decides."""
        whole = self.unit == "steps"
        if not self.stages:
            return paced_fraction(
                self.fn,
                step,
                start=self.start,
                over=self.over,
                end=self.end,
                after=self.after,
                release=self.release,
                whole=whole,
            )
        i = self.stage_at(step)
        fn, start, end, begins, over = self.stage_spans()[i]
        return paced_fraction(fn, step, start=start, over=over, end=end, after=begins,
                              release=self.release if i == 0 else None, whole=whole)  # fmt: skip

    def stage_at(self, step: int) -> int:
        """The index of the stage that decides the fraction at ``step``: the first whose
        end is after ``step``, else the last (0 for a one-stage pace)."""
        spans = self.stage_spans()
        for i, (_, _, _, begins, over) in enumerate(spans[:-1]):
            if step < begins + over:
                return i
        return max(0, len(spans) - 1)

    @property
    def release_at(self) -> float | None:
        """Where (in :attr:`unit`) the whole pool is released (None: never, or ``none``)."""
        if self.fn == "none":
            return None
        if self.stages:
            _, _, end, begins, over = self.stage_spans()[-1]
            return begins + over if end >= 1.0 else None
        if self.release is None:
            return self.after + self.over if self.end >= 1.0 else None
        return self.after + self.release * self.over

    @property
    def release_step(self) -> int | None:
        """The first step at which the whole pool is released (None: never, or ``none``);
        a pace counted in steps only (see :meth:`Plan.step_at` for the others)."""
        release = self.release_at
        # ceil: paced_fraction releases once step >= after + release * over
        return None if release is None else math.ceil(release)


#: the order in which a vocabulary curriculum releases tokens (the seed system's three)
VOCAB_ORDERS = ("token_ids", "pos_tags", "pos_tags_and_token_ids")
#: what a hidden token is hidden from: the model's inputs and its token targets (the seed
#: system's rule), or its inputs only (curriculumc before plan version 3)
VOCAB_HIDES = ("inputs_and_labels", "inputs")


@dataclass(frozen=True)
class VocabRule:
    """Which tokens a vocabulary fraction ``f`` shows, and where the others become ``<unk>``.

    ``order`` (V = the tokenizer's vocabulary size, r = a token's tag rank in
    :data:`curriculumc.pos_tags.VOCAB_TAG_ORDER`, 0 for NOUN to 11 for X):

    - ``token_ids``: a token is visible when ``id <= f * V`` (a BPE's lowest ids are its
      first merges, the most frequent pieces);
    - ``pos_tags``: when ``r <= f * 11`` -- nouns first, then verbs, adjectives, ...;
    - ``pos_tags_and_token_ids``: when ``id + r * V <= f * 11 * V`` -- tag by tag, and
      within a tag by id. (At ``f = 1`` an X-tagged token other than id 0 stays hidden:
      the seed system's rule, kept.)

    Special tokens are never hidden. ``hides``: ``inputs_and_labels`` -- a hidden token
    is ``<unk>`` in the model's input and as a token target (an MLM/CLM label), so that no
    objective asks for a token the model has not been shown; POS class targets are not
    tokens and stay -- or ``inputs`` (the inputs only).
    """

    order: str = "token_ids"
    hides: str = "inputs_and_labels"


@dataclass(frozen=True)
class Unit:
    """A named objective with its settings: ``unit pos_nv = pos(noun, verb, mask=40%)``.

    ``lr``: the learning rate of the unit's own head (for ``mlm``: the LM head's weights
    that are not tied to the input embeddings), on the seed system's per-unit schedule --
    linear warm-up over ``warmup`` (a share, default 10%) of the unit's own active steps,
    then linear decay to 0 at its last active step (see :meth:`Plan.head_lr`). None: the
    head trains with the backbone, at the run's learning rate and schedule.
    """

    name: str
    objective: str  # the registered objective: "mlm", "clm", "pos", ...
    args: tuple[Scalar, ...] = ()
    kwargs: tuple[tuple[str, Scalar], ...] = field(default=(), metadata=MAPPING)
    lr: float | None = None
    warmup: float | None = None  # share of the unit's active steps (None: 10% with lr)

    @property
    def head_warmup(self) -> float:
        """The warm-up share of the head's own schedule (meaningful with ``lr``)."""
        return DEFAULT_HEAD_WARMUP if self.warmup is None else self.warmup


#: a unit's head warm-up share when ``lr`` is given without ``warmup`` (the seed's
#: ``num_warmup_steps = task_num_steps // 10``)
DEFAULT_HEAD_WARMUP = 0.1


@dataclass(frozen=True)
class Phase:
    """From ``start`` on (until the next phase), train these units with these loss weights.
    ``start`` is a step, or a :class:`Time` (``at 5M words pos``) until resolved."""

    start: int | Time
    objectives: tuple[tuple[str, float], ...] = field(default=(), metadata=MAPPING)


@dataclass(frozen=True)
class MixPhase:
    """One phase of a data mixture (``mix 0.8 Sawyer + 0.2 Snow until 30%, then ...``):
    each source's share of every step's examples, normalised to sum to 1 (a source the
    phase does not name is not drawn in it), in force while what the run has drawn before
    the step is below ``until`` (in the mix's unit: a step count, or words, tokens or
    epochs); the last phase has no ``until``."""

    weights: tuple[tuple[str, float], ...] = field(default=(), metadata=MAPPING)
    until: int | float | None = field(default=None, metadata=OMIT_DEFAULT)

    def __post_init__(self):
        if self.until is not None:
            object.__setattr__(self, "until", steps_number(self.until))


@dataclass(frozen=True)
class Mix:
    """A data mixture over time: per-source sampling weights that change by phase. The
    sampler splits each step's batch into per-source counts whose running totals track
    the running totals of ``weight * batch`` (within one example), and each source draws
    its count from its own released examples (the pace's share of that source, in the
    sort's order) without replacement within its own epochs. ``unit``: what ``until``
    counts (``steps`` or a :data:`TIME_UNITS` unit drawn before the step)."""

    phases: tuple[MixPhase, ...] = ()
    unit: str = field(default="steps", metadata=OMIT_DEFAULT)

    @property
    def sources(self) -> tuple[str, ...]:
        """Every source some phase names, sorted by name: the order in which a step's
        batch concatenates its sources' draws (the same on every rank)."""
        return tuple(sorted({name for phase in self.phases for name, _ in phase.weights}))

    def phase_index(self, reading: float) -> int:
        """The phase in force when ``reading`` (steps, or data drawn before the step, in
        :attr:`unit`) has been reached: the first whose ``until`` is above it, else the
        last."""
        for index, phase in enumerate(self.phases):
            if phase.until is None or reading < phase.until:
                return index
        return len(self.phases) - 1

    def weights(self, reading: float) -> dict[str, float]:
        """``{source: share}`` of the phase in force at ``reading``, every source of the
        mix listed (0 for one the phase does not name), in :attr:`sources` order."""
        if not self.phases:
            return {}
        named = dict(self.phases[self.phase_index(reading)].weights)
        return {name: float(named.get(name, 0.0)) for name in self.sources}


#: the lengths of a sequence-length warmup are whole multiples of this (Composer's
#: ``step_size`` and DeepSpeed's seqlen ``difficulty_step``: 8, for tensor cores)
SEQ_MULTIPLE = 8


@dataclass(frozen=True)
class SeqWarmup:
    """Sequence-length warmup (``seq linear from 32 to 128 over 20%``): the most positions
    an input may have at each step -- ``<s>``, up to ``length - 2`` tokens of text,
    ``</s>``, as ``train.seq`` counts them -- rising from ``start`` to ``end``.

    The length at position ``x`` (:attr:`unit`: the step, or the words, tokens or epochs
    drawn before it, as a pace reads them) is ``start + (end - start) * g(p)`` -- ``g`` a
    pacing shape of :mod:`curriculumc.pacing`, ``p`` the progress of a ramp that holds
    until ``after`` and runs ``over`` (:func:`~curriculumc.pacing.paced_fraction`, the
    same whole-step rule) -- rounded down to a whole multiple of :attr:`multiple`
    (DeepSpeed's ``next_difficulty -= next_difficulty % difficulty_step``), and ``end``
    itself once the ramp is done (so an ``end`` that is no multiple, ``train.seq`` 100, is
    reached). ``start`` is a multiple and ``start <= end <= train.seq`` (the compiler's
    checks): ``train.seq`` stays the model's positions. An example longer than the step's
    length is truncated (Composer's default), never skipped.
    """

    fn: str
    start: int
    end: int
    over: float = field(metadata=STEPS)
    after: float = field(default=0, metadata=STEPS)
    unit: str = field(default="steps", metadata=OMIT_DEFAULT)
    multiple: int = field(default=SEQ_MULTIPLE, metadata=OMIT_DEFAULT)

    def __post_init__(self):
        object.__setattr__(self, "over", steps_number(self.over))
        object.__setattr__(self, "after", steps_number(self.after))

    def length(self, position: float) -> int:
        """The length at ``position`` (in :attr:`unit`); pure. Raises ``KeyError`` for an
        unknown shape (the compiler reports those first)."""
        share = paced_fraction(
            self.fn, position, start=0.0, over=self.over, end=1.0, after=self.after,
            whole=self.unit == "steps",
        )  # fmt: skip
        if share >= 1.0:
            return self.end
        value = self.start + (self.end - self.start) * share
        # (a slack: 40.0 computed as 39.9999999 still rounds to 40)
        rounded = math.floor(value / self.multiple + 1e-9) * self.multiple
        return int(min(self.end, max(self.start, rounded)))

    @property
    def ends_at(self) -> float:
        """Where (in :attr:`unit`) the length reaches :attr:`end`."""
        return self.after + self.over

    def text(self) -> str:
        """``linear from 32 to 128 over 2k steps`` (the plan's values, resolved)."""
        after = f" after {count_text(self.after)} {self.unit}" if self.after else ""
        return (f"{self.fn} from {self.start} to {self.end}{after} over "
                f"{count_text(self.over)} {self.unit}")  # fmt: skip


@dataclass(frozen=True)
class BatchRamp:
    """Batch-size ramp (``batch ramp from 8 to 32 by 8 over 10%``): Megatron's
    ``--rampup-batch-size <start> <increment> <ramp-up samples>``. The global batch of a
    step starts at ``start`` examples and grows by whole ``increment`` s to ``end`` (the
    plan's ``train.batch``): with ``n = (end - start) / increment`` increments spread
    evenly over ``over`` (:attr:`unit`: steps, or the words, tokens or epochs drawn before
    the step -- an epoch of ``N`` examples drawn is Megatron's ``N`` consumed samples), the
    batch at position ``x`` is ``start + floor(x / (over / n)) * increment``, and ``end``
    from ``x >= over`` on. ``(end - start)`` is a multiple of ``increment`` and
    ``start < end`` (the compiler's checks, E088-E090), so every size is one of
    :meth:`sizes`. What follows the batch: the examples drawn (the sampler draws
    :meth:`Plan.batch_at` of them), the words and tokens seen, every time counted in
    data, and the learning rate (:meth:`Plan.examples_before`: Megatron's sample-based
    schedule).
    """

    start: int
    end: int
    increment: int
    over: float = field(metadata=STEPS)
    unit: str = field(default="steps", metadata=OMIT_DEFAULT)

    def __post_init__(self):
        object.__setattr__(self, "over", steps_number(self.over))

    @property
    def increments(self) -> int:
        """How many times the batch grows (``(end - start) / increment``)."""
        return max(0, (self.end - self.start) // max(1, self.increment))

    def size(self, position: float) -> int:
        """The global batch at ``position`` (in :attr:`unit`); pure."""
        n = self.increments
        if n == 0 or position >= self.over:
            return self.end
        # (a slack: a position on an increment's edge computed as 9.9999999 still counts)
        k = math.floor(position * n / self.over + 1e-9)
        return int(min(self.end, self.start + k * self.increment))

    def sizes(self) -> tuple[int, ...]:
        """Every size the batch takes, smallest first: ``start, start + increment, ... end``."""
        return tuple(range(self.start, self.end + 1, max(1, self.increment)))

    def text(self) -> str:
        """``from 8 to 32 by 8 over 2k steps`` (the plan's values, resolved)."""
        return (f"from {self.start} to {self.end} by {self.increment} over "
                f"{count_text(self.over)} {self.unit}")  # fmt: skip


@dataclass(frozen=True)
class EvalSpec:
    """``eval blimp every 2000`` / ``eval "path/to/pairs" at phases``.

    ``ties``: the headline accuracy's rule for a pair whose sentences score the same
    (:data:`curriculumc.registry.TIE_RULES`; results always carry both); ``pll``: a masked
    model's pseudo-log-likelihood (:data:`curriculumc.registry.PLL_VARIANTS`).

    ``every`` is steps or a :class:`Time` (``every 500k words``: after the first step by
    which each multiple has been drawn); a resolved plan holds those steps in ``at_steps``.
    """

    name: str
    path: str | None = None
    every: int | Time | None = None
    at_phases: bool = False
    limit: int | None = None
    ties: str = "strict"
    pll: str = "pll"
    at_steps: tuple[int, ...] = field(default=(), metadata=OMIT_DEFAULT)


@dataclass(frozen=True)
class OutputSpec:
    """Logging, checkpointing and sharing (``log ...``, ``checkpoint ...``, ``push to hub``).

    ``checkpoint_every`` keeps the newest ``keep`` of its checkpoints. ``checkpoint_at``
    (``checkpoint at 1M, 2M, 5M words``; steps once resolved) and ``checkpoint_babylm``
    (``checkpoint babylm``: :data:`BABYLM_MILESTONES` up to the training's length) are
    milestones, all kept.
    """

    log_every: int = 10
    wandb_project: str | None = None
    checkpoint_every: int | Time | None = None  # None: only the final checkpoint
    keep: int = 3
    push_to_hub: str | None = None
    checkpoint_at: tuple[int | Time, ...] = field(default=(), metadata=OMIT_DEFAULT)
    checkpoint_babylm: bool = field(default=False, metadata=OMIT_DEFAULT)


def objectives_text(objectives: tuple[tuple[str, float], ...]) -> str:
    """A phase's objectives as written: ``mlm + 0.5 pos`` (``none`` for none)."""
    return " + ".join(n if w == 1.0 else f"{w:g} {n}" for n, w in objectives) or "none"


def natural_units(family: str) -> tuple[Unit, ...]:
    """The unit a model family trains when a spec says nothing (``mlm``/``clm``)."""
    name = FAMILY_OBJECTIVE[family]
    return (Unit(name, name),)


def natural_phase(family: str) -> Phase:
    """The phase of a spec without ``at``: the family's natural objective from step 0 --
    the one rule, written into compiled plans and applied to plans without phases."""
    return Phase(0, ((FAMILY_OBJECTIVE[family], 1.0),))


@dataclass(frozen=True)
class Plan:
    """A compiled curriculum. Build it with :func:`curriculumc.compile` or :meth:`from_json`."""

    model: ModelSpec = ModelSpec()
    data: DataSpec = DataSpec()
    tokenizer: TokenizerSpec = TokenizerSpec()
    train: TrainSpec = TrainSpec()
    sort: SortSpec | None = None
    pace: Pace = Pace()
    vocab: Pace = Pace()
    vocab_rule: VocabRule = VocabRule()
    units: tuple[Unit, ...] = ()
    phases: tuple[Phase, ...] = ()
    evals: tuple[EvalSpec, ...] = ()
    output: OutputSpec = OutputSpec()
    version: int = PLAN_VERSION
    #: a data mixture over time (``mix ...``); absent from the JSON of a plan without one
    mix: Mix | None = field(default=None, metadata=OMIT_DEFAULT)
    #: a sequence-length warmup (``seq linear from 32 to 128 over 20%``); absent from the
    #: JSON of a plan without one (every input is then up to ``train.seq`` positions)
    seq_warmup: SeqWarmup | None = field(default=None, metadata=OMIT_DEFAULT)
    #: a batch-size ramp (``batch ramp from 8 to 32 by 8 over 10%``); absent from the JSON
    #: of a plan without one (every step is then ``train.batch``)
    batch_ramp: BatchRamp | None = field(default=None, metadata=OMIT_DEFAULT)
    #: what the run draws before each step, when the plan was resolved against its data
    #: (:meth:`resolve`); never part of the JSON or the hash
    clock: Clock | None = field(default=None, compare=False, repr=False, metadata=TRANSIENT)

    # --- schedules: pure functions of the optimizer step -------------------------------

    def reading(self, unit: str, step: int) -> float:
        """How much the run has drawn before ``step``, in ``unit`` (``steps``: ``step``).
        Raises ``ValueError`` for a data unit when the plan has no clock (not resolved)."""
        if unit == "steps":
            return step
        if self.clock is None:
            raise ValueError(
                f"a time in {unit} needs the plan resolved against its data (Plan.resolve)"
            )
        return self.clock.reading(unit, step)

    def data_fraction(self, step: int) -> float:
        """Share of the sorted data the sampler may draw from at ``step``."""
        return self.pace.fraction(self.reading(self.pace.unit, step))

    def vocab_fraction(self, step: int) -> float:
        """The vocabulary fraction ``f`` at ``step``; which tokens it shows is
        :attr:`vocab_rule`'s (by default the lowest ids: ``id <= f * V``)."""
        return self.vocab.fraction(self.reading(self.vocab.unit, step))

    def seq_at(self, step: int) -> int:
        """The most positions an input of ``step`` has (``<s>`` + text + ``</s>``):
        ``train.seq``, or a sequence-length warmup's length at the step -- read in the
        warmup's unit (a warmup counted in data needs the plan resolved, as a pace does).
        What the trainer truncates to, and what tokens and words *seen* at the step are
        counted at (``TokenizedCorpus.text_tokens(seq_at(t))``)."""
        if self.seq_warmup is None:
            return self.train.seq
        return self.seq_for(self.reading(self.seq_warmup.unit, step))

    def seq_for(self, position: float) -> int:
        """The length at ``position`` of the warmup's unit (the step, or what was drawn
        before it), never above ``train.seq``: what :meth:`seq_at` reads, and the sampler
        too when it counts the draws itself (a warmup counted in data)."""
        if self.seq_warmup is None:
            return self.train.seq
        return min(self.train.seq, self.seq_warmup.length(position))

    def batch_at(self, step: int) -> int:
        """The global batch of ``step``: ``train.batch``, or a batch ramp's size at the step
        -- read in the ramp's unit (a ramp counted in data needs the plan resolved, as a
        pace does). In examples (a ramp needs a batch counted in examples); with a token
        budget, the budget."""
        if self.batch_ramp is None:
            return int(self.train.batch)
        return self.batch_ramp.size(self.reading(self.batch_ramp.unit, step))

    def examples_before(self, step: int) -> int:
        """The examples drawn by steps ``0 .. step - 1``: ``step * train.batch``, or the sum
        of a batch ramp's sizes (read off the clock for a ramp counted in data, which needs
        the plan resolved). What the learning rate follows under a ramp (the trainer's
        ``lr_at``: Megatron's sample-based schedule). Pure."""
        ramp = self.batch_ramp
        if ramp is None:
            return int(step) * int(self.train.batch)
        if ramp.unit != "steps":
            if self.clock is None:
                raise ValueError(
                    f"a batch ramp in {ramp.unit} needs the plan resolved against its data"
                )
            return int(self.clock.examples[step])
        return int(_ramp_totals(ramp, max(int(step), int(self.train.steps)) + 1)[step])

    def mix_weights(self, step: int) -> dict[str, float]:
        """``{source: share of the step's examples}`` at ``step`` (``{}`` without a mix):
        the phase of :attr:`mix` in force, read in the mix's unit (a mix counted in data
        needs the plan resolved, as a pace does). The sampler splits batches by these."""
        if self.mix is None:
            return {}
        return self.mix.weights(self.reading(self.mix.unit, step))

    def phase_at(self, step: int) -> Phase | None:
        """The objective phase in force at ``step`` (the last with ``start <= step``)."""
        current = None
        for phase in self.phases:
            if phase.start <= step:
                current = phase
            else:
                break
        return current

    def objectives(self, step: int) -> dict[str, float]:
        """``{unit name: loss weight}`` at ``step``.

        A plan without phases trains the model family's natural objective (``mlm`` for a
        masked model, ``clm`` for a causal one) throughout -- the one place that says so;
        the compiler writes that phase into every plan it makes.
        """
        if not self.phases:
            return dict(natural_phase(self.model.family).objectives)
        phase = self.phase_at(step)
        return dict(phase.objectives) if phase else {}

    def trained_units(self) -> tuple[Unit, ...]:
        """The units training uses: the plan's, or the natural objective's when it has no
        phases (see :meth:`objectives`)."""
        if self.phases:
            return self.units
        (unit,) = natural_units(self.model.family)
        return (*(u for u in self.units if u.name != unit.name), unit)

    def unit(self, name: str) -> Unit:
        """The unit called ``name``; raises KeyError if the plan has none."""
        for unit in self.trained_units():
            if unit.name == name:
                return unit
        raise KeyError(name)

    def active_spans(self, name: str) -> tuple[tuple[int, int], ...]:
        """The step ranges ``[lo, hi)`` within training in which unit ``name`` is active."""
        end = self.train.steps
        if not self.phases:
            return ((0, end),) if name in self.objectives(0) else ()
        spans: list[tuple[int, int]] = []
        for i, phase in enumerate(self.phases):
            lo = max(0, phase.start)
            hi = self.phases[i + 1].start if i + 1 < len(self.phases) else end
            hi = min(hi, end)
            if lo >= hi or name not in dict(phase.objectives):
                continue
            if spans and spans[-1][1] == lo:
                spans[-1] = (spans[-1][0], hi)
            else:
                spans.append((lo, hi))
        return tuple(spans)

    def head_lr(self, name: str, step: int) -> float | None:
        """The learning rate of unit ``name``'s head at ``step``, or None when the unit has
        no ``lr`` of its own (its head then follows the run's schedule).

        The seed system's per-unit schedule (``get_linear_schedule_with_warmup`` over the
        unit's active steps): with ``n`` active steps in training, ``k`` of them before
        ``step`` and ``w = floor(warmup * n)``, ``lr * k / max(1, w)`` while ``k < w``, then
        ``lr * max(0, (n - k) / max(1, n - w))``.
        """
        unit = self.unit(name)
        if unit.lr is None:
            return None
        spans = self.active_spans(name)
        n = sum(hi - lo for lo, hi in spans)
        k = sum(max(0, min(hi, step) - lo) for lo, hi in spans)
        w = math.floor(unit.head_warmup * n)
        if k < w:
            return unit.lr * k / max(1, w)
        return unit.lr * max(0.0, (n - k) / max(1, n - w))

    def evaluation_steps(self, spec: EvalSpec, lo: int = 0, hi: int | None = None) -> list[int]:
        """The step counts in ``(lo, hi]`` after which evaluation ``spec`` runs (``hi``
        defaults to the last step): every multiple of ``every``, every boundary with ``at
        phases``, and always the end of training. "After 8,000" means once 8,000 steps
        are done: the model those steps trained. The trainer and ``explain`` both ask here.
        """
        end = self.train.steps
        hi = end if hi is None else min(hi, end)
        steps: set[int] = set(s for s in spec.at_steps if lo < s <= hi)
        if spec.every:
            steps.update(range((lo // spec.every + 1) * spec.every, hi + 1, spec.every))
        if spec.at_phases:
            steps.update(s for s, _ in self.boundaries() if lo < s <= hi)
        if lo < end <= hi:
            steps.add(end)
        return sorted(steps)

    def checkpoint_due(self, step: int) -> bool:
        """Whether a checkpoint is saved once ``step`` steps are done (before the last:
        the final model is saved there anyway): every ``checkpoint_every`` steps, and at
        the milestones of ``checkpoint_at`` (a resolved plan's steps)."""
        if not 0 < step < self.train.steps:
            return False
        every = self.output.checkpoint_every
        return bool(every and step % every == 0) or step in self.output.checkpoint_at

    def milestone_steps(self) -> tuple[int, ...]:
        """The checkpoint steps that are milestones (``checkpoint at``, ``checkpoint
        babylm``): never pruned by ``keep``."""
        return tuple(s for s in self.output.checkpoint_at if isinstance(s, int))

    def evaluations_due(self, step: int) -> tuple[EvalSpec, ...]:
        """The evaluations that run once ``step`` steps are done (see :meth:`evaluation_steps`)."""
        return tuple(e for e in self.evals if self.evaluation_steps(e, step - 1, step))

    def boundaries(self) -> tuple[tuple[int, str], ...]:
        """Steps where the curriculum changes, with a few words each, sorted by step.

        Used by ``plot`` and ``explain`` to mark phases and by ``eval ... at phases``.
        """
        marks: list[tuple[int, str]] = []
        for phase in self.phases:
            if phase.start > 0:
                marks.append((phase.start, f"objectives: {objectives_text(phase.objectives)}"))
        for what, pace in (("data", self.pace), ("vocab", self.vocab)):
            if pace.fn == "none":
                continue

            def at(value: float, pace=pace) -> int | None:  # a pace position as a step
                return self.step_at(value, pace.unit)

            if pace.after > 0:
                marks.append((at(pace.after), f"{what} pacing starts"))
            spans = pace.stage_spans()
            for number, (fn, start, end, begins, over) in enumerate(spans[1:], start=2):
                if pace.stages[number - 2].after > 0:
                    _, _, _, ended, length = spans[number - 2]
                    marks.append((at(ended + length), f"{what} pauses at {start:.0%}"))
                if fn == "step":
                    text = f"{start:.0%} until step {at(begins + over)}"
                else:
                    text = f"{fn} {start:.0%} → {end:.0%}"
                marks.append((at(begins), f"{what} stage {number}: {text}"))
            _, _, _, begins, over = spans[-1]
            release = None if pace.release_at is None else at(pace.release_at)
            ramp_end = at(begins + over)
            never = ramp_end is None  # not within the clock: after training
            if release is not None and (never or release < ramp_end):
                marks.append((release, f"{what} released"))
            elif release is not None:
                marks.append((ramp_end, f"{what} fully released"))
            else:
                marks.append((ramp_end, f"{what} ramp ends at {pace.final:.0%}"))
        if self.seq_warmup is not None:
            warm = self.seq_warmup
            if warm.after > 0:
                marks.append((self.step_at(warm.after, warm.unit), "seq ramp starts"))
            marks.append((self.step_at(warm.ends_at, warm.unit), f"seq reaches {warm.end}"))
        if self.batch_ramp is not None:
            ramp = self.batch_ramp
            marks.append((self.step_at(ramp.over, ramp.unit), f"batch reaches {ramp.end}"))
        if self.mix is not None:
            for number, phase in enumerate(self.mix.phases[1:], start=2):
                until = self.mix.phases[number - 2].until
                shares = ", ".join(f"{n} {w:.0%}" for n, w in phase.weights)
                marks.append((self.step_at(until, self.mix.unit), f"mix {number}: {shares}"))
        return tuple(
            sorted((s, w) for s, w in marks if s is not None and 0 < s <= self.train.steps)
        )

    def step_at(self, value: float, unit: str) -> int | None:
        """The first step at which a schedule counted in ``unit`` has reached ``value``:
        ``ceil(value)`` for steps, else the clock's :meth:`Clock.step_of` (None: not
        within the clock's steps)."""
        if unit == "steps":
            return math.ceil(value)
        if self.clock is None:
            raise ValueError(f"a time in {unit} needs the plan resolved against its data")
        return self.clock.step_of(Time(value, unit))

    # --- times counted in data (words, tokens, epochs) ----------------------------------

    def times(self) -> tuple[tuple[str, Time], ...]:
        """Every time the plan counts in data, with what it times (``("train length",
        2M words)``, ``("at 5M words: pos", ...)``): what :meth:`resolve` turns into
        steps. A pace counted in data is listed by :meth:`data_paces`."""
        out: list[tuple[str, Time]] = []
        if self.train.length is not None:
            out.append(("train length", self.train.length))
        if is_time(self.train.warmup):
            out.append(("warmup", self.train.warmup))
        for phase in self.phases:
            if is_time(phase.start):
                out.append((f"objectives {objectives_text(phase.objectives)}", phase.start))
        for spec in self.evals:
            if is_time(spec.every):
                out.append((f"eval {spec.name} every", spec.every))
        if is_time(self.output.checkpoint_every):
            out.append(("checkpoint every", self.output.checkpoint_every))
        out.extend(("checkpoint at", t) for t in self.output.checkpoint_at if is_time(t))
        return tuple(out)

    def data_paces(self) -> tuple[tuple[str, Pace], ...]:
        """The paces counted in data rather than steps: ``(("data", pace), ...)``."""
        paces = (("data", self.pace), ("vocab", self.vocab))
        return tuple((w, p) for w, p in paces if p.fn != "none" and p.unit != "steps")

    def data_time_texts(self) -> list[str]:
        """Every time the plan counts in data, as words: ``train length 2M words``,
        ``checkpoint babylm``, ``data pace in words`` (what validate and explain list)."""
        texts = [f"{what} {time.text()}" for what, time in self.times()]
        if self.output.checkpoint_babylm:
            texts.append("checkpoint babylm")
        if self.mix is not None and self.mix.unit != "steps":
            texts.append(f"data mix in {self.mix.unit}")
        if self.seq_warmup is not None and self.seq_warmup.unit != "steps":
            texts.append(f"seq warmup in {self.seq_warmup.unit}")
        if self.batch_ramp is not None and self.batch_ramp.unit != "steps":
            texts.append(f"batch ramp in {self.batch_ramp.unit}")
        return texts + [f"{what} pace in {pace.unit}" for what, pace in self.data_paces()]

    @property
    def needs_data_clock(self) -> bool:
        """Whether the plan counts a time in data and has not been resolved: it cannot run,
        be explained step by step or plotted until :meth:`resolve` gives it its steps."""
        return self.clock is None and bool(
            self.times()
            or self.data_paces()
            or self.output.checkpoint_babylm
            or (self.mix is not None and self.mix.unit != "steps")
            or (self.seq_warmup is not None and self.seq_warmup.unit != "steps")
            or (self.batch_ramp is not None and self.batch_ramp.unit != "steps")
        )

    def resolve(self, clock: Clock) -> tuple[Plan, tuple[Resolved, ...]]:
        """The plan in steps, given what its run draws (``clock``, from the sampler's
        deterministic draws; see :class:`Time`), and how each time resolved.

        Every :class:`Time` becomes the first step count by which it has been drawn:
        ``train.steps`` (the length; the clock must reach it), the warm-up, phase starts,
        ``eval ... every`` (into ``at_steps``: after each multiple), ``checkpoint every`` /
        ``at`` and ``checkpoint babylm`` (the :data:`BABYLM_MILESTONES` up to the words
        drawn by the last step) into ``checkpoint_at``. A time the training never reaches
        resolves to None in the table: its phase never starts, its evaluation or
        checkpoint is not made, a warm-up lasts the whole run. Paces, mixes, seq warmups and
        batch ramps counted in data keep their unit and read the clock the plan now carries
        (:meth:`data_fraction`); the table lists where each changes (a pace releases
        everything, a mix phase starts, a warmup or a ramp reaches its end).
        Raises ``ValueError`` when the clock does not reach the training's length or
        does not cover its steps. Pure.
        """
        table: list[Resolved] = []

        def resolve_one(what: str, time: Time, name: str | None = None) -> int | None:
            step = clock.step_of(time)
            step = None if step is None or step > steps else step
            table.append(Resolved(what, time, step, _drawn(clock, step), name))
            return step

        train = self.train
        steps = clock.steps
        if train.length is not None:
            found = clock.step_of(train.length)
            if found is None:
                raise ValueError(
                    f"the clock's {clock.steps:,} steps do not reach {train.length.text()}"
                )
            steps = found
            table.append(Resolved("train length", train.length, steps, _drawn(clock, steps)))
            train = replace(train, steps=steps)
        elif clock.steps < train.steps:
            raise ValueError(f"the clock covers {clock.steps:,} of {train.steps:,} steps")
        else:
            steps = train.steps
        if is_time(train.warmup):
            warmup = resolve_one("warmup", train.warmup)
            train = replace(train, warmup=steps if warmup is None else warmup)
        phases = []
        for phase in self.phases:
            if is_time(phase.start):
                start = resolve_one(f"objectives {objectives_text(phase.objectives)}", phase.start)
                phase = replace(phase, start=steps if start is None else start)
            phases.append(phase)
        evals = []
        drawn_by_end = {unit: clock.reading(unit, steps) for unit in TIME_UNITS}
        for spec in self.evals:
            if is_time(spec.every):
                at = set(spec.at_steps)
                for time in _multiples(spec.every, drawn_by_end[spec.every.unit]):
                    step = resolve_one(f"eval {spec.name}", time)
                    if step is not None and step > 0:
                        at.add(step)
                spec = replace(spec, every=None, at_steps=tuple(sorted(at)))
            evals.append(spec)
        out = self.output
        milestones: set[int] = {t for t in out.checkpoint_at if not is_time(t)}
        wanted: list[Time] = [t for t in out.checkpoint_at if is_time(t)]
        if is_time(out.checkpoint_every):
            wanted += _multiples(out.checkpoint_every, drawn_by_end[out.checkpoint_every.unit])
        if out.checkpoint_babylm:
            wanted += [Time(m, "words") for m in BABYLM_MILESTONES if m <= drawn_by_end["words"]]
        for time in sorted(set(wanted), key=lambda t: (t.unit, t.value)):
            name = revision_name(time.value) if time.unit == "words" else None
            step = resolve_one("checkpoint", time, name)
            if step is not None and step > 0:
                milestones.add(step)
        output = replace(
            out,
            checkpoint_every=None if is_time(out.checkpoint_every) else out.checkpoint_every,
            checkpoint_at=tuple(sorted(milestones)),
        )
        # the schedules that keep their unit and read the clock: where each changes, listed
        for what, pace in self.data_paces():
            if pace.release_at is not None:
                resolve_one(f"{what} pace releases everything", Time(pace.release_at, pace.unit))
        mix = self.mix
        if mix is not None and mix.unit != "steps":
            for index, phase in enumerate(mix.phases[:-1]):
                resolve_one(f"mix phase {index + 2} starts", Time(phase.until, mix.unit))
        warm = self.seq_warmup
        if warm is not None and warm.unit != "steps":
            resolve_one(f"seq warmup reaches {warm.end}", Time(warm.ends_at, warm.unit))
        ramp = self.batch_ramp
        if ramp is not None and ramp.unit != "steps":
            resolve_one(f"batch ramp reaches {ramp.end}", Time(ramp.over, ramp.unit))
        resolved = replace(
            self, train=train, phases=tuple(phases), evals=tuple(evals), output=output,
            clock=clock,
        )  # fmt: skip
        return resolved, tuple(table)

    # --- serialisation -----------------------------------------------------------------

    def to_dict(self) -> dict:
        """The plan as plain JSON-able data."""
        return _to_data(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        """Stable, readable JSON text (sorted keys)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, ensure_ascii=False)

    def canonical_json(self) -> str:
        """Compact sorted JSON; its sha256 is :attr:`hash`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @property
    def hash(self) -> str:
        """sha256 hex digest of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        """Rebuild a plan from :meth:`to_dict` output.

        Raises ``ValueError`` for a wrong version, unknown keys or wrongly typed values.
        """
        if not isinstance(data, dict):
            raise ValueError("a plan must be a JSON object")
        version = data.get("version", PLAN_VERSION)
        if version == 1:
            data = _upgrade_v2(_upgrade_v1(data))
        elif version == 2:
            data = _upgrade_v2(data)
        elif version != PLAN_VERSION:
            raise ValueError(f"plan version {version!r} is not supported (expected {PLAN_VERSION})")
        return _from_data(cls, data, "plan")

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Parse :meth:`to_json` output; raises ``ValueError`` when it is not a valid plan."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"plan is not valid JSON: {exc}") from None
        return cls.from_dict(data)


@dataclass(frozen=True)
class Resolved:
    """How one time of a plan resolved (:meth:`Plan.resolve`): what it times, the time as
    written, the step count it resolved to (None: not reached within training), what had
    been drawn by then (``examples``, ``words``, ``tokens``) and, for a checkpoint at a
    word count, its BabyLM revision name (``chck_1M``)."""

    what: str
    time: Time
    step: int | None
    drawn: tuple[tuple[str, int], ...] = field(default=(), metadata=MAPPING)
    name: str | None = None

    def to_dict(self) -> dict:
        return {
            "what": self.what,
            "time": self.time.text(),
            **_to_data(self.time),
            "step": self.step,
            **dict(self.drawn),
            **({"name": self.name} if self.name else {}),
        }


def _drawn(clock: Clock, step: int | None) -> tuple[tuple[str, int], ...]:
    if step is None:
        return ()
    return tuple((key, int(getattr(clock, key)[step])) for key in ("examples", "words", "tokens"))


def _multiples(every: Time, reached: float) -> list[Time]:
    """``every``, ``2 every``, ... up to ``reached`` (what the last step has drawn)."""
    count = int(math.floor(reached / every.value + 1e-9)) if every.value > 0 else 0
    return [Time(steps_number(k * every.value), every.unit) for k in range(1, count + 1)]


#: the BabyLM 2025 rules' checkpoint schedule, in words seen: every 1M to 10M, every 10M
#: to 100M, every 100M to 1B (``checkpoint babylm`` takes those up to the training's length)
MILLION = 1_000_000
BABYLM_MILESTONES = tuple(
    sorted(
        {i * MILLION for i in range(1, 11)}
        | {i * 10 * MILLION for i in range(1, 11)}
        | {i * 100 * MILLION for i in range(1, 11)}
    )
)
#: the prefix of a BabyLM checkpoint's revision (a hub branch): ``chck_1M``
REVISION_PREFIX = "chck_"


def revision_name(words: int | float) -> str:
    """``chck_<n>M`` for a whole number of millions of words, else ``chck_<words>``."""
    words = int(words)
    if words > 0 and words % MILLION == 0:
        return f"{REVISION_PREFIX}{words // MILLION}M"
    return f"{REVISION_PREFIX}{words}"


def _upgrade_v1(data: dict) -> dict:
    """A version-1 plan (curriculumc before exact epochs) as version 2: it drew every step
    with replacement across steps, which version 2 writes ``sampling: replacement``. (Its
    ties were broken by file position, which no version-2 plan does: the upgraded plan
    breaks them at random, so a v1 run's order is not reproduced exactly.)"""
    data = {**data, "version": 2}
    train = data.get("train", {})
    if isinstance(train, dict) and "sampling" not in train:
        data["train"] = {**train, "sampling": "replacement"}
    return data


def _upgrade_v2(data: dict) -> dict:
    """A version-2 plan as version 3. Its vocabulary curriculum hid tokens from the inputs
    only, which version 3 writes ``vocab_rule: {hides: inputs}``. (Version 2 corrupted the
    union of every active objective's positions for one shared forward; version 3 gives
    each objective its own corruption, so a v2 multitask run is not reproduced exactly.)"""
    data = {**data, "version": PLAN_VERSION}
    if "vocab_rule" not in data:
        data["vocab_rule"] = {"order": "token_ids", "hides": "inputs"}
    return data


# --- generic dataclass <-> JSON data ---------------------------------------------------


def _to_data(value):
    if is_dataclass(value):
        out = {}
        for f in fields(value):
            item = getattr(value, f.name)
            if f.metadata.get("transient"):
                continue
            if f.metadata.get("omit_default") and item == f.default:
                continue
            if f.metadata.get("mapping"):
                out[f.name] = {k: _to_data(v) for k, v in item}
            else:
                out[f.name] = _to_data(item)
        return out
    if isinstance(value, tuple):
        return [_to_data(v) for v in value]
    return value


@functools.lru_cache(maxsize=16)
def _ramp_totals(ramp: BatchRamp, steps: int):
    """The examples a ramp counted in steps draws before each step ``0 .. steps - 1``
    (``totals[t]``: the sum of the sizes of steps ``0 .. t - 1``), computed once (an
    int64 array, read-only)."""
    import numpy as np

    sizes = np.fromiter((ramp.size(t) for t in range(steps - 1)), np.int64, steps - 1)
    totals = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    totals.setflags(write=False)
    return totals


def _from_data(tp, data, where: str):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is typing.Any or tp is Scalar:
        if data is not None and not isinstance(data, (str, int, float, bool)):
            raise ValueError(f"{where}: expected a string, number or boolean")
        return data
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if data is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _from_data(non_none[0], data, where)
        classes = [a for a in non_none if isinstance(a, type) and is_dataclass(a)]
        if classes:  # a number or an object: int | Time
            others = [a for a in non_none if a not in classes]
            chosen = classes[0] if isinstance(data, dict) or not others else others[0]
            return _from_data(chosen, data, where)
        return _from_data(Scalar, data, where)
    if isinstance(tp, type) and is_dataclass(tp):
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object")
        hints = typing.get_type_hints(tp)
        known = {f.name: f for f in fields(tp) if not f.metadata.get("transient")}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        kwargs = {}
        for name, f in known.items():
            if name not in data:
                continue
            item = data[name]
            if f.metadata.get("steps"):
                if isinstance(item, bool) or not isinstance(item, (int, float)):
                    raise ValueError(f"{where}.{name}: expected a number of steps")
                kwargs[name] = steps_number(item)
            elif f.metadata.get("mapping"):
                if not isinstance(item, dict):
                    raise ValueError(f"{where}.{name}: expected an object")
                pair_tp = typing.get_args(hints[name])[0]
                value_tp = typing.get_args(pair_tp)[1]
                kwargs[name] = tuple(
                    (str(k), _from_data(value_tp, v, f"{where}.{name}.{k}"))
                    for k, v in item.items()
                )
            else:
                kwargs[name] = _from_data(hints[name], item, f"{where}.{name}")
        return tp(**kwargs)
    if origin is tuple:
        if not isinstance(data, list):
            raise ValueError(f"{where}: expected a list")
        item_tp = args[0]
        return tuple(_from_data(item_tp, v, f"{where}[{i}]") for i, v in enumerate(data))
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise ValueError(f"{where}: expected a number")
        return float(data)
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError(f"{where}: expected an integer")
        return data
    if tp is bool:
        if not isinstance(data, bool):
            raise ValueError(f"{where}: expected true or false")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise ValueError(f"{where}: expected a string")
        return data
    raise TypeError(f"{where}: unsupported type {tp!r}")  # a bug in this module, not input
