"""POS tags: the MOR map, the restricted unpickler, the tagger's accuracy, alignment."""

from __future__ import annotations

import itertools
import json
import os
import pickle
from collections import defaultdict

import pytest
from support.data_inputs import aochildes_file

from curriculumc.errors import CurriculumError
from curriculumc.pos_tags import TAG_INDEX, UNIVERSAL_TAGS
from curriculumc.runtime.data.tagging import (
    MOR_TO_UNIVERSAL,
    PENN_TO_UNIVERSAL,
    PerceptronTagger,
    RestrictedUnpickler,
    UnsafePickleError,
    align_word_tags,
    mor_code_tag,
    mor_to_indices,
    tag_names,
    universal_to_indices,
    word_spans,
)
from curriculumc.runtime.data.tokenized import NO_TAG

#: measured on the first 1000 lines of AO-CHILDES dev whose MOR codes match the words:
#: 0.854 (3,667 words); on all of dev 0.851, on the first 30k train lines 0.865
TAGGER_ACCURACY_FLOOR = 0.83


@pytest.fixture(scope="module")
def tagger():
    return PerceptronTagger.load()


def test_mor_map_lists_every_code_of_the_first_5k_lines():
    codes = set()
    with aochildes_file("train").open("rb") as lines:
        for line in itertools.islice(lines, 5000):
            codes.update(json.loads(line)["mor"].split())
    assert len(codes) > 20
    assert codes <= set(MOR_TO_UNIVERSAL), sorted(codes - set(MOR_TO_UNIVERSAL))
    assert set(MOR_TO_UNIVERSAL.values()) <= set(UNIVERSAL_TAGS)


def test_mor_examples_and_prefix_fallback():
    assert tag_names(mor_to_indices("pro:per det:art n".split())) == ["PRON", "DET", "NOUN"]
    assert tag_names(mor_to_indices("mod:aux inf v neg co".split())) == [
        "VERB",
        "PRT",
        "VERB",
        "ADV",
        "X",
    ]
    unlisted = {}
    assert tag_names(mor_to_indices(["adv:wh", "zzz"], unlisted)) == ["ADV", "X"]
    assert unlisted == {"adv:wh": 1, "zzz": 1}
    assert mor_code_tag("det:num") == ("NUM", True)


def test_universal_tags_accept_spec_spellings_and_refuse_others():
    assert universal_to_indices(["NOUN", "noun", "punct", "."]) == bytes(
        [TAG_INDEX["NOUN"], TAG_INDEX["NOUN"], TAG_INDEX["."], TAG_INDEX["."]]
    )
    with pytest.raises(KeyError):
        universal_to_indices(["NOUNISH"])


def test_restricted_unpickler_admits_plain_data_only(tmp_path):
    data = ({"w": {"NN": 1.5}}, {"the": "DT"}, {"NN", "DT"}, defaultdict(int, a=1), [1, (2, 3)])
    assert RestrictedUnpickler_loads(pickle.dumps(data)) == data
    for evil in (os.system, pickle.Pickler, TAGGER_ACCURACY_FLOOR.__class__.__mro__[1]):
        payload = pickle.dumps(evil)
        with pytest.raises(UnsafePickleError):
            RestrictedUnpickler_loads(payload)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


def test_tagger_load_refuses_a_malicious_weights_file(tmp_path):
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps(_RunsCode()))
    with pytest.raises(CurriculumError) as excinfo:
        PerceptronTagger.load(path)
    assert excinfo.value.diagnostics[0].code == "E330"
    assert "os" in excinfo.value.diagnostics[0].message  # posix.system or os.system


def RestrictedUnpickler_loads(payload: bytes):
    import io

    return RestrictedUnpickler(io.BytesIO(payload)).load()


def test_penn_map_covers_every_tagger_class(tagger):
    assert set(tagger.classes) <= set(PENN_TO_UNIVERSAL)
    assert set(PENN_TO_UNIVERSAL.values()) <= set(UNIVERSAL_TAGS)


def test_tagger_examples(tagger):
    words = "the little dog is eating my cookie".split()
    assert tag_names(tagger.tag_words(words)) == [
        "DET", "ADJ", "NOUN", "VERB", "VERB", "DET", "NOUN",
    ]  # fmt: skip
    assert tag_names(tagger.tag_words("what's that".split())) == ["PRON", "PRON"]
    assert tag_names(tagger.tag_words("oh okay".split())) == ["X", "X"]
    assert tagger.tag_words([]) == b""


def test_tagger_accuracy_against_mor_gold(tagger):
    correct = total = 0
    with aochildes_file("dev").open("rb") as lines:
        for line in itertools.islice(lines, 1000):
            row = json.loads(line)
            words, codes = row["text"].split(), row["mor"].split()
            if not codes or len(codes) != len(words):
                continue
            gold = mor_to_indices(codes)
            predicted = tagger.tag_words(words)
            correct += sum(g == p for g, p in zip(gold, predicted))
            total += len(words)
    assert total > 3000
    assert correct / total > TAGGER_ACCURACY_FLOOR


def test_align_all_and_first_token():
    text = "the doggies  ran"
    spans = word_spans(text)
    assert spans == [(0, 3), (4, 11), (13, 16)]
    tags = bytes([TAG_INDEX["DET"], TAG_INDEX["NOUN"], TAG_INDEX["VERB"]])
    # tokens: "the", "dog", "gies", an extra space, "Ġ" split off "ran", "ran"
    offsets = [(0, 3), (4, 7), (7, 11), (12, 12), (13, 13), (13, 16)]
    assert tag_names(align_word_tags(spans, tags, offsets)) == [
        "DET", "NOUN", "NOUN", None, "VERB", "VERB",
    ]  # fmt: skip
    first = align_word_tags(spans, tags, offsets, mode="first")
    assert tag_names(first) == ["DET", "NOUN", None, None, "VERB", None]
    with pytest.raises(ValueError):
        align_word_tags(spans, tags[:2], offsets)


def test_alignment_on_real_tokens_has_one_tag_per_token(tagger, tmp_path):
    from curriculumc.runtime.data.tokenizer import train_bpe

    with aochildes_file("dev").open("rb") as lines:
        texts = [json.loads(line)["text"] for line in itertools.islice(lines, 500)]
    tokenizer = train_bpe(iter(texts), 400)
    for text in texts[:200]:
        encoding = tokenizer.encode(text, add_special_tokens=False)
        tags = tagger.tag_words(text.split())
        aligned = align_word_tags(word_spans(text), tags, encoding.offsets)
        assert len(aligned) == len(encoding.ids)
        assert NO_TAG not in aligned.tolist()  # single spaces: every token is in a word
        firsts = align_word_tags(word_spans(text), tags, encoding.offsets, mode="first")
        assert sum(t != NO_TAG for t in firsts.tolist()) == len(text.split())
