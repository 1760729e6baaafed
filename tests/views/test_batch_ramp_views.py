"""A batch-size ramp in ``plot`` (its curve and its terminal row) and ``explain`` (the
sizes, the step each starts at, the examples drawn per segment and in all), each value
written out here from the ramp's rule: 8, 16, 24, 32 over 400 steps."""

from __future__ import annotations

import numpy as np

import curriculumc
from curriculumc.views.explain import explain
from curriculumc.views.timeline import render_terminal, timeline_figure

SPEC = """\
model roberta-tiny
train 2000 steps, batch 32, seq 64
batch ramp from 8 to 32 by 8 over 20%
at 0 mlm
"""


def test_the_plot_draws_the_batch_of_every_step():
    plan = curriculumc.loads(SPEC)
    curves, _ = timeline_figure(plan).axes
    line = next(line for line in curves.get_lines() if line.get_gid() == "batch")
    for step, share in zip(line.get_xdata(), line.get_ydata()):
        # 8 until step 134 (= ceil(400 / 3)), 16 until 267, 24 until 400, then 32
        size = 8 if step < 134 else 16 if step < 267 else 24 if step < 400 else 32
        assert share == size / 32
    assert np.unique(line.get_ydata()).tolist() == [0.25, 0.5, 0.75, 1.0]
    rows = [row for row in render_terminal(plan).splitlines() if row.strip().startswith("batch")]
    assert len(rows) == 1


def test_explain_counts_the_examples_each_size_draws():
    text = " ".join(explain(curriculumc.loads(SPEC)).split())
    assert "8 from step 0, 16 from step 134, 24 from step 267, 32 from step 400" in text
    drawn = 134 * 8 + 133 * 16 + 133 * 24 + 1600 * 32
    assert f"{drawn:,} examples drawn" in text
