"""explain and plot of staged and discrete paces: the data they are drawn from."""

from __future__ import annotations

import curriculumc
from curriculumc.views.explain import explain
from curriculumc.views.timeline import render_terminal, sample_schedules, timeline_figure

HEAD = "train 20000 steps\nsort by random\n"
STAGED = HEAD + "pace root from 10% to 50% over 20%, then linear to 100% after 5% over 30%"
DISCRETE = HEAD + "pace 10% from 0, 30% from 5k, 100% from 10k"


def test_explain_lists_each_stage():
    text = explain(curriculumc.loads(STAGED), width=200)
    assert (
        "stage 1: root 10% → 50%, steps 0–4,000; stage 2: linear 50% → 100%, steps 5,000–11,000"
        in text
    )
    assert "data pauses at 50%" in text and "data stage 2: linear 50% → 100%" in text
    assert "rising (linear)" in text  # the segment of stage 2 names its own shape
    discrete = explain(curriculumc.loads(DISCRETE), width=200)
    assert (
        "discrete, 3 shares: 10% from step 0, 30% from step 5,000, 100% from step 10,000"
        in discrete
    )
    assert "steps 5,000–10,000" in discrete


def test_boundaries_mark_every_stage_start():
    plan = curriculumc.loads(STAGED)
    assert plan.boundaries() == (
        (4000, "data pauses at 50%"),
        (5000, "data stage 2: linear 50% → 100%"),
        (11000, "data fully released"),
    )
    vocab = curriculumc.loads(HEAD + "vocab 20% from 0, 50% from 10%, 100% from 30%")
    assert [s for s, _ in vocab.boundaries()] == [2000, 6000]


def test_the_plot_samples_both_sides_of_each_stage():
    plan = curriculumc.loads(DISCRETE)
    samples = sample_schedules(plan)
    points = dict(zip(samples.steps, samples.data))
    assert points[4999] == 0.1 and points[5000] == 0.3
    assert points[9999] == 0.3 and points[10000] == 1.0
    assert list(samples.data) == sorted(samples.data)  # never shrinks
    assert all(points[s] == plan.data_fraction(s) for s in samples.steps)


def test_the_figure_draws_stage_lines_and_labels():
    plan = curriculumc.loads(STAGED)
    curves, _ = timeline_figure(plan).axes
    boundary_x = sorted(
        {line.get_xdata()[0] for line in curves.get_lines() if line.get_gid() == "boundary"}
    )
    assert boundary_x == [4000, 5000, 11000]
    labels = [" ".join(t.get_text().split()) for t in curves.texts]  # labels wrap
    assert "data stage 2: linear 50% → 100%" in labels
    data = next(line for line in curves.get_lines() if line.get_gid() == "data")
    assert "root, then linear" in data.get_label()
    assert render_terminal(plan)  # the terminal picture draws too
