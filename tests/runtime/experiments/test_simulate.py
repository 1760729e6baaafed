"""``simulate``: the trainer's sampler run over a whole schedule, aggregated."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from support.rendering import plain_text
from support.scorer_corpora import aochildes_corpus, corpus_from_texts

from curriculumc.plan import Pace, Plan, ScorerTerm, SortSpec, TrainSpec
from curriculumc.runtime.experiments.simulate import (
    exposure,
    render_table,
    save_figure,
    simulate_plan,
)
from curriculumc.runtime.ordering.sampler import global_batch


def _length_corpus():
    # ten examples of lengths 1..10 in shuffled corpus order; words = tokens
    lengths = [7, 1, 10, 4, 2, 9, 3, 6, 8, 5]
    texts = [" ".join(["w"] * n) for n in lengths]
    corpus, _ = corpus_from_texts(
        texts, sources=[0, 0, 1, 1, 1, 0, 1, 0, 0, 1], source_names=("short", "long")
    )
    return corpus, np.array(lengths)


def test_exact_counts_on_a_hand_sized_case_with_epochs():
    corpus, lengths = _length_corpus()
    plan = Plan(
        train=TrainSpec(steps=100, batch=2, seed=3),
        sort=SortSpec((ScorerTerm("sentence_length"),)),
        pace=Pace(fn="step", start=0.2, over=50),
    )
    result = simulate_plan(plan, corpus)
    # steps 0..49: the two shortest (1 + 2 words) each step, an epoch per step; steps
    # 50..99: ten epochs of five steps, each drawing every example (55 words) once
    assert result.words_seen == 50 * 3 + 10 * 55
    assert result.epoch_coverage == (0.2,) * 50 + (1.0,) * 9  # the last epoch is unfinished
    assert result.epoch_repeats == 0
    assert result.all_seen_step == 54  # the first full epoch ends at step 54
    assert result.max_draws == 60  # each of the two shortest: 50 + 10
    assert result.max_draws_expected == pytest.approx(50 * 2 / 2 + 50 * 2 / 10)


def test_exact_counts_on_a_hand_sized_case_with_replacement():
    corpus, lengths = _length_corpus()
    plan = Plan(
        train=TrainSpec(steps=100, batch=2, seed=3, sampling="replacement"),
        sort=SortSpec((ScorerTerm("sentence_length"),)),
        pace=Pace(fn="step", start=0.2, over=50),
    )
    result = simulate_plan(plan, corpus)
    order = np.argsort(lengths, kind="stable")
    # steps 0..49 (tenths 0-4): the pool is the two shortest examples, both drawn each step
    np.testing.assert_array_equal(result.decile_by_tenth[:2, :5], np.full((2, 5), 10))
    assert result.decile_by_tenth[2:, :5].sum() == 0
    np.testing.assert_array_equal(result.decile_by_tenth.sum(axis=0), np.full(10, 20))
    assert result.pool_first == 2 and result.pool_last == 10 and result.pool_full_step == 50
    assert result.floor_steps == 0
    # words: recompute the draws independently with the pure batch function
    drawn = np.concatenate([order[global_batch(3, s, 2 if s < 50 else 10, 2)] for s in range(100)])
    assert result.words_seen == int(lengths[drawn].sum())
    assert result.tokens_seen == result.words_seen
    assert result.unique_seen == len(set(drawn.tolist()))
    first_step = {}
    for i, example in enumerate(drawn.tolist()):
        first_step.setdefault(example, i // 2)
    expected_all_seen = max(first_step.values()) if len(first_step) == 10 else None
    assert result.all_seen_step == expected_all_seen
    # per source: the two shortest (lengths 1 and 2) are "short" and "long" -> 10 each
    np.testing.assert_array_equal(result.source_by_tenth[:, 0], [10, 10])
    budget = result.budget_share()
    assert budget["10M"] == pytest.approx(result.words_seen / 1e7)


def test_all_seen_is_never_when_the_hard_examples_stay_locked():
    corpus, _ = _length_corpus()
    plan = Plan(
        train=TrainSpec(steps=40, batch=2),
        sort=SortSpec((ScorerTerm("sentence_length"),)),
        pace=Pace(fn="linear", start=0.2, over=1000),
    )
    result = simulate_plan(plan, corpus)
    assert result.all_seen_step is None and result.pool_full_step is None
    assert result.unique_seen == result.pool_last == 3  # ceil((0.2 + 0.8 * 39/1000) * 10)


def test_pool_floor_is_counted():
    corpus, _ = _length_corpus()
    plan = Plan(train=TrainSpec(steps=20, batch=4), pace=Pace(fn="linear", start=0.1, over=20))
    result = simulate_plan(plan, corpus)
    # ceil(f * 10) < 4 while f < 0.3, i.e. 0.1 + 0.9 * t / 20 <= 0.3 -> t <= 4
    assert result.floor_steps == 5
    assert result.pool_first == 4


def test_easy_deciles_are_drawn_first_on_child_directed_speech():
    corpus = aochildes_corpus(4000)
    if corpus is None:
        pytest.skip("shared AO-CHILDES data not found at ../shared/data/aochildes")
    plan = Plan(
        train=TrainSpec(steps=2000, batch=16),
        sort=SortSpec((ScorerTerm("ngram_ppl", kwargs=(("n", 3),)),)),
        pace=Pace(fn="root", start=0.1, over=1000, release=0.8),
    )
    result = simulate_plan(plan, corpus)
    first_tenth = result.decile_by_tenth[:, 0]
    assert first_tenth[0] > 0 and first_tenth[9] == 0
    assert first_tenth[0] > first_tenth[9]
    # released at step 800 (80% of 1000): the last half of training is uniform over deciles
    late = result.decile_by_tenth[:, 5:].sum(axis=1)
    assert late.min() > 0.8 * late.mean()


def test_sources_unlock_in_the_named_order():
    corpus = aochildes_corpus(6000)
    if corpus is None:
        pytest.skip("shared AO-CHILDES data not found at ../shared/data/aochildes")
    names = corpus.source_names
    counts = np.bincount(corpus.source, minlength=len(names))
    order_named = tuple(names[i] for i in np.argsort(-counts, kind="stable"))
    plan = Plan(
        train=TrainSpec(steps=1000, batch=8),
        sort=SortSpec((ScorerTerm("source", order_named),)),
        pace=Pace(fn="linear", start=0.05, over=1000),
    )
    result = simulate_plan(plan, corpus)
    first = names.index(order_named[0])
    # 5%..14% of the corpus is released in the first tenth: all from the biggest source
    assert result.source_by_tenth[first, 0] == result.source_by_tenth[:, 0].sum()
    assert result.notes == ()  # every source was named


def test_self_paced_sorts_fall_back_with_a_note():
    corpus, _ = _length_corpus()
    plan = Plan(
        train=TrainSpec(steps=10, batch=2),
        sort=SortSpec((ScorerTerm("model_ppl"),)),
        pace=Pace(fn="linear", start=0.2, over=10),
    )
    result = simulate_plan(plan, corpus)
    assert "cannot be simulated without one" in result.notes[0]
    assert "corpus order" in result.notes[0]
    # corpus order: step 0 draws from the first two examples of the corpus
    assert result.decile_by_tenth[:2, 0].sum() == 2


def test_exposure_accepts_any_order_and_the_sampler_is_shared():
    corpus, _ = _length_corpus()
    plan = Plan(train=TrainSpec(steps=30, batch=2), pace=Pace(fn="step", start=0.2, over=30))
    result = exposure(plan, corpus, np.arange(10)[::-1])
    # reversed order: examples 9 and 8 are the "easiest" two, sources long and short
    np.testing.assert_array_equal(result.source_by_tenth[:, :9].sum(axis=1), [27, 27])


def test_table_and_picture(tmp_path):
    corpus, _ = _length_corpus()
    plan = Plan(
        train=TrainSpec(steps=100, batch=2),
        sort=SortSpec((ScorerTerm("sentence_length"),)),
        pace=Pace(fn="root", start=0.2, over=50),
    )
    result = simulate_plan(plan, corpus)
    text = plain_text(render_table(result), width=120)
    assert "sort by sentence_length" in text
    assert "% of 10M" in text and "every example seen by step" in text
    assert "0 easiest" in text and "short" in text
    path = save_figure(result, tmp_path / "exposure.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_words_seen_are_the_words_read_and_truncation_is_reported():
    """Issue 17: words seen counted every word of an example cut to seq - 2 tokens, and
    the cut was silent. At seq 6 (4 tokens of text; here a word a token) an epoch of the
    ten examples reads 1 + 2 + 3 + 4 x 7 = 34 of their 55 words."""
    corpus, lengths = _length_corpus()
    plan = Plan(train=TrainSpec(steps=5, batch=2, seq=6))
    result = exposure(plan, corpus, np.arange(10))
    assert result.words_seen == int(np.minimum(lengths, 4).sum()) == 34
    assert result.tokens_seen == 34 and result.corpus_words == 55
    assert result.truncation == {
        "seq": 6,
        "examples": 6,
        "share": 0.6,
        "tokens_cut": 21,
        "token_share": 21 / 55,
        "words_cut": 21,
    }
    assert result.to_dict()["truncation"] == result.truncation
    text = plain_text(render_table(result), width=160)
    assert "truncated at seq 6" in text and "6 examples (60.0%): 21 tokens (38.2%)" in text
    assert '`data "…" packed`' in text
    wide = exposure(Plan(train=TrainSpec(steps=5, batch=2, seq=12)), corpus, np.arange(10))
    assert wide.words_seen == 55 and wide.truncation["examples"] == 0
    assert "truncated" not in plain_text(render_table(wide), width=160)


def test_simulation_imports_no_torch_transformers_or_datasets():
    script = (
        "import sys, numpy as np\n"
        "import curriculumc.commands.simulate\n"
        "from curriculumc.plan import Plan, TrainSpec, SortSpec, ScorerTerm\n"
        "from curriculumc.runtime.data.tokenized import TokenizedCorpus\n"
        "from curriculumc.runtime.experiments.simulate import simulate_plan\n"
        "c = TokenizedCorpus(np.arange(40) % 7, np.arange(0, 41, 4), np.full(10, 4),\n"
        "    np.zeros(10, dtype=np.int32), ('a',), 7, 'h')\n"
        "plan = Plan(train=TrainSpec(steps=5, batch=2),\n"
        "    sort=SortSpec((ScorerTerm('ngram_ppl'),)))\n"
        "simulate_plan(plan, c)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_to_dict_is_json_ready():
    import json

    corpus, _ = _length_corpus()
    plan = Plan(train=TrainSpec(steps=20, batch=2))
    data = simulate_plan(plan, corpus).to_dict()
    assert json.loads(json.dumps(data))["decile_by_tenth"][0][0] == data["decile_by_tenth"][0][0]
    assert data["epochs"] == pytest.approx(4.0)


def _cli_project(tmp_path, sort="sentence_length"):
    rng = np.random.default_rng(0)
    words = "the dog cat ball sees wants a big red little runs".split()
    lines = [" ".join(rng.choice(words, size=rng.integers(1, 10))) for _ in range(300)]
    (tmp_path / "cds.txt").write_text("\n".join(lines) + "\n")
    spec = tmp_path / "spec.cur"
    spec.write_text(
        'model roberta-tiny\ndata "cds.txt"\ntokenizer bpe 300\n'
        "train 400 steps, batch 8, seq 32\n"
        f"sort by {sort}\npace root from 10% over 200\nat 0 mlm\n"
    )
    return spec


def test_cli_simulate_writes_table_json_and_picture(tmp_path, capsys):
    from curriculumc.cli import main

    spec = _cli_project(tmp_path)
    out_json, out_png = tmp_path / "exposure.json", tmp_path / "exposure.png"
    code = main(
        [
            "simulate",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
            str(out_json),
            "-o",
            str(out_png),
            "--width",
            "110",
            str(spec),
            "train.steps=300",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "exposure: sort by sentence_length" in printed and "300 x 8" in printed
    import json

    data = json.loads(out_json.read_text())
    assert data["steps"] == 300 and data["examples"] == 300
    assert sum(map(sum, data["decile_by_tenth"])) == 300 * 8
    # root pacing from 10%: the hardest decile is locked in the first tenth of training
    assert data["decile_by_tenth"][9][0] == 0 and data["decile_by_tenth"][0][0] > 0
    assert out_png.read_bytes()[:4] == b"\x89PNG"


def test_cli_simulate_reports_data_errors_with_exit_1(tmp_path, capsys):
    from curriculumc.cli import main

    spec = _cli_project(tmp_path, sort="source(cds, books)")
    code = main(["simulate", "--cache-dir", str(tmp_path / "cache"), str(spec)])
    assert code == 1
    err = capsys.readouterr().err
    assert "E351" in err and "no source 'books'" in err
    assert main(["simulate", "-o", "x.pdf", str(spec)]) == 2


def test_the_evaluations_are_counted_as_the_trainer_runs_them():
    from curriculumc.plan import EvalSpec
    from curriculumc.runtime.experiments.simulate import evaluation_summary

    corpus, _ = _length_corpus()
    plan = Plan(
        train=TrainSpec(steps=100, batch=2),
        evals=(EvalSpec("blimp", every=25, limit=20), EvalSpec("ppl"), EvalSpec("synth")),
    )
    blimp, ppl, synth = evaluation_summary(plan)
    # after 25, 50, 75 and 100 steps (Plan.evaluation_steps), 67 x 20 pairs each time
    assert (blimp["runs"], blimp["steps"]) == (4, [25, 50, 75, 100])
    assert blimp["steps"] == [t for t in range(1, 101) if plan.evals[0] in plan.evaluations_due(t)]
    assert (blimp["per_run_at_most"], blimp["items_at_most"]) == (1340, 4 * 1340)
    assert blimp["sentences_at_most"] == 2 * 4 * 1340 and not blimp["exact"]
    assert (ppl["runs"], ppl["unit"], ppl["items_at_most"]) == (1, "texts", 1000)
    assert (synth["per_run_at_most"], synth["exact"]) == (3200, True)
    table = render_table(simulate_plan(plan, corpus), evaluation_summary(plan))
    text = plain_text(table, width=160)
    assert (
        "4 runs of 67 paradigms × limit 20 = up to 1,340 pairs; in all up to 5,360 pairs, "
        "10,720 sentences"
    ) in text
    assert "1 run of up to 1,000 texts; in all up to 1,000 texts" in text
    assert "1 run of 16 paradigms × 200 = 3,200 pairs; in all 3,200 pairs, 6,400 sentences" in text


def test_cli_simulate_states_the_evaluations_in_table_and_json(tmp_path, capsys):
    import json

    from curriculumc.cli import main

    spec = _cli_project(tmp_path)
    spec.write_text(spec.read_text() + "eval blimp every 25% limit 10\n")
    out_json = tmp_path / "exposure.json"
    args = ["simulate", "--cache-dir", str(tmp_path / "cache"), "--json", str(out_json)]
    assert main([*args, "--width", "160", str(spec), "train.steps=60"]) == 0
    printed = capsys.readouterr().out
    assert "eval blimp" in printed
    assert "4 runs of 67 paradigms × limit 10 = up to 670 pairs; in all up to 2,680" in printed
    (entry,) = json.loads(out_json.read_text())["evaluations"]
    assert (entry["runs"], entry["steps"], entry["items_at_most"]) == (4, [15, 30, 45, 60], 2680)
