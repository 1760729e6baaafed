"""Sentence log-likelihoods under a masked or a causal language model.

- **masked** models get the pseudo-log-likelihood of Salazar et al. (2020): every token
  that is not a special token (the tokenizer's own ``<s>``/``</s>``/... as marked by its
  ``special_tokens_mask``) is replaced by the mask token in a copy of the sentence, and
  the log-probability of the true token at that position is summed over the copies.
- **causal** models get the sum of the log-probabilities of the sentence's tokens, each
  given the tokens before it, with one beginning-of-sequence token prepended so that the
  first word is scored too. That token is the tokenizer's ``bos`` token, else its
  ``cls`` token, else its ``eos`` token (GPT-2 uses ``<|endoftext|>`` both ways). The
  sentence is tokenized *without* the tokenizer's own special tokens, so a post-processor
  that wraps text in ``<s> ... </s>`` adds neither a second ``<s>`` nor a scored ``</s>``.

Two pseudo-log-likelihood variants (``pll``, :data:`PLL_VARIANTS`):

- ``pll`` (Salazar et al., 2020): each token is masked alone. This is also what the BabyLM
  2025 pipeline's ``mlm`` backend computes (``sentence_zero_shot/dataset.py``: every token
  whose character span ends after the completion's start is masked alone, so for a whole
  sentence every token but the specials, whose offsets are ``(0, 0)``), up to its float32
  sums: it is not a third variant.
- ``pll-word-l2r`` (Kauf & Ivanova, 2023; minicons' ``within_word_l2r``): when token t is
  scored, the later tokens of t's *word* are masked too. A word is what the (fast)
  tokenizer's ``word_ids()`` says -- its pre-tokenizer's words (ByteLevel: a run starting
  with a ``Ġ`` space, punctuation apart), as minicons reads them; special tokens belong
  to no word and are masked alone.

A sentence may also be scored only from a character on (``scored_from``): then only the
tokens whose character span ends after it count -- the pipeline's completion scoring
(EWoK, entity tracking, COMPS), the rest of the sentence staying in the context.

The cost centre is the masked model, which needs one forward row per token. All copies
of all sentences are packed together: sentences are sorted by length (longest first)
so that each batch pads little, and a batch holds as many rows as fit in
``batch_tokens`` (rows x padded length). Each distinct sentence is tokenized once.
The vocabulary projection, which dominates the cost of a small model, is applied only
at the positions whose probability is needed (one per masked row), not at every
position; on the first batch this shortcut is checked against the model's own
``forward`` and abandoned if they disagree (a model that rescales its logits, say).

All log-likelihoods are natural logarithms, summed in float64.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from curriculumc import registry
from curriculumc.errors import CurriculumError
from curriculumc.presets import family_of_config

FAMILIES = ("masked", "causal")
#: the pseudo-log-likelihood variants of a masked model (module docstring)
PLL_VARIANTS = registry.PLL_VARIANTS
# RoBERTa-style embeddings start counting positions after the padding index
_OFFSET_POSITION_TYPES = {"roberta", "xlm-roberta", "camembert", "roberta-prelayernorm"}
# rows of the vocabulary projection computed at once (bounds memory: rows x vocab floats)
_HEAD_CHUNK_CELLS = 1 << 22


@dataclass(frozen=True)
class SentenceScores:
    """Per-sentence results: natural-log sums and how many tokens each sum covers."""

    log_likelihoods: tuple[float, ...]
    token_counts: tuple[int, ...]


def model_family(model_or_config: Any) -> str:
    """``"masked"`` or ``"causal"`` for a model or its config.

    Decided by :func:`curriculumc.presets.family_of_config` (the compiler's rule), with the
    model's class name counted among the ``architectures`` names. Raises
    :class:`CurriculumError` (E614) when it cannot tell.
    """
    model_or_config = _unwrap(model_or_config)
    config = getattr(model_or_config, "config", model_or_config)
    names = list(getattr(config, "architectures", None) or [])
    if config is not model_or_config:
        names.append(type(model_or_config).__name__)
    model_type = getattr(config, "model_type", None)
    fields = {
        "is_decoder": getattr(config, "is_decoder", False),
        "architectures": names,
        "model_type": model_type,
    }
    family = family_of_config(fields)
    if family is not None:
        return family
    raise CurriculumError.single(
        "E614",
        f"cannot tell whether model (type {model_type!r}, architectures {names}) "
        "is masked or causal",
        hint="set `architectures` in config.json, e.g. ['RobertaForMaskedLM']",
    )


def score_sentences(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[str],
    *,
    family: str,
    batch_tokens: int = 8192,
    device: Any = None,
    pll: str = "pll",
    scored_from: Sequence[int] | None = None,
) -> list[float]:
    """Log-likelihood (natural log, summed over tokens) of each sentence, in order.

    ``pll``: the pseudo-log-likelihood variant of a masked model (:data:`PLL_VARIANTS`);
    ``scored_from``: per sentence, the character its scored part starts at (None: whole).

    ``family`` is ``"masked"`` (pseudo-log-likelihood) or ``"causal"``. ``batch_tokens``
    bounds rows x padded length of one forward pass. ``device`` moves the model there
    (``None``: wherever it is). The model is put in eval mode for the call and restored
    afterwards; no gradients are kept. Raises :class:`CurriculumError` for an unknown
    family, a tokenizer without the needed special token, or a sentence longer than
    the model's positions.
    """
    result = score_sentences_with_counts(
        model,
        tokenizer,
        sentences,
        family=family,
        batch_tokens=batch_tokens,
        device=device,
        pll=pll,
        scored_from=scored_from,
    )
    return list(result.log_likelihoods)


def score_sentences_with_counts(
    model: Any,
    tokenizer: Any,
    sentences: Sequence[str],
    *,
    family: str,
    batch_tokens: int = 8192,
    device: Any = None,
    over_long: str = "raise",
    progress: Callable[[int, int], None] | None = None,
    pll: str = "pll",
    scored_from: Sequence[int] | None = None,
) -> SentenceScores:
    """Like :func:`score_sentences`, also returning the number of tokens scored per sentence.

    (The counts are what a (pseudo-)perplexity divides by.) ``over_long``: ``"raise"``
    (E613) for a sentence longer than the model's positions, or ``"skip"``: such a
    sentence is not scored, its log-likelihood is NaN and its count 0. ``progress`` is
    called as ``progress(done, total)`` with the forward batches done (0 before the
    first, ``total`` after the last; batches hold about the same number of tokens).
    ``pll`` and ``scored_from`` as for :func:`score_sentences` (both need a fast
    tokenizer, for its words and offsets, unless ``pll`` and whole sentences).
    """
    import torch

    if family not in FAMILIES:
        raise CurriculumError.single(
            "E610", f"unknown model family {family!r}", hint="use 'masked' or 'causal'"
        )
    if pll not in PLL_VARIANTS:
        raise CurriculumError.single(
            "E610",
            f"unknown pseudo-log-likelihood variant {pll!r}",
            hint=f"use one of {', '.join(PLL_VARIANTS)}",
        )
    if batch_tokens < 1:
        raise CurriculumError.single("E610", f"batch_tokens must be positive, got {batch_tokens}")
    starts = list(scored_from) if scored_from is not None else [0] * len(sentences)
    if len(starts) != len(sentences):
        raise CurriculumError.single(
            "E610", f"scored_from has {len(starts)} entries for {len(sentences)} sentences"
        )
    model = _unwrap(model)
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    items = list(zip(sentences, starts))
    unique = list(dict.fromkeys(items))
    if not unique:
        return SentenceScores((), ())
    batch = _encode(tokenizer, unique, family, words=family == "masked" and pll != "pll")
    limit = position_limit(model)
    if over_long == "skip" and limit and int(batch.lengths.max()) > limit:
        fits = [item for item, n in zip(unique, batch.lengths.tolist()) if n <= limit]
        inner = (
            score_sentences_with_counts(
                model,
                tokenizer,
                [text for text, _ in fits],
                family=family,
                batch_tokens=batch_tokens,
                progress=progress,
                pll=pll,
                scored_from=[start for _, start in fits],
            )
            if fits
            else SentenceScores((), ())
        )
        scored_of = dict(zip(fits, zip(inner.log_likelihoods, inner.token_counts)))
        values = [scored_of.get(item, (float("nan"), 0)) for item in items]
        return SentenceScores(tuple(v[0] for v in values), tuple(v[1] for v in values))
    _check_lengths(model, batch, [text for text, _ in unique])
    with _eval_mode(model), torch.inference_mode():
        ids = batch.ids.to(device)
        attention = batch.attention.to(device)
        scored = batch.scored.to(device)
        head = _LogProbs(model, family)
        if family == "masked":
            words = batch.words.to(device) if batch.words is not None else None
            totals = _pseudo_log_likelihoods(
                head,
                ids,
                attention,
                scored,
                batch.lengths,
                batch.mask_id,
                batch_tokens,
                progress,
                words=words,
            )
        else:
            totals = _causal_log_likelihoods(
                head, ids, attention, scored, batch.lengths, batch_tokens, progress
            )
    counts = scored.sum(dim=1).tolist()
    by_item = dict(zip(unique, zip(totals.tolist(), counts)))
    return SentenceScores(
        tuple(by_item[item][0] for item in items),
        tuple(int(by_item[item][1]) for item in items),
    )


# ---------------------------------------------------------------------------- encoding


@dataclass(frozen=True)
class _Encoded:
    """Distinct sentences as one right-padded matrix.

    ``scored[i, t]`` is true where token t of sentence i counts: a token to mask
    (masked) or a token to predict from the one before (causal).
    """

    ids: Any  # LongTensor [S, L]
    attention: Any  # LongTensor [S, L]
    scored: Any  # BoolTensor [S, L]
    lengths: Any  # LongTensor [S]
    mask_id: int | None
    # LongTensor [S, L]: the word of each token (-1: none, a special token or padding);
    # only for pll-word-l2r
    words: Any = None


def _encode(
    tokenizer: Any, items: list[tuple[str, int]], family: str, *, words: bool = False
) -> _Encoded:
    """``items``: (sentence, first scored character); ``words``: also the word ids."""
    import numpy as np
    import torch

    sentences = [text for text, _ in items]
    offsets_needed = words or any(start for _, start in items)
    if offsets_needed and not getattr(tokenizer, "is_fast", False):
        raise CurriculumError.single(
            "E610",
            "scoring by words (pll-word-l2r) or a completion only needs a fast tokenizer "
            "(its word ids and character offsets)",
            hint="save the tokenizer with tokenizers (a tokenizer.json), or use --pll pll",
        )
    extra = {"return_offsets_mapping": True} if offsets_needed else {}
    if family == "masked":
        if tokenizer.mask_token_id is None:
            raise CurriculumError.single(
                "E611",
                "the tokenizer has no mask token, which pseudo-log-likelihood needs",
                hint="save the tokenizer with mask_token='<mask>' (or score as causal)",
            )
        encoded = tokenizer(
            sentences, add_special_tokens=True, return_special_tokens_mask=True, **extra
        )
        rows = encoded["input_ids"]
        counted = [[not special for special in mask] for mask in encoded["special_tokens_mask"]]
        spans = encoded["offset_mapping"] if offsets_needed else None
        mask_id = int(tokenizer.mask_token_id)
    else:
        start = _start_token_id(tokenizer)
        encoded = tokenizer(sentences, add_special_tokens=False, **extra)
        rows = [[start, *row] for row in encoded["input_ids"]]
        counted = [[False] + [True] * (len(row) - 1) for row in rows]
        spans = [[(0, 0), *row] for row in encoded["offset_mapping"]] if offsets_needed else None
        mask_id = None
    if spans is not None:
        # the pipeline's rule: a token counts when its span ends after the completion starts
        counted = [
            [flag and (not first or end > first) for flag, (_, end) in zip(row, spans_row)]
            for row, spans_row, (_, first) in zip(counted, spans, items)
        ]
    word_rows = None
    if words:
        word_rows = [
            [-1 if w is None else w for w in encoded.word_ids(i)] for i in range(len(rows))
        ]
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max())
    # fill the padded matrix in one vectorised step rather than row by row
    row_index = np.repeat(np.arange(len(rows)), lengths)
    col_index = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    ids[row_index, col_index] = np.fromiter(
        (token for row in rows for token in row), dtype=np.int64, count=int(lengths.sum())
    )
    attention = np.zeros((len(rows), width), dtype=np.int64)
    attention[row_index, col_index] = 1
    scored = np.zeros((len(rows), width), dtype=bool)
    scored[row_index, col_index] = np.fromiter(
        (flag for row in counted for flag in row), dtype=bool, count=int(lengths.sum())
    )
    word_matrix = None
    if word_rows is not None:
        word_matrix = np.full((len(rows), width), -1, dtype=np.int64)
        word_matrix[row_index, col_index] = np.fromiter(
            (w for row in word_rows for w in row), dtype=np.int64, count=int(lengths.sum())
        )
        word_matrix = torch.from_numpy(word_matrix)
    return _Encoded(
        torch.from_numpy(ids),
        torch.from_numpy(attention),
        torch.from_numpy(scored),
        torch.from_numpy(lengths),
        mask_id,
        word_matrix,
    )


def _start_token_id(tokenizer: Any) -> int:
    for name in ("bos_token_id", "cls_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    raise CurriculumError.single(
        "E612",
        "the tokenizer has no bos, cls or eos token to start a sentence with",
        hint="save the tokenizer with bos_token='<s>'",
    )


def position_limit(model_or_config: Any) -> int | None:
    """How many tokens one sentence may have, as scored (``<s>``/``</s>`` or the start
    token included): the model's positions, less RoBERTa's offset; None when unknown."""
    model_or_config = _unwrap(model_or_config)
    config = getattr(model_or_config, "config", model_or_config)
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if not limit:
        return None
    if getattr(config, "model_type", None) in _OFFSET_POSITION_TYPES:
        limit -= (getattr(config, "pad_token_id", None) or 0) + 1
    return int(limit)


def sentence_lengths(tokenizer: Any, sentences: Sequence[str], family: str) -> list[int]:
    """Tokens of each sentence as the scorer feeds it to the model (the number to compare
    with :func:`position_limit`): with the tokenizer's special tokens (masked), or with
    the one start token (causal)."""
    if not sentences:
        return []
    if family == "masked":
        return [
            len(row) for row in tokenizer(list(sentences), add_special_tokens=True)["input_ids"]
        ]
    rows = tokenizer(list(sentences), add_special_tokens=False)["input_ids"]
    return [len(row) + 1 for row in rows]


def _check_lengths(model: Any, batch: _Encoded, sentences: list[str]) -> None:
    limit = position_limit(model)
    if not limit:
        return
    longest = int(batch.lengths.argmax())
    if int(batch.lengths[longest]) > limit:
        text = sentences[longest]
        raise CurriculumError.single(
            "E613",
            f"a sentence is {int(batch.lengths[longest])} tokens long, the model takes {limit}: "
            f"{text[:60]!r}{'...' if len(text) > 60 else ''}",
            hint="split long texts into lines before scoring",
        )


def _unwrap(model: Any) -> Any:
    """The Hugging Face model inside a DDP wrapper (``.module``) or ``torch.compile``
    (``._orig_mod``): the trainer may hand us either, and we need ``.config``."""
    for name in ("module", "_orig_mod"):
        inner = getattr(model, name, None)
        if inner is not None and hasattr(inner, "config"):
            model = inner
    return model


@contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    # the trainer calls us mid-training: leave the model as we found it
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


# ---------------------------------------------------------------------------- the model


class _LogProbs:
    """Log-probabilities of target tokens at chosen positions.

    Runs the backbone on all positions but the vocabulary head only on the positions
    asked for, when the model has a recognisable head (``lm_head`` or ``cls``);
    otherwise, or if the first comparison with the full forward fails, runs the full
    model and picks the positions out of its logits.
    """

    def __init__(self, model: Any, family: str):
        self.model = model
        self.family = family
        self.split = _split_head(model)
        self.checked = self.split is None

    def __call__(self, ids: Any, attention: Any, rows: Any, cols: Any, targets: Any) -> Any:
        if not self.checked:
            self.checked = True
            if not self._shortcut_agrees(ids, attention, rows, cols, targets):
                warnings.warn(
                    f"{type(self.model).__name__}: scoring through the model's full forward "
                    "(its head shortcut did not reproduce the model's logits)",
                    stacklevel=2,
                )
                self.split = None
        if self.split is None:
            return self._full(ids, attention, rows, cols, targets)
        return self._shortcut(ids, attention, rows, cols, targets)

    def _backbone_kwargs(self) -> dict[str, Any]:
        return {"use_cache": False} if self.family == "causal" else {}

    def _shortcut(self, ids: Any, attention: Any, rows: Any, cols: Any, targets: Any) -> Any:
        backbone, head = self.split
        hidden = backbone(input_ids=ids, attention_mask=attention, **self._backbone_kwargs())[0]
        selected = hidden[rows, cols]
        vocab = self.model.config.vocab_size
        step = max(1, _HEAD_CHUNK_CELLS // max(vocab, 1))
        parts = [
            _target_log_probs(head(selected[i : i + step]), targets[i : i + step])
            for i in range(0, selected.shape[0], step)
        ]
        return parts[0] if len(parts) == 1 else _cat(parts)

    def _full(self, ids: Any, attention: Any, rows: Any, cols: Any, targets: Any) -> Any:
        logits = self.model(
            input_ids=ids, attention_mask=attention, **self._backbone_kwargs()
        ).logits
        return _target_log_probs(logits[rows, cols], targets)

    def _shortcut_agrees(
        self, ids: Any, attention: Any, rows: Any, cols: Any, targets: Any
    ) -> bool:
        import torch

        # two rows suffice: a head that differs from forward() differs everywhere
        keep = rows < 2
        sub_ids, sub_attention = ids[:2], attention[:2]
        fast = self._shortcut(sub_ids, sub_attention, rows[keep], cols[keep], targets[keep])
        slow = self._full(sub_ids, sub_attention, rows[keep], cols[keep], targets[keep])
        return bool(torch.allclose(fast, slow, atol=1e-3, rtol=1e-4))


def _split_head(model: Any) -> tuple[Any, Any] | None:
    backbone = getattr(model, "base_model", None)
    if backbone is None or backbone is model:
        return None
    for name in ("lm_head", "cls"):
        head = getattr(model, name, None)
        if head is not None and callable(head):
            return backbone, head
    return None


def _target_log_probs(logits: Any, targets: Any) -> Any:
    logits = logits.float()
    picked = logits.gather(1, targets.unsqueeze(1)).squeeze(1)
    return picked - logits.logsumexp(dim=1)


def _cat(parts: list[Any]) -> Any:
    import torch

    return torch.cat(parts)


# ---------------------------------------------------------------------------- the two scores


def _batches_by_budget(lengths_desc: Any, budget: int) -> Iterator[tuple[int, int, int]]:
    """Split rows sorted by length (longest first) into ``(start, stop, width)`` batches.

    Each batch holds as many rows as fit in ``budget`` tokens at the width of its first
    (longest) row, and always at least one row.
    """
    total = len(lengths_desc)
    start = 0
    while start < total:
        width = int(lengths_desc[start])
        stop = min(total, start + max(1, budget // max(width, 1)))
        yield start, stop, width
        start = stop


def _pseudo_log_likelihoods(
    log_probs: _LogProbs,
    ids: Any,
    attention: Any,
    scored: Any,
    lengths: Any,
    mask_id: int,
    batch_tokens: int,
    progress: Callable[[int, int], None] | None = None,
    *,
    words: Any = None,
) -> Any:
    """Salazar et al.'s PLL; with ``words`` (word id per token, -1 for none), Kauf &
    Ivanova's within-word l2r: the later tokens of the scored token's word masked too."""
    import torch

    device = ids.device
    totals = torch.zeros(ids.shape[0], dtype=torch.float64, device=device)
    # one copy per scored token, copies of the longest sentences first
    order = torch.argsort(lengths, descending=True, stable=True).to(device)
    copy_sentence, copy_position = scored[order].nonzero(as_tuple=True)
    copy_sentence = order[copy_sentence]
    copy_lengths = lengths.to(device)[copy_sentence].cpu()
    batches = list(_batches_by_budget(copy_lengths, batch_tokens))
    if progress is not None:
        progress(0, len(batches))
    for done, (start, stop, width) in enumerate(batches, start=1):
        sentence = copy_sentence[start:stop]
        position = copy_position[start:stop]
        rows = torch.arange(stop - start, device=device)
        inputs = ids[sentence, :width].clone()
        targets = inputs[rows, position]
        inputs[rows, position] = mask_id
        if words is not None:
            inputs[later_in_word(words[sentence, :width], position)] = mask_id
        values = log_probs(inputs, attention[sentence, :width], rows, position, targets)
        totals.index_add_(0, sentence, values.double())
        if progress is not None:
            progress(done, len(batches))
    return totals.cpu()


def later_in_word(words: Any, position: Any) -> Any:
    """Which tokens to mask besides the scored one (pll-word-l2r): ``words[i, j]`` is the
    word of token j of copy i (-1: none), ``position[i]`` the token copy i scores. True
    at the tokens after it in the same word (none for a token of no word)."""
    import torch

    rows = torch.arange(words.shape[0], device=words.device)
    word = words[rows, position].unsqueeze(1)
    cols = torch.arange(words.shape[1], device=words.device).unsqueeze(0)
    return (words == word) & (cols > position.unsqueeze(1)) & (word >= 0)


def _causal_log_likelihoods(
    log_probs: _LogProbs,
    ids: Any,
    attention: Any,
    scored: Any,
    lengths: Any,
    batch_tokens: int,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    import torch

    device = ids.device
    totals = torch.zeros(ids.shape[0], dtype=torch.float64, device=device)
    order = torch.argsort(lengths, descending=True, stable=True)
    batches = list(_batches_by_budget(lengths[order], batch_tokens))
    if progress is not None:
        progress(0, len(batches))
    for done, (start, stop, width) in enumerate(batches, start=1):
        sentence = order[start:stop].to(device)
        inputs = ids[sentence, :width]
        # position t predicts token t + 1
        rows, cols = scored[sentence, 1:width].nonzero(as_tuple=True)
        targets = inputs[rows, cols + 1]
        values = log_probs(inputs, attention[sentence, :width], rows, cols, targets)
        totals.index_add_(0, sentence[rows], values.double())
        if progress is not None:
            progress(done, len(batches))
    return totals.cpu()
