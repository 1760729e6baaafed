"""How honest are the difficulty scorers? In-sample vs held-out n-gram scores, and the
cost and agreement of scoring every token of a masked model.

    .venv/bin/python bench/scorer_honesty.py                  # both parts (~5 min, 2 cores)
    .venv/bin/python bench/scorer_honesty.py --part ngram     # the n-gram part (~1 min)
    .venv/bin/python bench/scorer_honesty.py --part model --sample 2000 --steps 300

Part ``ngram`` (AO-CHILDES train, all 190,486 utterances, whitespace words as tokens,
order 3): wall time of ``ngram_ppl(folds=1 | 2 | 5)``; two held-out references --

- ``utterance``: each utterance scored by the model trained on the other half of a random
  split of the utterances (its own seed, independent of the scorers' folds);
- ``transcript``: each utterance scored by the model trained on the other half of a random
  split of the *transcripts* (no utterance of the same conversation in training);

and, for utterances that occur once in the corpus and for repeated ones, the median ratio
``ngram_ppl(folds=K) / reference`` (1 = as hard as held out; below 1 = flattered) and the
Spearman correlation of each scorer with each reference.

Part ``model``: a ``roberta-tiny`` (the preset, random init) on the product's byte-level
BPE (trained here on AO-CHILDES train), untrained and after ``--steps`` MLM steps of 64
utterances (15% masked, 80/10/10), scores a seeded sample of ``--sample`` utterances with
:func:`~curriculumc.runtime.ordering.scorers.model_ppl.model_loss_scorer`: the exact
pseudo-log-likelihood (one copy per token) and the capped rounds (``rounds=R``: exact up
to R tokens, R evenly spaced rounds above), plus the scorer this replaced (one 15% mask
draw per utterance). For each: copies (forward rows), token cells (rows x padded width),
wall seconds, and the Spearman correlation with the exact PLL (all utterances, and those
longer than R, where the two differ).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from curriculumc.runtime.ordering.scorers.ngram import (
    NgramModel,
    crossfit_perplexities,
    fold_assignment,
    subset,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aochildes" / "train.jsonl"
REFERENCE_SEED = 20261201  # the references' splits: not a seed any scorer below uses


def spearman(a, b) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    return float(np.corrcoef(_ranks(np.asarray(a)), _ranks(np.asarray(b)))[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(len(x), dtype=np.float64)
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def read_aochildes():
    texts, transcripts = [], []
    with DATA.open() as lines:
        for line in lines:
            row = json.loads(line)
            texts.append(" ".join(row["text"].split()))
            transcripts.append(row["transcript"])
    return texts, transcripts


def word_ids(texts):
    vocab, ids, offsets = {}, [], [0]
    for text in texts:
        ids.extend(vocab.setdefault(w, len(vocab)) for w in text.split())
        offsets.append(len(ids))
    return np.array(ids, dtype=np.uint32), np.array(offsets, dtype=np.int64), len(vocab)


def held_out_by_group(ids, offsets, vocab, group_half, order=3):
    """Each example's perplexity under the model trained on the examples of the other half
    (``group_half``: 0 or 1 per example)."""
    result = np.empty(len(offsets) - 1)
    for half in (0, 1):
        held = np.flatnonzero(group_half == half)
        model = NgramModel.fit(
            *subset(ids, offsets, np.flatnonzero(group_half != half)), vocab, order
        )
        result[held] = model.perplexities(*subset(ids, offsets, held))
    return result


def ngram_part(order: int = 3) -> None:
    texts, transcripts = read_aochildes()
    ids, offsets, vocab = word_ids(texts)
    n = len(texts)
    _, inverse, counts = np.unique(
        np.array(texts, dtype=object), return_inverse=True, return_counts=True
    )
    once = counts[inverse] == 1
    print(
        f"AO-CHILDES train: {n:,} utterances, {len(ids):,} words, vocabulary {vocab:,}; "
        f"{once.mean():.1%} occur once (as text), {(~once).mean():.1%} are repeats"
    )
    scores, seconds = {}, {}
    for folds in (1, 2, 5):
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            scores[folds] = crossfit_perplexities(ids, offsets, vocab, order, folds=folds, seed=0)
            best = min(best, time.perf_counter() - start)
        seconds[folds] = best
    print(
        "wall time (best of 3): "
        + ", ".join(f"folds={k} {seconds[k]:.2f} s" for k in seconds)
        + f" (folds=5 / folds=1: {seconds[5] / seconds[1]:.1f}x)"
    )
    utterance_half = fold_assignment(n, 2, REFERENCE_SEED)
    names = sorted(set(transcripts))
    transcript_half = fold_assignment(len(names), 2, REFERENCE_SEED)
    by_name = dict(zip(names, transcript_half))
    references = {
        "utterance": held_out_by_group(ids, offsets, vocab, utterance_half, order),
        "transcript": held_out_by_group(
            ids, offsets, vocab, np.array([by_name[t] for t in transcripts]), order
        ),
    }
    print()
    print(
        "| scorer | reference | median ratio, once | median ratio, repeated | Spearman (all) | Spearman (once) |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for ref_name, ref in references.items():
        for folds in (1, 2, 5):
            ratio = scores[folds] / ref
            print(
                f"| ngram_ppl(folds={folds}) | {ref_name} held-out half | "
                f"{np.median(ratio[once]):.3f} | {np.median(ratio[~once]):.3f} | "
                f"{spearman(scores[folds], ref):.3f} | {spearman(scores[folds][once], ref[once]):.3f} |"
            )
    print(
        f"(reference vs reference: Spearman {spearman(*references.values()):.3f}; the two "
        "references' medians, once: "
        + ", ".join(f"{k} {np.median(v[once]):.1f}" for k, v in references.items())
        + ")"
    )


# --------------------------------------------------------------------------- model part


def _old_single_draw_scorer(model, *, seq, specials):
    """The scorer model_loss_scorer replaced: one fixed 15% mask draw per utterance (seeded by
    its index), at least the first word -- kept here only to measure it."""
    import torch

    from curriculumc.runtime.train.models import backbone, lm_head
    from curriculumc.runtime.train.objectives import IGNORE, collate

    def score(corpus, indices):
        batch = collate(corpus, indices, seq=seq, specials=specials)
        chosen = torch.zeros_like(batch.special)
        for row, index in enumerate(indices):
            g = torch.Generator().manual_seed(int(index))
            chosen[row] = torch.rand(batch.ids.shape[1], generator=g) < 0.15
        chosen &= ~batch.special
        chosen[:, 1] |= ~chosen.any(dim=1) & ~batch.special[:, 1]
        labels = torch.where(chosen, batch.ids, torch.full_like(batch.ids, IGNORE))
        inputs = batch.ids.masked_fill(chosen, specials.mask)
        model.eval()
        with torch.no_grad():
            hidden = backbone(model)(
                input_ids=inputs, attention_mask=batch.attention_mask
            ).last_hidden_state
            where = labels != IGNORE
            loss = torch.nn.functional.cross_entropy(
                lm_head(model)(hidden[where]).float(), labels[where], reduction="none"
            )
            per_row = torch.zeros(len(indices)).index_add_(0, where.nonzero()[:, 0], loss)
        return (per_row / where.sum(dim=1).clamp(min=1)).numpy().astype(np.float64)

    return score, lambda lengths: (len(lengths), int(lengths.max()) + 2)


def build_corpus(texts, vocab_size):
    from curriculumc.runtime.data.tokenized import TokenizedCorpus
    from curriculumc.runtime.data.tokenizer import train_bpe

    tokenizer = train_bpe(texts, vocab_size)
    encoded = tokenizer.encode_batch(texts, add_special_tokens=False)
    pieces = [np.asarray(e.ids, dtype=np.uint16) for e in encoded]
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(p) for p in pieces])
    corpus = TokenizedCorpus(
        ids=np.concatenate(pieces),
        offsets=offsets,
        words=np.array([len(t.split()) for t in texts], dtype=np.int32),
        source=np.zeros(len(texts), dtype=np.int32),
        source_names=("aochildes",),
        vocab_size=tokenizer.get_vocab_size(),
        content_hash="bench",
    )
    return corpus


def train_mlm(model, corpus, specials, *, steps, batch, seq, seed=0):
    import torch

    from curriculumc.runtime.train.objectives import IGNORE, collate, corrupt

    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    model.train()
    losses = []
    for _ in range(steps):
        tokens = collate(corpus, rng.integers(0, len(corpus), batch), seq=seq, specials=specials)
        chosen = (torch.rand(tokens.ids.shape, generator=generator) < 0.15) & ~tokens.special
        inputs = corrupt(
            tokens.ids, chosen, generator, mask_id=specials.mask, vocab_size=corpus.vocab_size
        )
        labels = torch.where(chosen, tokens.ids, torch.full_like(tokens.ids, IGNORE))
        loss = model(input_ids=inputs, attention_mask=tokens.attention_mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    model.eval()
    return float(np.mean(losses[:10])), float(np.mean(losses[-10:]))


def time_scorer(score_fn, corpus, sample, chunk=64, repeats=2):
    """Scores of ``sample`` in calls of ``chunk`` (model_ppl's default batch) and the best
    wall time of ``repeats`` runs."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        values = np.concatenate(
            [score_fn(corpus, sample[i : i + chunk]) for i in range(0, len(sample), chunk)]
        )
        best = min(best, time.perf_counter() - start)
    return values, best


def copies_and_cells(lengths, rounds):
    """Forward rows (masked copies) and token cells, each copy counted at its own length
    with ``<s>``/``</s>`` (what the scorer's length-sorted pieces come close to)."""
    copies = lengths if rounds is None else np.minimum(lengths, rounds)
    return int(copies.sum()), int((copies * (lengths + 2)).sum())


def model_part(sample_size: int, steps: int, threads: int, vocab_size: int, seq: int) -> None:
    import torch

    from curriculumc.runtime.data.tokenizer import SPECIAL_TOKENS
    from curriculumc.runtime.ordering.scorers.model_ppl import model_loss_scorer
    from curriculumc.runtime.train.models import SpecialIds, build_model, model_config

    torch.set_num_threads(threads)
    texts, _ = read_aochildes()
    texts = [t for t in texts if t]
    start = time.perf_counter()
    corpus = build_corpus(texts, vocab_size)
    print(
        f"BPE (vocab {corpus.vocab_size:,}) + tokenize {len(texts):,} utterances: "
        f"{time.perf_counter() - start:.1f} s"
    )
    specials = SpecialIds(
        **{
            name: SPECIAL_TOKENS.index(tok)
            for name, tok in (
                ("bos", "<s>"),
                ("pad", "<pad>"),
                ("eos", "</s>"),
                ("unk", "<unk>"),
                ("mask", "<mask>"),
            )
        }
    )
    rng = np.random.default_rng(7)
    sample = np.sort(rng.choice(len(corpus), sample_size, replace=False)).astype(np.int64)
    lengths = np.minimum(corpus.lengths()[sample], seq - 2)
    all_lengths = np.minimum(corpus.lengths(), seq - 2)
    print(
        f"sample: {sample_size:,} utterances, tokens per utterance: mean {lengths.mean():.2f}, "
        f"median {np.median(lengths):.0f}, max {lengths.max()}; whole corpus mean "
        f"{all_lengths.mean():.2f}, max {all_lengths.max()}; "
        + ", ".join(f"<= {r}: {np.mean(lengths <= r):.0%}" for r in (3, 5, 7, 10))
    )
    torch.manual_seed(0)
    config = model_config(
        "roberta-tiny", family="masked", vocab_size=corpus.vocab_size, seq=seq, specials=specials
    )
    untrained = build_model(config, "masked").eval()
    torch.manual_seed(0)
    trained = build_model(config, "masked")
    start = time.perf_counter()
    first_loss, last_loss = train_mlm(trained, corpus, specials, steps=steps, batch=64, seq=seq)
    print(
        f"trained roberta-tiny {steps} MLM steps x 64 in {time.perf_counter() - start:.0f} s: "
        f"loss {first_loss:.2f} -> {last_loss:.2f}"
    )
    round_caps = [None, 2, 3, 4, 5, 7, 10]
    for label, model in (("untrained", untrained), (f"trained {steps} steps", trained)):
        exact_fn = model_loss_scorer(
            model, family="masked", seq=seq, specials=specials, device="cpu", rounds=None
        )
        exact, exact_s = time_scorer(exact_fn, corpus, sample)
        print()
        print(f"### {label} model, {sample_size:,} utterances")
        print()
        print(
            "| scorer | forward rows | token cells | seconds | Spearman vs exact, all "
            "| ... longer than R (n) | mean abs diff (nats), longer than R |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for rounds in round_caps:
            if rounds is None:
                values, seconds = exact, exact_s
            else:
                fn = model_loss_scorer(
                    model, family="masked", seq=seq, specials=specials, device="cpu", rounds=rounds
                )
                values, seconds = time_scorer(fn, corpus, sample)
            rows, cells = copies_and_cells(lengths, rounds)
            longer = lengths > (rounds or np.inf)
            if longer.any():
                tail = (
                    f"{spearman(values[longer], exact[longer]):.4f} ({longer.sum()}) | "
                    f"{np.abs(values - exact)[longer].mean():.4f}"
                )
            else:
                tail = "- | -"
            name = "exact PLL (rounds=None)" if rounds is None else f"rounds={rounds}"
            print(
                f"| {name} | {rows:,} | {cells:,} | {seconds:.2f} | "
                f"{spearman(values, exact):.4f} | {tail} |"
            )
        old_fn, _ = _old_single_draw_scorer(model, seq=seq, specials=specials)
        values, seconds = time_scorer(old_fn, corpus, sample)
        print(
            f"| before: one 15% draw | {sample_size:,} | - | {seconds:.2f} | "
            f"{spearman(values, exact):.4f} | - | {np.abs(values - exact).mean():.4f} (all) |"
        )
    whole = {r: copies_and_cells(all_lengths, r)[0] for r in round_caps}
    print()
    print(
        "forward rows to score the whole corpus: "
        + ", ".join(f"{'exact' if r is None else f'R={r}'} {v:,}" for r, v in whole.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("ngram", "model", "all"), default="all")
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--seq", type=int, default=128)
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"AO-CHILDES not found at {DATA} (see ../shared/data/README.md)")
    if args.part in ("ngram", "all"):
        ngram_part()
    if args.part in ("model", "all"):
        print()
        model_part(args.sample, args.steps, args.threads, args.vocab, args.seq)


if __name__ == "__main__":
    main()
