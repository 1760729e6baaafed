"""Tiny models and tokenizers for the evaluation tests (built locally, nothing downloaded).

Imported by tests/test_scoring.py and tests/test_evaluate.py. The tokenizer is a small
byte-level BPE trained on real BLiMP and AO-CHILDES sentences, lower-cased, wrapped as a
``PreTrainedTokenizerFast`` with ``<s> </s> <pad> <unk> <mask>``; the masked model's
tokenizer wraps text in ``<s> ... </s>`` (as RoBERTa's does), the causal one adds nothing
(as GPT-2's does).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def shared_data() -> Path:
    """The shared data folder, or skip the test with a message saying what is missing."""
    if not (DATA / "blimp").is_dir() or not (DATA / "aochildes").is_dir():
        pytest.skip(f"real data not found at {DATA} (needs blimp/ and aochildes/)")
    return DATA


def blimp_sentences(n_files: int = 10, per_file: int = 1) -> list[str]:
    """Good and bad sentences of the first ``per_file`` pairs of ``n_files`` BLiMP files."""
    sentences = []
    for file in sorted((shared_data() / "blimp").glob("*.jsonl"))[:n_files]:
        with open(file, encoding="utf-8") as handle:
            for _, line in zip(range(per_file), handle):
                row = json.loads(line)
                sentences += [row["sentence_good"], row["sentence_bad"]]
    return sentences


def training_text(n_child: int = 3000) -> list[str]:
    """Text to train the tokenizer on: AO-CHILDES utterances plus BLiMP sentences."""
    lines = []
    with open(shared_data() / "aochildes" / "train.jsonl", encoding="utf-8") as handle:
        for _, line in zip(range(n_child), handle):
            lines.append(json.loads(line)["text"])
    return lines + blimp_sentences(n_files=67, per_file=20)


def make_tokenizer(*, wrap: bool, vocab_size: int = 600):
    """A trained byte-level BPE as ``PreTrainedTokenizerFast``; ``wrap`` adds ``<s> </s>``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(training_text(), trainer=trainer)
    if wrap:
        core.post_processor = processors.RobertaProcessing(
            ("</s>", core.token_to_id("</s>")), ("<s>", core.token_to_id("<s>"))
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        cls_token="<s>",
        sep_token="</s>",
    )


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
