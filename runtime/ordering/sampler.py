"""The curriculum sampler: which examples make up the global batch of an optimizer step.

One implementation, used by the trainer and by ``curriculumc simulate``. The definitions
are those of docs/language.md, "What your curriculum means".

- The *order* is a permutation of the example indices, easiest first (see
  :func:`curriculumc.runtime.ordering.scorers.difficulty_order`: equal scores in a seeded
  random order, never file position).
- At step ``t`` the *pool* is the released part of the order (:meth:`CurriculumSampler.
  pool_size`): with ``ties random`` its first ``ceil(p(t) * N)`` entries (``p`` =
  ``plan.data_fraction``); with ``ties include`` every example whose sort key is at or
  below ``numpy.percentile(keys, 100 * p(t))`` (the seed system's rule). Either is raised
  to at least one step's worth of examples.
- *Epochs* (``sampling: epochs``, the default): the run's draws form one stream. An epoch
  starts with every example of the pool not yet drawn; each draw takes one of the
  not-yet-drawn released examples uniformly at random; examples released during the epoch
  join its not-yet-drawn set at once; when none is left the next epoch starts with the
  whole pool. A step never holds an example twice: when a step straddles two epochs, the
  examples it already took from the old one join the new epoch's set after the step. So
  with ``pace none`` ``ceil(N / B)`` steps draw every example exactly once.
- ``sampling: replacement`` (curriculumc v1): each step draws its batch afresh from the
  pool (:func:`global_batch`), distinct within the step.
- The batch of a step is ``B`` examples, or with a token budget (``batch N tokens``) the
  drawn examples taken in draw order while their tokens (:meth:`~curriculumc.runtime.data.
  tokenized.TokenizedCorpus.text_tokens`) stay within ``N``.
- Every rank trains its contiguous share of the global batch (:func:`rank_rows`, or
  :func:`token_shares` for token budgets).

- A *mix* (``plan.mix``, ``mix 0.8 A + 0.2 B until 30%, then ...``): the step's batch is
  split between the mix's sources by :func:`apportion` (Balinski and Young's quota
  method: each source's count in the phase stays within one example of ``weight`` times
  the phase's examples so far, at every step); each source draws its count from its own
  pool -- the pace's share of that source's examples, in the order's (sort's) order,
  raised to ``min(N_s, B)`` -- by its own epoch stream (or afresh, with replacement), on
  its own Philox streams; the batch is the sources' draws concatenated in
  :attr:`~curriculumc.plan.Mix.sources` order.

Everything is a pure function of ``(seed, step, plan, data)``: no state goes into a
checkpoint, every rank and worker computes the same batch, a resumed run draws exactly
what an uninterrupted one drew. The epoch stream is computed by replaying the run's draws
from its first step (the sampler keeps where it is, so stepping forward costs O(batch);
jumping to step ``t`` -- a resume -- replays ``t`` steps once, a few seconds for 100k).

Randomness: a counter-based Philox generator keyed by ``(seed, step)`` yields uint64 words
(:func:`distinct_draws`); only Philox's raw bit stream is used -- fixed by numpy's
stability guarantee for bit generators, unlike ``Generator`` methods -- so draws are the
same across numpy versions.
"""

from __future__ import annotations

import functools
import math
import threading
from array import array
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from curriculumc.errors import CurriculumError, Diagnostic, did_you_mean
from curriculumc.runtime.data.tokenized import seen_tokens, seen_words

if TYPE_CHECKING:
    from curriculumc.plan import Plan

_UINT64 = (1 << 64) - 1
# numerical slack for fraction * N: 0.1 * 1000 is 100.00000000000001, which must give 100
_CEIL_SLACK = 1e-9
#: Philox streams of one (seed, step) key: 0 is the with-replacement draw (curriculumc v1's),
#: 1 + part the epoch draws (a step straddling epochs draws in two parts)
_REPLACEMENT_STREAM = 0
_EPOCH_STREAM = 1
#: a mix's source j draws on streams ``(j + 1) << 32`` plus the stream it would use alone,
#: apart from every stream of a sampler without a mix
_MIX_STREAM_SHIFT = 32
#: a mix weight is read as the nearest fraction with at most this denominator (exact for
#: weights written with up to 8 decimals over up to 10 sources, or as small ratios)
_WEIGHT_DENOMINATOR = 10**9
E_MIX_SOURCE = "E367"
E_MIX_SMALL = "E368"


_LOCAL = threading.local()  # one Philox per thread, re-keyed per draw


def _philox_words(seed: int, step: int, count: int, stream: int = 0) -> np.ndarray:
    """The first ``count`` raw uint64 words of the Philox stream keyed by (seed, step),
    starting at counter ``(0, 0, 0, stream)``. Equal to ``Philox(key=..., counter=...)``'s
    words; re-keying one generator costs a quarter of building one."""
    generator = getattr(_LOCAL, "philox", None)
    if generator is None:
        generator = _LOCAL.philox = np.random.Philox(0)
    generator.state = {
        "bit_generator": "Philox",
        "state": {
            "counter": np.array([0, 0, 0, stream & _UINT64], dtype=np.uint64),
            "key": np.array([seed & _UINT64, step & _UINT64], dtype=np.uint64),
        },
        "buffer": np.zeros(4, dtype=np.uint64),
        "buffer_pos": 4,
        "has_uint32": 0,
        "uinteger": 0,
    }
    return generator.random_raw(count)


def distinct_draws(
    seed: int, step: int, pool_size: int, count: int, stream: int = 0, dense: bool | None = None
) -> np.ndarray:
    """``count`` distinct positions in ``[0, pool_size)``, uniformly at random, in draw
    order; a pure function of its arguments. Every prefix of the result is itself a
    uniform draw of that many (what a token budget uses: it keeps a prefix).

    Method (cost O(count), never O(pool)): the Philox stream keyed by ``(seed, step)``
    (``stream`` selects an independent substream) yields words ``x_0, x_1, ...``; position
    ``x_i mod P`` is proposed in turn and the result is the first ``count`` distinct
    proposals (sequential rejection of duplicates: exactly uniform sampling without
    replacement; modulo bias at most ``P / 2**64``). When ``count`` is more than half the
    pool, the result is instead the first ``count`` entries of the permutation that sorts
    ``P`` raw words (cost O(P) <= O(2 count)). ``dense`` fixes the method whatever
    ``count`` is (a caller that lengthens a draw keeps its prefix that way).

    Raises ``ValueError`` when ``count < 1``, ``pool_size < 1`` or ``count > pool_size``.
    """
    if count < 1 or pool_size < 1:
        raise ValueError(f"batch ({count}) and pool ({pool_size}) must be positive")
    if count > pool_size:
        raise ValueError(f"cannot draw {count} distinct examples from a pool of {pool_size}")
    pool = np.uint64(pool_size)
    if dense is None:
        dense = 2 * count > pool_size
    if dense:
        words = _philox_words(seed, step, pool_size, stream)
        return np.argsort(words, kind="stable")[:count].astype(np.int64)
    drawn = (_philox_words(seed, step, count, stream) % pool).astype(np.int64)
    ascending = np.sort(drawn)
    if not (ascending[1:] == ascending[:-1]).any():  # the usual case when count << P
        return drawn
    drawn_count = count
    while True:
        drawn = (_philox_words(seed, step, drawn_count, stream) % pool).astype(np.int64)
        # keep the first occurrence of every value, in stream order
        _, first = np.unique(drawn, return_index=True)
        if first.size >= count:
            return drawn[np.sort(first)[:count]]
        drawn_count += count - first.size + 8  # regenerate a longer prefix of the stream


def global_batch(seed: int, step: int, pool_size: int, batch_size: int) -> np.ndarray:
    """Positions of the with-replacement global batch of ``step`` (``sampling:
    replacement``, curriculumc v1's draw): ``batch_size`` distinct positions in
    ``[0, pool_size)`` (:func:`distinct_draws`, stream 0)."""
    return distinct_draws(seed, step, pool_size, batch_size, _REPLACEMENT_STREAM)


def rank_rows(size: int, rank: int, world_size: int) -> slice:
    """The rows of a global batch of ``size`` that ``rank`` (of ``world_size``) trains on:
    its contiguous share. The one rule of the rank split (the trainer slices with it).

    Raises :class:`CurriculumError` (E360) when the batch size is not divisible by the
    world size, and ``ValueError`` for a rank outside ``[0, world_size)``.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in a world of {world_size}")
    if size % world_size:
        raise CurriculumError.single(
            "E360",
            f"global batch {size} is not divisible by {world_size} processes",
            hint=f"choose a batch that is a multiple of {world_size}",
        )
    share = size // world_size
    return slice(rank * share, (rank + 1) * share)


def rank_slice(batch: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """The share of the global ``batch`` that ``rank`` trains on (:func:`rank_rows`)."""
    return batch[rank_rows(len(batch), rank, world_size)]


def token_shares(tokens: np.ndarray, parts: int) -> np.ndarray:
    """Cut rows with ``tokens`` each into ``parts`` contiguous shares of nearly equal
    tokens: the ``parts + 1`` row boundaries (first 0, last ``len(tokens)``), every share
    at least one row. The rank (and micro-batch) split of a token-budget batch.

    Each boundary is the row edge nearest to an equal share of the running total.
    Raises ``ValueError`` when there are fewer rows than parts.
    """
    n = len(tokens)
    if parts < 1 or n < parts:
        raise ValueError(f"cannot split {n} rows into {parts} non-empty shares")
    edges = np.concatenate([[0], np.cumsum(np.asarray(tokens, dtype=np.int64))])
    targets = edges[-1] * np.arange(1, parts) / parts
    right = np.searchsorted(edges, targets, side="left").clip(1, n)
    left = right - 1
    nearest = np.where(targets - edges[left] <= edges[right] - targets, left, right)
    bounds = np.empty(parts + 1, dtype=np.int64)
    bounds[0], bounds[-1] = 0, n
    for k in range(1, parts):  # keep every share non-empty, in order
        bounds[k] = min(max(int(nearest[k - 1]), bounds[k - 1] + 1), n - (parts - k))
    return bounds


def pool_size(fraction: float, n_examples: int, batch_size: int) -> int:
    """Examples released when ``fraction`` of ``n_examples`` is: ``ceil(fraction * N)``,
    at least ``min(N, batch_size)`` (so a batch need not repeat) and at most ``N``."""
    released = math.ceil(fraction * n_examples - _CEIL_SLACK)
    return int(min(n_examples, max(released, min(n_examples, batch_size))))


def percentile_count(sorted_keys: np.ndarray, fraction: float) -> int:
    """How many of ``sorted_keys`` (ascending, finite) are at or below
    ``numpy.percentile(sorted_keys, 100 * fraction)`` -- the seed system's pool (linear
    interpolation, ties included), in O(log N) on the sorted keys."""
    n = len(sorted_keys)
    if n == 0:
        return 0
    q = min(1.0, max(0.0, fraction * 100 / 100))
    virtual = (n - 1) * q  # numpy's 'linear' method: the virtual index (n - 1) q
    below = min(max(int(math.floor(virtual)), 0), n - 1)
    above = min(below + 1, n - 1)
    t = virtual - below
    a, b = float(sorted_keys[below]), float(sorted_keys[above])
    threshold = b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t  # numpy's _lerp
    return int(np.searchsorted(sorted_keys, threshold, side="right"))


@functools.lru_cache(maxsize=64)
def exact_shares(weights: tuple[float, ...]) -> tuple[tuple[int, ...], int]:
    """``weights`` as exact integer numerators over one denominator, normalised to sum to
    exactly 1, so the quota test of :func:`apportion` never rounds. Each float is read as
    the nearest fraction with a denominator up to 10**9: the ratio the researcher wrote
    (``1/12``, not the float nearest it, whose shares would cross whole numbers a hair
    away from where the written ones do)."""
    fractions = [
        Fraction(float(w)).limit_denominator(_WEIGHT_DENOMINATOR) if w > 0 else Fraction(0)
        for w in weights
    ]
    total = sum(fractions)
    if total <= 0:
        raise ValueError("a mix phase needs a weight above 0")
    shares = [f / total for f in fractions]
    denominator = math.lcm(*(s.denominator for s in shares))
    return tuple(int(s * denominator) for s in shares), denominator


def apportion(weights, given, batch: int) -> np.ndarray:
    """Split one step's ``batch`` examples between sources: the step's count of each.

    ``weights``: the phase's weight of each source (any scale; 0 for a source it leaves
    out); ``given``: each source's count so far in this phase. Balinski and Young's quota
    method (1975), one example at a time: with ``h`` examples given after the next one,
    it goes to a source still below its exact share ``h * w`` (upper quota), the one with
    the largest ``w / (count + 1)`` (Jefferson's priority; ties to the earlier source).
    The method is house monotone and stays within quota: after every example each count
    is the floor or the ceiling of ``h * w`` -- so within one example of its share at
    every step, whatever the batch sizes -- and a source with weight 0 gets none. Exact
    integer arithmetic; pure.
    """
    numerators, denominator = exact_shares(tuple(float(w) for w in weights))
    counts = [int(c) for c in given]
    k = len(counts)
    house = sum(counts)
    step = [0] * k
    for _ in range(int(batch)):
        house += 1
        best = -1
        for i in range(k):
            n = numerators[i]
            if not n or counts[i] * denominator >= house * n:  # at its upper quota
                continue
            if best < 0 or n * (counts[best] + 1) > numerators[best] * (counts[i] + 1):
                best = i  # Jefferson's priority: the largest w / (count + 1)
        counts[best] += 1  # a source below its share exists: the shares sum to 1
        step[best] += 1
    return np.asarray(step, dtype=np.int64)


class _MixCounts:
    """The per-source counts of every step from step 0 (:func:`apportion` replayed):
    ``counts(step)``, computed in step order. ``weights_of(step)`` gives the weight vector
    in force at ``step`` (the plan's, or read from the draws before it). Each phase is
    apportioned from its own first step: a source rounded up in one phase (or one a phase
    leaves out) owes nothing to the next, so each phase's shares are its weights to within
    one example per source at every step of it."""

    def __init__(self, weights_of, phase_of, batch_of, k: int):
        self.weights_of, self.phase_of = weights_of, phase_of
        self.batch_of = batch_of  # the step's global batch (a batch ramp's size)
        self.given = np.zeros(k, dtype=np.int64)  # each source's count in this phase
        self.phase = None
        self.rows: list[np.ndarray] = []

    def counts(self, step: int) -> np.ndarray:
        while len(self.rows) <= step:
            t = len(self.rows)
            phase, weights, batch = self.phase_of(t), self.weights_of(t), int(self.batch_of(t))
            if phase != self.phase:
                self.phase, self.given = phase, np.zeros_like(self.given)
            row = apportion(weights, self.given, batch)
            self.given = self.given + row
            self.rows.append(row)
        return self.rows[step]


class _Stream:
    """Where the epoch stream stands after ``step - 1``: the epoch, the not-yet-drawn
    released positions ``avail[:remaining]`` and the pool they were released from."""

    def __init__(self, step: int, n: int):
        self.step = step
        self.epoch = -1  # the first step starts epoch 0
        self.avail = np.empty(n, dtype=np.int64)
        self.remaining = 0
        self.released = 0
        self.waiting: np.ndarray | None = None  # a straddling step's old-epoch draws
        self.last: np.ndarray | None = None  # positions of step - 1
        self.last_epochs: np.ndarray | None = None  # the epoch of each of those draws

    def release(self, pool: int) -> None:
        """Add the positions released since the last step to the not-yet-drawn set."""
        if pool > self.released:
            new = np.arange(self.released, pool, dtype=np.int64)
            self.avail[self.remaining : self.remaining + len(new)] = new
            self.remaining += len(new)
            self.released = pool
        elif pool < self.released:  # a shrinking pool (no compiled plan has one)
            self.new_epoch(pool, np.empty(0, dtype=np.int64))

    def new_epoch(self, pool: int, taken: np.ndarray) -> None:
        """Start the next epoch over the pool; ``taken`` (this step's draws so far) wait
        until the step is over (:meth:`rejoin`)."""
        self.epoch += 1
        fresh = np.setdiff1d(np.arange(pool, dtype=np.int64), taken, assume_unique=True)
        self.avail[: len(fresh)] = fresh
        self.remaining = len(fresh)
        self.released = pool
        self.waiting = np.asarray(taken, dtype=np.int64)

    def take(self, chosen: np.ndarray) -> np.ndarray:
        """Remove ``avail[chosen]`` (distinct indices below ``remaining``) and return them:
        the tail's survivors fill the holes, O(len(chosen))."""
        drawn = self.avail[chosen].copy()
        tail_start = self.remaining - len(chosen)
        in_tail = chosen >= tail_start
        holes = chosen[~in_tail]
        stays = np.ones(len(chosen), dtype=bool)
        stays[chosen[in_tail] - tail_start] = False
        survivors = np.flatnonzero(stays) + tail_start
        self.avail[holes] = self.avail[survivors]
        self.remaining = tail_start
        return drawn

    def rejoin(self) -> None:
        """The examples a straddling step took from the old epoch join the new one."""
        if self.waiting is not None and len(self.waiting):
            end = self.remaining + len(self.waiting)
            self.avail[self.remaining : end] = self.waiting
            self.remaining = end
        self.waiting = None


class CurriculumSampler:
    """Draws the global batch of each step from the released part of an order.

    ``plan`` supplies the pacing (``data_fraction``, ``pace.ties``), the seed, the batch
    and its unit, and the sampling rule. ``order`` is a permutation of the example
    indices, easiest first. ``tokens`` (per example, indexed by example id: what
    :meth:`~curriculumc.runtime.data.tokenized.TokenizedCorpus.text_tokens` gives) is
    needed for a token budget, ``keys`` (the sort key of each entry of ``order``,
    ascending, NaN for unscored) for ``ties include``. ``start_step``: the step the draw
    stream starts at (a self-paced re-score starts a new stream, and a new epoch, there).
    ``paced=False`` releases everything whatever the pacing (``model_ppl`` before its
    first score).

    A pace counted in data (``pace root over 50M words``: ``plan.pace.unit`` is words,
    tokens or epochs) reads what the run has drawn before the step: the sampler keeps
    those totals as it draws (:meth:`drawn_before`; ``words`` and ``tokens`` per example,
    indexed by example id, as the trainer counts them seen), so the pool of step ``t`` is a
    function of the draws of steps ``0 .. t - 1`` -- still a pure function of (seed, step,
    plan, data). ``track=True`` keeps the totals for any pace (what a clock is made of:
    :func:`curriculumc.runtime.ordering.clock.draw_clock`).

    Raises :class:`CurriculumError` E361 when the corpus is smaller than one batch.
    """

    def __init__(
        self,
        plan: Plan,
        order: np.ndarray,
        *,
        tokens: np.ndarray | None = None,
        keys: np.ndarray | None = None,
        start_step: int = 0,
        paced: bool = True,
        words: np.ndarray | None = None,
        track: bool = False,
        sources: np.ndarray | None = None,
        source_names: tuple[str, ...] | None = None,
        stored: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        self.plan = plan
        # a sequence-length warmup: what a step sees (its tokens and words, a budget's
        # tokens) is counted at the step's own length (``stored``: the examples' stored
        # words and lengths, by example id, for the words)
        self._warm = getattr(plan, "seq_warmup", None)
        # a batch-size ramp: each step draws its own size (:meth:`batch_at`)
        self._ramp = getattr(plan, "batch_ramp", None)
        if self._ramp is not None and plan.train.batch_unit == "tokens":
            raise ValueError("a batch ramp needs a batch counted in examples (the compiler's E090)")
        self._floors: dict[int, int] = {}
        self.order = np.asarray(order, dtype=np.int64)
        self.seed = int(plan.train.seed)
        self.by_tokens = plan.train.batch_unit == "tokens"
        self.epochs = plan.train.sampling != "replacement"
        self.start_step = int(start_step)
        self.paced = paced
        n = len(self.order)
        if self.by_tokens:
            if tokens is None:
                raise ValueError("a token budget needs the examples' token counts")
            self.tokens = np.asarray(tokens, dtype=np.int64)[self.order]  # by position
            self.budget = int(plan.train.batch)
            self._min_tokens = max(1, int(self.tokens.min())) if n else 1
            self._mean_tokens = max(float(self.tokens.mean()), 1.0) if n else 1.0
            longest = int(self.tokens.max()) if n else 0
            if longest > self.budget:
                raise CurriculumError.single(
                    "E364",
                    f"a token budget of {self.budget:,} cannot hold an example of "
                    f"{longest:,} tokens",
                    hint=f"use a budget of at least {longest:,} tokens (the longest example)",
                )
            fits = np.searchsorted(np.cumsum(self.tokens), self.budget, side="right")
            too_small = n == 0 or int(self.tokens.sum()) <= self.budget
            # at least enough of the easiest examples that one step cannot run out
            self.minimum_pool = min(n, int(fits) + 1)
            total = int(self.tokens.sum())
            what = f"{total:,} tokens, no more than one step's budget of {self.budget:,}"
        else:
            self.tokens = None
            self.budget = None
            self.minimum_pool = min(n, int(plan.train.batch))
            too_small = n < plan.train.batch
            what = f"{n} examples, fewer than one global batch of {plan.train.batch}"
        if too_small:
            raise CurriculumError.single(
                "E361",
                f"the corpus has {what}",
                hint="use a smaller batch or more data (examples are never repeated in a batch)",
            )
        self.sorted_keys = None
        if plan.pace.ties == "include" and plan.pace.fn != "none":
            if keys is None:
                raise ValueError("'ties include' needs the sort keys of the order")
            keys = np.asarray(keys, dtype=np.float64)
            self.sorted_keys = keys[~np.isnan(keys)]
        self._stream: _Stream | None = None
        self.clocked = plan.pace.fn != "none" and plan.pace.unit != "steps"
        self._totals: tuple[array, array, array] | None = None
        mix = getattr(plan, "mix", None)
        self._mix = None if mix is None else self._mix_parts(mix, sources, source_names, keys)
        mix_clocked = mix is not None and mix.unit != "steps"
        seq_clocked = self._warm is not None and self._warm.unit != "steps"
        ramp_clocked = self._ramp is not None and self._ramp.unit != "steps"
        if self.clocked or track or mix_clocked or seq_clocked or ramp_clocked:
            if words is None or tokens is None:
                raise ValueError("a pace counted in data needs the examples' words and tokens")
            if self.start_step:
                raise ValueError("a pace counted in data draws one stream from step 0")
            self._words_at = np.asarray(words, dtype=np.int64)[self.order]  # by position
            self._tokens_at = np.asarray(tokens, dtype=np.int64)[self.order]
            self._totals = (array("q", [0]), array("q", [0]), array("q", [0]))
            if self._warm is not None:
                if stored is None:
                    raise ValueError("a seq warmup counts words at each step's length: it "
                                     "needs the examples' stored words and lengths")  # fmt: skip
                self._stored_words_at = np.asarray(stored[0], dtype=np.int64)[self.order]
                self._lengths_at = np.asarray(stored[1], dtype=np.int64)[self.order]

    @property
    def batch_size(self) -> int | None:
        """Examples per step (None with a token budget: as many as fit); under a batch
        ramp, the largest (:meth:`batch_at` gives each step's)."""
        return None if self.by_tokens else int(self.plan.train.batch)

    def batch_at(self, step: int) -> int:
        """The global batch of ``step`` (:meth:`Plan.batch_at`): ``train.batch``, or a batch
        ramp's size -- a ramp counted in data reads this sampler's own totals before the
        step, as a pace does."""
        ramp = self._ramp
        if ramp is None:
            return int(self.plan.train.batch)
        return ramp.size(step if ramp.unit == "steps" else self._reading(ramp.unit, step))

    def __len__(self) -> int:
        return len(self.order)

    def released(self, step: int) -> int:
        """Examples the pacing releases at ``step``, before the one-step floor."""
        n = len(self.order)
        if not self.paced:
            return n
        if self.clocked:
            pace = self.plan.pace
            fraction = pace.fraction(self._reading(pace.unit, step))
        else:
            fraction = self.plan.data_fraction(step)
        if fraction >= 1.0:
            return n
        if self.sorted_keys is not None:
            return percentile_count(self.sorted_keys, fraction)
        return min(n, math.ceil(fraction * n - _CEIL_SLACK))

    def pool_size(self, step: int) -> int:
        """How many of the easiest examples may be drawn at ``step``."""
        return max(self.released(step), self._minimum_pool(step))

    def seq_at(self, step: int) -> int:
        """The most positions an input of ``step`` has (:meth:`Plan.seq_at`); a warmup
        counted in data reads this sampler's own totals before the step, as a pace does."""
        warm = self._warm
        if warm is None:
            return int(self.plan.train.seq)
        if warm.unit == "steps":
            return self.plan.seq_for(step)
        return self.plan.seq_for(self._reading(warm.unit, step))

    def _cut(self, step: int, tokens: np.ndarray) -> np.ndarray:
        """``tokens`` (of text, at ``train.seq``) as step ``step`` reads them: cut to its
        length less ``<s>`` and ``</s>`` (:func:`~curriculumc.runtime.data.tokenized.
        seen_tokens`; min(min(L, S - 2), s - 2) = min(L, s - 2) for s <= S)."""
        if self._warm is None:
            return tokens
        return seen_tokens(tokens, self.seq_at(step))

    def _minimum_pool(self, step: int) -> int:
        """The pool's floor at ``step``: one step's worth -- with a token budget and a seq
        warmup, of the easiest examples read at the step's length (shorter examples: more
        of them fill a budget)."""
        if self._ramp is not None:  # one step's worth: this step's batch
            return min(len(self.order), self.batch_at(step))
        if self._warm is None or not self.by_tokens:
            return self.minimum_pool
        seq = self.seq_at(step)
        floor = self._floors.get(seq)
        if floor is None:
            fits = np.searchsorted(np.cumsum(self._cut(step, self.tokens)), self.budget, "right")
            floor = self._floors[seq] = min(len(self.order), int(fits) + 1)
        return floor

    def drawn_before(self, step: int) -> tuple[int, int, int]:
        """(examples, words, tokens) drawn by steps ``0 .. step - 1`` (draws them if need
        be); needs ``track`` or a pace counted in data."""
        if self._totals is None:
            raise ValueError("this sampler keeps no totals (track=True keeps them)")
        examples, words, tokens = self._totals
        while len(examples) <= step:  # draw the steps not yet drawn, in order
            self.positions(len(examples) - 1)
        return examples[step], words[step], tokens[step]

    def clock(self, steps: int):
        """The :class:`curriculumc.plan.Clock` of the first ``steps`` steps: the totals drawn
        before each step ``0 .. steps`` (draws them if need be; needs ``track``)."""
        from curriculumc.plan import Clock

        self.drawn_before(steps)
        return Clock(*(np.frombuffer(a, dtype=np.int64)[: steps + 1].copy() for a in self._totals),
                     len(self.order))  # fmt: skip

    def _reading(self, unit: str, step: int) -> float:
        examples, words, tokens = self.drawn_before(step)
        if unit == "words":
            return words
        if unit == "tokens":
            return tokens
        return examples / len(self.order)  # epochs

    def _count(self, step: int, positions: np.ndarray) -> None:
        """Add the draws of ``step`` to the totals (once, in step order)."""
        if self._totals is None or len(self._totals[0]) != step + 1:
            return
        examples, words, tokens = self._totals
        examples.append(examples[-1] + len(positions))
        if self._warm is None:
            words.append(words[-1] + int(self._words_at[positions].sum()))
            tokens.append(tokens[-1] + int(self._tokens_at[positions].sum()))
            return
        # seen at the step's length (the trainer's count): a time in words is words seen
        seq = self.seq_at(step)
        lengths = self._lengths_at[positions]
        seen = seen_words(self._stored_words_at[positions], lengths, seq)
        words.append(words[-1] + int(seen.sum()))
        tokens.append(tokens[-1] + int(seen_tokens(lengths, seq).sum()))

    def floor_applied(self, step: int) -> bool:
        """True when the paced pool was smaller than one step needs and was raised (under a
        mix: the pool of a source the step draws from)."""
        if self._mix is not None:
            return any(
                self.source_released(j, step) < self.source_pool(j, step)
                for j in self.phase_sources(step)
            )
        return self.released(step) < self._minimum_pool(step)

    def positions(self, step: int) -> np.ndarray:
        """Positions in the order (0 = easiest) of the global batch of ``step``, in draw
        order, all distinct."""
        if step < self.start_step:
            raise ValueError(f"step {step} is before this sampler's first step {self.start_step}")
        if self._mix is not None:
            return self._mix_positions(step)
        if not self.epochs:
            return self._fresh(step)
        stream = self._stream
        if stream is None or step < stream.step - 1:
            stream = self._stream = _Stream(self.start_step, len(self.order))
        while stream.step <= step:
            self._advance(stream)
        return stream.last

    def indices(self, step: int) -> np.ndarray:
        """Example indices (into the corpus) of the global batch of ``step``, int64."""
        return self.order[self.positions(step)]

    def draw_epochs(self, step: int) -> np.ndarray:
        """The epoch (0 = the stream's first) of each draw of ``step``, aligned with
        :meth:`positions` (a step may straddle two). With replacement there are no
        epochs: all zeros."""
        drawn = self.positions(step)
        if self._mix is not None:
            return self._mix["last_epochs"]
        if not self.epochs:
            return np.zeros(len(drawn), dtype=np.int64)
        return self._stream.last_epochs

    @classmethod
    def for_corpus(cls, plan: Plan, corpus, order: np.ndarray, **options) -> CurriculumSampler:
        """The sampler of ``plan`` over ``corpus`` (a TokenizedCorpus) in ``order``, with
        the examples' tokens of text (:meth:`text_tokens` at the plan's
        ``seq``) for a token budget; ``options`` as for the constructor."""
        seq = plan.train.seq
        clocked = plan.pace.fn != "none" and plan.pace.unit != "steps"
        if getattr(plan, "mix", None) is not None:
            options.setdefault("sources", corpus.source)
            options.setdefault("source_names", tuple(corpus.source_names))
            clocked = clocked or plan.mix.unit != "steps"
        warm = getattr(plan, "seq_warmup", None)
        if warm is not None:  # words seen at each step's length need the stored counts
            options.setdefault("stored", (corpus.words, corpus.lengths()))
            clocked = clocked or warm.unit != "steps"
        ramp = getattr(plan, "batch_ramp", None)
        clocked = clocked or (ramp is not None and ramp.unit != "steps")
        if clocked or options.get("track"):
            options.setdefault("words", corpus.text_words(seq))
            return cls(plan, order, tokens=corpus.text_tokens(seq), **options)
        tokens = corpus.text_tokens(seq) if plan.train.batch_unit == "tokens" else None
        return cls(plan, order, tokens=tokens, **options)

    # --- drawing -----------------------------------------------------------------------

    def _draw(self, step: int, available: int, spent: int, stream: int, tokens_of):
        """The next draws of ``step`` from ``available`` candidates: (indices into them, in
        draw order, that the step keeps; what the step has spent after them -- examples,
        or tokens for a budget). ``tokens_of(indices)`` gives the candidates' tokens.

        A token budget keeps drawn examples while they fit. It asks for about as many as
        the mean example would fill and lengthens the same draw (its prefix is fixed)
        until one does not fit or no more could: O(examples taken), not O(budget)."""
        if not self.by_tokens:
            count = min(available, self.batch_at(step) - spent)
            return distinct_draws(self.seed, step, available, count, stream), spent + count
        left = self.budget - spent
        least = self._min_tokens
        if self._warm is not None:  # a seq warmup's step reads its examples shorter
            least = max(1, min(least, self.seq_at(step) - 2))
        most = min(available, left // least + 1)  # more than this cannot fit
        dense = 2 * most > available
        count = min(most, int(left / self._mean_tokens * 1.25) + 8)
        while True:
            chosen = distinct_draws(self.seed, step, available, count, stream, dense)
            running = spent + np.cumsum(self._cut(step, tokens_of(chosen)))
            keep = int(np.searchsorted(running, self.budget, side="right"))
            if keep < count or count == most:
                return chosen[:keep], int(running[keep - 1]) if keep else spent
            count = min(most, 2 * count)

    def _fresh(self, step: int) -> np.ndarray:
        """``sampling: replacement``: the step's batch drawn afresh from the pool."""
        if self._totals is not None:  # the totals before ``step`` need the steps before it
            while len(self._totals[0]) <= step:
                earlier = len(self._totals[0]) - 1
                self._count(earlier, self._fresh_draw(earlier))
        drawn = self._fresh_draw(step)
        self._count(step, drawn)
        return drawn

    def _fresh_draw(self, step: int) -> np.ndarray:
        tokens = self.tokens
        pool = self.pool_size(step)
        drawn, _ = self._draw(step, pool, 0, _REPLACEMENT_STREAM, lambda c: tokens[c])
        return drawn

    def _advance(self, stream: _Stream) -> None:
        """Draw the batch of ``stream.step`` from the epoch stream (into ``stream.last``)
        and move on."""
        step = stream.step
        pool = self.pool_size(step)
        if stream.remaining == 0:  # the last step finished an epoch (or this is the first)
            stream.new_epoch(pool, np.empty(0, dtype=np.int64))
        stream.release(pool)
        tokens = self.tokens
        tokens_of = None if tokens is None else (lambda c: tokens[stream.avail[c]])
        parts: list[np.ndarray] = []
        epochs: list[np.ndarray] = []
        spent, part = 0, 0
        full = self.budget if self.by_tokens else self.batch_at(step)
        while True:
            if stream.remaining == 0:
                taken = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
                stream.new_epoch(stream.released, taken)
            if stream.remaining == 0:  # a pool no larger than one step: nothing left
                break
            available = stream.remaining
            chosen, spent = self._draw(step, available, spent, _EPOCH_STREAM + part, tokens_of)
            keep = len(chosen)
            if keep:
                parts.append(stream.take(chosen))
                epochs.append(np.full(keep, stream.epoch, dtype=np.int64))
            part += 1
            # full: the batch, or a budget draw that stopped before the epoch ran out
            if spent >= full or keep < available or keep == 0:
                break
        stream.rejoin()
        stream.step = step + 1
        stream.last, stream.last_epochs = np.concatenate(parts), np.concatenate(epochs)
        self._count(step, stream.last)

    # --- a mix: per-source draws ----------------------------------------------------------

    def _mix_parts(self, mix, sources, source_names, keys) -> dict:
        """Each mixed source's positions in the order (ascending: its own examples in the
        sort's order) and sort keys. Raises E367 for a source the corpus does not have."""
        if self.by_tokens:
            raise ValueError("a mix needs a batch counted in examples (the compiler's E082)")
        if sources is None or source_names is None:
            raise ValueError("a mix needs the examples' sources")
        names = tuple(str(n) for n in source_names)
        problems = []
        for name in mix.sources:
            if name not in names:
                hint = did_you_mean(name, names) or "known: " + ", ".join(sorted(names))
                problems.append(Diagnostic(E_MIX_SOURCE, f"the corpus has no source '{name}' "
                                           "(named in the mix)", hint=hint))  # fmt: skip
        if problems:
            raise CurriculumError(problems)
        at_position = np.asarray(sources, dtype=np.int64)[self.order]
        members, source_keys = [], []
        for name in mix.sources:
            positions = np.flatnonzero(at_position == names.index(name)).astype(np.int64)
            members.append(positions)
            if self.sorted_keys is not None:
                chosen = np.asarray(keys, dtype=np.float64)[positions]
                source_keys.append(chosen[~np.isnan(chosen)])
        return {"mix": mix, "members": members, "keys": source_keys, "state": None}

    def mix_counts(self, step: int) -> np.ndarray:
        """The examples each source of the mix (:attr:`Mix.sources` order) gives ``step``."""
        return self._mix_state()["counts"].counts(step)

    def _mix_state(self) -> dict:
        parts = self._mix
        if parts["state"] is None:
            mix = parts["mix"]

            def weights_of(step: int):
                return list(mix.weights(self._mix_reading(step)).values())

            counts = _MixCounts(weights_of, lambda t: mix.phase_index(self._mix_reading(t)),
                                self.batch_at, len(mix.sources))  # fmt: skip
            streams = [_Stream(self.start_step, len(m)) for m in parts["members"]]
            parts["state"] = {"counts": counts, "streams": streams, "step": self.start_step}
        return parts["state"]

    def source_pool(self, index: int, step: int) -> int:
        """How many of mixed source ``index``'s easiest examples may be drawn at ``step``:
        the pace's share of that source (:meth:`source_released`), at least
        ``min(N_s, batch)``."""
        return self._source_counts(step)[1][index]

    def source_members(self, index: int) -> np.ndarray:
        """The positions in the order of mixed source ``index``'s examples, easiest first
        (a source's pool is the first :meth:`source_pool` of them)."""
        return self._mix["members"][index]

    def phase_sources(self, step: int) -> list[int]:
        """The mixed sources (indices into :attr:`Mix.sources`) that ``step``'s phase gives
        a weight above 0: the ones it draws from."""
        weights = self._mix["mix"].weights(self._mix_reading(step))
        return [j for j, w in enumerate(weights.values()) if w > 0]

    def _mix_reading(self, step: int) -> float:
        """Where ``step`` stands in the mix's unit: the step, or the data drawn before it."""
        unit = self._mix["mix"].unit
        return step if unit == "steps" else self._reading(unit, step)

    def drawable(self, step: int) -> int:
        """How many examples ``step`` may draw from: :meth:`pool_size`, or under a mix the
        pools of the sources its phase draws from (a source it leaves out is not drawable)
        -- the pool ``simulate`` and the trainer's ``pool`` metric show."""
        if self._mix is None:
            return self.pool_size(step)
        return sum(self.source_pool(j, step) for j in self.phase_sources(step))

    def source_released(self, index: int, step: int) -> int:
        """Mixed source ``index``'s examples the pacing releases at ``step``, before the
        one-step floor: the pace's share of that source (``ceil(p * N_s)``, or the
        percentile rule within it for ``ties include``)."""
        return self._source_counts(step)[0][index]

    def _source_counts(self, step: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Every mixed source's released examples and pool at ``step`` (the pace read once
        for all of them; the last step's kept, as a step asks for each source's)."""
        kept = self._mix.get("counts_at")
        if kept is not None and kept[0] == step:
            return kept[1]
        fraction = 1.0
        if self.paced:
            pace = self.plan.pace
            fraction = (
                pace.fraction(self._reading(pace.unit, step)) if self.clocked
                else self.plan.data_fraction(step)
            )  # fmt: skip
        released, pools = [], []
        floor = self.batch_at(step)
        for index, members in enumerate(self._mix["members"]):
            n = len(members)
            if fraction >= 1.0:
                count = n
            elif self.sorted_keys is not None:
                count = percentile_count(self._mix["keys"][index], fraction)
            else:
                count = min(n, math.ceil(fraction * n - _CEIL_SLACK))
            released.append(count)
            pools.append(max(count, min(n, floor)))
        counts = (tuple(released), tuple(pools))
        self._mix["counts_at"] = (step, counts)  # one tuple: a reader sees a whole one
        return counts

    def _mix_positions(self, step: int) -> np.ndarray:
        state = self._mix_state()
        if step < state["step"] - 1:  # back in time: replay the draws from the start
            counts = state["counts"]
            self._mix["state"] = None
            state = self._mix_state()
            state["counts"] = counts  # the counts do not depend on the draws
        while state["step"] <= step:
            self._mix_advance(state)
        return self._mix["last"]

    def _mix_advance(self, state: dict) -> None:
        step = state["step"]
        counts = state["counts"].counts(step)
        mix = self._mix["mix"]
        drawn, epochs = [], []
        for j, members in enumerate(self._mix["members"]):
            count = int(counts[j])
            pool = self.source_pool(j, step)
            if count > pool:
                raise CurriculumError.single(
                    E_MIX_SMALL,
                    f"source '{mix.sources[j]}' has {len(members):,} examples, fewer than "
                    f"its {count} of step {step:,}",
                    hint="give it a smaller weight, use a smaller batch, or add its data",
                )
            key = (j + 1) << _MIX_STREAM_SHIFT
            if not self.epochs:
                local = (
                    distinct_draws(self.seed, step, pool, count, key + _REPLACEMENT_STREAM)
                    if count else np.empty(0, dtype=np.int64)
                )  # fmt: skip
                part_epochs = np.zeros(len(local), dtype=np.int64)
            else:
                local, part_epochs = self._source_draw(state["streams"][j], step, pool, count,
                                                       key + _EPOCH_STREAM)  # fmt: skip
            drawn.append(members[local])
            epochs.append(part_epochs)
        state["step"] = step + 1
        self._mix["last"] = np.concatenate(drawn) if drawn else np.empty(0, dtype=np.int64)
        self._mix["last_epochs"] = np.concatenate(epochs) if epochs else np.empty(0, np.int64)
        self._count(step, self._mix["last"])

    def _source_draw(self, stream: _Stream, step: int, pool: int, count: int, key: int):
        """``count`` draws of one source's epoch stream at ``step`` (local positions, and
        the epoch of each): the epochs of the module docstring, within the source. A step
        that draws nothing from it only releases."""
        if count == 0:
            if stream.remaining > 0:
                stream.release(pool)
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        if stream.remaining == 0:  # its last draw finished an epoch (or this is the first)
            stream.new_epoch(pool, np.empty(0, dtype=np.int64))
        stream.release(pool)
        parts: list[np.ndarray] = []
        epochs: list[np.ndarray] = []
        spent, part = 0, 0
        while spent < count:
            if stream.remaining == 0:
                taken = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
                stream.new_epoch(stream.released, taken)
            available = stream.remaining
            take = min(available, count - spent)
            chosen = distinct_draws(self.seed, step, available, take, key + part)
            parts.append(stream.take(chosen))
            epochs.append(np.full(take, stream.epoch, dtype=np.int64))
            spent += take
            part += 1
        stream.rejoin()
        return np.concatenate(parts), np.concatenate(epochs)
