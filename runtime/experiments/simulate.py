"""Simulate a curriculum without a model: what the sampler will draw, step by step.

:func:`exposure` runs the trainer's own sampler (:class:`CurriculumSampler`) over every
step of the schedule and aggregates what was drawn: words seen (against the BabyLM
budgets), unique examples seen, how often each difficulty decile was drawn in each tenth
of training, each source's share over time, and the step at which every example had been
seen. :func:`simulate_plan` adds the scoring; :func:`render_table` and :func:`save_figure`
show the result, :func:`evaluation_summary` what the plan's evaluations will score.

A curriculum and its matched control (``--control random``): :func:`simulate_pair`
simulates both, :func:`exposure_gap` sets their figures side by side
(:func:`render_gap_table`), and :func:`control_exposure_warning` is the one warning that
``simulate``, ``run --control`` and ``sweep --control`` print when the control's words or
tokens differ from the curriculum's by more than :data:`EXPOSURE_TOLERANCE`
(:func:`check_control_exposure` prepares the data first and never raises). No torch is
imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from curriculumc import registry
from curriculumc.errors import CurriculumError
from curriculumc.files import save_figure as save_atomically
from curriculumc.plan import Plan, batch_text
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.ordering.clock import resolution_lines, resolve_plan
from curriculumc.runtime.ordering.order import initial_order
from curriculumc.runtime.ordering.sampler import CurriculumSampler
from curriculumc.runtime.ordering.scorers.model_ppl import is_self_paced

#: BabyLM word budgets: strict-small and strict tracks
BUDGETS = {"10M": 10_000_000, "100M": 100_000_000}
TENTHS = 10
DECILES = 10
#: a control whose words or tokens differ from its curriculum's by more than this share
#: is not matched in exposure (:func:`control_exposure_warning`)
EXPOSURE_TOLERANCE = 0.02
#: :func:`check_control_exposure` does not simulate a token-budget plan expected to draw
#: more examples than this (about 0.3 us a draw, both plans: some seconds; the tokens
#: are matched by construction anyway)
CHECK_MAX_TOKEN_DRAWS = 20_000_000


@dataclass(frozen=True)
class Exposure:
    """What a schedule draws. Matrices count examples drawn (with repeats).

    - ``decile_by_tenth[d, k]``: draws from difficulty decile ``d`` (0 = easiest tenth of
      the order) during tenth ``k`` of training; ``decile_by_bin`` the same with ``bins``
      finer time bins (for the picture).
    - ``source_by_tenth[s, k]``: draws from source ``s`` during tenth ``k`` (and
      ``source_by_bin`` per time bin).
    - ``all_seen_step``: the first step by whose end every example had been drawn, or None.
    - ``floor_steps``: steps whose paced pool was smaller than a batch and was raised to one.
    - ``draws``: examples drawn in all (steps x batch, or as many as the token budgets took).
    - ``epoch_coverage``: for each completed epoch, the share of the corpus it drew
      (``sampling: epochs``; with pacing an epoch covers its pool); ``epoch_repeats``:
      draws that repeated an example within its epoch (0 by construction).
    - ``max_draws``: the most-drawn example's draws, ``max_draws_expected`` what uniform
      draws from each step's pool would give that example (:func:`expected_draws`).
    - ``notes``: what the reader must know (fallbacks, scorer warnings).
    - ``seq``: the plan's positions per example; ``longest_tokens``: the longest example's
      tokens (:meth:`TokenizedCorpus.text_tokens` at ``seq``). A token budget holds at
      least both (the compiler asks for ``seq``, E039).
    - ``truncation``: what cutting examples to ``seq - 2`` tokens drops
      (:meth:`TokenizedCorpus.truncation`: ``examples``, ``tokens_cut``, ``words_cut``
      and shares); words seen count only the words read
      (:meth:`TokenizedCorpus.text_words`), as the trainer does.
    - ``exact``: False when the plan's order depends on the model being trained (a
      self-paced sort, ``model_ppl``): the figures that depend on which examples are drawn
      (words, tokens, unique examples, coverage) are then those of a stand-in order.
    """

    steps: int
    batch: int
    batch_unit: str
    sampling: str
    n_examples: int
    draws: int
    corpus_words: int
    words_seen: int
    tokens_seen: int
    unique_seen: int
    all_seen_step: int | None
    pool_first: int
    pool_last: int
    pool_full_step: int | None
    floor_steps: int
    epoch_coverage: tuple[float, ...]
    epoch_repeats: int
    max_draws: int
    max_draws_expected: float
    decile_by_tenth: np.ndarray
    decile_by_bin: np.ndarray
    source_names: tuple[str, ...]
    source_by_tenth: np.ndarray
    source_by_bin: np.ndarray
    sort: str
    notes: tuple[str, ...] = ()
    seq: int = 0
    longest_tokens: int = 0
    exact: bool = True
    truncation: dict = field(default_factory=dict)
    #: how the plan's times counted in data resolved (``Plan.resolve``; empty: none)
    times: tuple = ()
    #: the plan simulated: in steps, resolved against the corpus when it counted times in data
    plan: Plan | None = field(default=None, repr=False, compare=False)
    #: a sequence-length warmup (:func:`seq_warmup_exposure`): its schedule, its ramp's
    #: steps, and what its shorter inputs did not read of the draws; empty without one
    seq_warmup: dict = field(default_factory=dict)
    #: a batch ramp (:func:`batch_ramp_exposure`): the steps and draws at each of its sizes,
    #: measured; empty without one
    batch_ramp: dict = field(default_factory=dict)
    #: a mix's phases (:func:`mix_exposure`): each phase's steps, its weights and the share
    #: of its draws each source had, measured; empty without a mix
    mix_phases: tuple = ()

    @property
    def tokens_per_step(self) -> float:
        """Mean tokens seen per step."""
        return self.tokens_seen / self.steps if self.steps else 0.0

    def source_unlock_order(self) -> np.ndarray:
        """Source indices by the time bin of their first draw (never drawn: last), then by
        their draws in that bin (most first)."""
        drawn = self.source_by_bin > 0
        first = np.where(drawn.any(axis=1), drawn.argmax(axis=1), drawn.shape[1])
        bins = self.source_by_bin.shape[1]
        in_first = [self.source_by_bin[s, b] if b < bins else 0 for s, b in enumerate(first)]
        return np.array(
            sorted(range(len(self.source_names)), key=lambda s: (first[s], -in_first[s], s)),
            dtype=np.int64,
        )

    def budget_share(self) -> dict[str, float]:
        """Words seen as a share of each BabyLM budget."""
        return {name: self.words_seen / words for name, words in BUDGETS.items()}

    def to_dict(self) -> dict:
        """JSON-able summary (matrices as nested lists)."""
        return {
            "steps": self.steps,
            "batch": self.batch,
            "batch_unit": self.batch_unit,
            "sampling": self.sampling,
            "examples": self.n_examples,
            "draws": self.draws,
            "corpus_words": self.corpus_words,
            "words_seen": self.words_seen,
            "tokens_seen": self.tokens_seen,
            "budget_share": self.budget_share(),
            "epochs": self.draws / self.n_examples,
            "epoch_coverage": list(self.epoch_coverage),
            "epoch_repeats": self.epoch_repeats,
            "max_draws": self.max_draws,
            "max_draws_expected": self.max_draws_expected,
            "unique_examples_seen": self.unique_seen,
            "all_seen_step": self.all_seen_step,
            "pool_first": self.pool_first,
            "pool_last": self.pool_last,
            "pool_full_step": self.pool_full_step,
            "floor_steps": self.floor_steps,
            "decile_by_tenth": self.decile_by_tenth.tolist(),
            "source_names": list(self.source_names),
            "source_by_tenth": self.source_by_tenth.tolist(),
            "sort": self.sort,
            "notes": list(self.notes),
            "tokens_per_step": self.tokens_per_step,
            "seq": self.seq,
            "longest_tokens": self.longest_tokens,
            "exact": self.exact,
            "truncation": dict(self.truncation),
            "times": [entry.to_dict() for entry in self.times],
            **({"seq_warmup": dict(self.seq_warmup)} if self.seq_warmup else {}),
            **({"batch_ramp": dict(self.batch_ramp)} if self.batch_ramp else {}),
            **({"mix_phases": [dict(p) for p in self.mix_phases]} if self.mix_phases else {}),
        }


def draw_positions(sampler: CurriculumSampler, steps: int):
    """What the sampler the trainer uses draws at steps ``0..steps-1``: the positions in
    the order (flat, in draw order), the step of each draw, the epoch of each draw and the
    pool size of each step."""
    positions, epochs, sizes = [], [], np.empty(steps, dtype=np.int64)
    pools = np.empty(steps, dtype=np.int64)
    for step in range(steps):
        pools[step] = sampler.drawable(step)
        drawn = sampler.positions(step)
        positions.append(drawn)
        epochs.append(sampler.draw_epochs(step))
        sizes[step] = len(drawn)
    empty = np.empty(0, dtype=np.int64)
    flat = np.concatenate(positions) if positions else empty
    epoch_of = np.concatenate(epochs) if epochs else empty
    step_of = np.repeat(np.arange(steps, dtype=np.int64), sizes)
    return flat, step_of, epoch_of, pools


def expected_draws(step_of: np.ndarray, pools: np.ndarray, n: int) -> np.ndarray:
    """Expected draws of each position of the order if every step drew uniformly from its
    pool: sum over steps of (draws of the step) / (pool of the step), over the steps
    whose pool holds it."""
    sizes = np.bincount(step_of, minlength=len(pools)).astype(np.float64)
    rate = sizes / np.maximum(pools, 1)
    change = np.zeros(n + 1)
    np.add.at(change, 0, rate.sum())
    np.add.at(change, pools, -rate)
    return np.cumsum(change)[:n]


def mix_expected_draws(sampler: CurriculumSampler, steps: int, n: int) -> np.ndarray:
    """:func:`expected_draws` under a mix: each source draws its count of a step
    (:meth:`~CurriculumSampler.mix_counts`) uniformly from its own pool (the first
    :meth:`~CurriculumSampler.source_pool` of its examples, easiest first), so each
    position's expectation is its source's, over the steps whose pool holds it."""
    out = np.zeros(n)
    sources = len(sampler.plan.mix.sources)
    counts = np.array([sampler.mix_counts(t) for t in range(steps)]).reshape(steps, sources)
    pools = np.array([[sampler.source_pool(j, t) for j in range(sources)] for t in range(steps)],
                     dtype=np.int64).reshape(steps, sources)  # fmt: skip
    for j in range(sources):
        members = sampler.source_members(j)
        step_of = np.repeat(np.arange(steps, dtype=np.int64), counts[:, j])
        out[members] = expected_draws(step_of, pools[:, j], len(members))
    return out


def _completed_epochs(examples: np.ndarray, epoch_of: np.ndarray):
    """The draws of each completed epoch (all but the last, which may be unfinished), in
    epoch order: slices when the epochs are in draw order (as the sampler draws them)."""
    if not len(epoch_of):
        return
    last = int(epoch_of.max())
    if (np.diff(epoch_of) >= 0).all():
        edges = np.searchsorted(epoch_of, np.arange(last + 1), side="left")
        for epoch in range(last):
            yield examples[edges[epoch] : edges[epoch + 1]]
    else:
        for epoch in range(last):
            yield examples[epoch_of == epoch]


def _distinct(values: np.ndarray, stamp: np.ndarray) -> int:
    """How many distinct values (indices into ``stamp``, scratch space) ``values`` holds:
    each value's slot gets the position of one of its occurrences, so exactly one
    occurrence per value finds its own position there. O(len(values)), no sort."""
    where = np.arange(len(values), dtype=np.int64)
    stamp[values] = where
    return int(np.count_nonzero(stamp[values] == where))


def _span(steps: np.ndarray) -> list[int] | None:
    """``[first, end)`` of ascending ``steps`` (None when there are none)."""
    return [int(steps[0]), int(steps[-1]) + 1] if steps.size else None


def mix_exposure(plan: Plan, step_of: np.ndarray, source_of_draw: np.ndarray,
                 source_names: tuple[str, ...]) -> tuple[dict, ...]:  # fmt: skip
    """Per phase of ``plan.mix``: its first and last step (``steps``: ``[first, end)``),
    its weights and the share of the phase's draws each mixed source had (measured from
    ``source_of_draw``, the source index of each draw, at the steps ``step_of``). A phase
    that no step reaches has no draws (shares of 0)."""
    mix = plan.mix
    if mix is None:
        return ()
    steps = plan.train.steps
    phase_of_step = np.array(
        [mix.phase_index(plan.reading(mix.unit, t)) for t in range(steps)], dtype=np.int64
    )
    phase_of_draw = phase_of_step[step_of] if steps else np.empty(0, dtype=np.int64)
    out = []
    for index, phase in enumerate(mix.phases):
        held = np.flatnonzero(phase_of_step == index)
        in_phase = source_of_draw[phase_of_draw == index]
        total = max(len(in_phase), 1)
        shares = {}
        for name in mix.sources:
            code = source_names.index(name) if name in source_names else -1
            shares[name] = float(np.count_nonzero(in_phase == code)) / total
        out.append({
            "phase": index + 1,
            "steps": _span(held),
            "draws": int(len(in_phase)),
            "weights": {name: float(dict(phase.weights).get(name, 0.0)) for name in mix.sources},
            "shares": shares,
        })  # fmt: skip
    return tuple(out)


def batch_ramp_exposure(plan: Plan, step_of: np.ndarray, words: np.ndarray,
                        tokens: np.ndarray) -> dict:  # fmt: skip
    """What a batch ramp drew, measured from the draws (``step_of``: the step of each draw;
    ``words``/``tokens``: what each draw was seen as): per size of the ramp the steps at
    it (``[first, end)``), the examples drawn per step and in all, and their words and
    tokens; the steps below the ramp's end size; and the examples, beside the
    ``steps * train.batch`` a constant batch would have drawn. Empty without a ramp."""
    ramp = plan.batch_ramp
    if ramp is None:
        return {}
    steps = plan.train.steps
    per_step = np.bincount(step_of, minlength=steps)[:steps] if steps else np.empty(0, int)
    rows = []
    for size in ramp.sizes():
        held = np.flatnonzero(per_step == size)
        at_size = np.isin(step_of, held)
        rows.append({
            "size": int(size),
            "steps": _span(held),
            "step_count": int(held.size),
            "examples": int(at_size.sum()),
            "words": int(words[at_size].sum()),
            "tokens": int(tokens[at_size].sum()),
        })  # fmt: skip
    below = np.flatnonzero(per_step < ramp.end)
    return {
        "schedule": ramp.text(),
        "sizes": rows,
        "ramp_steps": int(below[-1]) + 1 if below.size else 0,
        "examples": int(len(step_of)),
        "constant_examples": int(steps) * int(plan.train.batch),
    }


def seen_at_steps(
    sampler: CurriculumSampler, corpus: TokenizedCorpus, examples: np.ndarray,
    step_of: np.ndarray, steps: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Words and tokens seen of each draw (``examples`` drawn at ``step_of``), each counted
    at its step's length (``sampler.seq_at``: ``train.seq``, or a sequence-length warmup's
    length) -- the trainer's count, by :func:`~curriculumc.runtime.data.tokenized.
    seen_words` / ``seen_tokens`` -- and the length of every step ``0 .. steps - 1``."""
    seqs = np.array([sampler.seq_at(t) for t in range(steps)], dtype=np.int64)
    at = seqs[step_of] if steps else np.empty(0, dtype=np.int64)
    words, tokens = corpus.read_counts(examples, at)
    return words, tokens, seqs


def seq_warmup_exposure(
    plan: Plan, seqs: np.ndarray, words: np.ndarray, tokens: np.ndarray,
    full_words: int, full_tokens: int,
) -> dict:  # fmt: skip
    """What a sequence-length warmup changes of the draws: its schedule (``schedule``),
    the steps before it reaches its end length (``ramp_steps``), the first and last
    step's length, and the tokens and words of the draws that the shorter inputs did not
    read (``tokens_cut``, ``words_cut``: against the same draws read at ``train.seq``)."""
    warm = plan.seq_warmup
    if warm is None:
        return {}
    below = np.flatnonzero(seqs < warm.end)
    return {
        "schedule": warm.text(),
        "first": int(seqs[0]) if len(seqs) else warm.start,
        "last": int(seqs[-1]) if len(seqs) else warm.end,
        "ramp_steps": int(below[-1]) + 1 if below.size else 0,
        "tokens_cut": int(full_tokens - tokens.sum()),
        "words_cut": int(full_words - words.sum()),
        "token_share": float((full_tokens - tokens.sum()) / full_tokens) if full_tokens else 0.0,
    }


def exposure(
    plan: Plan,
    corpus: TokenizedCorpus,
    order: np.ndarray,
    *,
    keys: np.ndarray | None = None,
    bins: int = 50,
    sort: str = "corpus order",
    notes: tuple[str, ...] = (),
    exact: bool = True,
) -> Exposure:
    """Run the sampler over ``plan.train.steps`` steps of ``order`` (with its sort ``keys``
    for ``ties include``) and count what it draws. ``exact=False``: ``order`` stands in for
    a self-paced one (see :class:`Exposure`).

    Raises :class:`CurriculumError` E361 when the corpus is smaller than one batch.
    """
    sampler = CurriculumSampler.for_corpus(plan, corpus, order, keys=keys)
    steps, n = plan.train.steps, len(order)
    flat_positions, step_of, epoch_of, pools = draw_positions(sampler, steps)
    flat_examples = sampler.order[flat_positions]

    decile = flat_positions * DECILES // n
    tenth = step_of * TENTHS // max(steps, 1)
    bins = max(1, min(bins, steps))
    time_bin = step_of * bins // max(steps, 1)
    decile_by_tenth = np.bincount(decile * TENTHS + tenth, minlength=DECILES * TENTHS)
    decile_by_bin = np.bincount(decile * bins + time_bin, minlength=DECILES * bins)
    n_sources = max(len(corpus.source_names), 1)
    source = np.asarray(corpus.source, dtype=np.int64)[flat_examples]
    source_by_tenth = np.bincount(source * TENTHS + tenth, minlength=n_sources * TENTHS)
    source_by_bin = np.bincount(source * bins + time_bin, minlength=n_sources * bins)

    # O(draws) throughout, no sort: a run's check simulates millions of draws
    draws_of = np.bincount(flat_examples, minlength=n)
    unique_seen = int(np.count_nonzero(draws_of))
    all_seen = None
    if unique_seen == n and n:
        first = np.full(n, len(flat_examples), dtype=np.int64)
        np.minimum.at(first, flat_examples, np.arange(len(flat_examples), dtype=np.int64))
        all_seen = int(step_of[first.max()])
    full = np.flatnonzero(pools == n)
    floor_steps = sum(sampler.floor_applied(s) for s in range(steps)) if steps else 0
    words = corpus.text_words(plan.train.seq)  # the words read, as the trainer counts
    tokens = corpus.text_tokens(plan.train.seq)
    truncation = corpus.truncation(plan.train.seq)
    # seen: each draw counted at its step's length (a seq warmup's; else train.seq)
    drawn_words, drawn_tokens = words[flat_examples], tokens[flat_examples]
    warmup: dict = {}
    if plan.seq_warmup is not None:
        full_words, full_tokens = int(drawn_words.sum()), int(drawn_tokens.sum())
        drawn_words, drawn_tokens, seqs = seen_at_steps(sampler, corpus, flat_examples,
                                                        step_of, steps)  # fmt: skip
        warmup = seq_warmup_exposure(plan, seqs, drawn_words, drawn_tokens, full_words,
                                     full_tokens)  # fmt: skip
    # epochs: the share of the corpus each completed epoch drew, and whether any repeated
    coverage, repeats = [], 0
    stamp = np.empty(n, dtype=np.int64)
    for drawn in _completed_epochs(flat_examples, epoch_of):
        unique = _distinct(drawn, stamp)
        coverage.append(unique / n)
        repeats += len(drawn) - unique
    counts = np.bincount(flat_positions, minlength=n)
    expected = (
        mix_expected_draws(sampler, steps, n) if plan.mix is not None
        else expected_draws(step_of, pools, n)
    )  # fmt: skip
    most = int(counts.argmax()) if n else 0
    return Exposure(
        steps=steps,
        batch=plan.train.batch,
        batch_unit=plan.train.batch_unit,
        sampling=plan.train.sampling,
        n_examples=n,
        draws=int(len(flat_examples)),
        corpus_words=int(np.asarray(corpus.words, dtype=np.int64).sum())
        + int(corpus.stats.get("truncated_words", 0)),
        words_seen=int(drawn_words.sum()),
        tokens_seen=int(drawn_tokens.sum()),
        unique_seen=unique_seen,
        all_seen_step=all_seen,
        pool_first=int(pools[0]) if steps else 0,
        pool_last=int(pools[-1]) if steps else 0,
        pool_full_step=int(full[0]) if full.size else None,
        floor_steps=int(floor_steps),
        epoch_coverage=tuple(coverage),
        epoch_repeats=int(repeats),
        max_draws=int(counts[most]) if n else 0,
        max_draws_expected=float(expected[most]) if n else 0.0,
        decile_by_tenth=decile_by_tenth.reshape(DECILES, TENTHS),
        decile_by_bin=decile_by_bin.reshape(DECILES, bins),
        source_names=tuple(corpus.source_names),
        source_by_tenth=source_by_tenth.reshape(n_sources, TENTHS),
        source_by_bin=source_by_bin.reshape(n_sources, bins),
        sort=sort,
        notes=notes,
        seq=plan.train.seq,
        longest_tokens=int(tokens.max()) if n else 0,
        exact=exact,
        truncation=truncation,
        seq_warmup=warmup,
        batch_ramp=batch_ramp_exposure(plan, step_of, drawn_words, drawn_tokens),
        mix_phases=mix_exposure(plan, step_of, source, tuple(corpus.source_names)),
    )


def simulate_plan(
    plan: Plan, corpus: TokenizedCorpus, *, cache_dir: Path | str | None = None, bins: int = 50
) -> Exposure:
    """Score ``corpus`` by the plan's sort and simulate its whole schedule (a self-paced
    sort with the stand-in order of :func:`initial_order`, marked ``exact=False``); a plan
    that counts times in data is first resolved against ``corpus`` (its notes say how)."""
    start = initial_order(plan, corpus, cache_dir=cache_dir, without_model=True)
    # times counted in data (train 2M words, at 5M words, ...) resolved as a run resolves them
    plan, times = resolve_plan(plan, corpus, start.order, keys=start.keys)
    result = exposure(
        plan,
        corpus,
        start.order,
        keys=start.keys,
        bins=bins,
        sort=start.described,
        notes=(*start.notes, *resolution_lines(times)),
        exact=not (start.stand_in or is_self_paced(plan.sort)),
    )
    return replace(result, times=times, plan=plan)


# --- a curriculum and its matched control ----------------------------------------------

#: the figures :class:`ExposureGap` compares: (JSON key, label); each is an Exposure value
GAP_FIGURES = (
    ("words_seen", "words seen"),
    ("tokens_seen", "tokens seen"),
    ("tokens_per_step", "tokens per step (mean)"),
    ("draws", "draws (examples)"),
    ("unique_examples_seen", "unique examples seen"),
    ("completed_epochs", "completed epochs"),
)
_ATTRIBUTE = {"unique_examples_seen": "unique_seen"}


def _figure(result: Exposure, name: str) -> float:
    if name == "completed_epochs":
        return len(result.epoch_coverage)
    return getattr(result, _ATTRIBUTE.get(name, name))


@dataclass(frozen=True)
class ExposureGap:
    """A curriculum's exposure beside its matched control's, figure by figure
    (:data:`GAP_FIGURES`); differences are control − curriculum.

    When the curriculum's sort is self-paced (``exact`` False) what it draws depends on
    the model being trained: its figures that depend on which examples are drawn are
    unknown (None), and so are their differences -- no stand-in number is passed off as
    the curriculum's.
    """

    curriculum: Exposure
    control: Exposure

    @property
    def exact(self) -> bool:
        return self.curriculum.exact and self.control.exact

    def known(self, name: str) -> bool:
        """Whether figure ``name`` is known for both (a fixed batch's draws always are)."""
        if self.exact:
            return True
        fixed = self.curriculum.batch_unit == "examples" and self.control.batch_unit == "examples"
        return name == "draws" and fixed

    def value(self, side: str, name: str) -> float | None:
        """Figure ``name`` of ``side`` (``"curriculum"`` or ``"control"``), None if unknown."""
        result = getattr(self, side)
        if not result.exact and not self.known(name):
            return None
        return _figure(result, name)

    def difference(self, name: str) -> float | None:
        """Control − curriculum, or None when unknown."""
        if not self.known(name):
            return None
        return _figure(self.control, name) - _figure(self.curriculum, name)

    def relative(self, name: str) -> float | None:
        """(control − curriculum) / curriculum, or None when unknown or the curriculum's is 0."""
        difference, base = self.difference(name), _figure(self.curriculum, name)
        return None if difference is None or not base else difference / base

    def matched(self, tolerance: float = EXPOSURE_TOLERANCE) -> bool | None:
        """Whether words and tokens both agree within ``tolerance`` (None: unknown)."""
        gaps = [self.relative(name) for name in ("words_seen", "tokens_seen")]
        if not self.exact:
            return None
        return all(gap is None or abs(gap) <= tolerance for gap in gaps)

    def suggested_budget(self) -> int:
        """A token budget per step for both: the curriculum's mean tokens per step (the
        control's when the curriculum's is unknown), to two significant digits, and at
        least ``seq`` and the longest example (what a budget must hold)."""
        base = self.curriculum if self.known("tokens_seen") else self.control
        return max(_round_budget(base.tokens_per_step), base.seq, base.longest_tokens, 1)

    def to_dict(self, tolerance: float = EXPOSURE_TOLERANCE) -> dict:
        """JSON-able: every figure of both sides, the differences, the verdict."""
        figures = {
            name: {
                "curriculum": self.value("curriculum", name),
                "control": self.value("control", name),
                "difference": self.difference(name),
                "relative": self.relative(name),
            }
            for name, _ in GAP_FIGURES
        }
        fixed = self.curriculum.batch_unit == "examples"
        return {
            "tolerance": tolerance,
            "exact": self.exact,
            "matched": self.matched(tolerance),
            "figures": figures,
            "suggested_batch_tokens": self.suggested_budget() if fixed else None,
            "warning": control_exposure_warning(self, tolerance=tolerance),
        }


def exposure_gap(curriculum: Exposure, control: Exposure) -> ExposureGap:
    """``curriculum``'s exposure beside its matched ``control``'s."""
    return ExposureGap(curriculum, control)


def _round_budget(tokens: float) -> int:
    """``tokens`` to two significant digits (116 -> 120, 4133 -> 4100); below 100 whole."""
    if tokens < 100:
        return max(1, round(tokens))
    scale = 10 ** (len(str(int(tokens))) - 2)
    return int(round(tokens / scale) * scale)


def _batch_text(result: Exposure) -> str:
    text = batch_text(result.batch, result.batch_unit)
    ramp = None if result.plan is None else result.plan.batch_ramp
    if ramp is not None:  # the draws row counts what each step of the ramp drew
        text += f" (batch ramp {ramp.text()})"
    return text


def _share(value: float | None) -> str:
    """A relative difference: ``+26.1%``, two decimals below 1% (``-0.02%``), ``0%``."""
    if value is None:
        return "–"
    if not value:
        return "0%"
    return f"{value:+.2%}" if abs(value) < 0.01 else f"{value:+.1%}"


def control_exposure_warning(
    gap: ExposureGap, *, pair: str | None = None, tolerance: float = EXPOSURE_TOLERANCE
) -> str | None:
    """The warning when the control is not matched in exposure, else None.

    It fires when the control's words or tokens differ from the curriculum's by more than
    ``tolerance``, says by how much (both figures of both) and how to match them (`batch
    N tokens`, N the curriculum's mean tokens per step, rounded); for a self-paced
    curriculum with a fixed batch it says that the gap cannot be simulated (a token budget
    matches tokens whatever the order, so there it is None). ``pair`` names the curriculum
    (``sweep``: ``the control of root_pos-1``).
    """
    cur, ctl = gap.curriculum, gap.control
    what = f"the control of {pair}" if pair else "the control"
    span = f"over {cur.steps:,} steps of {_batch_text(cur)}"
    fixed = cur.batch_unit == "examples"
    budget = gap.suggested_budget()
    whose = "the curriculum's" if gap.known("tokens_seen") else "the control's"
    mean = (cur if gap.known("tokens_seen") else ctl).tokens_per_step
    why = (
        f"{whose} mean of {mean:,.1f} tokens per step, rounded"
        if budget == _round_budget(mean)
        else f"{whose} mean is {mean:,.1f} tokens per step, and a budget holds at least "
        f"seq, {cur.seq:,}"
    )
    advice = (
        f"write `batch {budget} tokens` (a budget of tokens per step: {why}) so that both "
        "see the same tokens per step"
    )
    if not gap.exact:
        if not fixed:
            return None
        return (
            f"warning: {what} cannot be checked for matched exposure: the curriculum's sort "
            f"({cur.sort}) is self-paced, so what it draws depends on the model being trained "
            f"and cannot be simulated; {span} the control sees {ctl.words_seen:,} words and "
            f"{ctl.tokens_seen:,} tokens. To match them whatever the order, {advice}."
        )
    if gap.matched(tolerance):
        return None
    figures = (
        f"{span} the curriculum (sort by {cur.sort}) sees {cur.words_seen:,} words and "
        f"{cur.tokens_seen:,} tokens, its control (sort by {ctl.sort}) {ctl.words_seen:,} "
        f"words ({_share(gap.relative('words_seen'))}) and {ctl.tokens_seen:,} tokens "
        f"({_share(gap.relative('tokens_seen'))})"
    )
    head = f"warning: {what} is not matched in exposure (more than {tolerance:.0%} apart): "
    if fixed:
        return (
            f"{head}{figures}; what the curriculum seems to do may come from how much text it "
            f"saw. To match them, {advice}."
        )
    tokens_gap = gap.relative("tokens_seen")
    if tokens_gap is not None and abs(tokens_gap) > tolerance:
        return (
            f"{head}{figures}; each step stops short of its token budget by less than one "
            "example, and longer examples leave more of it unused: a budget larger than "
            f"{cur.batch:,} tokens (the longest example has {cur.longest_tokens:,}) matches "
            "them more closely."
        )
    per_token = [r.words_seen / max(r.tokens_seen, 1) for r in (cur, ctl)]
    return (
        f"{head}{figures}; the token budget matches tokens, but the curriculum's examples "
        f"hold {per_token[0]:.2f} words per token and the control's {per_token[1]:.2f}: "
        "compare the two by tokens seen."
    )


def simulate_pair(
    plan: Plan,
    control_plan: Plan,
    corpus: TokenizedCorpus,
    *,
    cache_dir: Path | str | None = None,
    bins: int = 50,
    curriculum: Exposure | None = None,
) -> ExposureGap:
    """Simulate ``plan`` (unless its ``curriculum`` exposure is given) and its matched
    ``control_plan`` (:func:`curriculumc.make_control`) over ``corpus``."""
    if curriculum is None:
        curriculum = simulate_plan(plan, corpus, cache_dir=cache_dir, bins=bins)
    control = simulate_plan(control_plan, corpus, cache_dir=cache_dir, bins=bins)
    return exposure_gap(curriculum, control)


def _data_key(plan: Plan) -> tuple:
    """What the prepared corpus of a plan depends on."""
    return (plan.data, plan.tokenizer, plan.train.seq)


def check_control_exposure(
    plan: Plan,
    control_plan: Plan,
    *,
    cache_dir: Path | str | None = None,
    pair: str | None = None,
    corpora: dict | None = None,
) -> str | None:
    """Prepare the data of ``plan`` (cached, as a run does), simulate it and its control,
    and return :func:`control_exposure_warning` (None when matched).

    With a token budget the tokens per step are matched by construction; a schedule
    expected to draw more than :data:`CHECK_MAX_TOKEN_DRAWS` examples is then not
    simulated (a ``note:`` says so and where to see the words: ``simulate --control``).
    Never raises, so that it cannot stop a run: a spec or data problem gives None (the run
    reports it itself), anything else a ``note:`` saying the check did not run.
    ``corpora``: a dict that keeps prepared corpora between calls (a sweep's pairs).
    """
    what = f"the control of {pair}" if pair else "the control"
    try:
        from curriculumc.runtime.data.prepare import prepare_data

        if control_plan.train.seq != plan.train.seq or control_plan.data != plan.data:
            raise ValueError("the control's data differs from the curriculum's")
        key = _data_key(plan)
        corpus = corpora.get(key) if corpora is not None else None
        if corpus is None:
            corpus = prepare_data(plan, cache_dir=cache_dir).corpus
            if corpora is not None:
                corpora[key] = corpus
        if plan.train.batch_unit == "tokens" and len(corpus):
            mean = max(float(corpus.text_tokens(plan.train.seq).mean()), 1.0)
            expected = plan.train.steps * plan.train.batch / mean
            if expected > CHECK_MAX_TOKEN_DRAWS:
                return (
                    f"note: the exposure of {what} was not simulated (about "
                    f"{expected / 1e6:,.0f}M draws each); its token budget matches the tokens per "
                    "step by construction; `curriculumc simulate SPEC --control random` "
                    "compares the words too"
                )
        gap = simulate_pair(plan, control_plan, corpus, cache_dir=cache_dir, bins=TENTHS)
        return control_exposure_warning(gap, pair=pair)
    except CurriculumError:
        return None
    except Exception as exc:  # noqa: BLE001 -- a check must never stop a run
        return f"note: the exposure of {what} was not checked ({type(exc).__name__}: {exc})"


# --- what the evaluations will cost ------------------------------------------------------


def evaluation_summary(plan: Plan) -> list[dict]:
    """Each of ``plan``'s evaluations: the steps after which it runs
    (:meth:`Plan.evaluation_steps`, the trainer's own), what one run scores
    (:func:`curriculumc.registry.eval_items`: pairs or texts, at most) and all runs
    together; ``sentences_at_most`` counts 2 a pair (each scored with one forward per
    token by a masked model's PLL, one forward by a causal model). ``None``: only the data
    knows. JSON-able (``simulate --json`` writes it as ``evaluations``)."""
    out = []
    for spec in plan.evals:
        steps = plan.evaluation_steps(spec)
        items = registry.eval_items(spec)
        each = items.at_most
        out.append(
            {
                "name": spec.name,
                "path": spec.path,
                "runs": len(steps),
                "steps": steps,
                "unit": items.unit,
                "per_run": items.text(),
                "per_run_at_most": each,
                "exact": items.exact,
                "items_at_most": None if each is None else len(steps) * each,
                "sentences_at_most": None if each is None else len(steps) * items.sentences,
            }
        )
    return out


def _evaluation_text(entry: dict) -> str:
    runs = entry["runs"]
    text = f"{runs} run{'s' * (runs != 1)} of {entry['per_run']}"
    if entry["items_at_most"] is None:
        return text + " (how many is in the data)"
    bound = "" if entry["exact"] else "up to "
    text += f"; in all {bound}{entry['items_at_most']:,} {entry['unit']}"
    if entry["unit"] == "pairs":
        text += f", {entry['sentences_at_most']:,} sentences"
    return text


# --- showing the result ----------------------------------------------------------------


def render_table(result: Exposure, evaluations: list[dict] | tuple = ()):
    """A rich renderable (a Group of tables) summarising ``result``; ``evaluations``
    (:func:`evaluation_summary`) adds a row per evaluation: its runs and pairs."""
    from rich.console import Group
    from rich.table import Table

    summary = Table(title=f"exposure: sort by {result.sort}", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    shares = result.budget_share()
    summary.add_row("steps x global batch", f"{result.steps:,} x {_batch_text(result)}")
    summary.add_row("corpus", f"{result.n_examples:,} examples, {result.corpus_words:,} words")
    summary.add_row(
        "words seen",
        f"{result.words_seen:,}  ("
        + ", ".join(f"{share:.1%} of {name}" for name, share in shares.items())
        + ")",
    )
    summary.add_row(
        "tokens seen", f"{result.tokens_seen:,}  ({result.tokens_per_step:,.1f} per step)"
    )
    cut = result.truncation
    if cut.get("examples"):
        summary.add_row(
            f"truncated at seq {cut['seq']} (never read)",
            f"{cut['examples']:,} examples ({cut['share']:.1%}): {cut['tokens_cut']:,} tokens "
            f"({cut['token_share']:.1%}), {cut['words_cut']:,} words; "
            '`data "…" packed` reads all',
        )
    warm = result.seq_warmup
    if warm:
        summary.add_row(
            f"seq warmup ({warm['schedule']})",
            f"{warm['first']} → {warm['last']} positions, {warm['ramp_steps']:,} steps below "
            f"the end length: {warm['tokens_cut']:,} tokens ({warm['token_share']:.1%}) and "
            f"{warm['words_cut']:,} words of the draws cut to each step's length (not seen)",
        )
    ramp = result.batch_ramp
    if ramp:
        summary.add_row(
            f"batch ramp ({ramp['schedule']})",
            f"{ramp['ramp_steps']:,} steps below {result.batch}: {ramp['examples']:,} examples "
            f"drawn in all ({ramp['constant_examples']:,} at a constant {result.batch})",
        )
        for row in ramp["sizes"]:
            where = "no step" if row["steps"] is None else (
                f"steps {row['steps'][0]:,}–{row['steps'][1] - 1:,}"
            )  # fmt: skip
            summary.add_row(
                f"  batch {row['size']}",
                f"{where} ({row['step_count']:,}): {row['examples']:,} examples, "
                f"{row['words']:,} words, {row['tokens']:,} tokens",
            )
    epochs = result.draws / result.n_examples
    summary.add_row("epochs (draws / examples)", f"{epochs:.2f}  ({result.draws:,} draws)")
    if result.sampling == "replacement":
        summary.add_row("sampling", "with replacement across steps (no epochs)")
    elif result.epoch_coverage:
        low, high = min(result.epoch_coverage), max(result.epoch_coverage)
        shown = f"{low:.1%}" if low == high else f"{low:.1%} to {high:.1%}"
        count = len(result.epoch_coverage)
        summary.add_row(
            "corpus drawn per completed epoch",
            f"{shown} ({count} epoch{'s' * (count != 1)}, {result.epoch_repeats} repeats)",
        )
    else:
        summary.add_row("corpus drawn per completed epoch", "no epoch completed")
    draws = "draw" if result.max_draws == 1 else "draws"
    summary.add_row(
        "most-drawn example",
        f"{result.max_draws:,} {draws} ({result.max_draws_expected:.1f} if uniform over "
        "each step's pool)",
    )
    summary.add_row(
        "unique examples seen",
        f"{result.unique_seen:,} ({result.unique_seen / result.n_examples:.1%})",
    )
    summary.add_row(
        "every example seen by step",
        "never" if result.all_seen_step is None else f"{result.all_seen_step:,}",
    )
    summary.add_row(
        "pool at first / last step", f"{result.pool_first:,} / {result.pool_last:,} examples"
    )
    summary.add_row(
        "whole corpus released at step",
        "never" if result.pool_full_step is None else f"{result.pool_full_step:,}",
    )
    if result.floor_steps:
        summary.add_row("steps with pool raised to one batch", f"{result.floor_steps:,}")
    for entry in evaluations:
        summary.add_row(f"eval {entry['name']}", _evaluation_text(entry))

    deciles = Table(title="draws per difficulty decile (rows) and tenth of training (columns), %")
    deciles.add_column("decile")
    for k in range(TENTHS):
        deciles.add_column(f"{k * 10}%", justify="right")
    per_tenth = np.maximum(result.decile_by_tenth.sum(axis=0), 1)
    for d in range(DECILES):
        share = 100.0 * result.decile_by_tenth[d] / per_tenth
        label = "0 easiest" if d == 0 else ("9 hardest" if d == DECILES - 1 else str(d))
        deciles.add_row(label, *(f"{s:.0f}" for s in share))

    sources = Table(title="share of draws per source and tenth of training, %")
    sources.add_column("source")
    for k in range(TENTHS):
        sources.add_column(f"{k * 10}%", justify="right")
    source_per_tenth = np.maximum(result.source_by_tenth.sum(axis=0), 1)
    for s in result.source_unlock_order():
        name = result.source_names[s]
        share = 100.0 * result.source_by_tenth[s] / source_per_tenth
        sources.add_row(name, *(f"{v:.0f}" for v in share))
    parts = [summary, deciles, sources]
    if result.mix_phases:
        parts.append(_mix_table(result.mix_phases))
    parts.extend(result.notes)  # each says what it is: "note: ..." or "warning[CODE]: ..."
    return Group(*parts)


def _mix_table(phases: tuple[dict, ...]):
    """The mix's table: each source's measured share of a phase's draws beside its weight."""
    from rich.table import Table

    table = Table(title="mix: share of draws per source in each phase, % measured (weight)")
    table.add_column("source")
    for entry in phases:
        span = entry["steps"]
        where = "not reached" if span is None else f"steps {span[0]:,}-{span[1] - 1:,}"
        table.add_column(f"phase {entry['phase']} ({where})", justify="right")
    for name in phases[0]["weights"]:
        table.add_row(name, *(
            f"{100 * e['shares'][name]:.1f} ({100 * e['weights'][name]:.1f})" for e in phases
        ))  # fmt: skip
    return table


def render_gap_table(gap: ExposureGap, *, tolerance: float = EXPOSURE_TOLERANCE):
    """A rich renderable: the curriculum's and its control's figures side by side, the
    difference (control − curriculum, absolute and %), then the warning or the verdict."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    cur, ctl = gap.curriculum, gap.control
    table = Table(
        title=f"exposure: the curriculum vs its matched control, {cur.steps:,} steps of "
        f"{_batch_text(cur)}"
    )
    table.add_column("")
    table.add_column(f"curriculum\nsort by {cur.sort}", justify="right")
    table.add_column(f"control\nsort by {ctl.sort}", justify="right")
    table.add_column("control −\ncurriculum", justify="right")
    table.add_column("%", justify="right")
    for name, label in GAP_FIGURES:
        fmt = "{:,.1f}" if name == "tokens_per_step" else "{:,.0f}"
        signed = "{:+,.1f}" if name == "tokens_per_step" else "{:+,.0f}"
        cells = [gap.value("curriculum", name), gap.value("control", name)]
        difference = gap.difference(name)
        table.add_row(
            label,
            *("–" if v is None else fmt.format(v) for v in cells),
            "–" if difference is None else "0" if not difference else signed.format(difference),
            _share(gap.relative(name)),
        )
    coverage = [_coverage_text(r) for r in (cur, ctl)]
    if not gap.exact:
        coverage[0] = "–"
    table.add_row("corpus drawn per completed epoch", *coverage, "", "")
    lines: list[str] = []
    warning = control_exposure_warning(gap, tolerance=tolerance)
    if not gap.exact:
        lines.append(
            f"note: – : the curriculum's sort ({cur.sort}) is self-paced; what it draws "
            "depends on the model being trained and cannot be simulated"
        )
    if warning:
        lines.append(warning)
    elif gap.exact:
        lines.append(
            f"matched: the control's words and tokens are within {tolerance:.0%} of the "
            "curriculum's"
        )
    if cur.batch_unit == "tokens":
        lines.append(
            f"token budget: every step holds at most {cur.batch:,} tokens and stops short of "
            f"it by less than one example (the longest has {cur.longest_tokens:,} tokens)"
        )
    return Group(table, *(Text(line) for line in lines))


def _coverage_text(result: Exposure) -> str:
    if result.sampling == "replacement":
        return "no epochs"
    if not result.epoch_coverage:
        return "none completed"
    low, high = min(result.epoch_coverage), max(result.epoch_coverage)
    return f"{low:.1%}" if low == high else f"{low:.1%} to {high:.1%}"


FIGURE_DPI = 300  # print-ready; the figure is 7.5 inches wide (a full page width)


def exposure_figure(result: Exposure):
    """The decile x time heatmap above each source's share of draws over time, on a new
    matplotlib figure (Agg canvas, no pyplot). Both panels share one x axis of the same
    pixel extent: a gridspec column holds them, a narrow second column holds the heatmap's
    colorbar, and the sources' legend goes below the bottom panel."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n_sources = len(result.source_names)
    legend_rows = -(-n_sources // 3) if n_sources <= 24 else 0
    figure = Figure(figsize=(7.5, 5.6 + 0.16 * legend_rows), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, 2, width_ratios=(1, 0.025), height_ratios=(1, 1))
    top = figure.add_subplot(grid[0, 0])
    bottom = figure.add_subplot(grid[1, 0], sharex=top)
    colorbar_axes = figure.add_subplot(grid[0, 1])
    figure.add_subplot(grid[1, 1]).set_axis_off()  # keeps the column's width for both rows
    matrix = result.decile_by_bin / np.maximum(result.decile_by_bin.sum(axis=0), 1)
    image = top.imshow(
        matrix,
        aspect="auto",
        origin="lower",
        cmap="viridis",
        extent=(0, result.steps, -0.5, DECILES - 0.5),
        interpolation="nearest",
    )
    top.set_ylabel("difficulty decile\n(0 = easiest)")
    top.tick_params(labelbottom=False)
    sort = result.sort if len(result.sort) <= 60 else result.sort[:57] + "..."
    top.set_title(f"share of draws per decile over training\nsort by {sort}", fontsize="medium")
    figure.colorbar(image, cax=colorbar_axes, label="share of the step's draws")
    shares = result.source_by_bin / np.maximum(result.source_by_bin.sum(axis=0), 1)
    n_bins = shares.shape[1]
    edges = np.linspace(0, result.steps, n_bins + 1)
    # a step-shaped area: each bin's share held across the bin
    x = np.repeat(edges, 2)[1:-1]
    y = np.repeat(shares, 2, axis=1)
    unlocked = result.source_unlock_order()  # stack sources in the order they appear
    cmap = matplotlib.colormaps["tab20" if n_sources <= 20 else "gist_ncar"]
    colors = cmap(np.arange(n_sources) % 20 if n_sources <= 20 else np.linspace(0, 0.95, n_sources))
    bottom.stackplot(
        x, y[unlocked], labels=[result.source_names[i] for i in unlocked], colors=colors
    )
    bottom.set_xlim(0, result.steps)
    bottom.set_ylabel("share of draws")
    bottom.set_xlabel("optimizer step")
    bottom.set_ylim(0, 1)
    if legend_rows:  # below the panels (a row of the layout): their width stays equal
        figure.legend(
            *bottom.get_legend_handles_labels(),
            loc="outside lower center",
            fontsize="x-small",
            ncols=min(3, n_sources),
            frameon=False,
        )
    return figure


def save_figure(result: Exposure, path: Path | str) -> Path:
    """Write a PNG of :func:`exposure_figure` at :data:`FIGURE_DPI`. Returns the path."""
    path = Path(path)
    figure = exposure_figure(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomically(figure, path, dpi=FIGURE_DPI, bbox_inches="tight", pad_inches=0.05)
    return path
