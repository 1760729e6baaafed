"""Difficulty scorers: built-ins, combination, order, caching, plugins and model_ppl."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.scorer_corpora import aochildes_corpus, corpus_from_texts

import curriculumc.runtime.ordering.scorers as scorers
from curriculumc.errors import CurriculumError
from curriculumc.plan import ScorerTerm, SortSpec
from curriculumc.runtime.ordering.scorers import difficulty_order, score, score_sort, zscore
from curriculumc.runtime.ordering.scorers.model_ppl import ModelPplScorer

TEXTS = ["a b c", "a", "b c d e", "a b", "c c c c c c"]


def _sort(*terms, descending=False):
    return SortSpec(tuple(terms), descending)


def _codes(err):
    return [d.code for d in err.value.diagnostics]


def test_sentence_length_counts_tokens():
    corpus, _ = corpus_from_texts(TEXTS)
    np.testing.assert_array_equal(
        score(_sort(ScorerTerm("sentence_length")), corpus), [3, 1, 4, 2, 6]
    )


def test_unigram_ppl_is_add_one_with_an_end_of_sentence_event():
    corpus, vocab = corpus_from_texts(["a b", "a"])  # a=0, b=1; 3 tokens, 2 examples, V=2
    denominator = 3 + 2 + 2 + 1
    p_a, p_b, p_eos = 3 / denominator, 2 / denominator, 3 / denominator
    expected = [
        np.exp(-(np.log(p_a) + np.log(p_b) + np.log(p_eos)) / 3),
        np.exp(-(np.log(p_a) + np.log(p_eos)) / 2),
    ]
    np.testing.assert_allclose(score(_sort(ScorerTerm("unigram_ppl")), corpus), expected)


def test_difficulty_order_is_stable_and_puts_nan_last():
    scores = np.array([2.0, 1.0, np.nan, 1.0, 3.0, 2.0])
    np.testing.assert_array_equal(difficulty_order(scores), [1, 3, 0, 5, 4, 2])
    np.testing.assert_array_equal(difficulty_order(scores, descending=True), [4, 0, 5, 1, 3, 2])


def test_a_single_term_is_used_as_is_and_several_are_z_scored():
    corpus, _ = corpus_from_texts(TEXTS)
    length = np.array([3, 1, 4, 2, 6], dtype=float)
    rank = np.array([0.0, 1.0, 1.0, 0.0, 2.0])
    corpus = type(corpus)(**{**corpus.__dict__, "columns": {"rank": rank}})
    single = score(_sort(ScorerTerm("sentence_length", weight=2.0)), corpus)
    np.testing.assert_array_equal(single, 2 * length)
    both = score(
        _sort(ScorerTerm("sentence_length"), ScorerTerm("column", ("rank",), weight=-0.5)),
        corpus,
    )
    expected = (length - length.mean()) / length.std() - 0.5 * (rank - rank.mean()) / rank.std()
    np.testing.assert_allclose(both, expected)
    assert zscore(np.array([4.0, 4.0, np.nan])).tolist()[:2] == [0.0, 0.0]


def test_source_ranks_named_sources_and_puts_the_rest_after():
    corpus, _ = corpus_from_texts(
        TEXTS, sources=[0, 1, 2, 1, 0], source_names=("bnc", "childes", "wiki")
    )
    result = score_sort(_sort(ScorerTerm("source", ("childes", "bnc"))), corpus)
    np.testing.assert_array_equal(result.values, [1, 0, 2, 0, 1])
    assert [n.code for n in result.notes] == ["E380"]
    assert "1 examples" in result.notes[0].message and "wiki" in result.notes[0].message
    np.testing.assert_array_equal(difficulty_order(result.values), [1, 3, 0, 4, 2])


def test_source_with_an_unknown_name_suggests_the_known_ones():
    corpus, _ = corpus_from_texts(TEXTS, sources=[0, 1, 0, 1, 0], source_names=("bnc", "childes"))
    with pytest.raises(CurriculumError) as err:
        score(_sort(ScorerTerm("source", ("childs", "bnc", "bnc"))), corpus)
    assert _codes(err) == ["E351", "E352"]
    assert "did you mean 'childes'?" in err.value.diagnostics[0].hint
    assert "known: bnc, childes" in err.value.diagnostics[0].hint


def test_column_places_missing_values_last_and_counts_them():
    corpus, _ = corpus_from_texts(TEXTS, columns={"age": np.array([30, np.nan, 10, 20, np.nan])})
    for name, args in (("column", ("age",)), ("age", ())):
        result = score_sort(_sort(ScorerTerm(name, args)), corpus)
        assert [n.code for n in result.notes] == ["E381"]
        assert result.notes[0].message.startswith("2 of 5 examples")
        np.testing.assert_array_equal(difficulty_order(result.values), [2, 3, 0, 1, 4])
        np.testing.assert_array_equal(
            difficulty_order(result.values, descending=True), [0, 3, 2, 1, 4]
        )
    with pytest.raises(CurriculumError) as err:
        score(_sort(ScorerTerm("column", ("agee",))), corpus)
    assert _codes(err) == ["E353"] and "did you mean 'age'?" in err.value.diagnostics[0].hint


def test_age_needs_an_age_column():
    corpus, _ = corpus_from_texts(TEXTS)
    with pytest.raises(CurriculumError) as err:
        score(_sort(ScorerTerm("age")), corpus)
    assert _codes(err) == ["E354"]


def test_random_takes_the_plan_seed_unless_given_one():
    corpus, _ = corpus_from_texts(["x"] * 200)
    plan_seeded = score(_sort(ScorerTerm("random")), corpus, seed=5)
    np.testing.assert_array_equal(plan_seeded, score(_sort(ScorerTerm("random")), corpus, seed=5))
    assert not np.array_equal(plan_seeded, score(_sort(ScorerTerm("random")), corpus, seed=6))
    explicit = _sort(ScorerTerm("random", kwargs=(("seed", 1),)))
    np.testing.assert_array_equal(score(explicit, corpus, seed=5), score(explicit, corpus, seed=6))
    assert 0.0 <= plan_seeded.min() and plan_seeded.max() < 1.0
    assert abs(plan_seeded.mean() - 0.5) < 0.1


def test_unknown_scorer_and_wrong_arguments_are_curriculum_errors():
    corpus, _ = corpus_from_texts(TEXTS)
    with pytest.raises(CurriculumError) as err:
        score(_sort(ScorerTerm("ngram_pl")), corpus)
    assert _codes(err) == ["E350"] and "did you mean 'ngram_ppl'?" in err.value.diagnostics[0].hint
    with pytest.raises(CurriculumError) as err:
        score(_sort(ScorerTerm("sentence_length", kwargs=(("n", 2),))), corpus)
    assert _codes(err) == ["E355"]
    with pytest.raises(CurriculumError) as err:
        score(_sort(ScorerTerm("ngram_ppl", kwargs=(("n", 0),))), corpus)
    assert _codes(err) == ["E355"]
    with pytest.raises(CurriculumError) as err:
        score(_sort(ScorerTerm("model_ppl")), corpus)
    assert _codes(err) == ["E357"]


def test_scores_are_cached_by_content_hash_and_arguments(tmp_path, monkeypatch):
    corpus, _ = corpus_from_texts(TEXTS, columns={"depth": np.arange(5.0)})
    calls = []
    original = scorers.BUILTIN_SCORERS["ngram_ppl"]

    def counting(corpus, n=3):
        calls.append(n)
        return original(corpus, n)

    monkeypatch.setitem(scorers.BUILTIN_SCORERS, "ngram_ppl", counting)
    sort = _sort(ScorerTerm("ngram_ppl", kwargs=(("n", 2),)), ScorerTerm("column", ("depth",)))
    first = score_sort(sort, corpus, cache_dir=tmp_path)
    second = score_sort(sort, corpus, cache_dir=tmp_path)
    assert first.from_cache == (False, False) and second.from_cache == (True, True)
    assert calls == [2]
    np.testing.assert_array_equal(first.values, second.values)
    assert len(list((tmp_path / "scores" / corpus.content_hash).glob("*.npy"))) == 2
    score(_sort(ScorerTerm("ngram_ppl", kwargs=(("n", 3),))), corpus, cache_dir=tmp_path)
    assert calls == [2, 3]  # other arguments, other entry
    other, _ = corpus_from_texts(TEXTS[::-1])
    score(_sort(ScorerTerm("ngram_ppl", kwargs=(("n", 2),))), other, cache_dir=tmp_path)
    assert calls == [2, 3, 2]  # other corpus, other entry


def test_cached_notes_are_reported_again(tmp_path):
    corpus, _ = corpus_from_texts(TEXTS, columns={"age": np.array([1, np.nan, 2, 3, 4])})
    first = score_sort(_sort(ScorerTerm("age")), corpus, cache_dir=tmp_path)
    second = score_sort(_sort(ScorerTerm("age")), corpus, cache_dir=tmp_path)
    assert second.from_cache == (True,)
    assert second.notes == first.notes and second.notes[0].severity == "warning"


class _FakeEntryPoint:
    value = "my_package:length_squared"

    def load(self):
        return lambda corpus, power=2: corpus.lengths().astype(float) ** power


def test_plugins_register_by_entry_point(monkeypatch):
    monkeypatch.setattr(scorers, "_plugins", lambda: {"length_squared": _FakeEntryPoint()})
    corpus, _ = corpus_from_texts(TEXTS)
    assert "length_squared" in scorers.available()
    values = score(_sort(ScorerTerm("length_squared", kwargs=(("power", 3),))), corpus)
    np.testing.assert_array_equal(values, [27, 1, 64, 8, 216])


def test_a_scorer_returning_the_wrong_shape_is_reported(monkeypatch):
    monkeypatch.setitem(scorers.BUILTIN_SCORERS, "sentence_length", lambda corpus: np.ones(2))
    corpus, _ = corpus_from_texts(TEXTS)
    with pytest.raises(CurriculumError) as err:
        score(_sort(ScorerTerm("sentence_length")), corpus)
    assert _codes(err) == ["E356"]


def test_model_ppl_rescores_with_the_trainer_callback():
    corpus, _ = corpus_from_texts(TEXTS)
    calls = []
    difficulty = {"value": np.array([5.0, 4.0, 3.0, 2.0, 1.0])}

    def score_fn(corpus, indices):
        calls.append(indices.tolist())
        return difficulty["value"][indices]

    sort = _sort(ScorerTerm("model_ppl", kwargs=(("every", 100), ("first", 0), ("batch", 2))))
    scorer = ModelPplScorer(sort, corpus, score_fn)
    assert scorer.due(0)
    np.testing.assert_array_equal(scorer.rescore(0), [4, 3, 2, 1, 0])
    assert calls == [[0, 1], [2, 3], [4]]  # chunks of model_ppl(batch=2)
    assert not scorer.due(1) and not scorer.due(99) and scorer.due(100)
    difficulty["value"] = np.arange(5.0)  # the model learned: new scores, new order
    np.testing.assert_array_equal(scorer.rescore(100), [0, 1, 2, 3, 4])
    state = scorer.state_dict()
    restored = ModelPplScorer(sort, corpus, score_fn)
    restored.load_state_dict(state)
    assert not restored.due(150)
    np.testing.assert_array_equal(restored.order(), scorer.order())


def test_model_ppl_combines_with_static_terms():
    corpus, _ = corpus_from_texts(TEXTS)
    sort = _sort(ScorerTerm("sentence_length", weight=0.5), ScorerTerm("model_ppl"))
    scorer = ModelPplScorer(sort, corpus, lambda corpus, idx: np.zeros(len(idx)) + idx)
    scorer.rescore(0)
    length = np.array([3, 1, 4, 2, 6], dtype=float)
    model = np.arange(5.0)
    expected = 0.5 * zscore(length) + zscore(model)
    np.testing.assert_allclose(scorer.scores(), expected)
    with pytest.raises(CurriculumError):
        ModelPplScorer(_sort(ScorerTerm("sentence_length")), corpus, lambda c, i: i)


def test_ngram_ppl_on_child_directed_speech_ranks_routine_utterances_easy():
    corpus = aochildes_corpus(5000)
    if corpus is None:
        pytest.skip("shared AO-CHILDES data not found at ../shared/data/aochildes")
    values = score(_sort(ScorerTerm("ngram_ppl")), corpus)
    lengths = corpus.lengths()
    assert values.shape == (5000,) and np.all(np.isfinite(values)) and values.min() > 1
    # the most frequent utterance is among the easiest 20%
    keys = [tuple(corpus.example(i).tolist()) for i in range(len(corpus))]
    commonest = max(set(keys), key=keys.count)
    at = keys.index(commonest)
    assert np.mean(values < values[at]) < 0.2
    # longer utterances are not simply easier: perplexity is per event, not a sum
    assert np.corrcoef(values, lengths)[0, 1] < 0.9


def test_cross_fitted_ngram_ppl_takes_the_plan_seed_and_folds_1_ignores_it():
    corpus, _ = corpus_from_texts([f"w{i % 7} w{i % 5} w{i % 3}" for i in range(40)])

    def ngram(seed=0, **kwargs):
        return score(
            _sort(ScorerTerm("ngram_ppl", kwargs=tuple(kwargs.items()))), corpus, seed=seed
        )

    np.testing.assert_array_equal(ngram(5, folds=2), ngram(5, folds=2))
    assert not np.array_equal(ngram(5, folds=2), ngram(6, folds=2))  # other folds, other scores
    in_sample = ngram(5)
    for seed in (5, 6):
        np.testing.assert_array_equal(ngram(seed, folds=1), in_sample)
    assert np.all(ngram(5, folds=2) > 0) and np.all(np.isfinite(ngram(5, folds=2)))


def test_ngram_ppl_cache_keys_stay_those_of_specs_without_folds(tmp_path):
    """Digests recorded before ``folds`` existed: in-sample entries already on disk are
    found again, whatever the plan's seed; a cross-fitted entry is keyed by its seed."""
    corpus, _ = corpus_from_texts(TEXTS)

    def path(seed=0, **kwargs):
        term = ScorerTerm("ngram_ppl", kwargs=tuple(kwargs.items()))
        return scorers._cache_path(tmp_path, corpus, term, scorers._resolved_kwargs(term, seed))

    assert path().name == "ngram_ppl-d4b435fa9809169e311b.npy"
    assert path(n=2).name == "ngram_ppl-4f6fe6614a9770413362.npy"
    assert path(seed=9, n=2, folds=1) == path(n=2)
    assert path(seed=1, folds=2) != path(seed=2, folds=2) != path()


def test_ngram_ppl_folds_outside_the_registry_range_are_refused():
    corpus, _ = corpus_from_texts(TEXTS)
    for folds in (0, 101, True, 2.0):
        with pytest.raises(CurriculumError) as err:
            score(_sort(ScorerTerm("ngram_ppl", kwargs=(("folds", folds),))), corpus)
        assert _codes(err) == ["E355"], folds


def test_cross_fitting_stops_flattering_utterances_seen_once_on_child_directed_speech():
    corpus = aochildes_corpus(20000)
    if corpus is None:
        pytest.skip("shared AO-CHILDES data not found at ../shared/data/aochildes")
    in_sample = score(_sort(ScorerTerm("ngram_ppl")), corpus)
    held_out = score(_sort(ScorerTerm("ngram_ppl", kwargs=(("folds", 2),))), corpus, seed=3)
    keys = [corpus.example(i).tobytes() for i in range(len(corpus))]
    counts = {k: 0 for k in keys}
    for k in keys:
        counts[k] += 1
    once = np.array([counts[k] == 1 for k in keys])
    ratio = in_sample / held_out
    # seen once: in-sample looks far easier; repeated: its other copies are in the other
    # fold, so held out it stays easy
    assert np.median(ratio[once]) < 0.4 < 0.9 < np.median(ratio[~once])


def test_every_scorer_the_compiler_knows_is_implemented_with_its_keywords():
    import inspect

    from curriculumc.registry import BUILTIN_SCORERS as COMPILER_SCORERS

    assert set(COMPILER_SCORERS) == set(scorers.BUILTIN_SCORERS)
    for name, signature in COMPILER_SCORERS.items():
        parameters = inspect.signature(scorers.BUILTIN_SCORERS[name]).parameters
        for keyword, _type in signature.keywords:
            assert keyword in parameters, (name, keyword)
        takes_names = any(p.kind is p.VAR_POSITIONAL for p in parameters.values())
        assert takes_names == (signature.positional == "names"), name


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.sampled_from([0.0, 1.0, 2.5, -1.0, float("nan")]), min_size=1, max_size=40),
    descending=st.booleans(),
)
def test_difficulty_order_is_a_stable_permutation(values, descending):
    scores = np.array(values)
    order = difficulty_order(scores, descending)
    assert sorted(order.tolist()) == list(range(len(values)))
    ranked = scores[order]
    finite = ranked[~np.isnan(ranked)]
    assert np.all(np.isnan(ranked[len(finite) :]))  # NaN last
    assert np.all(np.diff(finite) <= 0) if descending else np.all(np.diff(finite) >= 0)
    for a, b in zip(order[:-1], order[1:]):  # equal scores keep index order
        if scores[a] == scores[b]:
            assert a < b


def test_a_sort_without_a_scorer_is_its_own_error():
    corpus, _ = corpus_from_texts(TEXTS)
    with pytest.raises(CurriculumError) as err:
        score(SortSpec(()), corpus)
    assert _codes(err) == ["E363"]
