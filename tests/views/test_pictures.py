"""Every picture the tool writes is print-ready: rendered at >= 200 dpi, no text outside the
figure, boundary labels inside their axes and clear of the curves, and panels that share
an x axis with the same limits and the same pixel extent (one step, one x position).

The pictures: ``plot`` of each spec in specs/, ``simulate -o``, and ``compare``'s plot.
Each is made through its public function; the figure is caught on its way to
``curriculumc.files.save_figure`` (patched in the module that writes it), then measured.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from support.paths import REPO
from support.scorer_corpora import corpus_from_texts

import curriculumc
from curriculumc.plan import Pace, Phase, Plan, ScorerTerm, SortSpec, TrainSpec
from curriculumc.runtime.experiments import compare, simulate
from curriculumc.views import timeline

MIN_DPI = 200
MIN_WIDTH_PX = 1200  # 6 inches at 200 dpi: a figure, not a thumbnail
SPECS = sorted((REPO / "specs").glob("*.cur"))


@pytest.fixture
def caught(monkeypatch):
    """Patch the savers of the three picture modules: each call is recorded, then run."""
    calls: list[dict] = []

    def catch(real):
        def save(figure, path, **options):
            calls.append({"figure": figure, "path": path, "options": options})
            return real(figure, path, **options)

        return save

    monkeypatch.setattr(timeline, "save_figure", catch(timeline.save_figure))
    monkeypatch.setattr(compare, "save_figure", catch(compare.save_figure))
    monkeypatch.setattr(simulate, "save_atomically", catch(simulate.save_atomically))
    return calls


# --- what is measured --------------------------------------------------------------------


def renderer_of(figure):
    """The figure drawn on an Agg canvas, once (a pyplot figure closed after saving has
    lost its canvas: it gets a new one), and its renderer."""
    if not hasattr(figure.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(figure)
    if not getattr(figure, "_drawn_for_the_test", False):
        figure.canvas.draw()
        figure._drawn_for_the_test = True
    return figure.canvas.get_renderer()


def drawn_texts(figure):
    """The visible, non-empty text artists that a draw shows: every Text in the figure,
    but of the tick labels only those of ticks inside their axis's view interval."""
    from matplotlib.text import Text

    renderer_of(figure)
    tick_labels, shown = set(), []
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-9 * max(1.0, abs(hi - lo))
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                inside = lo - eps <= tick.get_loc() <= hi + eps
                for label in (tick.label1, tick.label2):
                    tick_labels.add(label)
                    if inside:
                        shown.append(label)
    shown += [t for t in figure.findobj(Text) if t not in tick_labels]
    return [t for t in shown if t.get_visible() and t.get_text().strip()]


def texts_outside_figure(figure) -> list[str]:
    renderer = renderer_of(figure)
    box = figure.bbox
    out = []
    for text in drawn_texts(figure):
        extent = text.get_window_extent(renderer)
        if (
            extent.x0 < box.x0 - 0.5
            or extent.y0 < box.y0 - 0.5
            or extent.x1 > box.x1 + 0.5
            or extent.y1 > box.y1 + 0.5
        ):
            out.append(f"{text.get_text()!r} at {extent.bounds} outside {box.bounds}")
    return out


def x_shared_groups(figure):
    groups = []
    for axes in figure.axes:
        siblings = axes.get_shared_x_axes().get_siblings(axes)
        if len(siblings) > 1 and not any(axes in g for g in groups):
            groups.append(siblings)
    return groups


def check_shared_panels(figure) -> None:
    renderer_of(figure)
    for group in x_shared_groups(figure):
        limits = {tuple(round(v, 9) for v in a.get_xlim()) for a in group}
        assert len(limits) == 1, f"shared panels with different x limits: {limits}"
        extents = [(a.bbox.x0, a.bbox.x1) for a in group]
        assert max(abs(e[0] - extents[0][0]) + abs(e[1] - extents[0][1]) for e in extents) < 1.0, (
            f"shared panels with different pixel extents: {extents}"
        )


def check_png(path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        dpi = image.info.get("dpi")
        width = image.size[0]
    assert dpi is not None and min(dpi) >= MIN_DPI - 0.5, f"{path.name}: {dpi} dpi"
    assert width >= MIN_WIDTH_PX, f"{path.name}: {width} pixels wide"


def check_picture(call) -> None:
    figure = call["figure"]
    assert texts_outside_figure(figure) == []
    check_shared_panels(figure)
    check_png(call["path"])


def boundary_label_problems(figure) -> list[str]:
    """Boundary labels (the rotated texts of the top panel) that leave the axes or are
    crossed by a curve (a label's box would hide it)."""
    from matplotlib.path import Path

    renderer = renderer_of(figure)
    curves = figure.axes[0]
    lines = [line for line in curves.get_lines() if line.get_gid() in ("data", "vocab")]
    problems = []
    for text in curves.texts:
        if text.get_rotation() != 90:
            continue
        extent = text.get_window_extent(renderer)
        area = curves.bbox
        if not (
            extent.x0 >= area.x0 - 0.5
            and extent.x1 <= area.x1 + 0.5
            and extent.y0 >= area.y0 - 0.5
            and extent.y1 <= area.y1 + 0.5
        ):
            problems.append(f"{text.get_text()!r} leaves the axes: {extent.bounds}")
        for line in lines:
            drawn = Path(curves.transData.transform(line.get_xydata()))
            if drawn.intersects_bbox(extent, filled=False):
                problems.append(f"{text.get_text()!r} covers the {line.get_gid()} curve")
    return problems


# --- the pictures ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_timeline_of_each_spec_is_print_ready(spec, caught, tmp_path):
    plan = curriculumc.load(spec)
    timeline.plot_timeline(plan, tmp_path / "timeline.png", title=f"{spec.name}: a timeline")
    (call,) = caught
    check_picture(call)
    assert boundary_label_problems(call["figure"]) == []


def test_timeline_labels_of_crowded_boundaries_stay_inside(caught, tmp_path):
    # long words at a step where the pool is high: the label must fit below the curve
    plan = Plan(
        train=TrainSpec(steps=4000),
        sort=SortSpec((ScorerTerm("sentence_length"),)),
        pace=Pace("linear", start=0.2, over=2000),
        vocab=Pace("linear", start=0.5, over=2000),
        phases=(Phase(0, (("mlm", 1.0),)), Phase(2000, (("mlm", 1.0), ("pos", 0.5)))),
    )
    timeline.plot_timeline(plan, tmp_path / "timeline.png")
    (call,) = caught
    check_picture(call)
    assert boundary_label_problems(call["figure"]) == []


def test_simulate_figure_is_print_ready_and_its_panels_share_x(caught, tmp_path):
    texts = [" ".join(["w"] * n) for n in (7, 1, 10, 4, 2, 9, 3, 6, 8, 5)]
    names = tuple(f"corpus_with_a_long_name_{i}" for i in range(14))  # a two-column legend
    corpus, _ = corpus_from_texts(texts, sources=[i % 14 for i in range(10)], source_names=names)
    plan = Plan(
        train=TrainSpec(steps=100, batch=2),
        sort=SortSpec((ScorerTerm("sentence_length"),)),
        pace=Pace(fn="root", start=0.2, over=50),
    )
    simulate.save_figure(simulate.simulate_plan(plan, corpus), tmp_path / "exposure.png")
    (call,) = caught
    figure = call["figure"]
    assert len(x_shared_groups(figure)) == 1  # the heatmap and the shares
    check_picture(call)


def _write_run(root, name, plan, curve):
    folder = root / f"{name}-{plan.hash[:8]}"
    folder.mkdir(parents=True)
    (folder / "plan.json").write_text(plan.to_json())
    lines = [json.dumps({"step": s, "eval": "blimp", "blimp/macro": v}) for s, v in curve]
    (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n")


def test_compare_figure_is_print_ready(caught, tmp_path):
    def plan(seed, scorer="ngram_ppl"):
        return Plan(
            train=TrainSpec(steps=40, seed=seed),
            sort=SortSpec((ScorerTerm(scorer),)),
            pace=Pace("root", 0.2, 1.0, 20),
            phases=(Phase(0, (("mlm", 1.0),)), Phase(30, (("pos", 1.0),))),
        )

    def control_of(p):
        return dataclasses.replace(p, sort=SortSpec((ScorerTerm("random"),)))

    rng = np.random.default_rng(0)
    for seed in (1, 2):
        curve = [(s, 0.5 + 0.01 * s + 0.02 * rng.random()) for s in (10, 20, 30, 40)]
        _write_run(tmp_path / "runs", f"root_pos-{seed}", plan(seed), curve)
        _write_run(tmp_path / "runs", f"root_pos-control-{seed}", control_of(plan(seed)), curve)
    runs, manifest = compare.collect_runs([tmp_path / "runs"])
    groups = compare.group_runs(runs, manifest, make_control=control_of)
    comparison = compare.compare_groups(groups, resamples=50)
    compare.plot_curves(comparison, tmp_path / "compare.png")
    (call,) = caught
    check_picture(call)
