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
    ALIGN_MODES,
    MOR_TO_UNIVERSAL,
    PENN_TO_UNIVERSAL,
    WHITE_SPACE,
    BatchTagger,
    PerceptronTagger,
    RestrictedUnpickler,
    UnsafePickleError,
    align_batch,
    align_word_tags,
    batch_tagger,
    mor_code_tag,
    mor_to_indices,
    tag_batches,
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


# --- the batch tagger: the reference's tags, faster -----------------------------------------


def _aochildes_texts(split, *, start=0, count):
    with aochildes_file(split).open("rb") as lines:
        return [json.loads(line)["text"] for line in itertools.islice(lines, start, start + count)]


def test_batch_tagger_gives_the_reference_tags_on_aochildes(tagger):
    # raw text (every line, as if it had no MOR codes), and the lines of train whose MOR
    # codes are unusable -- those the tagger tags when a run prepares AO-CHILDES
    texts = _aochildes_texts("train", count=3000) + _aochildes_texts("dev", count=2000)
    untagged = []
    with aochildes_file("train").open("rb") as lines:
        for line in lines:
            row = json.loads(line)
            if len(row["mor"].split()) != len(row["text"].split()):
                untagged.append(row["text"])
                if len(untagged) == 2000:
                    break
    assert len(untagged) == 2000
    fast = batch_tagger()
    for group in (texts, untagged):
        assert fast.tag_texts(group) == [tagger.tag_words(t.split()) for t in group]


def test_batch_tagger_on_long_short_empty_and_odd_lines(tagger):
    import random

    rng = random.Random(7)
    vocab = [w for t in _aochildes_texts("dev", count=3000) for w in t.split()]
    vocab += "The U.S. 1999 42 well-known -x Mr. isn't 's can't , . !! John's e-mail $5".split()
    # lengths from 0 to 400: the long ones end on the one-token-at-a-time path
    sizes = [0, 1, 2, 3, 5, 9, 40, 400]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.choice(sizes))) for _ in range(300)]
    texts += ["", "   ", "what's that", "this is that", "that"]
    assert batch_tagger().tag_texts(texts) == [tagger.tag_words(t.split()) for t in texts]


def test_batch_tagger_breaks_ties_as_the_float_original(tmp_path):
    # "x": NN scores 0.1 + 0.2 = 0.30000000000000004 in floats, VB 0.3: the original picks
    # NN although the integer scores tie (and VB would win a tie by name); "y": NN 0.1
    # and VB 0.1 tie exactly, and the larger tag name (VB) wins
    weights = {
        "bias": {"NN": 0.1},
        "i pref1 x": {"NN": 0.2},
        "i word x": {"VB": 0.3},
        "i word y": {"VB": 0.1},
    }
    path = tmp_path / "tiny.pickle"
    path.write_bytes(pickle.dumps((weights, {}, {"NN", "VB"})))
    reference = PerceptronTagger.load(path)
    fast = BatchTagger(reference)
    assert fast.exact
    assert reference.tag_tokens(["x", "y"]) == ["NN", "VB"]
    texts = ["x y", "y x x", "x"] * 3
    assert fast.tag_texts(texts) == [reference.tag_words(t.split()) for t in texts]
    assert tag_names(fast.tag_texts(["x y"])[0]) == ["NOUN", "VERB"]


def test_batch_tagger_falls_back_on_weights_that_are_not_thousandths(tmp_path):
    path = tmp_path / "odd.pickle"
    path.write_bytes(
        pickle.dumps(({"bias": {"NN": 0.1234}, "i word y": {"VB": 0.5}}, {}, {"NN", "VB"}))
    )
    reference = PerceptronTagger.load(path)
    fast = BatchTagger(reference)
    assert not fast.exact
    assert fast.tag_texts(["y x", ""]) == [reference.tag_words(["y", "x"]), b""]


def test_tag_batches_gives_the_same_tags_with_any_number_of_processes():
    texts = _aochildes_texts("dev", count=3000)
    batches = [texts[i : i + 250] for i in range(0, len(texts), 250)]
    fast = batch_tagger()

    def run(workers):
        out = list(tag_batches(fast, iter(batches), list, workers=workers, parallel_after=0))
        assert [batch for batch, _ in out] == batches  # in order, every batch
        return [tags for _, batch_tags in out for tags in batch_tags]

    serial = run(1)
    assert serial == fast.tag_texts(texts)
    assert run(2) == serial


def test_align_batch_gives_what_align_word_tags_gives():
    import random

    from curriculumc.runtime.data.tokenizer import train_bpe

    texts = _aochildes_texts("dev", count=1500)
    texts += ["", "  a  b ", "héllo 😀 wörld", "x", "   ", "naïve  café  ", "a\tb\nc"]
    tokenizer = train_bpe(iter(texts), 300)
    encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
    tags = batch_tagger().tag_texts(texts)
    offsets = [e.offsets for e in encodings]
    for mode in ALIGN_MODES:
        expected = [
            align_word_tags(word_spans(t), g, o, mode=mode) for t, g, o in zip(texts, tags, offsets)
        ]
        assert align_batch(texts, tags, offsets, mode=mode).tolist() == [
            tag for part in expected for tag in part.tolist()
        ]
    # odd offsets: empty tokens, tokens outside words, going backwards
    rng = random.Random(3)
    for _ in range(2000):
        n = rng.randint(0, 12)
        text = "".join(rng.choice("ab  ") for _ in range(n))
        word_tags = bytes(rng.randrange(12) for _ in word_spans(text))
        odd = []
        for _ in range(rng.randint(0, 8)):
            start = rng.randint(0, n)
            odd.append((start, rng.choice([start, min(n, start + rng.randint(0, 3))])))
        if rng.random() < 0.5:
            odd.sort()
        for mode in ALIGN_MODES:
            expected = align_word_tags(word_spans(text), word_tags, odd, mode=mode).tolist()
            got = align_batch(
                [text, "zz y"], [word_tags, b"\x01\x02"], [odd, [(0, 2), (3, 4)]], mode=mode
            )
            assert got.tolist() == expected + [1, 2]
    with pytest.raises(ValueError):
        align_batch(["a b"], [b"\x01"], [[(0, 1)]])


def test_white_space_is_what_str_split_splits_on():
    assert set(WHITE_SPACE) == {c for c in range(0x110000) if chr(c).isspace()}
