"""Evaluation: judging pairs, aggregation, ties, JSON, perplexity, rendering and the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from support.eval_models import (
    make_causal_model,
    make_masked_model,
    make_tokenizer,
    make_zero_masked_model,
    save_model,
)
from support.paths import shared_data
from support.rendering import plain_text

from curriculumc.errors import CurriculumError
from curriculumc.runtime.evaluate.evaluation import (
    PairResult,
    judge_pairs,
    load_texts,
    result_tables,
)
from curriculumc.runtime.evaluate.minimal_pairs import load_pairs

# paradigm -> field, and per pair (good score, bad score)
HAND_MADE = {
    "agr_a": ("morphology", [(-1, -2), (-1, -2), (-3, -2), (-2, -2)]),  # 2/4 right, 1 tie
    "agr_b": ("morphology", [(-1, -2), (-1, -2)]),  # 2/2
    "island": ("syntax", [(-5, -1), (-1, -5), (-1, -5)]),  # 2/3
    "npi": (None, [(-2, -1)]),  # 0/1, no field -> unknown
}


@pytest.fixture
def hand_made(tmp_path):
    """A pair folder whose sentences encode their own scores, and those scores."""
    scores = {}
    for paradigm, (field, outcomes) in HAND_MADE.items():
        rows = []
        for i, (good, bad) in enumerate(outcomes):
            row = {
                "sentence_good": f"{paradigm} good {i}",
                "sentence_bad": f"{paradigm} bad {i}",
                "pairID": str(100 + i),
                "UID": paradigm,
            }
            if field:
                row["field"] = field
            scores[row["sentence_good"]], scores[row["sentence_bad"]] = float(good), float(bad)
            rows.append(json.dumps(row))
        (tmp_path / f"{paradigm}.jsonl").write_text("\n".join(rows) + "\n")
    return load_pairs(tmp_path), scores


def test_aggregation_per_paradigm_field_and_macro(hand_made):
    pairs, scores = hand_made
    result = judge_pairs(pairs, scores, family="masked")
    assert result.per_paradigm == {"agr_a": 0.5, "agr_b": 1.0, "island": 2 / 3, "npi": 0.0}
    assert result.per_field == {"morphology": 0.75, "syntax": 2 / 3, "unknown": 0.0}
    assert result.macro == pytest.approx((0.5 + 1 + 2 / 3 + 0) / 4)
    assert result.ties == 1
    assert result.n_pairs == 10
    metrics = result.to_metrics()
    assert metrics["blimp/macro"] == result.macro
    assert metrics["blimp/agr_a"] == 0.5
    assert metrics["blimp/field/morphology"] == 0.75
    assert metrics["blimp/ties"] == 1.0
    assert all(isinstance(v, float) for v in metrics.values())


def test_constant_scores_get_zero_with_every_pair_a_tie():
    pairs = load_pairs(shared_data("blimp"), limit=5)
    result = judge_pairs(pairs, dict.fromkeys(pairs.sentences(), -12.5))
    assert result.macro == 0.0
    assert result.ties == result.n_pairs == 67 * 5
    assert set(result.per_field.values()) == {0.0}


def test_zero_weight_model_ties_every_pair(tmp_path):
    pytest.importorskip("torch")
    from curriculumc.runtime.evaluate.evaluation import evaluate_pairs

    tokenizer = make_tokenizer()
    model = make_zero_masked_model(tokenizer)
    # pairs whose two sentences have the same number of tokens (a zero model scores by length)
    candidates = load_pairs(shared_data("blimp"), limit=10)
    same_length = [
        json.dumps(
            {"sentence_good": p.good, "sentence_bad": p.bad, "UID": p.paradigm, "pairID": p.pair_id}
        )
        for p in candidates.pairs
        if len(tokenizer(p.good)["input_ids"]) == len(tokenizer(p.bad)["input_ids"])
    ]
    assert len(same_length) > 100
    (tmp_path / "same.jsonl").write_text("\n".join(same_length) + "\n")
    pairs = load_pairs(tmp_path / "same.jsonl")
    result = evaluate_pairs(model, tokenizer, pairs, family="masked")
    assert result.macro == 0.0
    assert result.ties == result.n_pairs == len(same_length)


def test_json_round_trip_holds_per_pair_outcomes(hand_made):
    pairs, scores = hand_made
    result = judge_pairs(pairs, scores, family="causal", wall_s=2.0)
    data = json.loads(json.dumps(result.to_json()))
    assert data["paradigms"]["agr_a"] == {
        "field": "morphology",
        "n": 4,
        "accuracy": 0.5,
        "accuracy_strict": 0.5,
        "accuracy_babylm": 0.75,  # the tie (-2 against -2) counts under babylm
        "ties": 1,
        "pair_ids": ["100", "101", "102", "103"],
        "correct": [1, 1, 0, 0],
        "good": [-1.0, -1.0, -3.0, -2.0],
        "bad": [-2.0, -2.0, -2.0, -2.0],
    }
    assert data["pairs_per_s"] == 5.0
    assert PairResult.from_json(data) == result
    with pytest.raises(CurriculumError):
        PairResult.from_json({"format": "something else"})


def test_json_round_trip_keeps_narrow_wins_apart_from_ties(hand_made):
    pairs, scores = hand_made
    scores = dict(scores, **{"agr_b good 0": -2.0 + 1e-7})  # wins by less than any rounding
    result = judge_pairs(pairs, scores)
    back = PairResult.from_json(json.loads(json.dumps(result.to_json())))
    assert back.per_paradigm["agr_b"] == result.per_paradigm["agr_b"] == 1.0
    assert back.ties == result.ties == 1


def test_result_tables_render_as_plain_text_at_fixed_width(hand_made):
    pairs, scores = hand_made
    tables = result_tables(judge_pairs(pairs, scores, family="masked"), perplexity_value=12.345)
    text = plain_text(tables, width=80)
    assert "\x1b[" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    lines = text.splitlines()
    assert any("agr_a" in line and "morphology" in line and "50.0%" in line for line in lines)
    assert any("island" in line and "66.7%" in line for line in lines)
    assert any("macro accuracy" in line and "54.2%" in line for line in lines)
    assert any("pseudo-perplexity (dev)" in line and "12.35" in line for line in lines)


def test_perplexity_matches_its_definition(tmp_path):
    pytest.importorskip("torch")
    from curriculumc.runtime.evaluate.evaluation import perplexity
    from curriculumc.runtime.evaluate.likelihoods import score_sentences_with_counts

    tokenizer = make_tokenizer()
    model = make_causal_model(tokenizer)
    texts = load_texts(shared_data("aochildes", "dev.jsonl"), limit=30)
    assert len(texts) == 30
    scored = score_sentences_with_counts(model, tokenizer, texts, family="causal")
    expected = math.exp(-sum(scored.log_likelihoods) / sum(scored.token_counts))
    assert perplexity(model, tokenizer, texts, family="causal") == pytest.approx(expected)
    # a random model is about as unsure as a uniform guess over the vocabulary
    assert 0.5 * len(tokenizer) < expected < 2 * len(tokenizer)


def test_load_texts_formats_and_errors(tmp_path):
    (tmp_path / "dev.txt").write_text("one line\n\n  two line \nthree\n")
    assert load_texts(tmp_path / "dev.txt") == ["one line", "two line", "three"]
    assert load_texts(tmp_path / "dev.txt", limit=2) == ["one line", "two line"]
    (tmp_path / "dev.jsonl").write_text('{"text": "hi there"}\n{"utterance": "x"}\n')
    assert load_texts(tmp_path / "dev.jsonl", limit=1) == ["hi there"]  # line 2 unread
    with pytest.raises(CurriculumError) as caught:
        load_texts(tmp_path / "dev.jsonl")
    diagnostic = caught.value.diagnostics[0]
    # the data layer's rule for a line without the text field, with its file and line
    assert (diagnostic.code, diagnostic.span.line) == ("E305", 2)
    assert diagnostic.span.file == str(tmp_path / "dev.jsonl")
    with pytest.raises(CurriculumError) as caught:
        load_texts(tmp_path / "nope.jsonl")
    assert caught.value.diagnostics[0].code == "E620"
    (tmp_path / "blank.txt").write_text("\n  \n")
    with pytest.raises(CurriculumError) as caught:
        load_texts(tmp_path / "blank.txt")
    assert caught.value.diagnostics[0].code == "E621"


@pytest.mark.parametrize("name", ["dev.jsonl", "dev.json", "dev.ndjson"])
def test_load_texts_gives_a_json_lines_files_text_field_not_its_json(tmp_path, name):
    """A dev file is read as the training file is: the ``text`` field's strings (or the
    field the data statement names), never the JSON lines themselves."""
    rows = [
        {"text": "  where is the ball ", "source": "mother", "age_days": 700},
        {"text": ""},
        {"text": "you found it", "utterance": "other"},
    ]
    (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    assert load_texts(tmp_path / name) == ["where is the ball", "you found it"]
    (tmp_path / name).write_text('{"utterance": "hi", "text": "no"}\n')
    assert load_texts(tmp_path / name, column="utterance") == ["hi"]


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "curriculumc", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**__import__("os").environ, "COLUMNS": "120"},
    )


def test_cli_on_a_run_folder_writes_run_eval_json(tmp_path):
    pytest.importorskip("torch")
    tokenizer = make_tokenizer()
    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    (run / "plan.json").write_text("{}")
    save_model(make_masked_model(tokenizer), tokenizer, run / "final")
    done = run_cli(
        "eval",
        run,
        "--blimp",
        shared_data("blimp"),
        "--limit",
        "4",
        "--dev",
        shared_data("aochildes", "dev.jsonl"),
        "--dev-limit",
        "20",
    )
    assert done.returncode == 0, done.stderr
    out = run / "eval" / "blimp_final_limit4.json"
    result = json.loads(out.read_text())
    assert result["n_pairs"] == 67 * 4
    assert len(result["paradigms"]) == 67
    assert result["perplexity"]["texts"] == 20 and result["ppl/dev"] > 1
    assert result["perplexity"]["kind"] == "pseudo-perplexity"
    assert "macro accuracy" in done.stdout and "pairs/s" in done.stdout
    assert "anaphor_gender_agreement" in done.stdout


def test_cli_bad_paths_exit_1_without_traceback(tmp_path):
    done = run_cli("eval", tmp_path / "missing-run", "--blimp", tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "missing-run" in done.stderr
    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    (run / "final" / "config.json").write_text("{}")
    done = run_cli("eval", run, "--blimp", tmp_path / "no-such-blimp.jsonl")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "no-such-blimp" in done.stderr
    assert run_cli("eval", run).returncode == 2  # neither --blimp nor --dev


def test_eval_command_module_does_not_import_torch():
    code = (
        "import sys, argparse; import curriculumc.commands.eval as e; "
        "e.add_parser(argparse.ArgumentParser().add_subparsers()); "
        "import curriculumc.runtime.evaluate.minimal_pairs; "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["False", "False"], done.stderr
