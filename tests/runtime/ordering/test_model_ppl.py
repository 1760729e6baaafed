"""model_ppl: the schedule (first, every), resuming, and scoring every token of a model."""

from __future__ import annotations

import numpy as np
import pytest
from support.scorer_corpora import corpus_from_texts

from curriculumc.errors import CurriculumError
from curriculumc.plan import ScorerTerm, SortSpec
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.ordering.scorers.model_ppl import (
    MASK_ROUNDS,
    ModelPplScorer,
    mask_rounds,
    model_loss_scorer,
)

torch = pytest.importorskip("torch")

TEXTS = [f"w{i % 7} w{i % 3}" for i in range(12)]


def _scorer(score_fn=None, **options):
    corpus, _ = corpus_from_texts(TEXTS)
    sort = SortSpec((ScorerTerm("model_ppl", kwargs=tuple(options.items())),))
    return ModelPplScorer(sort, corpus, score_fn or (lambda c, idx: idx.astype(float)))


def _run(scorer, steps):
    """What the trainer does at each step; returns the scoring steps and, per step, the
    order drawn from (None while drawing uniformly from all the data)."""
    scored, orders = [], []
    for step in range(steps):
        if scorer.before_first(step):
            assert not scorer.due(step)
            orders.append(None)
            continue
        if scorer.due(step):
            scorer.rescore(step)
            scored.append(step)
        assert scorer.scored_yet
        orders.append(scorer.order())
    return scored, orders


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"every": 4}, [4, 8, 12, 16]),  # first defaults to every (the seed's rule)
        ({"every": 4, "first": 0}, [0, 4, 8, 12, 16]),
        ({"every": 5, "first": 3}, [3, 8, 13, 18]),
        ({"every": 100, "first": 7}, [7]),
        ({"every": 1, "first": 17}, [17, 18, 19]),
    ],
)
def test_scoring_steps_are_first_then_every_and_never_before_first(options, expected):
    scorer = _scorer(**options)
    scored, orders = _run(scorer, 20)
    assert scored == expected == list(scorer.scoring_steps(20))
    first = expected[0]
    assert orders[:first] == [None] * first  # uniform over all the data until the first score
    assert all(order is not None for order in orders[first:])


def test_the_order_changes_only_at_scoring_steps():
    draws = np.random.default_rng(0)
    scorer = _scorer(lambda corpus, idx: draws.random(len(idx)), every=3, first=2, batch=5)
    scored, orders = _run(scorer, 15)
    assert scored == [2, 5, 8, 11, 14]
    changed = [step for step in range(3, 15) if not np.array_equal(orders[step], orders[step - 1])]
    assert changed == [5, 8, 11, 14]


def test_resuming_restores_the_scores_and_their_step():
    draws = np.random.default_rng(1)
    scorer = _scorer(lambda corpus, idx: draws.random(len(idx)), every=4, first=2)
    _run(scorer, 8)  # scored at 2 and 6
    state = scorer.state_dict()
    assert state["scored_at"] == 6
    resumed = _scorer(
        lambda corpus, idx: pytest.fail("a resumed order must not be re-scored"), every=4, first=2
    )
    resumed.load_state_dict(state)
    assert resumed.scored_yet and not resumed.before_first(8)
    assert not resumed.due(7) and not resumed.due(9) and resumed.due(10)
    np.testing.assert_array_equal(resumed.order(), scorer.order())
    # a checkpoint taken before the first score holds none: uniform until first, then scored
    early = _scorer(every=4, first=2)
    early.load_state_dict({"model_scores": None, "scored_at": None})
    assert early.before_first(1) and not early.scored_yet and early.due(2)
    with pytest.raises(CurriculumError):
        early.order()


@pytest.mark.parametrize("options", [{"first": -1}, {"every": 0}, {"batch": 0}, {"first": 1.5}])
def test_schedule_arguments_outside_the_registry_range_are_refused(options):
    with pytest.raises(CurriculumError) as err:
        _scorer(**options)
    assert [d.code for d in err.value.diagnostics] == ["E355"]


# --- scoring every token --------------------------------------------------------------------


@pytest.mark.parametrize("rounds", [None, 1, 2, 3, 7])
def test_mask_rounds_hide_every_scored_token_exactly_once(rounds):
    rng = np.random.default_rng(2)
    scored = torch.from_numpy(rng.random((40, 15)) < 0.6)  # gaps: specials inside rows
    scored[3] = False  # a row with nothing to score
    row_of, chosen = mask_rounds(scored, rounds)
    counts = scored.sum(dim=1)
    copies = torch.bincount(row_of, minlength=len(scored))
    expected_copies = counts if rounds is None else counts.clamp(max=rounds)
    assert torch.equal(copies, expected_copies)
    assert bool(torch.all(row_of[1:] >= row_of[:-1]))
    per_row = torch.zeros(scored.shape, dtype=torch.int64).index_add_(0, row_of, chosen.long())
    assert torch.equal(per_row, scored.long())  # each scored position once, nothing else
    assert bool(torch.all(chosen.sum(dim=1) >= 1))
    for e in range(len(row_of)):  # hidden tokens of one copy: every r-th scored token
        ranks = (scored[row_of[e]].cumsum(0) - 1)[chosen[e]]
        assert torch.equal(torch.diff(ranks), torch.full_like(ranks[1:], int(copies[row_of[e]])))
    if rounds is not None and rounds > 1:  # short rows: one token per copy (the exact PLL)
        short = counts[row_of] <= rounds
        assert bool(torch.all(chosen[short].sum(dim=1) == 1))


# ids as in a curriculumc tokenizer: <s>=0, <pad>=1, </s>=2, <unk>=3, <mask>=4, words 5..
VOCAB = 40


def _specials():
    from curriculumc.runtime.train.models import SpecialIds

    return SpecialIds(bos=0, pad=1, eos=2, unk=3, mask=4)


def _corpus(lengths, seed=3):
    rng = np.random.default_rng(seed)
    pieces = [rng.integers(5, VOCAB, size=n) for n in lengths]
    pieces[1][1:2] = 3  # an <unk> inside an example: special, not scored
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = len(lengths)
    return TokenizedCorpus(
        ids=np.concatenate(pieces).astype(np.uint16),
        offsets=offsets,
        words=np.asarray(lengths, dtype=np.int32),
        source=np.zeros(n, dtype=np.int32),
        source_names=("only",),
        vocab_size=VOCAB,
        content_hash=f"test-model-ppl-{seed}",
    )


LENGTHS = [3, 5, 1, 9, 0, 14, 7, 2, 8, 4, 20, 6]


@pytest.fixture(scope="module")
def masked_model():
    from transformers import RobertaConfig, RobertaForMaskedLM

    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=40,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        type_vocab_size=1,
    )
    return RobertaForMaskedLM(config).train()  # training mode: the scorer must not use dropout


@pytest.fixture(scope="module")
def causal_model():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=VOCAB,
        n_embd=32,
        n_layer=2,
        n_head=2,
        n_positions=40,
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
    )
    return GPT2LMHeadModel(config).train()


def _reference_masked(model, corpus, i, rounds=None):
    """Mean loss of example ``i``, one unpadded row per copy through the whole model
    (``model(...).logits``): each copy hides the scored tokens whose rank is ``j`` modulo
    ``r = min(n, rounds)`` (``rounds=None``: one token per copy, the exact PLL)."""
    row = torch.tensor([0, *corpus.example(i).tolist(), 2])
    positions = [p for p in range(1, len(row) - 1) if int(row[p]) != 3]
    if not positions:
        return 0.0
    r = len(positions) if rounds is None else min(len(positions), rounds)
    total = 0.0
    model.eval()
    with torch.no_grad():
        for j in range(r):
            hidden = positions[j::r]
            masked = row.clone()
            masked[hidden] = 4
            logp = torch.log_softmax(model(input_ids=masked[None]).logits[0], dim=-1)
            total += float(-logp[hidden, row[hidden]].sum())
    model.train()
    return total / len(positions)


def _reference_causal(model, corpus, i):
    row = torch.tensor([0, *corpus.example(i).tolist(), 2])
    model.eval()
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=row[None]).logits[0], dim=-1)
    model.train()
    return float(-logp[torch.arange(len(row) - 1), row[1:]].mean())


def _score_fn(model, family, **options):
    return model_loss_scorer(
        model, family=family, seq=32, specials=_specials(), device="cpu", **options
    )


def test_masked_scores_are_the_exact_pseudo_log_likelihood(masked_model):
    corpus = _corpus(LENGTHS)
    indices = np.arange(len(LENGTHS))
    exact = _score_fn(masked_model, "masked", rounds=None)(corpus, indices)
    expected = [_reference_masked(masked_model, corpus, i) for i in indices]
    np.testing.assert_allclose(exact, expected, rtol=1e-5, atol=1e-6)
    assert exact[4] == 0.0  # an empty example has nothing to score
    assert masked_model.training  # mode restored


def test_the_default_rounds_equal_the_exact_pll_on_short_examples(masked_model):
    corpus = _corpus(LENGTHS)
    indices = np.arange(len(LENGTHS))
    default = _score_fn(masked_model, "masked")(corpus, indices)
    exact = _score_fn(masked_model, "masked", rounds=None)(corpus, indices)
    short = corpus.lengths() <= MASK_ROUNDS
    assert short.sum() >= 6 and (~short).sum() >= 3
    np.testing.assert_allclose(default[short], exact[short], rtol=1e-5, atol=1e-6)
    # longer ones: MASK_ROUNDS copies, every token hidden once (an independent reference)
    for i in np.flatnonzero(~short):
        assert default[i] == pytest.approx(
            _reference_masked(masked_model, corpus, i, MASK_ROUNDS), rel=1e-5
        )


def test_scores_do_not_depend_on_how_rows_are_batched(masked_model):
    corpus = _corpus(LENGTHS)
    indices = np.arange(len(LENGTHS))
    whole = _score_fn(masked_model, "masked", rounds=3)(corpus, indices)
    pieces = _score_fn(masked_model, "masked", rounds=3, row_tokens=40)(corpus, indices)
    np.testing.assert_allclose(pieces, whole, rtol=1e-5, atol=1e-6)
    alone = np.concatenate(
        [_score_fn(masked_model, "masked", rounds=3)(corpus, [i]) for i in indices]
    )
    np.testing.assert_allclose(alone, whole, rtol=1e-5, atol=1e-6)


def test_scoring_is_a_pure_function_of_the_weights(masked_model):
    corpus = _corpus(LENGTHS)
    score = _score_fn(masked_model, "masked")
    rng_before = torch.random.get_rng_state()
    first = score(corpus, np.arange(6))
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # training RNG untouched
    np.testing.assert_array_equal(score(corpus, np.arange(6)), first)
    assert masked_model.training
    assert all(p.grad is None for p in masked_model.parameters())


def test_causal_scores_are_the_mean_next_token_loss_of_every_token(causal_model):
    corpus = _corpus([n for n in LENGTHS if n > 0])
    indices = np.arange(len(corpus))
    values = _score_fn(causal_model, "causal", row_tokens=60)(corpus, indices)
    expected = [_reference_causal(causal_model, corpus, i) for i in indices]
    np.testing.assert_allclose(values, expected, rtol=1e-5, atol=1e-6)
    assert causal_model.training
