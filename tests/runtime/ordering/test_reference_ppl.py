"""``reference_ppl(model="folder")``: difficulty under a saved reference model, scored once.

Tiny models are built here and saved with ``save_pretrained`` (nothing downloaded); each is
first trained a few steps on one sentence, so that that sentence is the easiest. The
scores are checked against a hand computation of the mean negative log-likelihood per
token (masked: each token masked alone; causal: each token from the ones before it), the
cache against changed weights at the same path, and the scorer through ``validate``,
``explain``, ``simulate`` and a short ``run``.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from support.eval_models import make_causal_model, make_masked_model
from support.paths import REPO
from support.scorer_corpora import corpus_from_texts
from support.tokenizer import product_tokenizer

import curriculumc
from curriculumc.cli import main
from curriculumc.errors import CurriculumError
from curriculumc.plan import ScorerTerm, SortSpec
from curriculumc.runtime.ordering.scorers import difficulty_order, score_sort, score_term

EASY = "the dog sees the ball"
TEXTS = [
    "colourless green ideas sleep furiously",
    EASY,
    "where did the little cat go today",
    "a ball",
    "the dog sees the ball and the cat",
    "zebras quietly juggle seven purple umbrellas",
]


@pytest.fixture(scope="module")
def tokenizer():
    words = " ".join(TEXTS).split()
    return product_tokenizer([*TEXTS, *words] * 5, 300, seq=64)


def _train(model, tokenizer, family: str, steps: int = 40):
    """A few Adam steps on :data:`EASY` (masked: every token masked alone)."""
    torch.manual_seed(0)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    if family == "masked":
        encoded = tokenizer(EASY, return_special_tokens_mask=True)
        ids = torch.tensor(encoded["input_ids"])
        positions = [i for i, s in enumerate(encoded["special_tokens_mask"]) if not s]
        inputs = ids.repeat(len(positions), 1)
        labels = torch.full_like(inputs, -100)
        for row, i in enumerate(positions):
            inputs[row, i] = tokenizer.mask_token_id
            labels[row, i] = ids[i]
    else:
        ids = [tokenizer.bos_token_id, *tokenizer(EASY, add_special_tokens=False)["input_ids"]]
        inputs = torch.tensor([ids])
        labels = inputs.clone()
    for _ in range(steps):
        optimiser.zero_grad()
        model(input_ids=inputs, labels=labels).loss.backward()
        optimiser.step()
    return model.eval()


def save_reference(folder, tokenizer, family: str, *, seed: int = 0, train: bool = True):
    make = make_masked_model if family == "masked" else make_causal_model
    model = make(tokenizer, hidden=32, seed=seed)
    if train:
        model = _train(model, tokenizer, family)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model


@torch.no_grad()
def hand_mean_nll(model, tokenizer, text: str, family: str) -> float:
    """The mean negative log-likelihood per token, one forward per scored token."""
    if family == "masked":
        encoded = tokenizer(text, return_special_tokens_mask=True)
        ids = encoded["input_ids"]
        losses = []
        for i, special in enumerate(encoded["special_tokens_mask"]):
            if special:
                continue
            masked = list(ids)
            masked[i] = tokenizer.mask_token_id
            logits = model(input_ids=torch.tensor([masked])).logits[0, i].double()
            losses.append(-torch.log_softmax(logits, -1)[ids[i]].item())
        return float(np.mean(losses))
    ids = [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]]
    logits = model(input_ids=torch.tensor([ids])).logits[0].double()
    logp = torch.log_softmax(logits, -1)
    return float(np.mean([-logp[t - 1, ids[t]].item() for t in range(1, len(ids))]))


def term(folder) -> ScorerTerm:
    return ScorerTerm("reference_ppl", (), (("model", str(folder)),))


def texts() -> list[str]:
    return list(TEXTS)


@pytest.mark.parametrize("family", ["masked", "causal"])
def test_order_is_the_reference_models_mean_nll(family, tokenizer, tmp_path):
    model = save_reference(tmp_path / "ref", tokenizer, family)
    # the run's token ids (whitespace words) are not the reference's: it reads the text
    corpus, _ = corpus_from_texts(TEXTS)
    scores = score_sort(
        SortSpec((term(tmp_path / "ref"),)), corpus, cache_dir=tmp_path / "c", texts=texts,
        quiet=True,
    )  # fmt: skip
    expected = np.array([hand_mean_nll(model, tokenizer, t, family) for t in TEXTS])
    np.testing.assert_allclose(scores.values, expected, rtol=1e-5, atol=1e-5)
    order = difficulty_order(scores.values, seed=0)
    assert order.tolist() == np.argsort(expected, kind="stable").tolist()
    assert TEXTS[order[0]] == EASY  # what the reference was trained on is the easiest
    assert len(set(np.round(expected, 6))) == len(TEXTS)  # no ties decide the order


def test_cache_follows_the_weights_not_the_path(tokenizer, tmp_path, capsys):
    corpus, _ = corpus_from_texts(TEXTS)
    cache, folder = tmp_path / "cache", tmp_path / "ref"
    save_reference(folder, tokenizer, "causal")
    first, hit = score_term(term(folder), corpus, cache_dir=cache, texts=texts)
    assert not hit
    assert "reference_ppl: 6 examples by" in capsys.readouterr().out  # the progress lines

    calls = []
    again, hit = score_term(term(folder), corpus, cache_dir=cache, texts=lambda: calls.append(1))
    assert hit and not calls  # read from the cache: the texts are not even asked for
    np.testing.assert_array_equal(again.values, first.values)

    shutil.copytree(folder, tmp_path / "elsewhere")  # the same model at another path hits
    assert score_term(term(tmp_path / "elsewhere"), corpus, cache_dir=cache, texts=texts)[1]

    save_reference(folder, tokenizer, "causal", seed=1, train=False)  # new weights, same path
    changed, hit = score_term(term(folder), corpus, cache_dir=cache, texts=texts, quiet=True)
    assert not hit
    assert not np.allclose(changed.values, first.values)
    assert len(list((cache / "scores" / corpus.content_hash).glob("reference_ppl-*.npy"))) == 2


def test_bad_reference_folders_are_errors_with_codes(tokenizer, tmp_path):
    corpus, _ = corpus_from_texts(TEXTS)

    def code_of(folder, **kwargs) -> str:
        with pytest.raises(CurriculumError) as caught:
            score_term(term(folder), corpus, cache_dir=tmp_path / "c", **kwargs)
        return caught.value.diagnostics[0].code

    assert code_of(tmp_path / "missing", texts=texts) == "E630"
    (tmp_path / "empty").mkdir()
    assert code_of(tmp_path / "empty", texts=texts) == "E631"
    no_tokenizer = tmp_path / "no_tokenizer"
    make_causal_model(tokenizer, hidden=32).save_pretrained(no_tokenizer)
    assert code_of(no_tokenizer, texts=texts) == "E632"
    not_a_model = tmp_path / "not_a_model"
    tokenizer.save_pretrained(not_a_model)
    (not_a_model / "config.json").write_text(json.dumps({"model_type": "nonsense"}))
    assert code_of(not_a_model, texts=texts) == "E633"
    save_reference(tmp_path / "ok", tokenizer, "causal", train=False)
    assert code_of(tmp_path / "ok") == "E355"  # no texts given
    assert code_of(tmp_path / "ok", texts=lambda: TEXTS[:2]) == "E356"


SPEC = """\
model roberta-tiny
data synth(words=3k)
tokenizer bpe 600
train {steps} steps, batch 8, seq 32, lr 1e-3, warmup 1, seed 3
sort by reference_ppl(model="{model}")
pace linear from 30% over 50%
log every 2
"""


def test_a_spec_validates_explains_simulates_and_runs(tokenizer, tmp_path, capsys):
    save_reference(tmp_path / "ref", tokenizer, "masked", train=False)
    spec = tmp_path / "ref.cur"
    spec.write_text(SPEC.format(steps=4, model=tmp_path / "ref"), encoding="utf-8")
    plan = curriculumc.load(spec)
    assert plan.sort.terms == (term(tmp_path / "ref"),)
    assert main(["explain", str(spec)]) == 0
    explained = "".join(capsys.readouterr().out.split())  # lines wrap the long path
    assert f"sortedbyreference_ppl(model={tmp_path / 'ref'})".replace(" ", "") in explained

    cache = tmp_path / "cache"
    assert main(["simulate", str(spec), "--cache-dir", str(cache)]) == 0
    assert "simulated" in capsys.readouterr().out
    (scored,) = (cache / "scores").glob("*/reference_ppl-*.npy")  # simulate scored it

    runs = tmp_path / "runs"
    argv = ["run", "--runs-dir", str(runs), "--cache-dir", str(cache), "--quiet", str(spec)]
    assert main(argv) == 0
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    assert (run / "final" / "config.json").is_file()
    assert list((cache / "scores").glob("*/reference_ppl-*.npy")) == [scored]  # a cache hit


def test_a_wrong_keyword_is_a_compile_error(tmp_path):
    spec = tmp_path / "bad.cur"
    spec.write_text(SPEC.format(steps=4, model="x").replace("model=", "modle="), "utf-8")
    with pytest.raises(CurriculumError) as caught:
        curriculumc.load(spec)
    assert "unknown argument 'modle' of scorer 'reference_ppl'" in str(caught.value)


def test_simulate_without_the_reference_model_stands_in_with_a_note(tmp_path, capsys):
    spec = tmp_path / "absent.cur"
    spec.write_text(SPEC.format(steps=4, model=tmp_path / "absent"), encoding="utf-8")
    out = tmp_path / "exposure.json"
    argv = ["simulate", str(spec), "--cache-dir", str(tmp_path / "cache"), "--json", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "simulated without it" in captured.out + captured.err
    assert json.loads(out.read_text())["exact"] is False  # a stand-in, not the plan's order
    runs = ["--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache")]
    assert main(["run", *runs, "--quiet", str(spec)]) != 0  # run refuses: no stand-in
    assert "E630" in capsys.readouterr().err


def test_the_example_spec_compiles():
    plan = curriculumc.load(REPO / "specs" / "reference_ppl.cur")
    assert [t.name for t in plan.sort.terms] == ["reference_ppl"]
