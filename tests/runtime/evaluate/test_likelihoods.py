"""Sentence scoring: the batched scorer against a one-position-at-a-time reference."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from support.eval_models import (  # noqa: E402  (after the importorskip on purpose)
    blimp_sentences,
    make_causal_model,
    make_gpt2_style_tokenizer,
    make_masked_model,
    make_tokenizer,
    save_model,
)

from curriculumc.errors import CurriculumError  # noqa: E402
from curriculumc.runtime.evaluate.evaluation import load_model_dir  # noqa: E402
from curriculumc.runtime.evaluate.likelihoods import (  # noqa: E402
    model_family,
    score_sentences,
    score_sentences_with_counts,
)

TOLERANCE = 1e-4


def naive_pll(model, tokenizer, sentence: str) -> float:
    """Salazar et al.: mask one non-special token, one forward, sum the true log-probs."""
    encoded = tokenizer(sentence, return_special_tokens_mask=True)
    ids = torch.tensor(encoded["input_ids"])
    total = 0.0
    for position, special in enumerate(encoded["special_tokens_mask"]):
        if special:
            continue
        masked = ids.clone()
        masked[position] = tokenizer.mask_token_id
        with torch.no_grad():
            logits = model(masked.unsqueeze(0)).logits[0, position]
        total += logits.log_softmax(-1)[ids[position]].item()
    return total


def naive_causal(model, tokenizer, sentence: str) -> float:
    """<s> + tokens, one forward, sum log P(token t | tokens before t) over the sentence."""
    ids = [tokenizer.bos_token_id, *tokenizer(sentence, add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        log_probs = model(torch.tensor([ids])).logits[0].log_softmax(-1)
    return sum(log_probs[t, ids[t + 1]].item() for t in range(len(ids) - 1))


@pytest.fixture(scope="module")
def sentences():
    return blimp_sentences(n_files=10, per_file=1)  # 20 real sentences, 10 paradigms


@pytest.fixture(scope="module")
def masked_dir(tmp_path_factory):
    tokenizer = make_tokenizer()
    folder = tmp_path_factory.mktemp("masked") / "model"
    return save_model(make_masked_model(tokenizer), tokenizer, folder)


@pytest.fixture(scope="module")
def causal_dir(tmp_path_factory):
    tokenizer = make_tokenizer()
    folder = tmp_path_factory.mktemp("causal") / "model"
    return save_model(make_causal_model(tokenizer), tokenizer, folder)


@pytest.fixture(scope="module")
def gpt2_style_dir(tmp_path_factory):
    """A causal model from elsewhere: its tokenizer adds no specials, no prefix space, and
    starts sentences with ``<|endoftext|>``."""
    tokenizer = make_gpt2_style_tokenizer()
    folder = tmp_path_factory.mktemp("gpt2-style") / "model"
    return save_model(make_causal_model(tokenizer), tokenizer, folder)


@pytest.mark.parametrize("batch_tokens", [64, 8192])
def test_masked_scores_equal_the_one_position_reference(masked_dir, sentences, batch_tokens):
    model, tokenizer, family = load_model_dir(masked_dir)
    assert family == "masked"
    got = score_sentences(model, tokenizer, sentences, family="masked", batch_tokens=batch_tokens)
    expected = [naive_pll(model, tokenizer, s) for s in sentences]
    assert len(got) == len(sentences) == 20
    for g, e in zip(got, expected):
        assert abs(g - e) < TOLERANCE
    # a random model spreads probability over ~600 tokens: each token costs about ln 600
    assert all(e < -3 for e in expected)


@pytest.mark.parametrize("batch_tokens", [32, 8192])
@pytest.mark.parametrize("folder", ["causal_dir", "gpt2_style_dir"])
def test_causal_scores_equal_the_one_forward_reference(request, folder, sentences, batch_tokens):
    """With the product's tokenizer (which wraps text in ``<s> ... </s>``) and with a
    GPT-2-style one (which adds nothing): one start token, every sentence token scored."""
    model, tokenizer, family = load_model_dir(request.getfixturevalue(folder))
    assert family == "causal"
    got = score_sentences_with_counts(
        model, tokenizer, sentences, family="causal", batch_tokens=batch_tokens
    )
    expected = [naive_causal(model, tokenizer, s) for s in sentences]
    for g, e in zip(got.log_likelihoods, expected):
        assert abs(g - e) < TOLERANCE
    # the sentence's own tokens, not a wrapper's </s>
    words = [len(tokenizer(s, add_special_tokens=False)["input_ids"]) for s in sentences]
    assert list(got.token_counts) == words


def test_counts_order_and_duplicates(masked_dir, sentences):
    model, tokenizer, _ = load_model_dir(masked_dir)
    asked = [sentences[3], sentences[0], sentences[3]]
    result = score_sentences_with_counts(model, tokenizer, asked, family="masked")
    assert result.log_likelihoods[0] == result.log_likelihoods[2]
    assert result.log_likelihoods[1] == pytest.approx(
        naive_pll(model, tokenizer, sentences[0]), abs=TOLERANCE
    )
    # the count is the tokens masked: all but <s> and </s>
    assert result.token_counts[1] == len(tokenizer(sentences[0])["input_ids"]) - 2


def test_model_mode_is_restored(causal_dir, sentences):
    model, tokenizer, _ = load_model_dir(causal_dir)
    model.train()
    first = score_sentences(model, tokenizer, sentences[:4], family="causal")
    assert model.training
    second = score_sentences(model, tokenizer, sentences[:4], family="causal")
    assert first == second  # dropout was off while scoring


def test_a_wrapped_model_is_unwrapped(causal_dir, sentences):
    model, tokenizer, _ = load_model_dir(causal_dir)

    class Wrapper(torch.nn.Module):  # stands in for DistributedDataParallel
        def __init__(self, inner):
            super().__init__()
            self.module = inner

    wrapped = Wrapper(model)
    assert model_family(wrapped) == "causal"
    got = score_sentences(wrapped, tokenizer, sentences[:4], family="causal")
    assert got == score_sentences(model, tokenizer, sentences[:4], family="causal")


def test_a_model_that_rescales_its_logits_is_scored_through_forward(masked_dir, sentences):
    model, tokenizer, _ = load_model_dir(masked_dir)
    original = model.forward

    def doubled(*args, **kwargs):
        output = original(*args, **kwargs)
        output.logits = output.logits * 2.0
        return output

    model.forward = doubled
    with pytest.warns(UserWarning, match="full forward"):
        got = score_sentences(model, tokenizer, sentences[:6], family="masked")
    expected = [naive_pll(model, tokenizer, s) for s in sentences[:6]]
    for g, e in zip(got, expected):
        assert abs(g - e) < TOLERANCE


def test_zero_weights_give_equal_scores_for_equal_token_counts(masked_dir):
    model, tokenizer, _ = load_model_dir(masked_dir)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
    scores = score_sentences(
        model, tokenizer, ["the dog sleeps", "the dogs sleep"], family="masked"
    )
    counts = [len(tokenizer(s)["input_ids"]) - 2 for s in ["the dog sleeps", "the dogs sleep"]]
    # every logit is 0: each masked token costs exactly ln |V|
    for score, count in zip(scores, counts):
        assert score == pytest.approx(-count * math.log(len(tokenizer)), abs=1e-3)


def test_model_family_from_configs():
    from transformers import BertConfig, GPT2Config, RobertaConfig

    assert model_family(RobertaConfig(architectures=["RobertaForMaskedLM"])) == "masked"
    assert model_family(RobertaConfig(architectures=["RobertaForCausalLM"])) == "causal"
    assert model_family(RobertaConfig(is_decoder=True)) == "causal"
    assert model_family(GPT2Config()) == "causal"
    assert model_family(BertConfig()) == "masked"
    config = RobertaConfig()
    config.model_type = "mystery"
    with pytest.raises(CurriculumError) as caught:
        model_family(config)
    assert caught.value.diagnostics[0].code == "E614"


def test_scoring_errors(masked_dir, sentences):
    model, tokenizer, _ = load_model_dir(masked_dir)
    with pytest.raises(CurriculumError) as caught:
        score_sentences(model, tokenizer, sentences, family="seq2seq")
    assert caught.value.diagnostics[0].code == "E610"
    with pytest.raises(CurriculumError) as caught:
        score_sentences(model, tokenizer, ["word " * 200], family="masked")
    assert caught.value.diagnostics[0].code == "E613"
    assert "tokens long" in caught.value.diagnostics[0].message
    tokenizer.mask_token = None
    with pytest.raises(CurriculumError) as caught:
        score_sentences(model, tokenizer, sentences, family="masked")
    assert caught.value.diagnostics[0].code == "E611"
    assert score_sentences(model, tokenizer, [], family="masked") == []


def test_run_folder_resolves_to_final_else_newest_checkpoint(tmp_path, masked_dir, causal_dir):
    import shutil

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "plan.json").write_text("{}")
    shutil.copytree(causal_dir, run / "checkpoints" / "step-900")
    shutil.copytree(masked_dir, run / "checkpoints" / "step-1000")
    assert load_model_dir(run)[2] == "masked"  # step-1000 is newer than step-900 (numerically)
    shutil.copytree(causal_dir, run / "final")
    assert load_model_dir(run)[2] == "causal"
    for bad, code in ((tmp_path / "missing", "E630"), (tmp_path, "E631")):
        with pytest.raises(CurriculumError) as caught:
            load_model_dir(bad)
        assert caught.value.diagnostics[0].code == code


def test_checkpoint_without_tokenizer_uses_the_runs(tmp_path, masked_dir):
    import shutil

    run = tmp_path / "run"
    step = run / "checkpoints" / "step-5"
    shutil.copytree(masked_dir, step)
    shutil.copytree(masked_dir, run / "tokenizer")
    (step / "tokenizer.json").unlink()
    (step / "tokenizer_config.json").unlink()
    with pytest.raises(CurriculumError) as caught:
        load_model_dir(run)  # no plan.json: not known to be a run, so no fallback
    assert caught.value.diagnostics[0].code == "E632"
    (run / "plan.json").write_text("{}")
    model, tokenizer, _ = load_model_dir(run)
    assert tokenizer.mask_token == "<mask>"
