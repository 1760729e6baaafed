"""Self-paced difficulty: ``model_ppl``, re-scored with the model being trained.

The scorer does not know about models. The trainer hands it a *score function*::

    def score_fn(corpus: TokenizedCorpus, indices: np.ndarray) -> np.ndarray:
        '''One difficulty per example in ``indices`` (e.g. the current model's perplexity),
        float, same length as ``indices``; higher = harder.'''

and asks, at every optimizer step, :meth:`ModelPplScorer.due`; when it is due (steps 0, K,
2K, ... with K = ``model_ppl(every=K)``), :meth:`ModelPplScorer.rescore` calls the score
function over the whole corpus in chunks of ``model_ppl(batch=...)`` examples and returns
the new order (easiest first). The trainer then builds a fresh
:class:`~curriculumc.runtime.ordering.sampler.CurriculumSampler` with that order (cheap: the sampler
holds no state).

Other terms of the sort (``sort by model_ppl + 0.5 sentence_length``) are scored once, up
front, by the ordinary scorers, and combined with the model term exactly as
:func:`~curriculumc.runtime.ordering.scorers.combine` combines static terms.

Resuming: the order between two re-scores depends on the model at the last re-score,
which a resumed run no longer has; :meth:`state_dict` holds the model scores and the step
they were computed at, so a checkpoint restores the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from curriculumc.errors import CurriculumError
from curriculumc.plan import SortSpec
from curriculumc.registry import BUILTIN_SCORERS
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.ordering.scorers import combine, difficulty_order, score_term

NAME = "model_ppl"
DEFAULT_EVERY = 1000
DEFAULT_CHUNK = 64


class ScoreFn(Protocol):
    """What the trainer supplies: difficulty of ``corpus`` examples ``indices`` now."""

    def __call__(self, corpus: TokenizedCorpus, indices: np.ndarray) -> np.ndarray: ...


def is_self_paced(sort: SortSpec | None) -> bool:
    """True when ``sort`` has a ``model_ppl`` term (its order changes during training)."""
    return sort is not None and any(t.name == NAME for t in sort.terms)


@dataclass
class ModelPplScorer:
    """Keeps the self-paced order of a sort that contains ``model_ppl``.

    Takes the plan's ``sort``, the ``corpus``, the trainer's ``score_fn``; ``cache_dir`` and
    ``seed`` are passed to the static terms. Raises :class:`CurriculumError` E357 when the
    sort has no ``model_ppl`` term or more than one.
    """

    sort: SortSpec
    corpus: TokenizedCorpus
    score_fn: ScoreFn
    cache_dir: Path | str | None = None
    seed: int = 0
    model_scores: np.ndarray | None = field(default=None, init=False)
    scored_at: int | None = field(default=None, init=False)

    def __post_init__(self):
        model_terms = [t for t in self.sort.terms if t.name == NAME]
        if len(model_terms) != 1:
            raise CurriculumError.single(
                "E357",
                f"a self-paced sort needs exactly one model_ppl term, not {len(model_terms)}",
            )
        self.term = model_terms[0]
        options = dict(self.term.kwargs)
        self.every = int(options.get("every", DEFAULT_EVERY))
        self.chunk = int(options.get("batch", DEFAULT_CHUNK))
        signature = BUILTIN_SCORERS[NAME]  # the compiler's ranges
        for key, value in (("every", self.every), ("batch", self.chunk)):
            low, high = signature.range_of(key)
            if value < low or (high is not None and value > high):
                raise CurriculumError.single("E355", f"model_ppl({key}=...) must be >= {low}")
        # static terms: scored once, by the ordinary (cached) scorers
        self.static = [
            (score_term(t, self.corpus, cache_dir=self.cache_dir, seed=self.seed)[0].values, t)
            for t in self.sort.terms
            if t.name != NAME
        ]

    def due(self, step: int) -> bool:
        """Whether the trainer must call :meth:`rescore` before drawing the batch of ``step``."""
        return self.model_scores is None or (step % self.every == 0 and step != self.scored_at)

    def rescore(self, step: int) -> np.ndarray:
        """Score every example with ``score_fn`` (in chunks) and return the new order.

        Raises :class:`CurriculumError` E356 when ``score_fn`` returns the wrong length.
        """
        n = len(self.corpus)
        scores = np.empty(n, dtype=np.float64)
        for start in range(0, n, self.chunk):
            indices = np.arange(start, min(n, start + self.chunk), dtype=np.int64)
            chunk_scores = np.asarray(self.score_fn(self.corpus, indices), dtype=np.float64)
            if chunk_scores.shape != indices.shape:
                raise CurriculumError.single(
                    "E356",
                    f"model_ppl score function returned {chunk_scores.shape} scores "
                    f"for {len(indices)} examples",
                )
            scores[indices] = chunk_scores
        self.model_scores, self.scored_at = scores, step
        return self.order()

    def scores(self) -> np.ndarray:
        """The combined scores under the latest model scores; E357 before the first rescore."""
        if self.model_scores is None:
            raise CurriculumError.single("E357", "model_ppl has not been scored yet")
        terms = [(values, t.weight) for values, t in self.static]
        terms.insert(
            [t.name for t in self.sort.terms].index(NAME), (self.model_scores, self.term.weight)
        )
        return combine(terms)

    def order(self) -> np.ndarray:
        """Example indices, easiest first, under the latest model scores."""
        return difficulty_order(self.scores(), self.sort.descending)

    def state_dict(self) -> dict:
        """What a checkpoint must keep to restore the order exactly."""
        return {"model_scores": self.model_scores, "scored_at": self.scored_at}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output."""
        scores = state["model_scores"]
        self.model_scores = None if scores is None else np.asarray(scores, dtype=np.float64)
        self.scored_at = state["scored_at"]


def model_loss_scorer(model, *, family: str, seq: int, specials, device) -> ScoreFn:
    """The score function of a ``transformers`` model being trained: each example's mean
    token loss under the current weights -- eval mode (no dropout), no gradients, the
    training RNG untouched, one batch per call. Masked models are scored on a fixed 15% of
    their tokens (chosen by example index, so the same every time; at least the first
    word); causal models on every next token."""
    import torch

    from curriculumc.runtime.train.models import backbone, lm_head
    from curriculumc.runtime.train.objectives import IGNORE, collate

    def score(corpus: TokenizedCorpus, indices: np.ndarray) -> np.ndarray:
        batch = collate(corpus, indices, seq=seq, specials=specials)
        inputs = batch.ids
        if family == "masked":
            chosen = torch.zeros_like(batch.special)
            for row, index in enumerate(indices):
                g = torch.Generator().manual_seed(int(index))
                chosen[row] = torch.rand(batch.ids.shape[1], generator=g) < 0.15
            chosen &= ~batch.special
            # at least one scored token per example: the first word
            chosen[:, 1] |= ~chosen.any(dim=1) & ~batch.special[:, 1]
            labels = torch.where(chosen, batch.ids, torch.full_like(batch.ids, IGNORE))
            inputs = inputs.masked_fill(chosen, specials.mask)
        else:
            labels = torch.full_like(batch.ids, IGNORE)
            labels[:, :-1] = torch.where(
                batch.attention_mask[:, 1:].bool(), batch.ids[:, 1:], labels[:, :-1]
            )
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                hidden = backbone(model)(
                    input_ids=inputs.to(device),
                    attention_mask=batch.attention_mask.to(device),
                ).last_hidden_state
                labels = labels.to(device)
                where = labels != IGNORE
                logits = lm_head(model)(hidden[where]).float()
                token_loss = torch.nn.functional.cross_entropy(
                    logits, labels[where], reduction="none"
                )
                per_row = torch.zeros(len(indices), device=device).index_add_(
                    0, where.nonzero()[:, 0], token_loss
                )
                counts = where.sum(dim=1).clamp(min=1)
        finally:
            model.train(was_training)
        return (per_row / counts).cpu().numpy().astype(np.float64)

    return score
