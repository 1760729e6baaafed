"""The vectorized Kneser-Ney n-gram model behind ``ngram_ppl``."""

from __future__ import annotations

import numpy as np
import pytest

from curriculumc.runtime.ordering.scorers.ngram import NgramModel, _events


def _random_corpus(seed=0, n=60, vocab=6):
    rng = np.random.default_rng(seed)
    sentences = [rng.integers(0, vocab, size=rng.integers(0, 8)) for _ in range(n)]
    ids = np.concatenate(sentences).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sentences])])
    return ids, offsets


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probabilities_sum_to_one_for_every_context(order):
    ids, offsets = _random_corpus()
    vocab = 8  # ids 6 and 7 never occur: they still get (uniform) mass
    model = NgramModel.fit(ids, offsets, vocab, order)
    outcomes = [*range(vocab), model.eos]
    for context in ([], [1], [2, 3], [7, 7], [0, 1, 2], [5, 4, 3, 2]):
        probs = [model.prob(w, context) for w in outcomes]
        assert min(probs) > 0
        assert sum(probs) == pytest.approx(1.0, abs=1e-12)


def test_hand_computed_bigram_respects_sentence_boundaries():
    # "a b" and "b a" (a=0, b=1): six events, every bigram type seen once, each unigram
    # continuation count is 2 -> all count-of-counts needed are zero -> discount 0.75.
    ids = np.array([0, 1, 1, 0])
    offsets = np.array([0, 2, 4])
    model = NgramModel.fit(ids, offsets, vocab_size=2, order=2)
    eos = model.eos
    # unigram level (continuation counts): (2 - 0.75) / 6 + (0.75 * 3 / 6) * 1/3 = 1/3 each;
    # "a" never follows "a", so P(a | a) is all back-off: gamma(a) * 1/3 = 0.75 / 3
    assert model.prob(0, [0]) == pytest.approx(0.25)
    # P(b | a) = (1 - 0.75) / 2 + gamma(a) * 1/3 with gamma(a) = 0.75 * 2 / 2
    assert model.prob(1, [0]) == pytest.approx(0.375)
    assert model.prob(eos, [0]) == pytest.approx(0.375)
    # "b" then "b" only happens across the two examples: it must have no bigram mass
    assert model.prob(1, [1]) == pytest.approx(0.25)
    assert model.prob(0, [1]) == pytest.approx(0.375)
    # sentence start (BOS context): a and b each follow BOS once
    assert model.prob(0, []) == pytest.approx(0.375)
    assert model.prob(eos, []) == pytest.approx(0.25)


def test_agrees_with_nltk_kneser_ney_where_definitions_match():
    nltk_lm = pytest.importorskip("nltk.lm")
    ids, offsets = _random_corpus(seed=3, n=50, vocab=6)
    vocab, order, discount = 6, 3, 0.1
    # nltk: one discount at every order but none at the unigram level (no uniform base)
    model = NgramModel.fit(
        ids, offsets, vocab, order, discounts=[(0, 0, 0)] + [(discount,) * 3] * (order - 1)
    )
    words, history = _events(ids, offsets, vocab, order)

    def token(x):
        return "<s>" if x == vocab else "</s>" if x == vocab + 1 else str(x)

    # feed nltk exactly the n-grams our model counts: each event's n-gram and its suffixes
    text = []
    for e in range(len(words)):
        gram = [token(history[j, e]) for j in range(order - 2, -1, -1)] + [token(words[e])]
        text.append([tuple(gram[k:]) for k in range(order)])
    reference = nltk_lm.KneserNeyInterpolated(order, discount=discount)
    reference.fit(text, [token(x) for x in range(vocab + 2)])
    checked = 0
    for context in ([], [1], [2, 3], [5, 5], [0, 1, 2], [4]):
        padded = ["<s>"] * (order - 1 - len(context[-2:])) + [token(x) for x in context[-2:]]
        for w in [*range(vocab), vocab + 1]:
            ours = model.prob(w, context)
            assert ours == pytest.approx(reference.score(token(w), padded), abs=1e-12)
            checked += 1
    assert checked == 42


def test_a_sentence_seen_often_is_less_perplexing_than_its_scramble():
    rng = np.random.default_rng(1)
    common = [3, 1, 4, 1, 5, 9, 2, 6]
    sentences = [common] * 30 + [list(rng.integers(0, 12, size=6)) for _ in range(100)]
    ids = np.concatenate(sentences)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sentences])])
    model = NgramModel.fit(ids, offsets, 12, 3)
    scrambled = [9, 1, 6, 3, 2, 1, 5, 4]
    ppl = model.perplexities(np.array(common + scrambled), np.array([0, 8, 16]))
    assert ppl[0] < 2.0 < 5.0 < ppl[1]


def test_keys_do_not_overflow_with_a_huge_vocabulary_and_long_orders():
    ids, offsets = _random_corpus(seed=5, n=80, vocab=9)
    spread = np.array([0, 7, 10**6, 2**30, 2**31 - 5, 12345, 99, 3, 2**31 - 2])
    dense = NgramModel.fit(ids, offsets, 9, 5, discounts=[(0, 0, 0)] + [(0.6, 1.1, 1.4)] * 4)
    huge = NgramModel.fit(
        spread[ids], offsets, 2**31, 5, discounts=[(0, 0, 0)] + [(0.6, 1.1, 1.4)] * 4
    )
    a = dense.event_logprobs(ids, offsets)
    b = huge.event_logprobs(spread[ids], offsets)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_perplexity_counts_the_end_of_sentence_event():
    ids, offsets = _random_corpus(seed=2)
    model = NgramModel.fit(ids, offsets, 6, 3)
    logp = model.event_logprobs(ids, offsets)
    assert len(logp) == len(ids) + len(offsets) - 1
    first = offsets[1] + 1  # events of example 0: its tokens and EOS
    assert model.perplexities(ids, offsets)[0] == pytest.approx(np.exp(-logp[:first].mean()))


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        NgramModel.fit(np.array([0, 5]), np.array([0, 2]), 5, 3)
    with pytest.raises(ValueError):
        NgramModel.fit(np.array([0, 1]), np.array([0, 2]), 5, 0)
