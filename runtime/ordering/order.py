"""The order a run starts from: example indices, easiest first, and what it rests on.

One function for ``run`` and ``simulate`` (and anything else that needs it), so that what
simulate shows is the order the trainer draws from.

- no sort: the corpus order;
- a static sort: the examples by their combined score, equal scores in a seeded random
  order (:func:`~curriculumc.runtime.ordering.
  scorers.score_sort`, then :func:`~curriculumc.runtime.ordering.scorers.difficulty_order`);
- a self-paced sort (``model_ppl``): the order depends on the model being trained, so there
  is none before training (the trainer scores at its first re-score step); without a
  model (``simulate``) the sort's other terms (or the corpus order) stand in, with a note;
- a reference-model sort (``reference_ppl``): scored once, here, by the reference model
  reading each example's text (``texts``: the caller's, else the plan's data read again
  from the cache); ``simulate`` (``without_model``) of a plan whose reference model is not
  on this machine stands in as for ``model_ppl``, with a note -- ``run`` refuses (E630).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from curriculumc.errors import CurriculumError
from curriculumc.plan import Plan, SortSpec
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.ordering.scorers import describe, difficulty_order, score_sort, sort_keys
from curriculumc.runtime.ordering.scorers.model_ppl import NAME as MODEL_PPL
from curriculumc.runtime.ordering.scorers.model_ppl import is_self_paced
from curriculumc.runtime.ordering.scorers.reference_ppl import NAME as REFERENCE_PPL
from curriculumc.runtime.ordering.scorers.reference_ppl import example_texts, model_folder

#: the scorers' note for examples without a score (they are placed last)
E_UNSCORED = "E381"


@dataclass(frozen=True)
class InitialOrder:
    """``order``: example indices easiest first, or None for a self-paced sort that the
    trainer scores itself; ``described``: the sort in words; ``notes``: the scorers'
    warnings (``warning[CODE]: message``), for the console and the run summary; ``keys``:
    the sort key of each entry of ``order`` (ascending, NaN last; None without a sort) --
    what the pool's percentile rule (``ties include``) reads; ``stand_in``: the order is not
    the plan's own but what ``simulate`` stands in with (a self-paced sort, a reference
    model that is not here)."""

    order: np.ndarray | None
    described: str
    notes: tuple[str, ...] = ()
    keys: np.ndarray | None = None
    stand_in: bool = False


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
    texts: Callable[[], Sequence[str]] | None = None,
    quiet: bool = False,
) -> InitialOrder:
    """Score ``corpus`` by the plan's sort (cached under ``cache_dir``) and order it.

    A self-paced sort gives ``order=None`` (the trainer scores it with its model), unless
    ``without_model``: then the order of its other terms (or the corpus order), with a
    note saying so -- what ``simulate`` shows; so does a ``reference_ppl`` term whose
    model folder is not here, when ``without_model``. ``texts`` gives the text of every
    example (for ``reference_ppl``; None: the plan's data is read again from
    ``cache_dir``); ``quiet``: no progress display. Raises
    :class:`~curriculumc.errors.CurriculumError` for what the scorers raise.
    """
    sort = plan.sort
    described = describe_sort(sort)
    identity = np.arange(len(corpus), dtype=np.int64)
    if sort is None or not sort.terms:
        return InitialOrder(identity, described)
    notes: list[str] = []
    stand_in = False
    if without_model:
        kept = _without_absent_references(sort, notes)
        stand_in = len(kept.terms) < len(sort.terms)
        sort = kept
        if not sort.terms:
            return InitialOrder(identity, described, tuple(notes), stand_in=True)
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
            return InitialOrder(identity, described, tuple(notes), stand_in=True)
        sort = SortSpec(static, sort.descending)
        stand_in = True
    if texts is None:
        texts = _plan_texts(plan, corpus, cache_dir)
    scores = score_sort(
        sort, corpus, cache_dir=cache_dir, seed=plan.train.seed, texts=cache(texts), quiet=quiet
    )
    notes.extend(f"warning[{n.code}]: {n.message}" for n in scores.notes)
    missing = int(np.count_nonzero(np.isnan(scores.values)))
    if missing and not any(n.code == E_UNSCORED for n in scores.notes):
        notes.append(
            f"warning[{E_UNSCORED}]: {missing} examples have no score; they are placed last"
        )
    order = difficulty_order(scores.values, sort.descending, seed=plan.train.seed)
    keys = sort_keys(scores.values, sort.descending)[order]
    return InitialOrder(order, described, tuple(notes), keys, stand_in)


def _without_absent_references(sort: SortSpec, notes: list[str]) -> SortSpec:
    """``sort`` less its ``reference_ppl`` terms whose model folder is not here (a note for
    each): what ``simulate`` stands in with."""
    kept = []
    for term in sort.terms:
        if term.name == REFERENCE_PPL and "model" in dict(term.kwargs):
            try:
                model_folder(dict(term.kwargs)["model"])
            except CurriculumError as exc:
                notes.append(
                    f"note: {describe(term)}: {exc.diagnostics[0].message}; simulated "
                    "without it (the order is not the run's; run refuses a missing "
                    "reference model)"
                )
                continue
        kept.append(term)
    return SortSpec(tuple(kept), sort.descending)


def _plan_texts(plan: Plan, corpus: TokenizedCorpus, cache_dir) -> Callable[[], list[str]]:
    """The texts of ``corpus`` read from the plan's data (cached: no tokenizing again),
    for a caller that has only the corpus. Raises E356 when that data is not ``corpus``."""

    def texts() -> list[str]:
        from curriculumc.runtime.data.prepare import prepare_data

        data = prepare_data(plan, cache_dir=Path(cache_dir) if cache_dir is not None else None)
        if data.corpus.content_hash != corpus.content_hash:
            raise CurriculumError.single(
                "E356",
                "the examples' text is needed (reference_ppl) and the plan's data is not "
                "the corpus being scored",
                hint="pass texts= to initial_order",
            )
        return example_texts(data)

    return texts
