"""Self-paced difficulty: ``model_ppl``, re-scored with the model being trained.

The scorer does not know about models. The trainer hands it a *score function*::

    def score_fn(corpus: TokenizedCorpus, indices: np.ndarray) -> np.ndarray:
        '''One difficulty per example in ``indices`` (e.g. the current model's mean token
        loss), float, same length as ``indices``; higher = harder.'''

(:func:`model_loss_scorer` builds the one ``curriculumc run`` uses).

Schedule (``model_ppl(every=K, first=S)``; ``first`` defaults to ``every``, the seed
system's rule): the data is scored at steps S, S + K, S + 2K, ... and never before S.
Until the first score there is no order, and the trainer draws from **all** the data,
uniformly, with no pacing -- as CLIMB's ``self_perplexity`` trains on all data until its
first re-score at step ``update``. The trainer's questions, at every optimizer step
``step``, before drawing its batch:

1. :meth:`ModelPplScorer.before_first` ``(step)`` -- true while ``step < first``: draw
   uniformly from all the data (a pure function of the step, so ``simulate`` can ask it
   too);
2. otherwise :meth:`ModelPplScorer.due` ``(step)`` -- when true, call
   :meth:`ModelPplScorer.rescore` ``(step)``, which scores the whole corpus in chunks of
   ``model_ppl(batch=M)`` examples and returns the new order (easiest first); build a
   fresh :class:`~curriculumc.runtime.ordering.sampler.CurriculumSampler` with it (cheap:
   the sampler holds no state). :attr:`ModelPplScorer.scored_yet` is then true, and
   :meth:`ModelPplScorer.order` is the order to draw from until the next scoring step.

With ``first=0`` the first score is at step 0 (from the untrained model), as before.

Other terms of the sort (``sort by model_ppl + 0.5 sentence_length``) are scored once, up
front, by the ordinary scorers, and combined with the model term exactly as
:func:`~curriculumc.runtime.ordering.scorers.combine` combines static terms.

Resuming: the order between two re-scores depends on the model at the last re-score,
which a resumed run no longer has; :meth:`state_dict` holds the model scores and the step
they were computed at, so a checkpoint restores the same order (and a checkpoint taken
before ``first`` holds none: the resumed run draws uniformly until ``first``).

Scoring every token (:func:`model_loss_scorer`): a masked model's score of an example is
the mean loss of *every* non-special token with that token hidden. The exact
pseudo-log-likelihood (PLL) needs one copy of the example per token; :func:`mask_rounds`
caps the copies at ``rounds`` (:data:`MASK_ROUNDS`): an example of at most ``rounds``
tokens gets its exact PLL, a longer one ``rounds`` copies that each hide every
``rounds``-th token, so every token is still hidden exactly once. (The scorer this replaced
hid one fixed 15% draw per utterance: 83% of AO-CHILDES utterances were scored on one
token; Spearman 0.69 with the exact PLL.)

Why ``MASK_ROUNDS = 7`` (``bench/scorer_honesty.py --part model``; 2,000 AO-CHILDES
utterances, the product's BPE with 8,192 tokens -- mean 4.5 tokens, 86% have at most 7 --
``roberta-tiny`` after 1,000 MLM steps of 64, one CPU thread of a 2-core machine): against
the exact PLL, R = 2 / 3 / 5 / 7 / 10 give Spearman 0.9955 / 0.9993 / 0.9998 / 0.9996 /
0.9999 on the utterances longer than R and a mean absolute difference of 0.10 / 0.026 /
0.010 / 0.009 / 0.006 nats there, for 0.40 / 0.56 / 0.78 / 0.89 / 0.96 of the exact PLL's
forward rows (exact: 3.2 s for the 2,000; R=7: 3.0 s). Seven copies hide at most 1/7 of
an utterance's tokens each -- no more than the 15% the model is trained to fill -- and
bound the cost at 7 rows an example whatever its length (the exact PLL of a 126-token
BabyLM line is 126 rows): on child-directed speech this is the exact PLL for all but the
longest 14% and agrees with it to 1e-3 in rank there. ``rounds=None`` always scores the
exact PLL.
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
#: most masked copies per example (see the module docstring): exact PLL up to this many
#: tokens, evenly spaced rounds above
MASK_ROUNDS = 7
#: rows x padded width of one forward pass of :func:`model_loss_scorer` (bounds memory)
ROW_TOKENS = 16384


class ScoreFn(Protocol):
    """What the trainer supplies: difficulty of ``corpus`` examples ``indices`` now."""

    def __call__(self, corpus: TokenizedCorpus, indices: np.ndarray) -> np.ndarray: ...


def schedule_of(kwargs) -> tuple[int, int, int]:
    """``(every, first, batch)`` of a ``model_ppl`` term's keyword arguments (pairs or a
    dict), with the defaults (``first`` = ``every``); raises :class:`CurriculumError` E355
    for a value outside the registry's range."""
    options = dict(kwargs)
    every = options.get("every", DEFAULT_EVERY)
    values = {"every": every, "first": options.get("first", every)}
    values["batch"] = options.get("batch", DEFAULT_CHUNK)
    signature = BUILTIN_SCORERS[NAME]  # the compiler's ranges
    for key, value in values.items():
        low, high = signature.range_of(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            raise CurriculumError.single(
                "E355", f"model_ppl({key}=...) must be an integer >= {low}, not {value!r}"
            )
    return values["every"], values["first"], values["batch"]


def is_self_paced(sort: SortSpec | None) -> bool:
    """True when ``sort`` has a ``model_ppl`` term (its order changes during training)."""
    return sort is not None and any(t.name == NAME for t in sort.terms)


@dataclass
class ModelPplScorer:
    """Keeps the self-paced order of a sort that contains ``model_ppl``.

    Takes the plan's ``sort``, the ``corpus``, the trainer's ``score_fn``; ``cache_dir`` and
    ``seed`` are passed to the static terms (and ``seed`` breaks ties of the order). Reads
    ``every``, ``first`` (default: ``every``) and ``batch`` from the ``model_ppl`` term.
    Raises :class:`CurriculumError` E357 when the sort has no ``model_ppl`` term or more
    than one, E355 for an argument outside the registry's range.
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
        self.every, self.first, self.chunk = schedule_of(self.term.kwargs)
        # static terms: scored once, by the ordinary (cached) scorers
        self.static = [
            (score_term(t, self.corpus, cache_dir=self.cache_dir, seed=self.seed)[0].values, t)
            for t in self.sort.terms
            if t.name != NAME
        ]

    def before_first(self, step: int) -> bool:
        """Whether ``step`` comes before the first scoring step (``step < first``): the
        trainer then draws from all the data, uniformly, with no pacing."""
        return step < self.first

    @property
    def scored_yet(self) -> bool:
        """Whether there are model scores (and so an :meth:`order`) to draw from."""
        return self.model_scores is not None

    def scoring_steps(self, steps: int) -> range:
        """The steps below ``steps`` at which the data is scored: first, first + every, ..."""
        return range(self.first, steps, self.every)

    def due(self, step: int) -> bool:
        """Whether the trainer must call :meth:`rescore` before drawing the batch of ``step``:
        at ``first``, ``first + every``, ... (not twice at one step), never before ``first``;
        and at once when a step at or after ``first`` has no scores (a resumed run whose
        checkpoint holds none)."""
        if step < self.first:
            return False
        if self.model_scores is None:
            return True
        return (step - self.first) % self.every == 0 and step != self.scored_at

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
        return difficulty_order(self.scores(), self.sort.descending, seed=self.seed)

    def state_dict(self) -> dict:
        """What a checkpoint must keep to restore the order exactly."""
        return {"model_scores": self.model_scores, "scored_at": self.scored_at}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output."""
        scores = state["model_scores"]
        self.model_scores = None if scores is None else np.asarray(scores, dtype=np.float64)
        self.scored_at = state["scored_at"]


def mask_rounds(scored, rounds: int | None = None):
    """The masked copies that score every ``scored`` position of a batch exactly once.

    ``scored`` is a ``[B, L]`` bool tensor (the non-special tokens of each row). Row ``b``
    with ``n`` scored tokens gets ``r = min(n, rounds)`` copies (``rounds=None``: ``r = n``;
    a row with nothing to score gets none); copy ``j`` masks the scored tokens whose rank
    among the row's scored tokens is ``j`` modulo ``r`` -- evenly spaced, ``r`` apart, so no
    two neighbours are hidden together while ``n <= 2r``. With ``n <= rounds`` every copy
    masks one token: the exact pseudo-log-likelihood (Salazar et al. 2020, CLIMB's
    ``compute_trainer_perplexity``).

    Returns ``(row_of, chosen)``: the source row of each copy (int64 ``[E]``, ascending)
    and the positions each copy masks (bool ``[E, L]``); ``chosen`` summed over the copies
    of row ``b`` equals ``scored[b]``.
    """
    import torch

    counts = scored.sum(dim=1)
    copies = counts if rounds is None else counts.clamp(max=int(rounds))
    row_of = torch.repeat_interleave(torch.arange(len(scored)), copies)
    first_copy = torch.cumsum(copies, 0) - copies
    copy_index = torch.arange(len(row_of)) - first_copy[row_of]
    rank = scored.cumsum(dim=1) - 1
    chosen = scored[row_of] & (rank[row_of] % copies[row_of, None] == copy_index[:, None])
    return row_of, chosen


def model_loss_scorer(
    model,
    *,
    family: str,
    seq: int,
    specials,
    device,
    rounds: int | None = MASK_ROUNDS,
    row_tokens: int = ROW_TOKENS,
) -> ScoreFn:
    """The score function of a ``transformers`` model being trained: each example's mean
    token loss (natural log; its ``exp`` is the example's (pseudo-)perplexity) over *every*
    token it has, under the current weights -- eval mode (no dropout), no gradients, the
    training RNG untouched (nothing random is drawn: the score is a pure function of the
    weights and the example).

    - masked: every non-special token is masked exactly once (:func:`mask_rounds`): an
      example of at most ``rounds`` tokens is scored by its exact pseudo-log-likelihood
      (one copy per token, that token masked -- CLIMB's ``compute_trainer_perplexity``);
      a longer one by ``rounds`` copies that each mask every ``rounds``-th token
      (``rounds=None``: always exact). See the module docstring for the measurement
      behind :data:`MASK_ROUNDS`.
    - causal: the next-token loss of every position (the words and ``</s>``).

    An example with nothing to score (empty) scores 0. The copies of one call are sorted by
    length and run in forward passes of at most ``row_tokens`` rows x padded width, each
    padded only to its own longest row; the LM head runs only at the scored positions.
    """
    import torch

    from curriculumc.runtime.train.models import backbone, lm_head
    from curriculumc.runtime.train.objectives import IGNORE, collate

    if family == "masked" and specials.mask is None:
        raise CurriculumError.single(
            "E357", "model_ppl of a masked model needs a tokenizer with a mask token"
        )

    def score(corpus: TokenizedCorpus, indices: np.ndarray) -> np.ndarray:
        batch = collate(corpus, indices, seq=seq, specials=specials)
        if family == "masked":
            row_of, chosen = mask_rounds(~batch.special, rounds)
            targets = batch.ids[row_of]
            inputs = targets.masked_fill(chosen, specials.mask)
            labels = torch.where(chosen, targets, torch.full_like(targets, IGNORE))
        else:
            row_of = torch.arange(len(indices))
            inputs = batch.ids
            labels = torch.full_like(batch.ids, IGNORE)
            labels[:, :-1] = torch.where(
                batch.attention_mask[:, 1:].bool(), batch.ids[:, 1:], labels[:, :-1]
            )
        attention = batch.attention_mask[row_of]
        counts = torch.zeros(len(indices), dtype=torch.float64).index_add_(
            0, row_of, (labels != IGNORE).sum(dim=1).double()
        )
        totals = torch.zeros(len(indices), dtype=torch.float64)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                for rows in _pieces(attention.sum(dim=1), row_tokens):
                    width = int(attention[rows].sum(dim=1).max())
                    piece_labels = labels[rows, :width]
                    where = piece_labels != IGNORE
                    hidden = backbone(model)(
                        input_ids=inputs[rows, :width].to(device),
                        attention_mask=attention[rows, :width].to(device),
                    ).last_hidden_state
                    logits = lm_head(model)(hidden[where.to(device)]).float()
                    token_loss = torch.nn.functional.cross_entropy(
                        logits, piece_labels[where].to(device), reduction="none"
                    )
                    owner = row_of[rows][where.nonzero()[:, 0]]
                    totals.index_add_(0, owner, token_loss.cpu().double())
        finally:
            model.train(was_training)
        return (totals / counts.clamp(min=1)).numpy()

    return score


def _pieces(lengths, row_tokens: int):
    """Row indices, longest first, cut into groups of at most ``row_tokens`` rows x the
    group's longest row (one row at least)."""
    import torch

    order = torch.argsort(lengths, descending=True, stable=True)
    pieces, start = [], 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        take = max(1, row_tokens // longest)
        pieces.append(order[start : start + take])
        start += take
    return pieces
