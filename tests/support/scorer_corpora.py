"""Small TokenizedCorpus builders for the scorer, sampler and simulate tests."""

from __future__ import annotations

import functools
import hashlib
import json

import numpy as np

from curriculumc.runtime.data.tokenized import TokenizedCorpus
from support.paths import DATA

AOCHILDES = DATA / "aochildes" / "train.jsonl"


def corpus_from_texts(texts, sources=None, source_names=None, columns=None, vocab=None):
    """Whitespace words as token ids (ids in order of first appearance unless ``vocab``)."""
    vocab = dict(vocab or {})
    ids, offsets = [], [0]
    for text in texts:
        ids.extend(vocab.setdefault(w, len(vocab)) for w in text.split())
        offsets.append(len(ids))
    n = len(texts)
    if sources is None:
        sources, source_names = [0] * n, ("only",)
    key = hashlib.sha256(json.dumps([list(texts), list(sources)]).encode()).hexdigest()[:16]
    corpus = TokenizedCorpus(
        ids=np.array(ids, dtype=np.uint32),
        offsets=np.array(offsets, dtype=np.int64),
        words=np.array([len(t.split()) for t in texts], dtype=np.int32),
        source=np.array(sources, dtype=np.int32),
        source_names=tuple(source_names),
        vocab_size=max(len(vocab), 1),
        content_hash=key,
        columns=dict(columns or {}),
    )
    return corpus, vocab


def aochildes_corpus(limit: int):
    """The first ``limit`` utterances of the shared AO-CHILDES training file, or None."""
    if not AOCHILDES.exists():
        return None
    texts, sources, names, ages = [], [], {}, []
    with AOCHILDES.open() as lines:
        for i, line in enumerate(lines):
            if i >= limit:
                break
            row = json.loads(line)
            texts.append(row["text"])
            sources.append(names.setdefault(row["source"], len(names)))
            ages.append(np.nan if row["age_days"] is None else float(row["age_days"]))
    corpus, _ = corpus_from_texts(
        texts, sources, tuple(names), columns={"age": np.array(ages, dtype=np.float64)}
    )
    return corpus


@functools.cache
def aochildes_or_skip(limit: int):
    """:func:`aochildes_corpus`, built once per ``limit``; skips the test without the data."""
    import pytest

    corpus = aochildes_corpus(limit)
    if corpus is None:
        pytest.skip("AO-CHILDES not found beside the repository")
    return corpus
