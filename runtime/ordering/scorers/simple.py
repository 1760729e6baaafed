"""The simple built-in difficulty scorers.

Each is a function ``(corpus, *args, **kwargs)`` returning one float64 score per example
(higher = harder, since the default order is ascending), or a :class:`ScorerOutput` when it
has something to report (examples it could not place, missing values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curriculumc.errors import CurriculumError, Diagnostic, did_you_mean
from curriculumc.runtime.data.tokenized import TokenizedCorpus

#: names tried, in turn, for the ``age`` scorer
AGE_COLUMNS = ("age", "age_days")


@dataclass(frozen=True)
class ScorerOutput:
    """Scores plus warnings (``Diagnostic`` with severity ``"warning"``) for the run summary."""

    values: np.ndarray
    notes: tuple[Diagnostic, ...] = ()


def _did_you_mean(name: str, known: tuple[str, ...] | list[str]) -> str:
    listing = ", ".join(known) if known else "none"
    close = did_you_mean(name, known, most=1)
    return (f"{close} " if close else "") + f"known: {listing}"


def sentence_length(corpus: TokenizedCorpus) -> np.ndarray:
    """Number of tokens of each example."""
    return corpus.lengths().astype(np.float64)


def unigram_ppl(corpus: TokenizedCorpus) -> np.ndarray:
    """Perplexity of each example under an add-one unigram model of the whole corpus.

    Events are the tokens plus one end-of-sentence event per example (as in ``ngram_ppl``),
    so ``P(w) = (count(w) + 1) / (tokens + examples + vocab_size + 1)``.
    """
    ids = np.asarray(corpus.ids, dtype=np.int64)
    n_examples = len(corpus)
    counts = np.bincount(ids, minlength=corpus.vocab_size).astype(np.float64)
    denominator = ids.size + n_examples + corpus.vocab_size + 1
    token_logp = np.log((counts + 1.0) / denominator)[ids]
    eos_logp = np.log((n_examples + 1.0) / denominator)
    cumulative = np.concatenate([[0.0], np.cumsum(token_logp)])
    offsets = np.asarray(corpus.offsets, dtype=np.int64)
    sums = cumulative[offsets[1:]] - cumulative[offsets[:-1]] + eos_logp
    return np.exp(-sums / (np.diff(offsets) + 1))


def source(corpus: TokenizedCorpus, *names: str) -> ScorerOutput:
    """Rank of each example's source in ``names`` (0 for the first named source).

    Examples from sources not named come after all named ones (rank ``len(names)``), and a
    warning (E380) counts them. Raises :class:`CurriculumError` E351 for a name that is not
    a source of the corpus (with a suggestion and the known names), E352 for a name given
    twice and E355 when no name is given.
    """
    if not names:
        raise CurriculumError.single(
            "E355",
            "source() needs the sources in order, e.g. source(aochildes, bnc)",
            hint="known: " + ", ".join(corpus.source_names),
        )
    known = tuple(corpus.source_names)
    rank_of = np.full(len(known), len(names), dtype=np.float64)
    problems, seen = [], set()
    for rank, name in enumerate(names):
        name = str(name)
        if name in seen:
            problems.append(Diagnostic("E352", f"source '{name}' is named twice in source()"))
            continue
        seen.add(name)
        if name not in known:
            problems.append(
                Diagnostic(
                    "E351",
                    f"the corpus has no source '{name}'",
                    hint=_did_you_mean(name, known),
                )
            )
            continue
        rank_of[known.index(name)] = rank
    if problems:
        raise CurriculumError(problems)
    values = rank_of[np.asarray(corpus.source, dtype=np.int64)]
    unnamed = [s for s in known if s not in seen]
    n_unnamed = int(np.count_nonzero(values == len(names)))
    notes = ()
    if n_unnamed:
        notes = (
            Diagnostic(
                "E380",
                f"{n_unnamed} examples come from sources not named in source(): "
                f"{', '.join(unnamed)}; they come after the named ones",
                severity="warning",
            ),
        )
    return ScorerOutput(values, notes)


def column(corpus: TokenizedCorpus, name: str) -> ScorerOutput:
    """The numeric per-example column ``name``.

    Missing values (NaN) are placed last by :func:`~curriculumc.runtime.ordering.scorers.difficulty_order`
    whatever the direction, and a warning (E381) counts them. Raises E353 when the corpus
    has no such column.
    """
    if name not in corpus.columns:
        raise CurriculumError.single(
            "E353",
            f"the corpus has no column '{name}'",
            hint=_did_you_mean(name, sorted(corpus.columns)),
        )
    values = np.asarray(corpus.columns[name], dtype=np.float64)
    missing = int(np.count_nonzero(np.isnan(values)))
    notes = ()
    if missing:
        notes = (
            Diagnostic(
                "E381",
                f"{missing} of {len(values)} examples have no '{name}'; they are placed last",
                severity="warning",
            ),
        )
    return ScorerOutput(values.copy(), notes)


def age(corpus: TokenizedCorpus) -> ScorerOutput:
    """The age of the child addressed (column ``age``, or ``age_days``); E354 if absent."""
    for name in AGE_COLUMNS:
        if name in corpus.columns:
            return column(corpus, name)
    raise CurriculumError.single(
        "E354",
        "the corpus has no age column, so it cannot be sorted by age",
        hint="columns: "
        + (", ".join(sorted(corpus.columns)) or "none")
        + "; a JSON Lines corpus can keep one with columns=age_days",
    )


def random(corpus: TokenizedCorpus, seed: int = 0) -> np.ndarray:
    """A random score per example (the control curriculum), from Philox keyed by ``seed``.

    :func:`~curriculumc.runtime.ordering.scorers.score` passes the plan's seed when none is given.
    """
    key = np.array([int(seed) & ((1 << 64) - 1), 0x5C0E], dtype=np.uint64)
    # raw bits (stable across numpy versions) -> 53-bit floats in [0, 1)
    words = np.random.Philox(key=key).random_raw(len(corpus))
    return (words >> np.uint64(11)).astype(np.float64) * 2.0**-53
