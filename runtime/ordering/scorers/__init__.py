"""Difficulty scorers: name -> function, the sort of a plan, and the difficulty order.

A scorer is a callable ``(corpus, *args, **kwargs) -> np.ndarray`` giving one float score
per example, higher = harder (a built-in may return a
:class:`~curriculumc.runtime.ordering.scorers.simple.ScorerOutput` to add warnings). Built-ins are
listed in :data:`BUILTIN_SCORERS`; further scorers register by name under the entry point
group ``curriculumc.scorers`` (built-ins win a name clash, as in the compiler's registry).

:func:`score` turns a plan's :class:`~curriculumc.plan.SortSpec` into one score per
example: a single term is used as is (its raw scores times its weight, so ``sort by
sentence_length`` sorts by token count); several terms are each z-scored (mean 0, standard
deviation 1; a constant term becomes 0) and summed with their weights. Missing values (NaN)
stay NaN and sort last. Term scores are cached on disk under
``cache_dir/scores/<corpus content hash>/`` keyed by scorer name, arguments and scorer
version, so a second run reads them instead of recomputing (``reference_ppl``: its model
folder's content hash in place of its path, see
:func:`~curriculumc.runtime.ordering.scorers.reference_ppl.cache_kwargs`).

Scorers in :data:`TEXT_SCORERS` read the examples' text, not their token ids: the caller
passes ``texts`` (a function giving the text of every example, called only when the
scores are not cached) and ``quiet`` (no progress display), which
:func:`~curriculumc.runtime.ordering.order.initial_order` does.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np

from curriculumc.errors import CurriculumError, Diagnostic
from curriculumc.plan import ScorerTerm, SortSpec
from curriculumc.registry import BUILTIN_SCORERS as BUILTIN_SIGNATURES
from curriculumc.registry import SCORER_GROUP
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.ordering.scorers import reference_ppl as reference
from curriculumc.runtime.ordering.scorers import simple
from curriculumc.runtime.ordering.scorers.ngram import crossfit_perplexities
from curriculumc.runtime.ordering.scorers.simple import ScorerOutput

Scorer = Callable[..., "np.ndarray | ScorerOutput"]

#: bump when a built-in's output changes, so that old cached scores are not reused
SCORER_VERSIONS = {
    "ngram_ppl": "kn-mod-1",
    "unigram_ppl": "add1-1",
    "random": "philox-1",
    reference.NAME: reference.VERSION,
}
#: scorers whose ``seed`` defaults to the plan's seed (``ngram_ppl`` only when cross-fitted,
#: see :func:`_resolved_kwargs`)
SEEDED = frozenset({"random", "ngram_ppl"})
#: built-ins that score the examples' text (called with ``texts=`` and ``quiet=``)
TEXT_SCORERS = frozenset({reference.NAME})
#: built-ins whose cache key is made of other values than their arguments
CACHE_KWARGS = {reference.NAME: reference.cache_kwargs}


def ngram_ppl(corpus: TokenizedCorpus, n: int = 3, folds: int = 1, seed: int = 0) -> np.ndarray:
    """Perplexity of each example under an order-``n`` interpolated modified Kneser-Ney
    model (see :mod:`curriculumc.runtime.ordering.scorers.ngram`).

    ``folds=1`` (default, the seed system's rule): the model is trained on the corpus
    itself, every example included (in-sample). ``folds=K >= 2``: cross-fitted -- the
    examples are split into K balanced folds by a permutation drawn from ``seed`` (the
    plan's seed unless given, as for ``random``) and each fold is scored by the model
    trained on the other K - 1 folds, so an example's score does not depend on itself.
    """
    signature = BUILTIN_SIGNATURES["ngram_ppl"]  # the compiler's ranges
    for key, value in (("n", n), ("folds", folds)):
        low, high = signature.range_of(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise CurriculumError.single(
                "E355", f"ngram_ppl({key}=...) must be an integer {low}..{high}, not {value!r}"
            )
    return crossfit_perplexities(
        corpus.ids, corpus.offsets, corpus.vocab_size, n, folds=folds, seed=seed
    )


def model_ppl(
    corpus: TokenizedCorpus, every: int = 1000, first: int | None = None, batch: int = 64
) -> np.ndarray:
    """Self-paced scores need the model being trained: see :class:`ModelPplScorer`."""
    raise CurriculumError.single(
        "E357",
        "model_ppl is self-paced: it is scored with the model being trained, not beforehand",
        hint="the trainer scores it through curriculumc.runtime.ordering.scorers.model_ppl.ModelPplScorer",
    )


BUILTIN_SCORERS: dict[str, Scorer] = {
    "sentence_length": simple.sentence_length,
    "unigram_ppl": simple.unigram_ppl,
    "ngram_ppl": ngram_ppl,
    "source": simple.source,
    "column": simple.column,
    "age": simple.age,
    "random": simple.random,
    "model_ppl": model_ppl,
    reference.NAME: reference.reference_ppl,
}


@cache
def _plugins() -> dict[str, Scorer]:
    return {ep.name: ep for ep in entry_points(group=SCORER_GROUP)}


def available() -> tuple[str, ...]:
    """Every scorer name: built-ins, then registered plugins."""
    return tuple(dict.fromkeys([*BUILTIN_SCORERS, *_plugins()]))


def get_scorer(name: str) -> Scorer:
    """The scorer called ``name``; raises :class:`CurriculumError` E350 if there is none
    and E358 if its entry point cannot be loaded."""
    if name in BUILTIN_SCORERS:
        return BUILTIN_SCORERS[name]
    plugin = _plugins().get(name)
    if plugin is None:
        raise CurriculumError.single(
            "E350", f"unknown scorer '{name}'", hint=simple._did_you_mean(name, available())
        )
    try:
        return plugin.load()
    except Exception as exc:  # a broken plugin is a configuration error, not a crash
        raise CurriculumError.single(
            "E358", f"scorer '{name}' ({plugin.value}) cannot be loaded: {exc}"
        ) from exc


@dataclass(frozen=True)
class Scores:
    """The result of :func:`score_sort`.

    ``values``: the combined score per example (float64); ``terms``: each term's own scores;
    ``notes``: warnings the scorers raised; ``from_cache``: per term, whether it was read
    from the cache.
    """

    values: np.ndarray
    terms: tuple[np.ndarray, ...]
    notes: tuple[Diagnostic, ...]
    from_cache: tuple[bool, ...]


def describe(term: ScorerTerm) -> str:
    """``name(arg, key=value)`` as a spec would write it."""
    parts = [str(a) for a in term.args] + [f"{k}={v}" for k, v in term.kwargs]
    return term.name + (f"({', '.join(parts)})" if parts else "")


def _resolved_kwargs(term: ScorerTerm, seed: int) -> dict:
    """The keyword arguments a term is called with and cached under: the plan's ``seed``
    filled in for :data:`SEEDED` scorers -- except in-sample ``ngram_ppl`` (``folds`` absent
    or 1), which draws nothing: there ``folds=1`` and any seed are dropped, so its cache key
    is that of a spec without ``folds``, whatever the plan's seed."""
    kwargs = dict(term.kwargs)
    if term.name == "ngram_ppl" and _in_sample(kwargs.get("folds", 1)):
        kwargs.pop("folds", None)
        kwargs.pop("seed", None)
        return kwargs
    if term.name in SEEDED and "seed" not in kwargs:
        kwargs["seed"] = seed
    return kwargs


def _in_sample(folds) -> bool:
    return not isinstance(folds, bool) and folds == 1


def _cache_path(cache_dir: Path, corpus: TokenizedCorpus, term: ScorerTerm, kwargs: dict) -> Path:
    if term.name in CACHE_KWARGS and term.name in BUILTIN_SCORERS:
        kwargs = CACHE_KWARGS[term.name](kwargs)
    key = json.dumps(
        [term.name, list(term.args), sorted(kwargs.items()), SCORER_VERSIONS.get(term.name, "1")],
        default=str,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return Path(cache_dir) / "scores" / corpus.content_hash / f"{term.name}-{digest}.npy"


def _run_scorer(
    corpus: TokenizedCorpus, term: ScorerTerm, kwargs: dict, extra: dict | None = None
) -> ScorerOutput:
    fn = get_scorer(term.name)
    try:
        inspect.signature(fn).bind(corpus, *term.args, **kwargs)
    except TypeError as exc:
        raise CurriculumError.single(
            "E355", f"wrong arguments for scorer {describe(term)}: {exc}"
        ) from None
    except ValueError:
        pass  # no signature to check (a C function): let the call decide
    result = fn(corpus, *term.args, **kwargs, **(extra or {}))
    output = result if isinstance(result, ScorerOutput) else ScorerOutput(result)
    values = np.asarray(output.values, dtype=np.float64)
    if values.shape != (len(corpus),):
        raise CurriculumError.single(
            "E356",
            f"scorer {describe(term)} returned shape {values.shape}, "
            f"expected one score per example ({len(corpus)},)",
        )
    return ScorerOutput(values, tuple(output.notes))


def score_term(
    term: ScorerTerm,
    corpus: TokenizedCorpus,
    *,
    cache_dir: Path | str | None = None,
    seed: int = 0,
    texts: Callable[[], Sequence[str]] | None = None,
    quiet: bool = False,
) -> tuple[ScorerOutput, bool]:
    """One term's raw scores (unweighted) and whether they came from the cache.

    ``texts`` and ``quiet``: for the :data:`TEXT_SCORERS` (see the module docstring).
    Raises :class:`CurriculumError` (E350-E358) for unknown scorers, wrong arguments and
    data the scorer cannot use.
    """
    kwargs = _resolved_kwargs(term, seed)
    extra = None
    if term.name in TEXT_SCORERS and term.name in BUILTIN_SCORERS:
        extra = {"texts": texts, "quiet": quiet}
    path = _cache_path(Path(cache_dir), corpus, term, kwargs) if cache_dir else None
    if path is not None and path.exists():
        notes_file = path.with_suffix(".json")
        notes = json.loads(notes_file.read_text()) if notes_file.exists() else []
        return ScorerOutput(np.load(path), tuple(Diagnostic(**n) for n in notes)), True
    output = _run_scorer(corpus, term, kwargs, extra)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        notes = [
            {"code": n.code, "message": n.message, "hint": n.hint, "severity": n.severity}
            for n in output.notes
        ]
        _atomic_write(path.with_suffix(".json"), json.dumps(notes).encode())
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as tmp:
            np.save(tmp, output.values)
        os.replace(tmp.name, path)  # written last: its presence means the entry is complete
    return output, False


def _atomic_write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)


def zscore(values: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` ignoring NaNs; a constant (or all-NaN) input gives zeros/NaNs."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return values.copy()
    spread = finite.std()
    if spread == 0:
        return np.where(np.isnan(values), np.nan, 0.0)
    return (values - finite.mean()) / spread


def combine(terms: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """One score from ``(values, weight)`` pairs: a single term is ``values * weight``;
    several are ``sum(weight * zscore(values))``."""
    if len(terms) == 1:
        values, weight = terms[0]
        return np.asarray(values, dtype=np.float64) * weight
    return np.sum([weight * zscore(values) for values, weight in terms], axis=0)


def score_sort(
    sort: SortSpec,
    corpus: TokenizedCorpus,
    *,
    cache_dir: Path | str | None = None,
    seed: int = 0,
    texts: Callable[[], Sequence[str]] | None = None,
    quiet: bool = False,
) -> Scores:
    """Score every example by ``sort`` (see the module docstring for the combination).

    ``seed`` is the plan's seed, used by ``random`` when it has no seed of its own;
    ``texts`` and ``quiet`` are for the :data:`TEXT_SCORERS`.
    Raises :class:`CurriculumError` for an empty sort, an empty corpus, and whatever the
    scorers raise (E350-E358).
    """
    if not sort.terms:
        raise CurriculumError.single("E363", "the sort has no scorer")
    if len(corpus) == 0:
        raise CurriculumError.single("E362", "the corpus has no examples to score")
    outputs = [
        score_term(t, corpus, cache_dir=cache_dir, seed=seed, texts=texts, quiet=quiet)
        for t in sort.terms
    ]
    terms = tuple(out.values for out, _ in outputs)
    values = combine([(v, t.weight) for v, t in zip(terms, sort.terms)])
    notes = tuple(n for out, _ in outputs for n in out.notes)
    return Scores(values, terms, notes, tuple(hit for _, hit in outputs))


def score(
    sort: SortSpec,
    corpus: TokenizedCorpus,
    *,
    cache_dir: Path | str | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The combined float64 score per example (:func:`score_sort` without the details)."""
    return score_sort(sort, corpus, cache_dir=cache_dir, seed=seed).values


#: the second Philox key word of the tie-break permutation (the first is the run's seed)
TIE_KEY = 0x7469657321  # "ties!"


def tie_break(n: int, seed: int) -> np.ndarray:
    """A random key per example, a pure function of ``(seed, n)``: the order of equal
    scores (raw Philox words, stable across numpy versions)."""
    key = np.array([int(seed) & ((1 << 64) - 1), TIE_KEY], dtype=np.uint64)
    return np.random.Philox(key=key).random_raw(n)


def difficulty_order(scores: np.ndarray, descending: bool = False, seed: int | None = None):
    """Example indices from easiest to hardest (int64, a permutation).

    Ascending scores unless ``descending``; NaN scores come last in both directions.
    Equal scores are ordered by :func:`tie_break` of ``seed`` (the run's seed) -- never by
    file position. ``seed=None`` keeps example-index order among ties -- curriculumc v1's
    rule, kept for comparisons (bench/curriculum_meaning.py) and tests with no ties.
    """
    key = sort_keys(scores, descending)
    if seed is None:
        return np.argsort(key, kind="stable").astype(np.int64)
    return np.lexsort((tie_break(len(key), seed), key)).astype(np.int64)


def sort_keys(scores: np.ndarray, descending: bool = False) -> np.ndarray:
    """The key :func:`difficulty_order` sorts by (``-scores`` when descending): what the
    pool's percentile rule (``ties include``) compares."""
    scores = np.asarray(scores, dtype=np.float64)
    return -scores if descending else scores
