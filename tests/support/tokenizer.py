"""Tokenizers trained on test texts: the product's, and a deliberately foreign one.

Tests train on the tokenizer ``curriculumc run`` builds -- its BPE recipe, normaliser,
specials and Hugging Face folder -- not on a look-alike, so that what they check holds
for what users get. The GPT-2-style tokenizer is only for what is about models from
elsewhere (evaluating them, comparing with other scorers).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path


def product_tokenizer(texts: list[str], vocab_size: int, *, seq: int = 64):
    """A ``PreTrainedTokenizerFast`` trained on ``texts`` by
    :func:`~curriculumc.runtime.data.tokenizer.prepare_tokenizer` and loaded as the trainer
    loads it. ``seq`` is the folder's ``model_max_length``. Trained afresh on every call
    (an empty cache folder, removed afterwards): a cached tokenizer could hide a change to
    the recipe."""
    from curriculumc.plan import TokenizerSpec
    from curriculumc.runtime.data.tokenizer import prepare_tokenizer

    identity = hashlib.sha256(json.dumps(texts).encode("utf-8")).hexdigest()
    with tempfile.TemporaryDirectory(prefix="curriculumc-test-tokenizer-") as cache:
        artifacts = prepare_tokenizer(
            TokenizerSpec(kind="bpe", vocab_size=vocab_size),
            lambda: iter(texts),
            corpus_identity=identity,
            cache_dir=Path(cache),
            seq=seq,
        )
        assert artifacts.origin == "trained"
        return artifacts.hf()  # loaded into memory: the folder may go


def gpt2_style_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE laid out like GPT-2's, *not* like curriculumc's: no prefix space,
    no normaliser, no post-processor (it adds no special token to a text), and one special
    token ``<|endoftext|>`` as bos, eos and unk (no pad, no mask)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    end = "<|endoftext|>"
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[end],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token=end, eos_token=end, unk_token=end
    )
