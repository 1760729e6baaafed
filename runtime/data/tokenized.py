"""The tokenized corpus: the data layer's output, read by scorers, sampler and trainer.

Token ids are one flat array plus offsets (memory-mapped from the cache), so that a
100M-word corpus costs no Python objects per example.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

#: value of :attr:`TokenizedCorpus.pos` for tokens with no tag
NO_TAG = 255


def seen_tokens(lengths: np.ndarray, seq: int | np.ndarray) -> np.ndarray:
    """Tokens of text of examples of ``lengths`` tokens (as stored) that a model with
    ``seq`` positions reads: ``min(length, seq - 2)`` (int64). ``seq`` may be one length
    or one per example (a sequence-length warmup reads each step at its own length).
    The rule of :meth:`TokenizedCorpus.text_tokens`, for any subset of the examples."""
    limit = np.maximum(np.asarray(seq, dtype=np.int64) - 2, 0)
    return np.minimum(np.asarray(lengths, dtype=np.int64), limit)


def seen_words(words: np.ndarray, lengths: np.ndarray, seq: int | np.ndarray) -> np.ndarray:
    """Words read of examples with ``words`` (as stored) in ``lengths`` tokens by a model
    with ``seq`` positions (one, or one per example): all of them when the example fits in
    ``seq - 2`` tokens, else ``ceil(words * (seq - 2) / length)`` -- the share its kept
    tokens are (int64). The rule of :meth:`TokenizedCorpus.text_words`, for any subset."""
    words = np.asarray(words, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    limit = np.broadcast_to(np.maximum(np.asarray(seq, dtype=np.int64) - 2, 0), lengths.shape)
    longer = lengths > limit
    if not longer.any():
        return words
    words = words.copy()
    words[longer] = np.ceil(words[longer] * limit[longer] / lengths[longer]).astype(np.int64)
    return words


@dataclass(frozen=True, eq=False)
class TokenizedCorpus:
    """Examples as token ids, with per-example metadata.

    - ``ids``: flat token ids of all examples (uint16 when the vocabulary fits, else uint32),
      without special tokens (collators add ``<s>``/``</s>`` and truncate to ``seq``).
    - ``offsets``: int64, length N + 1; example i is ``ids[offsets[i]:offsets[i + 1]]``.
    - ``words``: int32 per example, whitespace-separated words of the original text that
      the model reads (for word budgets: BabyLM counts words, not tokens): an example cut
      to ``seq - 2`` tokens when stored counts only the words starting in its kept tokens
      (the words cut are in ``stats["truncated_words"]``). Read it through
      :meth:`text_words`.
    - ``source``: int32 per example, an index into ``source_names``.
    - ``columns``: numeric per-example features (float64, NaN where missing), e.g.
      ``age`` (days) or ``depth``.
    - ``pos``: uint8 per token aligned with ``ids``: an index into
      :data:`curriculumc.pos_tags.UNIVERSAL_TAGS`, :data:`NO_TAG` where unknown; or None.
    - ``content_hash``: hash of (corpus bytes, tokenizer, settings) -- the cache key that
      scorers reuse for their own caches.
    - ``stats``: what the loader did with problem input (``empty_lines``, ``truncated``,
      ``invalid_utf8`` ...), counted for the run summary. Nothing is dropped silently.
    """

    ids: np.ndarray
    offsets: np.ndarray
    words: np.ndarray
    source: np.ndarray
    source_names: tuple[str, ...]
    vocab_size: int
    content_hash: str
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)
    pos: np.ndarray | None = None
    stats: Mapping[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def example(self, i: int) -> np.ndarray:
        """Token ids of example ``i``."""
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> np.ndarray:
        """Tokens per example (int64), as stored (no special tokens, not truncated)."""
        return np.diff(self.offsets)

    def text_tokens(self, seq: int) -> np.ndarray:
        """Tokens of text per example as a model with ``seq`` positions reads it (int64):
        the example cut to ``seq - 2`` tokens (``<s>`` and ``</s>`` take the other two,
        and are not text). The one definition of *tokens seen*: the trainer counts these,
        ``simulate`` reports these, and a token budget (``batch N tokens``) spends these."""
        return seen_tokens(self.lengths(), seq)

    def text_words(self, seq: int) -> np.ndarray:
        """Words per example as a model with ``seq`` positions reads them (int64): the
        words that start within the example's first ``seq - 2`` tokens. The one definition
        of *words seen*, beside :meth:`text_tokens`: the trainer and ``simulate`` count
        these. A stored corpus is cut at its seq when tokenized and its ``words`` count
        exactly that; an example longer than ``seq - 2`` tokens here (a corpus kept whole,
        or read at a smaller seq) keeps the share of its words that its kept tokens are."""
        return seen_words(self.words, self.lengths(), seq)

    def read_counts(self, indices: np.ndarray, seq: int) -> tuple[np.ndarray, np.ndarray]:
        """(words, tokens) per example of ``indices`` as a model with ``seq`` positions
        reads them: ``text_words(seq)[indices]``, ``text_tokens(seq)[indices]`` in
        O(len(indices)) -- what a step at a sequence-length warmup's length counts seen."""
        idx = np.asarray(indices, dtype=np.int64)
        lengths = np.asarray(self.offsets[idx + 1] - self.offsets[idx], dtype=np.int64)
        return seen_words(self.words[idx], lengths, seq), seen_tokens(lengths, seq)

    def truncation(self, seq: int) -> dict:
        """What the model with ``seq`` positions never reads: ``examples`` cut (when stored
        and here), ``tokens_cut``, ``words_cut``, their shares of the examples and of the
        text's tokens (the keys of ``storage.truncation_summary``)."""
        lengths = self.lengths()
        limit = max(seq - 2, 0)
        longer = lengths > limit
        stats = self.stats
        examples = int(stats.get("truncated", 0)) + int(longer.sum())
        tokens_cut = int(stats.get("truncated_tokens", 0)) + int((lengths - limit)[longer].sum())
        words_cut = int(stats.get("truncated_words", 0)) + int(
            (np.asarray(self.words, dtype=np.int64) - self.text_words(seq))[longer].sum()
        )
        total = int(lengths.sum()) + int(stats.get("truncated_tokens", 0))
        return {
            "seq": seq,
            "examples": examples,
            "share": examples / len(self) if len(self) else 0.0,
            "tokens_cut": tokens_cut,
            "token_share": tokens_cut / total if total else 0.0,
            "words_cut": words_cut,
        }
