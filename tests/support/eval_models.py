"""Tiny models and tokenizers for the evaluation tests (built locally, nothing downloaded).

Imported by tests/test_scoring.py and tests/test_evaluate.py. :func:`make_tokenizer` is
the product's tokenizer (:mod:`support.tokenizer`) trained on real BLiMP and AO-CHILDES
sentences; :func:`make_gpt2_style_tokenizer` is a deliberately foreign one, for the tests
about models that curriculumc did not train.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from support.data_inputs import aochildes_texts
from support.paths import shared_data
from support.tokenizer import gpt2_style_tokenizer, product_tokenizer


def blimp_sentences(n_files: int = 10, per_file: int = 1) -> list[str]:
    """Good and bad sentences of the first ``per_file`` pairs of ``n_files`` BLiMP files."""
    sentences = []
    for file in sorted(shared_data("blimp").glob("*.jsonl"))[:n_files]:
        with open(file, encoding="utf-8") as handle:
            for _, line in zip(range(per_file), handle):
                row = json.loads(line)
                sentences += [row["sentence_good"], row["sentence_bad"]]
    return sentences


def training_text(n_child: int = 3000) -> list[str]:
    """Text to train a tokenizer on: AO-CHILDES utterances plus BLiMP sentences."""
    return aochildes_texts(n_child) + blimp_sentences(n_files=67, per_file=20)


@cache
def make_tokenizer(vocab_size: int = 600):
    """The product's tokenizer trained on :func:`training_text` (wraps text in ``<s> ... </s>``)."""
    return product_tokenizer(training_text(), vocab_size, seq=128)


@cache
def make_gpt2_style_tokenizer(vocab_size: int = 600):
    """:func:`~support.tokenizer.gpt2_style_tokenizer` trained on :func:`training_text`:
    only for the tests of evaluating a model from elsewhere, which must not assume the
    product's layout."""
    return gpt2_style_tokenizer(training_text(), vocab_size)


def make_masked_model(tokenizer, *, hidden: int = 64, seed: int = 0):
    """A randomly initialised 2-layer ``RobertaForMaskedLM``."""
    import torch
    from transformers import RobertaConfig, RobertaForMaskedLM

    torch.manual_seed(seed)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=hidden * 2,
        max_position_embeddings=130,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
    )
    return RobertaForMaskedLM(config).eval()


def make_zero_masked_model(tokenizer):
    """:func:`make_masked_model` with every weight 0: each token's distribution is uniform,
    so two sentences of the same number of tokens score exactly the same (a tie)."""
    import torch

    model = make_masked_model(tokenizer)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
    return model


def make_causal_model(tokenizer, *, hidden: int = 64, seed: int = 0):
    """A randomly initialised 2-layer ``GPT2LMHeadModel``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=hidden,
        n_layer=2,
        n_head=2,
        n_positions=128,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config).eval()


def save_model(model, tokenizer, folder: Path) -> Path:
    """Write model and tokenizer to ``folder`` as a user's model folder; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    from curriculumc.runtime.train.checkpoint import make_loadable_by_v4

    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    make_loadable_by_v4(folder)  # as the trainer writes its folders
    return folder
