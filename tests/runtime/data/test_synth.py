"""The generated default corpus: determinism, sizes, gold annotations, minimal pairs.

Well-formedness is judged by :mod:`support.synth_check`, a recognizer that
shares only the lexicon with the generator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from support import synth_check
from support.synth_check import analyze, violations

from curriculumc.cli import main
from curriculumc.errors import CurriculumError
from curriculumc.pos_tags import UNIVERSAL_TAGS
from curriculumc.runtime.data.synth import (
    MAX_DEPTH,
    SOURCES,
    SynthPaths,
    generate_pairs,
    generate_sentences,
    materialize,
)
from curriculumc.runtime.data.synth import lexicon as lx

# what the checker must find wrong with each paradigm's bad sentences
EXPECTED_VIOLATION = {
    "agreement_across_pp": {"agreement"},
    "agreement_across_relative_clause": {"agreement"},
    "irregular_plural_agreement": {"agreement"},
    "determiner_noun_agreement": {"det_agreement"},
    "determiner_noun_agreement_irregular": {"det_agreement"},
    "anaphor_gender_agreement": {"anaphor"},
    "anaphor_number_agreement": {"anaphor"},
    "transitive": {"extra_object"},
    "intransitive": {"missing_object"},
    "auxiliary_inversion": {"aux_missing", "aux_extra"},
    "npi_licensor_negation": {"npi"},
    "npi_licensor_question": {"npi"},
    "wh_vs_that_with_gap": {"missing_object"},
    "wh_vs_that_no_gap": {"filler_without_gap"},
    "irregular_past_tense": {"irregular_form"},
    "irregular_past_participle": {"irregular_form"},
}
# the phenomena the brief asks for, each by the linguistics_term its paradigms carry
REQUIRED_TERMS = {
    "subject_verb_agreement",
    "determiner_noun_agreement",
    "anaphor_agreement",
    "argument_structure",
    "subject_auxiliary_inversion",
    "npi_licensing",
    "filler_gap_dependency",
    "irregular_forms",
}


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return list(generate_sentences(seed=0, sentences=3000))


@pytest.fixture(scope="module")
def pairs() -> dict[str, list[dict]]:
    return generate_pairs(seed=0, per_phenomenon=200)


def _edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


# --------------------------------------------------------------------------- corpus


def test_same_seed_same_corpus_other_seed_other_corpus():
    a = list(generate_sentences(seed=7, sentences=200))
    b = list(generate_sentences(seed=7, sentences=200))
    c = list(generate_sentences(seed=8, sentences=200))
    assert a == b
    assert [r["text"] for r in a] != [r["text"] for r in c]


def test_size_by_sentences_and_by_words():
    assert len(list(generate_sentences(seed=1, sentences=123))) == 123
    rows = list(generate_sentences(seed=1, words=5000))
    total = sum(r["length"] for r in rows)
    assert total >= 5000
    assert total - rows[-1]["length"] < 5000  # stops at the sentence that reaches the budget
    assert list(generate_sentences(seed=1, sentences=0)) == []


@pytest.mark.parametrize(
    "kwargs", [{}, {"sentences": 5, "words": 5}, {"sentences": -1}, {"words": 2.5}]
)
def test_bad_sizes_are_rejected(kwargs):
    with pytest.raises(ValueError):
        list(generate_sentences(seed=0, **kwargs))


def test_rows_have_exact_fields_text_form_and_lengths(corpus):
    for row in corpus:
        assert set(row) == {"text", "source", "pos", "depth", "length"}
        words = row["text"].split(" ")
        assert row["text"] == row["text"].lower().strip()
        assert all(w.isalpha() for w in words), row["text"]  # single spaces, no punctuation
        assert row["length"] == len(words)
        assert isinstance(row["depth"], int) and 1 <= row["depth"] <= MAX_DEPTH


def test_pos_tags_agree_with_the_lexicon(corpus):
    tags_seen = Counter()
    for row in corpus:
        words, tags = row["text"].split(), row["pos"].split(" ")
        assert len(tags) == len(words), row
        for word, tag in zip(words, tags):
            assert tag in UNIVERSAL_TAGS
            assert tag in lx.allowed_tags(word), (word, tag, row["text"])
            tags_seen[tag] += 1
    # the tags that the language uses all occur (no punctuation, no X)
    assert set(tags_seen) == set(UNIVERSAL_TAGS) - {".", "X"}
    # words with two tags get the right one in context: `that` introducing a clause
    # is ADP after a verb and DET (relative) after a noun
    for row in corpus:
        words, tags = row["text"].split(), row["pos"].split()
        for i, (word, tag) in enumerate(zip(words, tags)):
            if word == "that" and tag == "ADP":
                assert tags[i - 1] == "VERB", row


def test_every_construction_and_depth_occurs(corpus):
    sources = Counter(r["source"] for r in corpus)
    assert set(sources) == set(SOURCES)
    assert {"declarative", "question_yn", "question_wh", "imperative", "relative",
            "complement", "coordination", "prepositional", "negation"} <= set(sources)  # fmt: skip
    depths = Counter(r["depth"] for r in corpus)
    assert set(depths) == set(range(1, MAX_DEPTH + 1))
    # relative and complement sentences embed a clause; a depth-1 sentence has no
    # complementizer and no wh-word or relative `who` after its first word
    clause_verbs = {f for v in lx.VERBS if v.frames & {"c", "w"} for f in (v.base, v.s3, v.past,
                    v.participle, v.ing)}  # fmt: skip
    for r in corpus:
        words, tags = r["text"].split(), r["pos"].split()
        if r["source"] in ("relative", "complement"):
            assert r["depth"] >= 2, r
        if r["depth"] == 1:
            assert "ADP" not in {t for w, t in zip(words, tags) if w == "that"}, r
            assert not {"who", "what"} & set(words[1:]), r
        else:
            assert {"that", "who", "what"} & set(words[1:]) or clause_verbs & set(words), r


def test_corpus_is_well_formed_and_depth_right_by_independent_checker(corpus):
    for row in corpus[:1500]:
        result = analyze(row["text"])
        assert result.violations == frozenset(), (row, result)
        assert row["depth"] in result.depths, (row, result)


def test_lexicon_has_a_few_hundred_child_directed_words():
    assert 300 <= len(lx.VOCABULARY) <= 1000
    irregular_plurals = {
        n.plural for n in lx.NOUNS if n.plural and n.plural != lx.plural_of(n.singular)
    }
    assert {"children", "mice", "men", "geese"} <= irregular_plurals
    assert {v.past for v in lx.VERBS if v.irregular_past} >= {"ate", "went", "ran", "saw"}
    frames = set().union(*(v.frames for v in lx.VERBS))
    assert frames == {"i", "t", "d", "c", "w"}
    assert {"himself", "herself", "itself", "themselves"} <= lx.VOCABULARY
    assert {"ever", "any", "not"} <= lx.VOCABULARY


# --------------------------------------------------------------------------- checker


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("the dogs like the ball", set()),
        ("is the baby that is crying tired", set()),
        ("mommy knows that the cat wants some milk", set()),
        ("give the dog a ball", set()),
        ("the dog likes the balls and the cat sleeps", set()),
        ("the dog like the ball", {"agreement"}),
        ("i is happy", {"agreement"}),
        ("the girl found these ball", {"det_agreement"}),
        ("the girl found a apple", {"article"}),
        ("the boy washed herself", {"anaphor"}),
        ("the baby sleeps the ball", {"extra_object"}),
        ("the baby wants", {"missing_object"}),
        ("the cat thinks the ball", {"extra_object"}),
        ("what did the cat want the ball", {"filler_without_gap"}),
        ("the cat ever sleeps", {"unparsable"}),
        ("the cat did ever sleep", {"npi"}),
        ("the cat did not want any cookies", set()),
        ("the cat wanted any cookies", {"npi"}),
        ("the boy runned", {"irregular_form"}),
        ("the boy has went", {"irregular_form"}),
        ("dog the likes ball the", {"unparsable"}),
        ("the dog likes the zebra", {"unparsable"}),
    ],
)
def test_checker_judges_hand_written_sentences(sentence, expected):
    assert violations(sentence) == frozenset(expected)


def test_checker_does_not_use_the_generator():
    source = Path(synth_check.__file__).read_text()
    for module in ("synth.grammar", "synth.pairs", "import grammar", "import pairs"):
        assert module not in source


# --------------------------------------------------------------------------- pairs


def test_pairs_cover_the_phenomena_in_blimp_format(pairs):
    assert len(pairs) >= 8
    assert set(pairs) == set(EXPECTED_VIOLATION)
    assert {rows[0]["linguistics_term"] for rows in pairs.values()} >= REQUIRED_TERMS
    for name, rows in pairs.items():
        assert len(rows) == 200
        assert len({(r["sentence_good"], r["sentence_bad"]) for r in rows}) == 200
        assert [r["pairID"] for r in rows] == [str(i) for i in range(200)]
        for r in rows:
            assert set(r) == {"sentence_good", "sentence_bad", "field", "linguistics_term",
                              "UID", "pairID"}  # fmt: skip
            assert r["UID"] == name
            assert r["field"] in {"morphology", "syntax", "semantics", "syntax_semantics"}


def test_every_pair_is_minimal_and_labelled_right_by_the_checker(pairs):
    for name, rows in pairs.items():
        for r in rows:
            good, bad = r["sentence_good"], r["sentence_bad"]
            assert good != bad
            assert good == good.lower() and bad == bad.lower()
            assert _edit_distance(good.split(), bad.split()) <= 2, r
            assert set(good.split()) <= lx.VOCABULARY, r
            assert violations(good) == frozenset(), (name, good)
            assert violations(bad) == EXPECTED_VIOLATION[name], (name, bad, violations(bad))


def test_pairs_are_deterministic_and_sized(monkeypatch):
    a = generate_pairs(seed=3, per_phenomenon=50)
    assert a == generate_pairs(seed=3, per_phenomenon=50)
    assert a != generate_pairs(seed=4, per_phenomenon=50)
    assert all(len(rows) == 50 for rows in a.values())
    with pytest.raises(CurriculumError) as err:
        generate_pairs(per_phenomenon=0)
    assert err.value.diagnostics[0].code == "E710"

    import curriculumc.runtime.data.synth.pairs as pairs_module

    def two_pairs_only(rng):
        return rng.choice([("the dog runs", "the dog run"), ("the cat runs", "the cat run")])

    paradigms = {"tiny": (two_pairs_only, "morphology", "subject_verb_agreement")}
    monkeypatch.setattr(pairs_module, "PARADIGMS", paradigms)
    assert len(generate_pairs(per_phenomenon=2)["tiny"]) == 2
    with pytest.raises(CurriculumError) as err:
        generate_pairs(per_phenomenon=3)  # more than the paradigm can make distinct
    assert err.value.diagnostics[0].code == "E711"


# --------------------------------------------------------------------------- files and CLI


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_materialize_writes_once_and_reuses(tmp_path, monkeypatch):
    paths = materialize(tmp_path, seed=2, sentences=300, dev_sentences=40, per_phenomenon=200)
    assert isinstance(paths, SynthPaths)
    assert paths.root.parent == tmp_path and paths.root.name.startswith("synth-")
    train, dev = _lines(paths.train), _lines(paths.dev)
    assert len(train) == 300 and len(dev) == 40
    assert train == list(generate_sentences(seed=2, sentences=300))
    assert not {r["text"] for r in dev[:20]} >= {r["text"] for r in train[:20]}
    files = sorted(p.stem for p in paths.pairs.glob("*.jsonl"))
    assert files == sorted(EXPECTED_VIOLATION)
    assert len(_lines(paths.pairs / "transitive.jsonl")) == 200
    assert [p.name for p in tmp_path.iterdir()] == [paths.root.name]  # no temp folder left

    import curriculumc.runtime.data.synth.files as mat

    def no_rewrite(*args, **kwargs):
        raise AssertionError("regenerated a cached corpus")

    monkeypatch.setattr(mat, "write_synth", no_rewrite)
    again = materialize(tmp_path, seed=2, sentences=300, dev_sentences=40, per_phenomenon=200)
    assert again == paths
    with pytest.raises(AssertionError):  # other parameters: another folder
        materialize(tmp_path, seed=3, sentences=300, dev_sentences=40, per_phenomenon=200)


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({}, "E700"),
        ({"sentences": 5, "words": 5}, "E700"),
        ({"words": 0}, "E701"),
        ({"sentences": 5, "dev_sentences": -1}, "E701"),
    ],  # fmt: skip
)
def test_materialize_rejects_bad_sizes(tmp_path, kwargs, code):
    with pytest.raises(CurriculumError) as err:
        materialize(tmp_path, **kwargs)
    assert err.value.diagnostics[0].code == code


def test_cli_writes_files_and_summaries(tmp_path, capsys):
    out = tmp_path / "corpus"
    code = main(["synth", "-o", str(out), "--sentences", "150", "--seed", "4",
                 "--dev-sentences", "30", "--pairs-per-phenomenon", "200"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "train.jsonl: 150 sentences" in printed
    assert "dev.jsonl: 30 sentences" in printed
    assert "pairs/auxiliary_inversion.jsonl: 200 pairs" in printed
    assert _lines(out / "train.jsonl") == list(generate_sentences(seed=4, sentences=150))
    assert len(list((out / "pairs").glob("*.jsonl"))) == len(EXPECTED_VIOLATION)


def test_cli_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["synth", "-o", str(tmp_path / "x"), "--words", "0"]) == 2
    assert "words" in capsys.readouterr().err
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert main(["synth", "-o", str(a_file), "--sentences", "5"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["synth", "-o", str(tmp_path / "y"), "--words", "5", "--sentences", "5"])
    assert exc.value.code == 2


def test_importing_the_generator_does_not_import_torch():
    code = "import sys, curriculumc.runtime.data.synth; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_same_corpus_and_pairs_in_any_process():
    """Nothing may depend on Python's per-process string hashing (set iteration order):
    two processes with different PYTHONHASHSEED generate byte-identical output."""
    import os

    code = (
        "import hashlib, json\n"
        "from curriculumc.runtime.data.synth import generate_pairs, generate_sentences\n"
        "rows = list(generate_sentences(seed=3, sentences=5000))\n"
        "pairs = generate_pairs(seed=3, per_phenomenon=200)\n"
        "print(hashlib.sha256(json.dumps([rows, pairs]).encode()).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1
