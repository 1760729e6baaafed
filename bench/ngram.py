"""Benchmark the vectorized Kneser-Ney scorer against nltk.lm, and check they agree.

    .venv/bin/python bench/ngram.py                 # 10M synthetic tokens + nltk on 20k
    .venv/bin/python bench/ngram.py --tokens 2e6    # quicker

Reports: train + score time of our order-3 model on ``--tokens`` Zipfian token ids (vocab
8192, sentence lengths 1..15), scoring throughput on the shared AO-CHILDES corpus (words as
tokens), nltk's ``KneserNeyInterpolated`` (same order) trained on ``--nltk-tokens`` tokens
and timed scoring for at most ``--nltk-seconds``, the per-token throughput ratio, and the
largest difference between our probabilities and nltk's on a tiny corpus where both use the
same definitions (one discount at every order, none at the unigram level).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from curriculumc.runtime.ordering.scorers.ngram import NgramModel, _events, per_example_perplexity

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aochildes" / "train.jsonl"


def zipf_corpus(tokens: int, vocab: int = 8192, seed: int = 0):
    """Sentences of 1..15 ids drawn from a Zipf(1.1) law over ``vocab`` ids."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab + 1)
    weights = ranks**-1.1
    ids = rng.choice(vocab, size=tokens, p=weights / weights.sum()).astype(np.uint16)
    lengths = rng.integers(1, 16, size=tokens // 8 + 1)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    offsets = offsets[offsets < tokens]
    return ids, np.append(offsets, tokens).astype(np.int64), vocab


def aochildes_corpus():
    vocab, ids, offsets = {}, [], [0]
    with DATA.open() as lines:
        for line in lines:
            ids.extend(vocab.setdefault(w, len(vocab)) for w in json.loads(line)["text"].split())
            offsets.append(len(ids))
    return np.array(ids, dtype=np.uint32), np.array(offsets, dtype=np.int64), len(vocab)


def time_ours(ids, offsets, vocab, order=3):
    """Seconds for what ``ngram_ppl`` does (train, then score the training examples), and
    for scoring the same text again through the general look-up path (held-out text)."""
    start = time.perf_counter()
    model, logp = NgramModel.fit_scored(ids, offsets, vocab, order)
    ppl = per_example_perplexity(logp, offsets)
    trained_and_scored = time.perf_counter() - start
    assert np.all(np.isfinite(ppl))
    start = time.perf_counter()
    model.perplexities(ids, offsets)
    return trained_and_scored, time.perf_counter() - start


def time_nltk(ids, offsets, order, seconds):
    from nltk.lm import KneserNeyInterpolated
    from nltk.lm.preprocessing import padded_everygram_pipeline

    sentences = [[str(t) for t in ids[a:b]] for a, b in zip(offsets[:-1], offsets[1:])]
    start = time.perf_counter()
    train, vocab = padded_everygram_pipeline(order, sentences)
    model = KneserNeyInterpolated(order)
    model.fit(train, vocab)
    fit_seconds = time.perf_counter() - start
    scored, start = 0, time.perf_counter()
    for sentence in sentences:
        padded = ["<s>"] * (order - 1) + sentence + ["</s>"]
        for i in range(order - 1, len(padded)):
            model.score(padded[i], padded[i - order + 1 : i])
            scored += 1
        if time.perf_counter() - start > seconds:
            break
    return fit_seconds, time.perf_counter() - start, scored


def agreement_with_nltk(order=3, discount=0.1):
    """Largest |ours - nltk| over every word and a set of contexts on a tiny corpus."""
    from nltk.lm import KneserNeyInterpolated

    rng = np.random.default_rng(3)
    sentences = [rng.integers(0, 6, size=rng.integers(1, 8)) for _ in range(60)]
    ids = np.concatenate(sentences)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in sentences])])
    vocab = 6
    ours = NgramModel.fit(
        ids, offsets, vocab, order, discounts=[(0, 0, 0)] + [(discount,) * 3] * (order - 1)
    )
    words, history = _events(ids, offsets, vocab, order)

    def token(x):
        return "<s>" if x == vocab else "</s>" if x == vocab + 1 else str(x)

    text = []
    for e in range(len(words)):
        gram = [token(history[j, e]) for j in range(order - 2, -1, -1)] + [token(words[e])]
        text.append([tuple(gram[k:]) for k in range(order)])
    reference = KneserNeyInterpolated(order, discount=discount)
    reference.fit(text, [token(x) for x in range(vocab + 2)])
    worst, compared = 0.0, 0
    for a in range(vocab + 1):
        for b in range(vocab):
            context = [b] if a == vocab else [a, b]
            padded = ["<s>"] * (order - 1 - len(context)) + [token(x) for x in context]
            for w in [*range(vocab), vocab + 1]:
                worst = max(worst, abs(ours.prob(w, context) - reference.score(token(w), padded)))
                compared += 1
    return worst, compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=float, default=1e7)
    parser.add_argument("--nltk-tokens", type=int, default=20_000)
    parser.add_argument("--nltk-seconds", type=float, default=30.0)
    parser.add_argument("--order", type=int, default=3)
    args = parser.parse_args()

    ids, offsets, vocab = zipf_corpus(int(args.tokens))
    both_s, lookup_s = time_ours(ids, offsets, vocab, args.order)
    ours_rate = len(ids) / both_s
    print(
        f"ours   order {args.order}: {len(ids):,} Zipf tokens, {len(offsets) - 1:,} sentences: "
        f"train + score {both_s:.1f} s ({ours_rate / 1e6:.2f} M tokens/s); scoring the same "
        f"text as held-out (look-ups) {lookup_s:.1f} s"
    )
    if DATA.exists():
        c_ids, c_offsets, c_vocab = aochildes_corpus()
        both_c, _ = time_ours(c_ids, c_offsets, c_vocab, args.order)
        print(
            f"ours   order {args.order}: AO-CHILDES train, {len(c_ids):,} words, "
            f"{len(c_offsets) - 1:,} utterances: train + score {both_c:.2f} s "
            f"({len(c_ids) / both_c / 1e6:.2f} M tokens/s)"
        )
    else:
        print(f"(AO-CHILDES not found at {DATA}: skipped the shared-corpus figure)")

    small_ids, small_offsets, _ = zipf_corpus(args.nltk_tokens, seed=1)
    n_fit, n_score, n_scored = time_nltk(small_ids, small_offsets, args.order, args.nltk_seconds)
    per_token = n_fit / len(small_ids) + n_score / n_scored
    nltk_rate = 1.0 / per_token
    print(
        f"nltk   order {args.order}: fit {len(small_ids):,} tokens in {n_fit:.1f} s; scored "
        f"{n_scored:,} events in {n_score:.1f} s -> {nltk_rate:,.0f} tokens/s (train + score)"
    )
    print(f"speed-up per token: {ours_rate / nltk_rate:,.0f}x (goal >= 50x)")
    worst, compared = agreement_with_nltk(args.order)
    print(
        f"agreement with nltk KN (fixed discount 0.1): max |diff| {worst:.2e} over {compared} "
        "probabilities"
    )


if __name__ == "__main__":
    main()
