"""Comparable evaluation: the two tie rules (strict, the BabyLM pipeline's), both
accuracies in every result, and the PLL variants (pll, pll-word-l2r) against hand
computations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.eval_models import (
    make_masked_model,
    make_tokenizer,
    make_zero_masked_model,
    save_model,
)

from curriculumc.errors import CurriculumError
from curriculumc.runtime.evaluate.evaluation import (
    TIE_RULES,
    PairResult,
    evaluate_pairs,
    is_correct,
    judge_pairs,
)
from curriculumc.runtime.evaluate.minimal_pairs import load_pairs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "zero_shot"


def write_pairs(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


# ---------------------------------------------------------------------------- ties


def test_a_tie_is_right_under_babylm_and_wrong_under_strict(tmp_path):
    pairs = load_pairs(
        write_pairs(
            tmp_path / "p",
            [
                {"sentence_good": "tie good", "sentence_bad": "tie bad"},
                {"sentence_good": "win good", "sentence_bad": "win bad"},
                {"sentence_good": "loss good", "sentence_bad": "loss bad"},
            ],
        )
    )
    scores = {"tie good": -3.5, "tie bad": -3.5, "win good": -1.0, "win bad": -2.0}
    scores |= {"loss good": -4.0, "loss bad": -2.0}
    strict = judge_pairs(pairs, scores, ties="strict")
    babylm = judge_pairs(pairs, scores, ties="babylm")
    assert strict.paradigms[0].correct == (0, 1, 0)
    assert babylm.paradigms[0].correct == (1, 1, 0)
    assert (strict.macro, babylm.macro) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    # each result also knows the other rule's figure
    assert strict.macro_by("babylm") == babylm.macro and babylm.macro_by("strict") == strict.macro
    assert strict.ties == babylm.ties == 1


def test_babylm_rule_is_the_pipelines_first_index_argmax():
    """The pipeline: torch.max(stacked scores, dim=1)[1] == 0 (the good one first)."""
    torch = pytest.importorskip("torch")
    generator = torch.Generator().manual_seed(0)
    # few distinct values, so that ties (two- and three-way) are common
    stacked = torch.randint(-3, 0, (2000, 3), generator=generator).float()
    chosen = torch.max(stacked, dim=1)[1].tolist()
    for row, index in zip(stacked.tolist(), chosen):
        assert is_correct(row[0], max(row[1:]), "babylm") == (index == 0), row
        assert is_correct(row[0], max(row[1:]), "strict") == (row[0] > max(row[1:]))


def test_more_than_two_candidates_are_judged_against_the_best_wrong_one():
    pairs = load_pairs(FIXTURES / "entity_tracking")
    keys = {k for p in pairs.pairs for k in p.keys()}
    scores = {k: -5.0 for k in keys}
    three = pairs.by_paradigm()["regular_0_ops"][0]
    good, second, third = three.keys()
    scores[good], scores[second], scores[third] = -2.0, -9.0, -2.0  # ties the third
    for rule, expected in (("strict", 0), ("babylm", 1)):
        result = judge_pairs(pairs, scores, ties=rule)
        entry = next(p for p in result.paradigms if p.name == "regular_0_ops")
        assert entry.correct == (expected,)
        assert entry.bad_scores == (-2.0,)  # the best wrong candidate
    scores[third] = -1.0  # beaten by the third: wrong under both
    assert judge_pairs(pairs, scores, ties="babylm").per_paradigm["regular_0_ops"] == 0.0


def test_every_result_json_carries_both_rules_and_names_the_headline(tmp_path):
    pairs = load_pairs(FIXTURES / "blimp_filtered")
    scores = {s: -1.0 for s in pairs.sentences()}  # every pair a tie
    for rule in TIE_RULES:
        data = json.loads(json.dumps(judge_pairs(pairs, scores, ties=rule, pll="pll").to_json()))
        assert data["ties_rule"] == rule and data["pll"] == "pll"
        assert (data["macro_strict"], data["macro_babylm"]) == (0.0, 1.0)
        assert data["macro"] == data[f"macro_{rule}"]
        assert data["per_field_strict"] == {"morphology": 0.0, "syntax": 0.0}
        assert data["per_field_babylm"] == {"morphology": 1.0, "syntax": 1.0}
        for entry in data["paradigms"].values():
            assert (entry["accuracy_strict"], entry["accuracy_babylm"]) == (0.0, 1.0)
            assert entry["correct"] == [int(rule == "babylm")] * entry["n"]
        back = PairResult.from_json(data)
        assert (back.ties_rule, back.pll, back.macro) == (rule, "pll", data["macro"])
        metrics = back.to_metrics()
        assert (metrics["blimp/macro_strict"], metrics["blimp/macro_babylm"]) == (0.0, 1.0)


def test_a_file_from_before_the_rules_reads_back_as_strict(tmp_path):
    pairs = load_pairs(FIXTURES / "blimp_filtered")
    data = judge_pairs(pairs, {s: -1.0 for s in pairs.sentences()}).to_json()
    for key in ("ties_rule", "pll", "macro_strict", "macro_babylm"):
        del data[key]
    back = PairResult.from_json(data)
    assert back.ties_rule == "strict" and back.macro == 0.0 and back.macro_by("babylm") == 1.0


def test_an_unknown_tie_rule_is_refused():
    pairs = load_pairs(FIXTURES / "blimp_filtered")
    with pytest.raises(CurriculumError) as caught:
        judge_pairs(pairs, {s: 0.0 for s in pairs.sentences()}, ties="lenient")
    assert caught.value.diagnostics[0].code == "E610"


def test_cli_choices_are_the_runtimes_names():
    import argparse

    from curriculumc.commands import eval as command
    from curriculumc.runtime.evaluate.likelihoods import PLL_VARIANTS

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    eval_parser = parser._subparsers._group_actions[0].choices["eval"]
    choices = {a.dest: a.choices for a in eval_parser._actions if a.choices}
    assert tuple(choices["ties"]) == TIE_RULES and tuple(choices["pll"]) == PLL_VARIANTS


def test_cli_ties_babylm_on_a_zero_model_counts_every_tie_right(tmp_path):
    """A model with every weight zero gives equal-length sentences equal scores."""
    pytest.importorskip("torch")
    tokenizer = make_tokenizer()
    model = make_zero_masked_model(tokenizer)
    rows = [
        {"sentence_good": "the cat is here .", "sentence_bad": "the cat are here ."},
        {"sentence_good": "he is happy .", "sentence_bad": "he are happy ."},
    ]
    for row in rows:  # the rule needs exact ties: equal token counts
        assert len(tokenizer(row["sentence_good"])["input_ids"]) == len(
            tokenizer(row["sentence_bad"])["input_ids"]
        )
    folder = save_model(model, tokenizer, tmp_path / "model")
    pairs = write_pairs(tmp_path / "pairs", rows)
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "curriculumc", "eval", str(folder), "--blimp", str(pairs)]
        + ["--ties", "babylm", "--pll", "pll-word-l2r", "--json", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert (data["ties_rule"], data["pll"], data["ties"]) == ("babylm", "pll-word-l2r", 2)
    assert (data["macro"], data["macro_babylm"], data["macro_strict"]) == (1.0, 1.0, 0.0)
    assert "macro accuracy (ties babylm)" in done.stdout
    assert "macro accuracy (ties strict)" in done.stdout


# ---------------------------------------------------------------------------- PLL variants


@pytest.fixture(scope="module")
def tiny():
    pytest.importorskip("torch")
    tokenizer = make_tokenizer()
    return make_masked_model(tokenizer, seed=3), tokenizer


def multi_token_sentence(tokenizer) -> tuple[str, list[int]]:
    """A sentence with a word of three or more tokens, and the word id of each token."""
    sentence = "the zorbleflux is here ."
    encoded = tokenizer(sentence, return_offsets_mapping=True)
    words = encoded.word_ids()
    pieces = [words.count(w) for w in set(words) if w is not None]
    assert max(pieces) >= 3, tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    return sentence, words


def hand_pll(model, tokenizer, sentence: str, *, word_l2r: bool, scored_from: int = 0) -> float:
    """The definition, one forward per scored token, nothing shared with the package."""
    import torch

    encoded = tokenizer(sentence, return_offsets_mapping=True, return_special_tokens_mask=True)
    ids = encoded["input_ids"]
    words = encoded.word_ids()
    total = 0.0
    for position, token in enumerate(ids):
        if encoded["special_tokens_mask"][position]:
            continue
        if encoded["offset_mapping"][position][1] <= scored_from and scored_from:
            continue
        masked = list(ids)
        masked[position] = tokenizer.mask_token_id
        if word_l2r:
            for later in range(position + 1, len(ids)):
                if words[later] is not None and words[later] == words[position]:
                    masked[later] = tokenizer.mask_token_id
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([masked])).logits[0, position]
        total += float(torch.log_softmax(logits.double(), dim=-1)[token])
    return total


def test_later_in_word_masks_exactly_the_later_tokens_of_the_word():
    torch = pytest.importorskip("torch")
    from curriculumc.runtime.evaluate.likelihoods import later_in_word

    # <s> the zor ble flux is </s> <pad>: words -1 0 1 1 1 2 -1 -1
    words = torch.tensor([[-1, 0, 1, 1, 1, 2, -1, -1]] * 6)
    position = torch.tensor([1, 2, 3, 4, 5, 6])
    masked = later_in_word(words, position).int().tolist()
    assert masked == [
        [0, 0, 0, 0, 0, 0, 0, 0],  # 'the': a one-token word
        [0, 0, 0, 1, 1, 0, 0, 0],  # 'zor': 'ble' and 'flux' too
        [0, 0, 0, 0, 1, 0, 0, 0],  # 'ble': 'flux' only, never the earlier 'zor'
        [0, 0, 0, 0, 0, 0, 0, 0],  # 'flux': the word's last token
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],  # a special token: no word, nothing more
    ]


def test_pll_word_l2r_feeds_the_model_the_masked_rows_it_should(tiny):
    """The rows the scorer really runs, recorded at the model's input."""

    from curriculumc.runtime.evaluate.likelihoods import score_sentences

    model, tokenizer = tiny
    sentence, words = multi_token_sentence(tokenizer)
    ids = tokenizer(sentence)["input_ids"]
    seen = []
    hook = model.roberta.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(
            (kwargs.get("input_ids") if kwargs.get("input_ids") is not None else args[0]).clone()
        ),
        with_kwargs=True,
    )
    try:
        score_sentences(model, tokenizer, [sentence], family="masked", pll="pll-word-l2r")
    finally:
        hook.remove()
    rows = {tuple(r) for batch in seen for r in batch.tolist()}
    mask = tokenizer.mask_token_id
    expected = set()
    for position in range(1, len(ids) - 1):
        row = list(ids)
        for j in range(position, len(ids)):
            if j == position or (words[j] is not None and words[j] == words[position]):
                row[j] = mask
        expected.add(tuple(row))
    assert expected <= rows  # (the first batch may also be run twice, to check the head)
    assert rows <= expected
    # the multi-token word's first token is scored with all of its word masked
    first = words.index(max(set(w for w in words if w is not None), key=words.count))
    count = words.count(words[first])
    assert any(r[first : first + count] == (mask,) * count and r.count(mask) == count for r in rows)


def test_both_variants_equal_a_hand_computation(tiny):
    from curriculumc.runtime.evaluate.likelihoods import score_sentences

    model, tokenizer = tiny
    sentence, _ = multi_token_sentence(tokenizer)
    sentences = [sentence, "the dog is here .", "a blickiness of florps ."]
    for variant, word_l2r in (("pll", False), ("pll-word-l2r", True)):
        got = score_sentences(model, tokenizer, sentences, family="masked", pll=variant)
        want = [hand_pll(model, tokenizer, s, word_l2r=word_l2r) for s in sentences]
        assert got == pytest.approx(want, abs=1e-4)
    plain = score_sentences(model, tokenizer, sentences[:1], family="masked")
    l2r = score_sentences(model, tokenizer, sentences[:1], family="masked", pll="pll-word-l2r")
    assert plain != pytest.approx(l2r, abs=1e-3)  # a multi-token word: they differ


def test_completion_scoring_counts_only_the_completions_tokens(tiny):
    from curriculumc.runtime.evaluate.likelihoods import score_sentences_with_counts

    model, tokenizer = tiny
    context = "Ali is the teacher of Bo."
    sentence = f"{context} Ali grades the homework."
    whole = score_sentences_with_counts(model, tokenizer, [sentence], family="masked")
    part = score_sentences_with_counts(
        model, tokenizer, [sentence], family="masked", scored_from=[len(context)]
    )
    completion_tokens = len(
        tokenizer(" Ali grades the homework.", add_special_tokens=False)["input_ids"]
    )
    assert part.token_counts == (completion_tokens,)
    assert whole.token_counts[0] > completion_tokens
    want = hand_pll(model, tokenizer, sentence, word_l2r=False, scored_from=len(context))
    assert part.log_likelihoods[0] == pytest.approx(want, abs=1e-4)


def test_evaluate_pairs_names_the_variant_and_scores_completions(tiny):
    model, tokenizer = tiny
    pairs = load_pairs(FIXTURES / "ewok_filtered")
    result = evaluate_pairs(model, tokenizer, pairs, family="masked", pll="pll-word-l2r")
    assert (result.pll, result.ties_rule, result.n_pairs) == ("pll-word-l2r", "strict", 3)
    first = pairs.pairs[0]
    want = hand_pll(model, tokenizer, first.good, word_l2r=True, scored_from=first.scored_from[0])
    assert result.paradigms[0].good_scores[0] == pytest.approx(want, abs=1e-4)


def test_an_in_training_evaluation_follows_the_plans_tie_rule_and_pll(tmp_path):
    """`eval ... ties babylm pll pll-word-l2r` in a spec reaches the evaluation the trainer
    runs (run_eval with the plan's EvalSpec): the zero model's ties count right."""
    pytest.importorskip("torch")
    from curriculumc.plan import EvalSpec
    from curriculumc.runtime.evaluate.evaluation import run_eval

    tokenizer = make_tokenizer()
    model = make_zero_masked_model(tokenizer)
    pairs = write_pairs(
        tmp_path / "pairs", [{"sentence_good": "he is happy .", "sentence_bad": "he are happy ."}]
    )
    figures = {}
    for ties in TIE_RULES:
        spec = EvalSpec(name="pairs", path=str(pairs), ties=ties, pll="pll-word-l2r")
        figures[ties], result = run_eval(spec, model, tokenizer, family="masked")
        assert result["ties_rule"] == ties and result["pll"] == "pll-word-l2r"
    assert figures["babylm"]["pairs/macro"] == 1.0 and figures["strict"]["pairs/macro"] == 0.0
