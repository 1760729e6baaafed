"""An n-gram language model with interpolated modified Kneser-Ney smoothing, in numpy.

Used by the ``ngram_ppl(n=..., folds=K)`` scorer: every example is scored by its
perplexity under a model trained on the training corpus's token ids --

- ``folds=1`` (the default, the seed system's rule): one model trained on *all* examples,
  so each example is scored by a model that has seen it (in-sample);
- ``folds=K >= 2`` (cross-fitting, :func:`crossfit_perplexities`): the examples are split
  into K folds by :func:`fold_assignment` and each fold is scored by the model trained on
  the other K - 1 folds, so no example's score depends on the example itself. An
  utterance that occurs once in AO-CHILDES looks 2.6-3 times as easy in-sample as to a
  model that has not seen it (median ratio 0.38 / 0.33 against a held-out half of the
  utterances / of the transcripts; cross-fitted: 0.99-1.00 / 0.92-0.95); a repeated one
  is barely flattered, since its other occurrences are in the other folds
  (bench/scorer_honesty.py). Cost: K models on (K-1)/K of the data each, the held-out
  folds scored by look-ups -- on AO-CHILDES train 0.5 s for folds=1, 0.9 s for 2, 2.3 s
  for 5.

Definitions (Chen & Goodman 1999, "interpolated modified Kneser-Ney"):

- Every example is one sentence. Its events are its tokens followed by an end-of-sentence
  event ``EOS``; the history of an event is the ``n - 1`` previous tokens of the *same*
  example, padded on the left with ``BOS`` -- no n-gram crosses two examples.
- The highest order uses raw counts ``c``; each lower order ``m`` uses continuation counts
  ``N1+(. g)``: the number of distinct (m+1)-grams whose last m tokens are ``g``.
- ``P_m(w | h) = max(a(h w) - D_m(a), 0) / sum_v a(h v)
  + gamma_m(h) * P_{m-1}(w | h')`` where ``a`` is the order's count, ``h'`` is ``h`` without
  its first token and ``gamma_m(h) = (D_m1 N1(h.) + D_m2 N2(h.) + D_m3+ N3+(h.)) / sum_v a(h v)``.
  A history never seen gives its whole mass to the lower order. Below unigrams sits the
  uniform distribution over the ``vocab_size`` token ids plus ``EOS``.
- Unseen tokens (held-out text: a token no training example has): the unigram level gives
  it no discounted count, only its share of the back-off mass,
  ``P(w) = gamma_1 / (vocab_size + 1)`` with ``gamma_1`` the unigram level's discounted
  mass (``D1 N1 + D2 N2 + D3+ N3+`` over the continuation total) -- finite, and the same
  share every unseen token id gets, so scoring held-out text needs no ``<unk>`` rule; and
  every history containing it is unseen, so the higher orders back off entirely.
- Three discounts per order from the count-of-counts ``n1..n4`` of that order's counts:
  ``Y = n1 / (n1 + 2 n2)``, ``D1 = 1 - 2Y n2/n1``, ``D2 = 2 - 3Y n3/n2``, ``D3+ = 3 - 4Y n4/n3``.
  Where a count-of-count is zero (tiny corpora) or a discount falls outside ``(0, k]`` the
  order uses 0.75 for all three.
- ``P`` sums to 1 over the vocabulary plus ``EOS`` for every history (tested).

Everything is vectorized: n-grams are encoded as int64 keys built order by order --
``key_m = h * U_{m-1} + rank_{m-1}`` where ``rank_{m-1}`` is the dense rank of the (m-1)-gram
suffix among the ``U_{m-1}`` distinct ones -- so keys never overflow whatever ``n`` and the
vocabulary size are. Counting is a sort of the keys; look-ups are ``np.searchsorted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FALLBACK_DISCOUNT = 0.75


@dataclass(frozen=True)
class _Order:
    """Tables of one order m: its n-gram types and its histories (contexts)."""

    keys: np.ndarray  # sorted int64 keys of the distinct m-grams
    counts: np.ndarray  # raw (top order) or continuation counts, float64, per m-gram
    alpha: np.ndarray  # max(count - D(count), 0) / total of its history, per m-gram
    context_of: np.ndarray  # int64 index into the context tables, per m-gram
    context_keys: np.ndarray  # sorted int64 keys of the distinct (m-1)-token histories
    context_total: np.ndarray  # sum of counts per history
    context_gamma: np.ndarray  # back-off weight per history
    discounts: np.ndarray  # (D1, D2, D3+), float64


def _events(ids: np.ndarray, offsets: np.ndarray, vocab_size: int, order: int):
    """Words and left histories of every event (each token, then EOS per example).

    Returns ``(words, history)``: ``words`` int64 of length E = tokens + examples,
    ``history`` int64 of shape (order - 1, E), row j holding the token j + 1 places back
    (BOS where that is before the start of the example).
    """
    bos, eos = vocab_size, vocab_size + 1
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    n_examples = len(lengths)
    # example i's events occupy [offsets[i] + i, offsets[i + 1] + i + 1)
    ev_start = offsets[:-1] + np.arange(n_examples, dtype=np.int64)
    total = int(offsets[-1]) + n_examples
    words = np.empty(total, dtype=np.int64)
    is_eos = np.zeros(total, dtype=bool)
    is_eos[ev_start + lengths] = True
    words[is_eos] = eos
    words[~is_eos] = np.asarray(ids[offsets[0] : offsets[-1]], dtype=np.int64)
    example_of = np.repeat(np.arange(n_examples, dtype=np.int64), lengths + 1)
    position = np.arange(total, dtype=np.int64) - ev_start[example_of]
    history = np.empty((max(order - 1, 0), total), dtype=np.int64)
    for back in range(1, order):  # a loop over n - 1 lags, not over n-grams
        shifted = np.empty(total, dtype=np.int64)
        shifted[back:] = words[:-back]
        shifted[:back] = bos
        history[back - 1] = np.where(position >= back, shifted, bos)
    return words, history


def _discounts(counts: np.ndarray) -> np.ndarray:
    n1, n2, n3, n4 = (float(np.count_nonzero(counts == k)) for k in (1, 2, 3, 4))
    if min(n1, n2, n3, n4) > 0:
        y = n1 / (n1 + 2 * n2)
        d = np.array([1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3])
        if np.all(d > 0) and np.all(d <= np.array([1.0, 2.0, 3.0])):
            return d
    return np.full(3, FALLBACK_DISCOUNT)


def _dense(keys: np.ndarray):
    """Sorted distinct keys, the dense rank of every input key, and for every distinct key
    the index of one of its occurrences (which one does not matter to the callers).

    Sorting values is several times faster than ``argsort`` (SIMD sorts), so when keys and
    positions fit in 63 bits together the positions ride in the low bits of the keys.
    """
    n = len(keys)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    position_bits = max(1, (n - 1).bit_length())
    if int(keys.max()).bit_length() + position_bits <= 63:
        packed = np.sort((keys << position_bits) | np.arange(n, dtype=np.int64))
        sorted_keys = packed >> position_bits
        perm = packed & ((1 << position_bits) - 1)
    else:
        perm = np.argsort(keys)
        sorted_keys = keys[perm]
    is_new = np.empty(n, dtype=bool)
    is_new[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=is_new[1:])
    rank = np.empty(n, dtype=np.int64)
    rank[perm] = np.cumsum(is_new) - 1
    return sorted_keys[is_new], rank, perm[is_new]


def _table(keys, counts, context_distinct, context_of, discounts=None) -> _Order:
    """One order's tables from its m-gram ``keys``, their ``counts`` (raw or continuation)
    and histories (``context_of``: each m-gram's index into ``context_distinct``);
    ``discounts``: given, or estimated from the counts."""
    count = counts.astype(np.float64)
    d = np.asarray(discounts, dtype=np.float64) if discounts is not None else _discounts(count)
    n_ctx = len(context_distinct)
    total = np.bincount(context_of, weights=count, minlength=n_ctx)
    mass = np.zeros(n_ctx)
    for k, (lo, hi) in enumerate(((1, 1), (2, 2), (3, np.inf))):
        in_band = (count >= lo) & (count <= hi)
        mass += d[k] * np.bincount(context_of, weights=in_band, minlength=n_ctx)
    band = np.clip(count, 1, 3).astype(np.int64) - 1  # 0, 1, 2 for 1, 2, >= 3
    discounted = np.maximum(count - d[band], 0.0)
    return _Order(
        keys=keys,
        counts=count,
        alpha=discounted / total[context_of],
        context_of=context_of,
        context_keys=context_distinct,
        context_total=total,
        context_gamma=mass / np.maximum(total, 1e-300),
        discounts=d,
    )


class NgramModel:
    """A trained n-gram model over token ids ``0..vocab_size-1`` (see the module docstring).

    Build it with :meth:`fit`; score text with :meth:`event_logprobs`, :meth:`perplexities`
    or :meth:`prob`.
    """

    def __init__(self, order: int, vocab_size: int, tables: Sequence[_Order]):
        self.order = order
        self.vocab_size = vocab_size
        self.bos, self.eos = vocab_size, vocab_size + 1
        self.tables = tuple(tables)  # tables[m - 1] is order m

    @classmethod
    def fit(
        cls,
        ids: np.ndarray,
        offsets: np.ndarray,
        vocab_size: int,
        order: int = 3,
        *,
        discounts: Sequence[Sequence[float]] | None = None,
    ) -> NgramModel:
        """Train on the examples ``ids[offsets[i]:offsets[i+1]]``.

        ``discounts`` overrides the estimated ones: one ``(D1, D2, D3+)`` per order, lowest
        order first (used to compare with other implementations). Raises ``ValueError`` for
        ``order < 1`` or ids outside ``[0, vocab_size)``.
        """
        return cls._fit(ids, offsets, vocab_size, order, discounts, keep_ranks=False)[0]

    @classmethod
    def fit_scored(
        cls, ids: np.ndarray, offsets: np.ndarray, vocab_size: int, order: int = 3
    ) -> tuple[NgramModel, np.ndarray]:
        """:meth:`fit`, plus the natural-log probability of every training event.

        The same numbers as ``model.event_logprobs(ids, offsets)``, but faster: the ranks
        found while counting are the look-ups, so no search is needed.
        """
        model, ranks = cls._fit(ids, offsets, vocab_size, order, None, keep_ranks=True)
        return model, np.log(model._interpolate(ranks))

    @classmethod
    def _fit(cls, ids, offsets, vocab_size, order, discounts, *, keep_ranks):
        if order < 1:
            raise ValueError(f"n-gram order must be at least 1, not {order}")
        ids = np.asarray(ids)
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
            raise ValueError(f"token ids must lie in [0, {vocab_size})")
        words, history = _events(ids, offsets, vocab_size, order)
        # Order by order: the key of the m-gram ending at each event and of its history.
        # Per-event ranks are dropped once the next order has used them (kept for fit_scored).
        grams, contexts, counts, ranks = [], [], [], []
        gram_rank = context_rank = None
        for m in range(1, order + 1):
            if m == 1:
                gram_key = words
                context_key = np.zeros(len(words), dtype=np.int64)
            else:
                h = history[m - 2]
                gram_key = h * len(grams[-1]) + gram_rank
                context_key = h * len(contexts[-1][0]) + context_rank
            below_rank = gram_rank
            gram_distinct, gram_rank, gram_first = _dense(gram_key)
            context_distinct, context_rank, _ = _dense(context_key)
            if m > 1:
                # continuation count of each (m-1)-gram: distinct m-grams with it as suffix
                counts.append(np.bincount(below_rank[gram_first], minlength=len(grams[-1])))
            grams.append(gram_distinct)
            contexts.append((context_distinct, context_rank[gram_first]))
            if keep_ranks:  # every training event is found at every order
                ranks.append((gram_rank, None, context_rank, None))
        counts.append(np.bincount(gram_rank, minlength=len(grams[-1])))  # raw, top order
        del words, history, below_rank

        tables = [
            _table(
                grams[m - 1],
                counts[m - 1],
                *contexts[m - 1],
                discounts[m - 1] if discounts is not None else None,
            )
            for m in range(1, order + 1)
        ]
        return cls(order, vocab_size, tables), ranks

    def _probs(self, words: np.ndarray, history: np.ndarray) -> np.ndarray:
        """P(word | history) for arrays of events (history rows as in :func:`_events`)."""
        ranks = []
        gram_rank = context_rank = np.zeros(len(words), dtype=np.int64)
        gram_found = context_found = np.ones(len(words), dtype=bool)
        n_below, n_ctx_below = 0, 1
        for m, table in enumerate(self.tables, start=1):
            if m == 1:
                gram_key, context_key = words, np.zeros(len(words), dtype=np.int64)
            else:
                h = history[m - 2]
                gram_key = h * n_below + gram_rank
                context_key = h * n_ctx_below + context_rank
            gram_rank, gram_found = _lookup(table.keys, gram_key, gram_found)
            context_rank, context_found = _lookup(table.context_keys, context_key, context_found)
            ranks.append((gram_rank, gram_found, context_rank, context_found))
            n_below, n_ctx_below = len(table.keys), len(table.context_keys)
        return self._interpolate(ranks)

    def _interpolate(self, ranks) -> np.ndarray:
        """Interpolated probabilities from each order's ``(gram rank, found, context rank,
        found)`` per event (``found`` None: all found), lowest order first."""
        prob = np.full(len(ranks[0][0]), 1.0 / (self.vocab_size + 1))
        for table, (gram_rank, gram_found, ctx, context_found) in zip(self.tables, ranks):
            alpha = table.alpha[gram_rank]
            if context_found is None:  # training events: every n-gram and history was seen
                prob = alpha + table.context_gamma[ctx] * prob
                continue
            higher = np.where(gram_found, alpha, 0.0) + table.context_gamma[ctx] * prob
            prob = np.where(context_found, higher, prob)
        return prob

    def event_logprobs(self, ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Natural-log probability of every event (each token, then EOS, per example)."""
        words, history = _events(np.asarray(ids), offsets, self.vocab_size, self.order)
        return np.log(self._probs(words, history))

    def perplexities(self, ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Per-example perplexity ``exp(-mean log P)`` over its tokens and its EOS event."""
        offsets = np.asarray(offsets, dtype=np.int64)
        return per_example_perplexity(self.event_logprobs(ids, offsets), offsets)

    def prob(self, word: int, context: Sequence[int]) -> float:
        """P(word | context) for one event; ``context`` is the preceding ids, oldest first
        (fewer than ``order - 1`` means the sentence starts there). ``word`` may be ``eos``."""
        context = list(context)[-(self.order - 1) :] if self.order > 1 else []
        padded = [self.bos] * (self.order - 1 - len(context)) + context
        history = np.array(padded[::-1], dtype=np.int64).reshape(self.order - 1, 1)
        return float(self._probs(np.array([word], dtype=np.int64), history)[0])


def _lookup(keys: np.ndarray, queries: np.ndarray, valid: np.ndarray):
    """Dense ranks of ``queries`` in the sorted ``keys`` and whether each was found."""
    rank = np.searchsorted(keys, queries)
    rank = np.minimum(rank, len(keys) - 1)
    found = valid & (keys[rank] == queries)
    return np.where(found, rank, 0), found


def ngram_perplexities(
    ids: np.ndarray, offsets: np.ndarray, vocab_size: int, order: int = 3
) -> np.ndarray:
    """Train an order-``order`` model on the examples and return each one's perplexity.

    The numbers of ``per_example_perplexity(NgramModel.fit_scored(...)[1], offsets)`` to the
    last bit (a test compares them), in less memory: the per-event arrays are the event
    words, the probabilities being built and two orders' ranks (int32) at a time, not every
    order's int64 ranks and histories -- about 4.5 GB instead of ~15 at 134M events (a
    100M-word corpus).
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    if order < 1:
        raise ValueError(f"n-gram order must be at least 1, not {order}")
    ids = np.asarray(ids)
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"token ids must lie in [0, {vocab_size})")
    logp = np.log(_training_probs(ids, offsets, vocab_size, order))
    return per_example_perplexity(logp, offsets, overwrite=True)


def per_example_perplexity(
    logp: np.ndarray, offsets: np.ndarray, *, overwrite: bool = False
) -> np.ndarray:
    """``exp(-mean log P)`` per example from the event log-probabilities (tokens + EOS).

    ``overwrite``: the running sum is taken in ``logp``'s own memory (the same sums)."""
    n_events = np.diff(offsets) + 1
    ends = np.cumsum(n_events)
    running = np.cumsum(logp, out=logp if overwrite else None)
    # running[j - 1] is the sum of the first j events (0 for j = 0)
    starts = ends - n_events
    before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0.0)
    sums = running[ends - 1] - before
    return np.exp(-sums / n_events)


#: events per slice of the in-place passes (bounded temporaries)
_SLICE = 1 << 22


def _training_probs(ids, offsets, vocab_size: int, order: int) -> np.ndarray:
    """P(event | history) of every training event under the model trained on them -- the
    ``exp`` of ``fit_scored``'s log-probabilities, computed the same way (the same
    tables, the same ``alpha + gamma * lower`` per order, lowest first) but order by
    order: an order's probabilities are added as soon as the next order's continuation
    counts make its table known, and its ranks are dropped then."""
    bos, eos = vocab_size, vocab_size + 1
    lengths = np.diff(offsets)
    n_examples = len(lengths)
    ev_start = offsets[:-1] + np.arange(n_examples, dtype=np.int64)
    total = int(offsets[-1]) + n_examples
    word_type = np.uint16 if eos < 1 << 16 else np.int64
    words = np.empty(total, dtype=word_type)
    is_eos = np.zeros(total, dtype=bool)
    is_eos[ev_start + lengths] = True
    words[is_eos] = eos
    words[~is_eos] = ids[offsets[0] : offsets[-1]]
    del is_eos
    n_events = lengths + 1

    def lagged(back: int) -> np.ndarray:
        """int64: the token ``back`` places before each event, BOS before its example."""
        out = np.empty(total, dtype=np.int64)
        out[back:] = words[:-back]
        out[:back] = bos
        for k in range(back):
            out[ev_start[n_events > k] + k] = bos
        return out

    prob = np.full(total, 1.0 / (vocab_size + 1))
    gram_rank = context_rank = None  # of the order below: int32 per event
    gram_keys = None
    context_distinct = np.zeros(1, dtype=np.int64)  # order 1: one (empty) history
    context_of = None
    for m in range(1, order + 1):
        if m == 1:
            new_keys, new_rank, new_first = _dense_inplace(words.astype(np.int64))
            new_context_of = np.zeros(len(new_keys), dtype=np.int64)
            new_context_distinct = context_distinct
            new_context_rank = None  # all 0
        else:
            key = lagged(m - 1)
            key *= len(gram_keys)
            key += gram_rank
            new_keys, new_rank, new_first = _dense_inplace(key)
            del key
            # the order below is complete now: its continuation counts, table, share
            counts = np.bincount(gram_rank[new_first], minlength=len(gram_keys))
            table = _table(gram_keys, counts, context_distinct, context_of)
            _add_order(prob, table, gram_rank, context_rank)
            del gram_rank, counts
            key = lagged(m - 1)
            key *= len(context_distinct)
            if context_rank is not None:  # (order 1's histories are all 0)
                key += context_rank
            context_rank = None
            new_context_distinct, new_context_rank, _ = _dense_inplace(key)
            del key
            new_context_of = new_context_rank[new_first].astype(np.int64)
        gram_keys, gram_rank = new_keys, new_rank
        context_distinct, context_rank, context_of = (
            new_context_distinct,
            new_context_rank,
            new_context_of,
        )
    counts = np.bincount(gram_rank, minlength=len(gram_keys))  # raw, top order
    _add_order(
        prob, _table(gram_keys, counts, context_distinct, context_of), gram_rank, context_rank
    )
    return prob


def _add_order(prob, table: _Order, gram_rank, context_rank) -> None:
    """``prob = alpha[gram] + gamma[context] * prob`` in place, a slice at a time
    (``context_rank`` None: every event has history 0)."""
    for a in range(0, len(prob), _SLICE):
        s = slice(a, a + _SLICE)
        gamma = (
            table.context_gamma[context_rank[s]]
            if context_rank is not None
            else np.full(len(prob[s]), table.context_gamma[0])
        )
        prob[s] = table.alpha[gram_rank[s]] + gamma * prob[s]


def _dense_inplace(keys: np.ndarray):
    """:func:`_dense` of int64 ``keys`` (overwritten) in less memory: ranks as int32 and
    the passes over the sorted keys a slice at a time. The same distinct keys and ranks;
    ``first`` is again one occurrence of each key."""
    n = len(keys)
    if n == 0 or n >= 1 << 31:
        distinct, rank, first = _dense(keys)
        return distinct, rank, first
    position_bits = max(1, (n - 1).bit_length())
    if int(keys.max()).bit_length() + position_bits > 63:
        distinct, rank, first = _dense(keys)
        return distinct, rank.astype(np.int32), first
    keys <<= position_bits
    for a in range(0, n, _SLICE):
        keys[a : a + _SLICE] |= np.arange(a, min(a + _SLICE, n), dtype=np.int64)
    keys.sort()
    mask = (1 << position_bits) - 1
    rank = np.empty(n, dtype=np.int32)
    distinct_parts, first_parts = [], []
    last_key, last_rank = None, -1
    for a in range(0, n, _SLICE):
        packed = keys[a : a + _SLICE]
        value = packed >> position_bits
        position = packed & mask
        is_new = np.empty(len(value), dtype=bool)
        is_new[0] = last_key is None or value[0] != last_key
        np.not_equal(value[1:], value[:-1], out=is_new[1:])
        running = np.cumsum(is_new, dtype=np.int64)
        running += last_rank
        rank[position] = running
        distinct_parts.append(value[is_new])
        first_parts.append(position[is_new])
        last_key, last_rank = value[-1], int(running[-1])
    return np.concatenate(distinct_parts), rank, np.concatenate(first_parts)


#: the second Philox key word of the fold assignment (the first is the scorer's seed)
FOLD_KEY = 0xF01D5


def fold_assignment(n_examples: int, folds: int, seed: int) -> np.ndarray:
    """The fold (int64 in ``[0, folds)``) of each of ``n_examples`` examples.

    A pure function of ``(n_examples, folds, seed)``: a uniform random permutation of the
    examples -- the stable argsort of one raw Philox word per example, keyed by
    ``(seed, FOLD_KEY)`` (raw words, stable across numpy versions) -- cut into ``folds``
    contiguous parts of ``floor`` or ``ceil(n_examples / folds)`` examples (balanced; with
    fewer examples than folds some folds are empty). It does not look at the text, so
    editing one example moves no example to another fold.
    """
    if folds < 1:
        raise ValueError(f"folds must be at least 1, not {folds}")
    key = np.array([int(seed) & ((1 << 64) - 1), FOLD_KEY], dtype=np.uint64)
    permutation = np.argsort(np.random.Philox(key=key).random_raw(n_examples), kind="stable")
    fold = np.empty(n_examples, dtype=np.int64)
    fold[permutation] = np.arange(n_examples, dtype=np.int64) * folds // max(n_examples, 1)
    return fold


def subset(ids: np.ndarray, offsets: np.ndarray, examples: np.ndarray):
    """``(ids, offsets)`` of the examples ``examples`` (indices, in that order)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    examples = np.asarray(examples, dtype=np.int64)
    starts = offsets[examples]
    lengths = offsets[examples + 1] - starts
    new_offsets = np.zeros(len(examples) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    shift = np.repeat(starts - new_offsets[:-1], lengths)
    return np.asarray(ids)[np.arange(int(new_offsets[-1]), dtype=np.int64) + shift], new_offsets


def crossfit_perplexities(
    ids: np.ndarray,
    offsets: np.ndarray,
    vocab_size: int,
    order: int = 3,
    *,
    folds: int = 1,
    seed: int = 0,
) -> np.ndarray:
    """Each example's perplexity under the model trained on the other folds.

    ``folds=1`` is :func:`ngram_perplexities` exactly (in-sample, bit for bit). For
    ``folds=K >= 2`` the folds are those of :func:`fold_assignment` and fold ``k`` is scored
    by ``NgramModel.fit`` on every example outside it (K models, each on ``(K-1)/K`` of the
    data; the held-out examples go through the look-up path). A fold whose complement is
    empty (a one-example corpus) is scored by the model of no data, the uniform
    distribution: perplexity ``vocab_size + 1``.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    if folds == 1:
        return ngram_perplexities(ids, offsets, vocab_size, order)
    n_examples = len(offsets) - 1
    fold = fold_assignment(n_examples, folds, seed)
    result = np.empty(n_examples, dtype=np.float64)
    for k in range(folds):
        held = np.flatnonzero(fold == k)
        if len(held) == 0:
            continue
        rest = np.flatnonzero(fold != k)
        if len(rest) == 0:
            result[held] = vocab_size + 1.0
            continue
        model = NgramModel.fit(*subset(ids, offsets, rest), vocab_size, order)
        held_ids, held_offsets = subset(ids, offsets, held)
        logp = model.event_logprobs(held_ids, held_offsets)
        # per-example sums (not differences of one running sum, as in-sample): a score is
        # a function of its own example and its model only, to the last bit
        starts = held_offsets[:-1] + np.arange(len(held), dtype=np.int64)
        result[held] = np.exp(-np.add.reduceat(logp, starts) / (np.diff(held_offsets) + 1))
    return result
