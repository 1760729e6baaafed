"""The curriculum sampler: which examples make up the global batch of an optimizer step.

One implementation, used by the trainer and by ``curriculumc simulate``.

- The *order* is a permutation of the example indices, easiest first (see
  :func:`curriculumc.runtime.ordering.scorers.difficulty_order`).
- At step ``t`` the *pool* is the first ``ceil(plan.data_fraction(t) * N)`` entries of the
  order, raised to at least ``min(N, global batch)`` so that a batch never has to repeat an
  example (:func:`pool_size`; simulate counts the steps where that floor applied).
- The global batch of step ``t`` is drawn uniformly without replacement from the pool by
  :func:`global_batch`, a pure function of ``(seed, step, pool_size, batch_size)``: no sampler
  state, so every rank and data-loader worker computes the same batch, and a resumed run
  draws exactly what an uninterrupted run would have drawn.
- Each rank takes its contiguous slice of the global batch (:func:`rank_slice`).

Method of :func:`global_batch` (the cost per step depends on the batch, never on the pool
or corpus): a counter-based Philox generator keyed by ``(seed, step)`` yields a stream of
uint64 words ``x_0, x_1, ...``; position ``x_i mod P`` is proposed in turn and the batch is
the first ``B`` distinct proposals (sequential rejection of duplicates, which is exactly
uniform sampling without replacement). The modulo bias is at most ``P / 2**64``. When the
batch is more than half of the pool, rejection would waste draws, so the batch is instead
the first ``B`` entries of the permutation that sorts ``P`` raw words (cost O(P) <= O(2B)).
Only Philox's raw bit stream is used -- it is fixed by numpy's stability guarantee for bit
generators, unlike ``Generator`` methods -- so batches are the same across numpy versions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from curriculumc.errors import CurriculumError

if TYPE_CHECKING:
    from curriculumc.plan import Plan

_UINT64 = (1 << 64) - 1
# numerical slack for fraction * N: 0.1 * 1000 is 100.00000000000001, which must give 100
_CEIL_SLACK = 1e-9


def _philox_words(seed: int, step: int, count: int) -> np.ndarray:
    """The first ``count`` raw uint64 words of the Philox stream keyed by (seed, step)."""
    key = np.array([seed & _UINT64, step & _UINT64], dtype=np.uint64)
    return np.random.Philox(key=key).random_raw(count)


def global_batch(seed: int, step: int, pool_size: int, batch_size: int) -> np.ndarray:
    """Positions (into the order) of the global batch of ``step``.

    Takes the run's seed, the optimizer step, the pool size ``P`` (entries ``0..P-1`` of the
    order are released) and the global batch size ``B``. Returns int64 positions in
    ``[0, P)``, ``B`` of them, all distinct, in draw order. A pure function: the same
    arguments give the same batch in any process. Raises ``ValueError`` when ``B < 1``,
    ``P < 1`` or ``B > P``.
    """
    if batch_size < 1 or pool_size < 1:
        raise ValueError(f"batch ({batch_size}) and pool ({pool_size}) must be positive")
    if batch_size > pool_size:
        raise ValueError(f"cannot draw {batch_size} distinct examples from a pool of {pool_size}")
    pool = np.uint64(pool_size)
    if 2 * batch_size > pool_size:
        words = _philox_words(seed, step, pool_size)
        return np.argsort(words, kind="stable")[:batch_size].astype(np.int64)
    drawn = (_philox_words(seed, step, batch_size) % pool).astype(np.int64)
    ascending = np.sort(drawn)
    if not (ascending[1:] == ascending[:-1]).any():  # the usual case when B << P
        return drawn
    drawn_count = batch_size
    while True:
        drawn = (_philox_words(seed, step, drawn_count) % pool).astype(np.int64)
        # keep the first occurrence of every value, in stream order
        _, first = np.unique(drawn, return_index=True)
        if first.size >= batch_size:
            return drawn[np.sort(first)[:batch_size]]
        drawn_count += batch_size - first.size + 8  # regenerate a longer prefix of the stream


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


def pool_size(fraction: float, n_examples: int, batch_size: int) -> int:
    """Examples released when ``fraction`` of ``n_examples`` is: ``ceil(fraction * N)``,
    at least ``min(N, batch_size)`` (so a batch need not repeat) and at most ``N``."""
    released = math.ceil(fraction * n_examples - _CEIL_SLACK)
    return int(min(n_examples, max(released, min(n_examples, batch_size))))


class CurriculumSampler:
    """Draws the global batch of each step from the released part of an order.

    ``plan`` supplies the pacing (``data_fraction``), the seed and the global batch
    (``plan.train.batch`` unless ``batch_size`` is given); ``order`` is a permutation of the
    example indices, easiest first. The sampler holds no state besides these: building a
    new one (e.g. after ``model_ppl`` re-scores) costs nothing.

    Raises :class:`CurriculumError` E361 when the corpus has fewer examples than one batch.
    """

    def __init__(self, plan: Plan, order: np.ndarray, *, batch_size: int | None = None):
        self.plan = plan
        self.order = np.asarray(order, dtype=np.int64)
        self.batch_size = int(batch_size if batch_size is not None else plan.train.batch)
        self.seed = int(plan.train.seed)
        n = len(self.order)
        if n < self.batch_size:
            raise CurriculumError.single(
                "E361",
                f"the corpus has {n} examples, fewer than one global batch of {self.batch_size}",
                hint="use a smaller batch or more data (examples are never repeated in a batch)",
            )

    def __len__(self) -> int:
        return len(self.order)

    def pool_size(self, step: int) -> int:
        """How many of the easiest examples may be drawn at ``step``."""
        return pool_size(self.plan.data_fraction(step), len(self.order), self.batch_size)

    def floor_applied(self, step: int) -> bool:
        """True when the paced pool was smaller than a batch and was raised to one."""
        fraction = self.plan.data_fraction(step)
        return math.ceil(fraction * len(self.order) - _CEIL_SLACK) < self.batch_size

    def positions(self, step: int) -> np.ndarray:
        """Positions in the order (0 = easiest) of the global batch of ``step``."""
        return global_batch(self.seed, step, self.pool_size(step), self.batch_size)

    def indices(self, step: int) -> np.ndarray:
        """Example indices (into the corpus) of the global batch of ``step``, int64."""
        return self.order[self.positions(step)]


# --- vocabulary curriculum -------------------------------------------------------------


def vocab_limit(fraction: float, vocab_size: int) -> int:
    """Ids below this are visible when ``fraction`` of the vocabulary is: ``ceil(fraction*V)``."""
    return int(min(vocab_size, math.ceil(fraction * vocab_size - _CEIL_SLACK)))


def limit_vocab(input_ids, fraction: float, vocab_size: int, unk_id: int, special_ids=()):
    """Replace ids at or above ``ceil(fraction * vocab_size)`` by ``unk_id``.

    Takes a numpy array or a torch tensor of input ids and returns a new one of the same
    type, shape and dtype (the input is not modified). Special token ids (``special_ids``,
    and ``unk_id`` itself) are never replaced. This maps model *inputs* only: callers keep
    their targets (MLM labels, POS tags) as they were, so a hidden word is still predicted
    and scored -- the vocabulary curriculum limits what the model reads, not what it learns.
    """
    limit = vocab_limit(fraction, vocab_size)
    keep = sorted({int(s) for s in special_ids} | {int(unk_id)})
    if type(input_ids).__module__.startswith("torch"):
        import torch  # only when a tensor was given

        hidden = input_ids >= limit
        if keep:
            kept = torch.tensor(keep, dtype=input_ids.dtype, device=input_ids.device)
            hidden &= ~torch.isin(input_ids, kept)
        return input_ids.masked_fill(hidden, unk_id)
    ids = np.asarray(input_ids)
    hidden = ids >= limit
    if keep:
        hidden &= ~np.isin(ids, np.array(keep, dtype=ids.dtype))
    return np.where(hidden, np.asarray(unk_id, dtype=ids.dtype), ids)
