"""The order a run starts from: example indices, easiest first, and what it rests on.

One function for ``run`` and ``simulate`` (and anything else that needs it), so that what
simulate shows is the order the trainer draws from.

- no sort: the corpus order;
- a static sort: the examples by their combined score, equal scores in a seeded random
  order (:func:`~curriculumc.runtime.ordering.
  scorers.score_sort`, then :func:`~curriculumc.runtime.ordering.scorers.difficulty_order`);
- a self-paced sort (``model_ppl``): the order depends on the model being trained, so there
  is none before training (the trainer scores at its first re-score step); without a
  model (``simulate``) the sort's other terms (or the corpus order) stand in, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curriculumc.plan import Plan, SortSpec
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.ordering.scorers import describe, difficulty_order, score_sort, sort_keys
from curriculumc.runtime.ordering.scorers.model_ppl import NAME as MODEL_PPL
from curriculumc.runtime.ordering.scorers.model_ppl import is_self_paced

#: the scorers' note for examples without a score (they are placed last)
E_UNSCORED = "E381"


@dataclass(frozen=True)
class InitialOrder:
    """``order``: example indices easiest first, or None for a self-paced sort that the
    trainer scores itself; ``described``: the sort in words; ``notes``: the scorers'
    warnings (``warning[CODE]: message``), for the console and the run summary; ``keys``:
    the sort key of each entry of ``order`` (ascending, NaN last; None without a sort) --
    what the pool's percentile rule (``ties include``) reads."""

    order: np.ndarray | None
    described: str
    notes: tuple[str, ...] = ()
    keys: np.ndarray | None = None


def describe_sort(sort: SortSpec | None) -> str:
    """The sort as a spec writes it (``ngram_ppl(n=3) + 0.5 sentence_length descending``)."""
    if sort is None or not sort.terms:
        return "corpus order (no sort)"
    return " + ".join(
        describe(t) if t.weight == 1.0 else f"{t.weight:g} {describe(t)}" for t in sort.terms
    ) + (" descending" if sort.descending else "")


def initial_order(
    plan: Plan,
    corpus: TokenizedCorpus,
    *,
    cache_dir: Path | str | None = None,
    without_model: bool = False,
) -> InitialOrder:
    """Score ``corpus`` by the plan's sort (cached under ``cache_dir``) and order it.

    A self-paced sort gives ``order=None`` (the trainer scores it with its model), unless
    ``without_model``: then the order of its other terms (or the corpus order), with a
    note saying so -- what ``simulate`` shows. Raises
    :class:`~curriculumc.errors.CurriculumError` for what the scorers raise.
    """
    sort = plan.sort
    described = describe_sort(sort)
    identity = np.arange(len(corpus), dtype=np.int64)
    if sort is None or not sort.terms:
        return InitialOrder(identity, described)
    notes: list[str] = []
    if is_self_paced(sort):
        if not without_model:
            return InitialOrder(None, described)
        static = tuple(t for t in sort.terms if t.name != MODEL_PPL)
        fallback = " + ".join(describe(t) for t in static) if static else "corpus order"
        notes.append(
            "note: model_ppl is self-paced: its order depends on the model being trained and "
            f"cannot be simulated without one; simulated with {fallback} instead "
            "(pool sizes are exact with fixed-size batches and ties random; the words, "
            "tokens, deciles and sources drawn are not)"
        )
        if not static:
            return InitialOrder(identity, described, tuple(notes))
        sort = SortSpec(static, sort.descending)
    scores = score_sort(sort, corpus, cache_dir=cache_dir, seed=plan.train.seed)
    notes.extend(f"warning[{n.code}]: {n.message}" for n in scores.notes)
    missing = int(np.count_nonzero(np.isnan(scores.values)))
    if missing and not any(n.code == E_UNSCORED for n in scores.notes):
        notes.append(
            f"warning[{E_UNSCORED}]: {missing} examples have no score; they are placed last"
        )
    order = difficulty_order(scores.values, sort.descending, seed=plan.train.seed)
    keys = sort_keys(scores.values, sort.descending)[order]
    return InitialOrder(order, described, tuple(notes), keys)
