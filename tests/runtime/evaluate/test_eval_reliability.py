"""Evaluations that cannot run are found before training, over-long pairs are skipped and
counted per paradigm, bad pair files are CurriculumErrors with file:line, and an
evaluation that fails every time is an error (issue 13, items 10 and 7)."""

from __future__ import annotations

import itertools
import json

import pytest
from support.eval_models import make_causal_model, make_tokenizer
from support.paths import shared_data

from curriculumc.errors import CurriculumError
from curriculumc.plan import EvalSpec, ModelSpec, Plan
from curriculumc.runtime.evaluate.minimal_pairs import load_pairs

PARADIGMS = ("anaphor_gender_agreement", "determiner_noun_agreement_1")
LONG = " ".join(["the dog that saw the cat"] * 40) + " ran."


def blimp_slice(tmp_path, n=6, long_pair=True, identical_pair=True):
    """Two real BLiMP paradigms, ``n`` pairs each; the second paradigm's last pair made
    over-long and the first paradigm's last pair made identical, if asked."""
    folder = tmp_path / "blimp"
    folder.mkdir()
    for k, name in enumerate(PARADIGMS):
        with open(shared_data("blimp", f"{name}.jsonl"), encoding="utf-8") as handle:
            rows = [json.loads(line) for line in itertools.islice(handle, n)]
        if k == 0 and identical_pair:
            rows[-1]["sentence_bad"] = rows[-1]["sentence_good"]
        if k == 1 and long_pair:
            rows[-1]["sentence_good"] = LONG
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return folder


def error_of(excinfo):
    return excinfo.value.diagnostics[0]


def test_a_binary_pairs_file_is_e003_with_file_and_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    good = json.dumps({"sentence_good": "a dog runs.", "sentence_bad": "a dog run."})
    path.write_bytes(good.encode() + b"\n" + b"\x89PNG\r\n\x1a\n\xff\xfe\x00" * 3)
    with pytest.raises(CurriculumError) as excinfo:
        load_pairs(path)
    diagnostic = error_of(excinfo)
    assert (diagnostic.code, diagnostic.span.file, diagnostic.span.line) == ("E003", str(path), 2)


def test_a_latin1_pairs_file_is_e003_with_its_line(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(
        b'{"sentence_good": "ok.", "sentence_bad": "ok ok."}\n'
        b'{"sentence_good": "caf\xe9.", "sentence_bad": "cafe."}\n'
    )
    with pytest.raises(CurriculumError) as excinfo:
        load_pairs(path)
    assert (error_of(excinfo).code, error_of(excinfo).span.line) == ("E003", 2)


def test_a_lone_surrogate_in_a_pairs_file_is_e602_with_its_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        '{"sentence_good": "ok \\ud83d\\ude00.", "sentence_bad": "ok ok."}\n'
        '{"sentence_good": "bad \\ud800.", "sentence_bad": "bad bad."}\n',
        "utf-8",
    )
    with pytest.raises(CurriculumError) as excinfo:
        load_pairs(path)
    assert (error_of(excinfo).code, error_of(excinfo).span.line) == ("E602", 2)


def test_one_long_pair_is_skipped_and_counted_not_the_whole_evaluation(tmp_path):
    pytest.importorskip("torch")
    from curriculumc.runtime.evaluate.evaluation import PairResult, evaluate_pairs

    tokenizer = make_tokenizer()
    model = make_causal_model(tokenizer)
    pairs = load_pairs(blimp_slice(tmp_path))
    result = evaluate_pairs(model, tokenizer, pairs, family="causal")
    by_name = {p.name: p for p in result.paradigms}
    assert (by_name[PARADIGMS[0]].n, by_name[PARADIGMS[0]].skipped) == (6, 0)
    assert (by_name[PARADIGMS[1]].n, by_name[PARADIGMS[1]].skipped) == (5, 1)
    assert result.n_pairs == 11 and result.skipped == 1
    assert result.to_metrics()["blimp/skipped"] == 1.0
    data = result.to_json()
    assert data["skipped"] == 1 and data["paradigms"][PARADIGMS[1]]["skipped"] == 1
    assert PairResult.from_json(json.loads(json.dumps(data))).skipped == 1


def test_every_pair_too_long_is_e615(tmp_path):
    pytest.importorskip("torch")
    from curriculumc.runtime.evaluate.evaluation import evaluate_pairs

    tokenizer = make_tokenizer()
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"sentence_good": LONG, "sentence_bad": LONG + " x"}) + "\n")
    with pytest.raises(CurriculumError) as excinfo:
        evaluate_pairs(make_causal_model(tokenizer), tokenizer, load_pairs(path), family="causal")
    assert error_of(excinfo).code == "E615"


def test_check_eval_inputs_before_training(tmp_path):
    from curriculumc.runtime.evaluate.evaluation import check_eval_inputs

    tokenizer = make_tokenizer()
    folder = blimp_slice(tmp_path)
    binary = tmp_path / "broken.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage\n")
    plan = Plan(
        model=ModelSpec(family="causal"),
        evals=(
            EvalSpec(name="pairs", path=str(folder)),
            EvalSpec(name="broken", path=str(binary)),
            EvalSpec(name="ppl"),
        ),
    )
    report = check_eval_inputs(plan, tokenizer, 128)
    pairs, broken, ppl = report.checks
    assert (pairs.items, pairs.paradigms, pairs.error) == (12, 2, None)
    assert pairs.over_long == {PARADIGMS[1]: 1}
    assert pairs.identical == (f"{folder / (PARADIGMS[0] + '.jsonl')}:6",)
    assert broken.error.diagnostics[0].code == "E003"
    assert broken.error.diagnostics[0].span.line == 1
    assert ppl.error.diagnostics[0].code == "E460"
    assert [e.diagnostics[0].code for e in report.errors] == ["E003", "E460"]
    warnings = report.warnings()
    assert any("1 of 12 will be skipped" in w for w in warnings)
    assert any("identical" in w for w in warnings)
    with pytest.raises(CurriculumError) as excinfo:
        report.raise_for_errors()
    assert [d.code for d in excinfo.value.diagnostics] == ["E003", "E460"]
    assert "eval broken" in report.text() and "FAILS" in report.text()
    # a model with few positions: every pair of that folder is too long
    short = check_eval_inputs(Plan(evals=(EvalSpec(name="pairs", path=str(folder)),)), tokenizer, 4)
    assert short.checks[0].error.diagnostics[0].code == "E615"
    dev = check_eval_inputs(
        Plan(evals=(EvalSpec(name="ppl"),)), tokenizer, 10, dev_texts=["a short one", LONG]
    )
    assert (dev.checks[0].items, dev.checks[0].over_long, dev.errors) == (2, {"ppl": 1}, [])


def test_an_evaluation_that_failed_every_time_is_e462():
    from curriculumc.runtime.evaluate.evaluation import EvalOutcomes

    outcomes = EvalOutcomes()
    outcomes.failure("blimp", 100, "E613 too long")
    outcomes.success("ppl", 100)
    outcomes.failure("blimp", 200, "E613 too long")
    outcomes.failure("ppl", 200, "E621 nothing")
    assert outcomes.never_succeeded() == ["blimp"]
    error = outcomes.error()
    assert error.diagnostics[0].code == "E462"
    assert "eval blimp failed all 2 times" in error.diagnostics[0].message
    assert "first at step 100" in error.diagnostics[0].message
    outcomes.success("blimp", 300)
    assert outcomes.error() is None
    assert outcomes.to_json()["failed"]["blimp"] == [[100, "E613 too long"], [200, "E613 too long"]]
