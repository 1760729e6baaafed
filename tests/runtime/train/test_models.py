"""Models from presets or a config.json, sized by the tokenizer; checkpoints that
transformers' Auto classes load."""

from __future__ import annotations

import json

import pytest
import torch

from curriculumc.errors import CurriculumError
from curriculumc.runtime.train.models import (
    SpecialIds,
    backbone,
    build_model,
    hidden_size,
    lm_head,
    model_config,
)

SPECIALS = SpecialIds(bos=0, pad=1, eos=2, unk=3, mask=4)


def test_roberta_tiny_takes_vocab_and_specials_from_the_tokenizer():
    config = model_config(
        "roberta-tiny", family="masked", vocab_size=777, seq=64, specials=SPECIALS
    )
    model = build_model(config, "masked")
    assert type(model).__name__ == "RobertaForMaskedLM"
    assert model.get_input_embeddings().num_embeddings == 777
    assert config.pad_token_id == 1 and config.bos_token_id == 0 and config.eos_token_id == 2
    assert config.max_position_embeddings >= 64 + 2
    assert (config.num_hidden_layers, config.hidden_size) == (2, 128)
    # a full-length row (positions pad+1 .. pad+seq) runs
    ids = torch.randint(5, 777, (2, 64))
    out = backbone(model)(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert out.last_hidden_state.shape == (2, 64, 128)
    assert lm_head(model)(out.last_hidden_state[0]).shape == (64, 777)


def test_roberta_small_is_pre_layer_norm():
    config = model_config(
        "roberta-small", family="masked", vocab_size=500, seq=128, specials=SPECIALS
    )
    assert config.model_type == "roberta-prelayernorm"
    model = build_model(config, "masked")
    assert type(model).__name__ == "RobertaPreLayerNormForMaskedLM"
    assert hidden_size(config) == 256 and config.num_hidden_layers == 8


def test_gpt_tiny_is_a_causal_gpt2():
    config = model_config("gpt-tiny", family="causal", vocab_size=300, seq=32, specials=SPECIALS)
    model = build_model(config, "causal")
    assert type(model).__name__ == "GPT2LMHeadModel"
    assert config.n_positions >= 34 and config.vocab_size == 300
    assert config.pad_token_id == 1 and config.eos_token_id == 2


def test_config_json_path_with_overrides(tmp_path):
    from transformers import RobertaConfig

    RobertaConfig(
        vocab_size=50265,
        hidden_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=20,
    ).to_json_file(tmp_path / "config.json")
    config = model_config(
        str(tmp_path / "config.json"),
        family="masked",
        vocab_size=600,
        seq=64,
        specials=SPECIALS,
        dropout=0.0,
    )
    assert config.vocab_size == 600  # from the tokenizer, not the file
    assert config.max_position_embeddings >= 66  # grown to fit seq
    assert config.hidden_dropout_prob == 0.0 and config.attention_probs_dropout_prob == 0.0
    assert build_model(config, "masked").config.hidden_size == 64


def test_unknown_preset_is_an_error():
    with pytest.raises(CurriculumError) as err:
        model_config("roberta-huge", family="masked", vocab_size=10, seq=8, specials=SPECIALS)
    assert err.value.diagnostics[0].code == "E400"
    assert "roberta-tiny" in err.value.diagnostics[0].hint


def test_checkpoint_folder_loads_with_auto_classes(tmp_path):
    """What a checkpoint holds loads with AutoModelForMaskedLM / AutoTokenizer, and its
    config and tokenizer_config carry what transformers 4.x needs."""
    from support.train_fixtures import tokenizer
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from curriculumc.runtime.train import checkpoint as ckpt

    tok = tokenizer()
    specials = SpecialIds.from_tokenizer(tok)
    torch.manual_seed(0)
    config = model_config(
        "roberta-tiny", family="masked", vocab_size=len(tok), seq=32, specials=specials
    )
    model = build_model(config, "masked").eval()
    optimizer = torch.optim.AdamW(model.parameters())
    ckpt.save(
        tmp_path / "final",
        model=model,
        tokenizer=tok,
        heads={},
        optimizer=optimizer,
        state={"step": 3},
        plan_json="{}",
        max_length=32,
    )
    loaded = AutoModelForMaskedLM.from_pretrained(tmp_path / "final").eval()
    loaded_tok = AutoTokenizer.from_pretrained(tmp_path / "final")
    enc = loaded_tok("where is the ball", return_tensors="pt")
    assert (
        enc["input_ids"][0].tolist()
        == tok("where is the ball", return_tensors="pt")["input_ids"][0].tolist()
    )
    with torch.no_grad():
        assert torch.equal(model(**enc).logits, loaded(**enc).logits)
    saved = json.loads((tmp_path / "final" / "config.json").read_text())
    assert saved["torch_dtype"] == "float32"
    tok_config = json.loads((tmp_path / "final" / "tokenizer_config.json").read_text())
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert tok_config["model_max_length"] == 32
    assert not list(tmp_path.glob(".tmp-*"))  # written under a temporary name, then renamed
