"""explain and plot for a spec that counts times in data: before the data is known (what
will resolve, and how), and resolved against it (the steps, the words drawn by then, the
timeline cut at those steps) -- the steps checked against the clock itself."""

from __future__ import annotations

import numpy as np
import pytest
from support.scorer_corpora import aochildes_corpus

import curriculumc
from curriculumc.lang.parser import parse
from curriculumc.runtime.ordering.clock import draw_clock, resolve_plan
from curriculumc.views.explain import explain, segments

SPEC = """model roberta-tiny
data synth(words=20k)
train 30k words, batch 16, seq 32, warmup 0
sort by sentence_length
pace linear from 20% over 10k words
at 0 mlm, at 15k words mlm + 0.5 pos
eval synth every 10k words
checkpoint at 5k, 20k words
"""


def _plan():
    return curriculumc.compile(parse(SPEC, "t.cur"))


def test_before_the_data_explain_lists_what_will_resolve():
    text = explain(_plan(), width=100)
    for written in ("train length 30k words", "objectives mlm + 0.5 pos 15k words",
                    "eval synth every 10k words", "checkpoint at 5k words",
                    "checkpoint at 20k words", "data pace in words"):  # fmt: skip
        assert written in text, written
    assert "the first step by which the run has drawn that many words" in text
    assert "explain --resolve" in text
    assert "linear from 20% to 100% over 10k words drawn" in text
    assert "steps 0–" not in text  # no timeline in steps before the steps are known


def test_resolved_explain_uses_the_steps_the_clock_gives():
    corpus = aochildes_corpus(5000)
    if corpus is None:
        pytest.skip("AO-CHILDES not found")
    plan = _plan()
    order = np.argsort(corpus.lengths(), kind="stable")
    resolved, table = resolve_plan(plan, corpus, order)
    words = draw_clock(plan, corpus, order).words

    def first(value):
        return int(np.searchsorted(words, value, side="left"))

    text = explain(resolved, width=120, times=table)
    assert f"train length 30k words → step {first(30_000):,}" in text
    assert f"checkpoint 5k words → step {first(5000):,} = chck_5000 ({words[first(5000)]:,}" in text
    cuts = [s.start for s in segments(resolved)]
    assert first(15_000) in cuts  # the phase starts at its resolved step
    assert first(10_000) in cuts  # the pace's ramp ends where 10k words have been drawn
    assert resolved.train.steps == first(30_000)


def test_plot_needs_resolve_for_times_in_data(tmp_path, capsys):
    from curriculumc.cli import main

    spec = tmp_path / "w.cur"
    spec.write_text(SPEC)
    assert main(["plot", str(spec), "-o", str(tmp_path / "t.png")]) == 2
    err = capsys.readouterr().err
    assert "counts times in data" in err and "--resolve" in err
