"""The timeline picture: terminal drawing (exact cells) and the matplotlib figure."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import curriculumc
from curriculumc import cli
from curriculumc.plan import Pace, Phase, Plan, ScorerTerm, SortSpec, TrainSpec, Unit
from curriculumc.views.timeline import (
    EIGHTHS,
    FIGURE_DPI,
    FIGURE_SIZE,
    Span,
    format_steps,
    objective_spans,
    plot_timeline,
    render_terminal,
    sample_schedules,
    timeline_figure,
)


def root_pos_plan(*, vocab: Pace | None = None) -> Plan:
    return Plan(
        sort=SortSpec((ScorerTerm("ngram_ppl"),)),
        pace=Pace("root", start=0.1, over=10000, release=0.8),
        vocab=vocab or Pace(),
        units=(Unit("mlm", "mlm"), Unit("pos", "pos")),
        phases=(
            Phase(0, (("mlm", 1.0),)),
            Phase(10000, (("pos", 1.0),)),
            Phase(15000, (("mlm", 1.0), ("pos", 0.5))),
        ),
    )


# --- sampling --------------------------------------------------------------------------


def test_samples_hold_both_sides_of_every_boundary():
    plan = root_pos_plan()
    samples = sample_schedules(plan, points=11)
    for step in (7999, 8000, 9999, 10000, 14999, 15000, 0, 20000):
        assert step in samples.steps
    at = dict(zip(samples.steps, samples.data))
    assert at[7999] == pytest.approx(0.1 + 0.9 * (7999 / 10000) ** 0.5)
    assert at[8000] == 1.0  # released at 80% of the ramp
    assert list(samples.steps) == sorted(set(samples.steps))


def test_objective_spans_merge_unchanged_weights():
    assert objective_spans(root_pos_plan()) == (
        Span("mlm", 0, 10000, 1.0),
        Span("mlm", 15000, 20000, 1.0),
        Span("pos", 10000, 15000, 1.0),
        Span("pos", 15000, 20000, 0.5),
    )


def test_format_steps():
    assert [format_steps(n) for n in (0, 950, 2000, 1500, 12500, 20000, 1_000_000)] == [
        "0", "950", "2k", "1.5k", "12.5k", "20k", "1M",
    ]  # fmt: skip


# --- the terminal drawing ----------------------------------------------------------------

SMALL_PLAN = Plan(
    train=TrainSpec(steps=400),
    sort=SortSpec((ScorerTerm("sentence_length"),)),
    pace=Pace("linear", start=0.25, over=200),
    units=(Unit("mlm", "mlm"), Unit("pos", "pos")),
    phases=(Phase(0, (("mlm", 1.0),)), Phase(300, (("mlm", 1.0), ("pos", 0.5)))),
)

SMALL_DRAWING = """\
█ data pool (linear)   ┊ boundary
100% ┤              ▁▂▃▄▅▇██████████████████████
     │       ▁▂▃▄▆▇█████████████████████████████
 50% ┤▁▂▃▄▆▇████████████████████████████████████
     │██████████████████████████████████████████
  0% └─────────────────────┴─────────┴──────────
      0                   200       300      400
 mlm  ██████████████████████████████████████████
 pos                       ┊         ▒▒▒▒▒▒▒▒▒▒▒"""


def test_terminal_drawing_is_exact_and_deterministic():
    drawing = render_terminal(SMALL_PLAN, width=48, height=4)
    assert drawing == SMALL_DRAWING
    assert render_terminal(SMALL_PLAN, width=48, height=4) == drawing
    assert all(len(line) <= 48 for line in drawing.splitlines())


def column_heights(drawing: str, height: int, gutter: int) -> list[int]:
    """Eighths of a row filled in each chart column (rows 1..height of the drawing)."""
    rows = [line[gutter + 2 :] for line in drawing.splitlines()[1 : 1 + height]]
    width = max(len(row) for row in rows)
    rows = [row.ljust(width) for row in rows]
    return [
        sum(EIGHTHS.index(row[c]) if row[c] in EIGHTHS else 0 for row in rows) for c in range(width)
    ]


def test_terminal_pool_is_monotone_and_jumps_at_the_release_column():
    plan = root_pos_plan()  # no vocabulary pacing: no marks drawn over the pool
    width, height = 80, 12
    drawing = render_terminal(plan, width=width, height=height)
    heights = column_heights(drawing, height, gutter=4)
    columns = width - 4 - 2
    assert len(heights) == columns
    assert heights == sorted(heights)  # the pool never shrinks
    release = (8001 * columns - 1) // 20000  # the column holding step 8000
    full = height * 8
    assert heights[release] == full
    # the jump: the column before the release is the last one not full, and 90% tall
    assert heights.index(full) == release
    assert heights[release - 1] == pytest.approx(0.905 * full, abs=1)
    axis = drawing.splitlines()[1 + height]
    assert axis[4 + 2 + release] == "┴"
    labels = drawing.splitlines()[2 + height]
    assert "8k" in labels and "10k" in labels and "20k" in labels


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    fn=st.sampled_from(["linear", "quad", "root", "step", "exp", "log"]),
    start=st.floats(0.0, 0.9),
    over=st.integers(1, 5000),
    after=st.integers(0, 2000),
    release=st.floats(0.1, 1.0),
    steps=st.integers(50, 8000),
    width=st.integers(30, 120),
)
def test_terminal_columns_follow_the_plan(fn, start, over, after, release, steps, width):
    plan = Plan(
        train=TrainSpec(steps=steps),
        pace=Pace(fn, start=start, over=over, after=after, release=release),
        units=(Unit("mlm", "mlm"),),
        phases=(Phase(0, (("mlm", 1.0),)),),
    )
    height = 6
    heights = column_heights(render_terminal(plan, width=width, height=height), height, gutter=4)
    columns = width - 6
    assert heights == sorted(heights)  # a pace never takes data back
    for c, filled in enumerate(heights):
        last_step = max(c * steps // columns, (c + 1) * steps // columns - 1)
        assert filled == round(plan.data_fraction(last_step) * height * 8)
    if plan.pace.release_step < steps:  # released during training: full from its column on
        column = min(columns - 1, ((plan.pace.release_step + 1) * columns - 1) // steps)
        assert heights[column] == height * 8


def test_terminal_vocabulary_marks_and_weight_shades():
    plan = root_pos_plan(vocab=Pace("linear", start=0.1, over=10000))
    drawing = render_terminal(plan, width=80, height=12)
    assert drawing.splitlines()[0].startswith("█ data pool (root)   • vocabulary (linear)")
    assert drawing.count("•") > 40  # one mark a column
    mlm, pos = drawing.splitlines()[-2:]
    assert mlm.startswith(" mlm  █") and pos.startswith(" pos  ")
    assert pos.rstrip().endswith("▒")  # weight 0.5 of a largest 1.0
    assert "█" in pos  # weight 1.0 between 10k and 15k


def test_terminal_too_small_is_an_error():
    with pytest.raises(ValueError, match="too small"):
        render_terminal(SMALL_PLAN, width=12, height=4)


# --- the figure -------------------------------------------------------------------------


def test_figure_marks_boundaries_at_their_steps_and_jumps_vertically():
    plan = root_pos_plan(vocab=Pace("linear", start=0.1, over=10000))
    figure = timeline_figure(plan, title="root, MLM then POS")
    curves, bands = figure.axes
    boundary_x = sorted(
        {line.get_xdata()[0] for line in curves.get_lines() if line.get_gid() == "boundary"}
    )
    assert boundary_x == [8000, 10000, 15000]
    assert sum(line.get_gid() == "boundary" for line in bands.get_lines()) == 3
    labels = [t.get_text() for t in curves.texts]
    assert "data released" in labels and "objectives: pos; vocab fully released" in labels

    data = next(line for line in curves.get_lines() if line.get_gid() == "data")
    xs, ys = list(data.get_xdata()), list(data.get_ydata())
    jump = [i for i, x in enumerate(xs) if x == 8000]
    assert len(jump) == 2  # (8000, value of 7999) then (8000, 1.0): a vertical segment
    assert ys[jump[0]] == pytest.approx(plan.data_fraction(7999))
    assert ys[jump[1]] == 1.0
    assert xs == sorted(xs)
    assert curves.get_xlim() == (0, 20000)
    assert [t.get_text() for t in bands.get_yticklabels()] == ["pos", "mlm"]
    assert any(line.get_gid() == "vocab" for line in curves.get_lines())


def test_png_is_written_at_300_dpi(tmp_path):
    import matplotlib.image

    path = plot_timeline(root_pos_plan(), tmp_path / "timeline.png", title="a title")
    assert path.stat().st_size > 10_000
    image = matplotlib.image.imread(path)
    width, height = FIGURE_SIZE
    assert image.shape == (round(height * FIGURE_DPI), round(width * FIGURE_DPI), 4)
    assert image[..., :3].min() < 0.2  # something dark was drawn (axes, text)


def test_pdf_and_svg_by_suffix_and_other_suffixes_refused(tmp_path):
    plan = root_pos_plan()
    assert plot_timeline(plan, tmp_path / "t.pdf").read_bytes().startswith(b"%PDF")
    assert b"<svg" in plot_timeline(plan, tmp_path / "t.svg").read_bytes()[:1000]
    with pytest.raises(ValueError, match=r"\.png, \.pdf, \.svg"):
        plot_timeline(plan, tmp_path / "t.jpg")


def test_same_plan_same_bytes(tmp_path):
    plan = root_pos_plan()
    for suffix in (".png", ".svg"):
        first = plot_timeline(plan, tmp_path / f"a{suffix}").read_bytes()
        assert plot_timeline(plan, tmp_path / f"b{suffix}").read_bytes() == first


def test_importing_the_views_loads_no_matplotlib_or_torch():
    code = (
        "import sys, curriculumc.views.timeline, curriculumc.views.explain, "
        "curriculumc.commands.plot, curriculumc.commands.explain; "
        "print(sorted(m for m in ('matplotlib', 'torch', 'transformers', 'datasets') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the command -----------------------------------------------------------------------


@pytest.fixture
def fake_load(monkeypatch):
    monkeypatch.setattr(
        curriculumc,
        "load_with_warnings",
        lambda path, overrides=(), config_dir=None: (SMALL_PLAN, []),
    )


def test_plot_command_terminal_and_file(fake_load, tmp_path, capsys):
    assert cli.main(["plot", "--terminal", "--width", "48", "--height", "4", "spec.cur"]) == 0
    assert capsys.readouterr().out == SMALL_DRAWING + "\n"
    out = tmp_path / "timeline.svg"
    assert cli.main(["plot", "-o", str(out), "spec.cur", "train.steps=400"]) == 0
    assert out.stat().st_size > 0
    assert capsys.readouterr().out == f"wrote {out}\n"


def test_plot_command_exit_codes(fake_load, tmp_path, capsys):
    assert cli.main(["plot", "-o", str(tmp_path / "t.jpg"), "spec.cur"]) == 2
    assert ".png, .pdf or .svg" in capsys.readouterr().err
    assert cli.main(["plot", "--terminal", "--width", "10", "spec.cur"]) == 2
    assert cli.main(["plot", "--terminal", "spec.cur", "=1"]) == 2
    # a folder that does not exist: a reported error (E200), not a traceback
    assert cli.main(["plot", "-o", str(tmp_path / "no" / "t.png"), "spec.cur"]) == 1
    assert "E200" in capsys.readouterr().err


def test_plot_a_real_spec(tmp_path, capsys):
    import matplotlib.image

    spec = tmp_path / "root.cur"
    spec.write_text("train 1000 steps\nsort by sentence_length\npace step from 20% over 500\n")
    out = tmp_path / "timeline.png"
    assert cli.main(["plot", "-o", str(out), "--terminal", "--width", "60", str(spec)]) == 0
    drawing = capsys.readouterr().out
    assert "data pool (step)" in drawing and "500" in drawing
    assert matplotlib.image.imread(out).shape[:2] == (1080, 2100)
