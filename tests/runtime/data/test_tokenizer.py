"""The byte-level BPE: specials, round trip, determinism, Hugging Face folder, cache."""

from __future__ import annotations

import json

import pytest
from support.data_inputs import aochildes_slice

from curriculumc.errors import CurriculumError
from curriculumc.plan import TokenizerSpec
from curriculumc.runtime.data.tokenizer import (
    SPECIAL_TOKENS,
    prepare_tokenizer,
    train_bpe,
    write_hf_folder,
)


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    path = aochildes_slice(tmp_path_factory.mktemp("tok"), 3000)
    return [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def trained(texts):
    return train_bpe(iter(texts), 800)


def test_specials_in_roberta_order_and_vocab_size(trained):
    assert [trained.id_to_token(i) for i in range(5)] == list(SPECIAL_TOKENS)
    assert trained.get_vocab_size() == 800


def test_round_trip_is_the_lowercased_text(trained, texts):
    for text in [*texts[:200], "What's THAT, Mommy?", "naïve ﬁsh café"]:
        ids = trained.encode(text, add_special_tokens=False).ids
        # the prefix space comes back as a leading space
        assert trained.decode(ids) == " " + text.lower().replace("ﬁ", "fi")


def test_same_word_same_tokens_at_start_and_inside(trained):
    alone = trained.encode("doggie", add_special_tokens=False).ids
    inside = trained.encode("the doggie", add_special_tokens=False).ids
    assert inside[-len(alone) :] == alone


def test_post_processor_wraps_in_s_and_slash_s(trained):
    encoding = trained.encode("hello there")
    assert encoding.tokens[0] == "<s>" and encoding.tokens[-1] == "</s>"
    assert encoding.ids[0] == 0 and encoding.ids[-1] == 2


def test_training_is_deterministic(texts, trained):
    assert train_bpe(iter(texts), 800).to_str() == trained.to_str()


def test_too_small_vocabulary_is_refused(texts):
    with pytest.raises(CurriculumError) as excinfo:
        train_bpe(iter(texts), 100)
    assert excinfo.value.diagnostics[0].code == "E321"


def test_hf_folder_loads_with_autotokenizer(trained, tmp_path):
    from transformers import AutoTokenizer

    folder = tmp_path / "tok"
    write_hf_folder(trained.to_str(), folder, model_max_length=64)
    config = json.loads((folder / "tokenizer_config.json").read_text("utf-8"))
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert config["add_prefix_space"] is True  # transformers 4.x would reset it otherwise
    assert config["model_max_length"] == 64
    assert (config["mask_token"], config["pad_token"], config["bos_token"]) == (
        "<mask>",
        "<pad>",
        "<s>",
    )
    hf = AutoTokenizer.from_pretrained(str(folder))
    text = "Where's the BALL"
    assert hf(text)["input_ids"] == trained.encode(text).ids
    assert (hf.mask_token_id, hf.pad_token_id, hf.bos_token_id, hf.eos_token_id) == (4, 1, 0, 2)
    assert hf.model_max_length == 64


def test_prepare_tokenizer_caches_by_corpus_identity(texts, tmp_path):
    calls = []

    def factory():
        calls.append(1)
        return iter(texts)

    spec = TokenizerSpec(kind="bpe", vocab_size=600)
    first = prepare_tokenizer(spec, factory, corpus_identity="abc", cache_dir=tmp_path, seq=32)
    again = prepare_tokenizer(spec, factory, corpus_identity="abc", cache_dir=tmp_path, seq=64)
    assert (first.origin, again.origin, len(calls)) == ("trained", "cached", 1)
    assert first.content_hash == again.content_hash
    assert first.directory != again.directory  # one HF folder per model_max_length
    assert first.separator_id == 2 and first.vocab_size == 600
    other = prepare_tokenizer(spec, factory, corpus_identity="xyz", cache_dir=tmp_path, seq=32)
    assert other.origin == "trained" and len(calls) == 2


def test_path_tokenizer_from_file_and_folder(trained, tmp_path):
    file = tmp_path / "tokenizer.json"
    file.write_text(trained.to_str(), "utf-8")
    spec = TokenizerSpec(kind="path", path=str(file))
    loaded = prepare_tokenizer(spec, None, corpus_identity="-", cache_dir=tmp_path / "c", seq=32)
    assert loaded.origin == "loaded"
    assert (loaded.directory / "tokenizer_config.json").exists()
    assert loaded.backend.encode("more juice").ids == trained.encode("more juice").ids
    folder_spec = TokenizerSpec(kind="path", path=str(loaded.directory))
    again = prepare_tokenizer(folder_spec, None, corpus_identity="-", cache_dir=tmp_path, seq=32)
    assert again.directory == loaded.directory and again.content_hash == loaded.content_hash
    with pytest.raises(CurriculumError) as excinfo:
        missing = TokenizerSpec(kind="path", path=str(tmp_path / "none"))
        prepare_tokenizer(missing, None, corpus_identity="-", cache_dir=tmp_path, seq=32)
    assert excinfo.value.diagnostics[0].code == "E320"
