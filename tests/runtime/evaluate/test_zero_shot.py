"""The BabyLM 2025 pipeline's zero-shot formats (tests/fixtures/zero_shot/), read by their
own field names: the candidates, paradigms, fields and scored parts of each, and clear
errors (file and line) for lines that break a format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from curriculumc.errors import CurriculumError
from curriculumc.runtime.evaluate.minimal_pairs import load_pairs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "zero_shot"


def code_and_span(caught):
    diagnostic = caught.value.diagnostics[0]
    span = (diagnostic.span.file, diagnostic.span.line) if diagnostic.span else None
    return diagnostic.code, span


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "curriculumc", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "120"},
    )


def test_blimp_filtered_reads_pair_id_field_and_uid():
    pairs = load_pairs(FIXTURES / "blimp_filtered")
    assert pairs.paradigms == ("anaphor_gender_agreement", "causative")
    first = pairs.pairs[0]
    assert (first.good, first.bad) == (
        "Nora could not stop herself.",
        "Nora could not stop himself.",
    )
    assert (first.pair_id, first.field, first.others, first.scored_from) == (
        "0",
        "morphology",
        (),
        (),
    )
    assert [p.pair_id for p in pairs.pairs] == ["0", "2", "5", "6"]
    assert pairs.score_keys() == pairs.sentences()  # scored whole, keyed by the sentence


def test_supplement_paradigm_is_the_file_name():
    pairs = load_pairs(FIXTURES / "supplement_filtered")
    assert pairs.paradigms == ("qa_congruence_easy", "turn_taking")
    assert pairs.pairs[0].good == "What did you get? I got a chair."
    assert pairs.pairs[0].bad == "What did you get? I got to the store."
    assert {p.field for p in pairs.pairs} == {"unknown"}


def test_ewok_is_context1_with_each_target_and_only_the_target_scored():
    pairs = load_pairs(FIXTURES / "ewok_filtered")
    assert pairs.paradigms == ("social-relations", "spatial-relations")  # the Domain
    first = pairs.pairs[0]
    context = "Ali is the teacher of Bo."
    assert first.good == f"{context} Ali grades the homework."
    assert first.bad == f"{context} Bo grades the homework."  # Context1 again, as the pipeline
    assert first.scored_from == (len(context), len(context))
    assert first.keys() == ((first.good, len(context)), (first.bad, len(context)))
    assert (first.field, first.pair_id) == ("ewok", "social-relations:0")


def test_entity_tracking_keeps_every_option_the_first_right():
    pairs = load_pairs(FIXTURES / "entity_tracking")
    by_paradigm = pairs.by_paradigm()
    # files in name order (ambiref before regular); paradigm <stem>_<numops>_ops
    assert list(by_paradigm) == ["ambiref_0_ops", "regular_0_ops", "regular_1_ops"]
    three = by_paradigm["regular_0_ops"][0]
    prefix = "Box 0 contains the apple. Box 1 contains the pen. Box 0 contains"
    assert three.candidates == (
        prefix + " the apple.",
        prefix + " the pen.",
        prefix + " nothing.",
    )
    assert three.scored_from == (len(prefix),) * 3
    assert {p.field for p in pairs.pairs} == {"ambiref", "regular"}


def test_wug_splits_the_tab_separated_sentences():
    pairs = load_pairs(FIXTURES / "wug_adj_nominalization")
    first = pairs.pairs[0]
    assert first.good == "The dog is very blicky. The dog's blickiness is clear."
    assert first.bad == "The dog is very blicky. The dog's blickity is clear."
    assert (first.paradigm, first.field, first.scored_from) == (
        "wug_adj_nominalization",
        "wug",
        (),
    )


def test_comps_joins_each_prefix_with_the_property():
    pairs = load_pairs(FIXTURES / "comps")
    first = pairs.pairs[0]
    assert (first.good, first.bad) == ("A robin can fly.", "A whale can fly.")
    assert first.scored_from == (len("A robin "), len("A whale "))
    assert first.paradigm == "base"  # comps_base.jsonl, named as the pipeline names it


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ({"Context1": "a.", "Target1": "b.", "Domain": "d"}, "Target2"),
        ({"input_prefix": "Box 0 has", "options": " a", "numops": 0}, "options"),
        ({"input_prefix": "Box 0 has", "options": [" a", " b"]}, "numops"),
        ({"sentences": "only one sentence", "ratio": 0.5}, "sentences"),
        ({"sentences": "a b\tb a", "ratio": "high"}, "ratio"),
        ({"prefix_acceptable": "A cat", "prefix_unacceptable": "A rock"}, "property_phrase"),
        ({"good": "a b", "bad": "b a"}, "sentence_good"),  # no known format
    ],
)
def test_a_broken_line_names_its_file_line_and_field(tmp_path, row, column):
    file = tmp_path / "task.jsonl"
    good = {"sentence_good": "a b", "sentence_bad": "b a"}
    file.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(CurriculumError) as caught:
        load_pairs(file)
    assert code_and_span(caught) == ("E603", (str(file), 2))
    assert f"'{column}'" in caught.value.diagnostics[0].message


def test_an_unknown_format_lists_the_formats_read(tmp_path):
    file = tmp_path / "task.jsonl"
    file.write_text(json.dumps({"premise": "x", "hypothesis": "y"}) + "\n")
    with pytest.raises(CurriculumError) as caught:
        load_pairs(file)
    hint = caught.value.diagnostics[0].hint or ""
    assert "ewok (Context1" in hint and "entity_tracking (input_prefix" in hint


def test_cli_bad_zero_shot_line_exits_1_naming_file_and_line(tmp_path):
    folder = tmp_path / "ewok"
    folder.mkdir()
    (folder / "d.jsonl").write_text(json.dumps({"Context1": "a.", "Target1": "b."}) + "\n")
    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    (run / "final" / "config.json").write_text("{}")
    done = run_cli("eval", run, "--pairs", folder)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{folder / 'd.jsonl'}:1" in done.stderr and "Target2" in done.stderr
