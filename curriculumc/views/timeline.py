"""A compiled curriculum as a picture: the figure for papers and run folders, and the same
picture drawn with characters for ``curriculumc plot --terminal``.

Both show, over optimizer steps, the share of the sorted data the sampler may draw from
(the pool), the share of the vocabulary in use, the phase boundaries, and which objectives
are trained with what weight. The values are sampled from the Plan's own schedule methods
(:meth:`Plan.data_fraction`, :meth:`Plan.vocab_fraction`, :meth:`Plan.objectives`) -- never a
second copy of the pacing math. The samples include both sides of every boundary step, so a
release or a ``step`` pacing function shows as a vertical jump at the right step.

matplotlib is imported inside :func:`timeline_figure` only, and draws on an Agg canvas
without pyplot, so importing this module stays instant and no global backend changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from curriculumc.files import save_figure
from curriculumc.plan import Plan

if TYPE_CHECKING:  # for annotations only: matplotlib is imported lazily
    from matplotlib.figure import Figure

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")
FIGURE_SIZE = (7.0, 3.6)  # inches: the full width of a two-column paper page
FIGURE_DPI = 300
GRID_POINTS = 600  # evenly spaced samples; boundaries are added exactly on top

# Okabe & Ito's palette: distinguishable with colour-blindness and in greyscale print
POOL_COLOUR = "#0072B2"
VOCAB_COLOUR = "#D55E00"
SEQ_COLOUR = "#555555"  # a sequence-length warmup's length (its share of train.seq)
UNIT_COLOURS = ("#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
BOUNDARY_COLOUR = "0.45"

# terminal glyphs
EIGHTHS = " ▁▂▃▄▅▆▇█"  # the pool, filled from the bottom with 1/8-row resolution
VOCAB_MARK = "•"
BOUNDARY_MARK = "┊"
SHADES = "░▒▓█"  # an objective's weight, relative to the largest weight in the plan


@dataclass(frozen=True)
class Samples:
    """The schedules sampled at ``steps`` (sorted, unique, from 0 to ``train.steps``)."""

    steps: tuple[int, ...]
    data: tuple[float, ...]
    vocab: tuple[float, ...]


@dataclass(frozen=True)
class Span:
    """Unit ``unit`` is trained with loss weight ``weight`` over steps ``[start, end)``."""

    unit: str
    start: int
    end: int
    weight: float


def sample_schedules(plan: Plan, *, points: int = GRID_POINTS) -> Samples:
    """Sample the pool and vocabulary fractions over ``[0, plan.train.steps]``.

    ``points`` evenly spaced steps, plus ``s - 1`` and ``s`` for every boundary ``s`` and
    phase start (so jumps are vertical and land on the exact step). Returns :class:`Samples`.
    """
    total = max(0, plan.train.steps)
    steps = {round(i * total / max(1, points - 1)) for i in range(points)}
    edges = {s for s, _ in plan.boundaries()} | {p.start for p in plan.phases}
    for edge in edges:
        steps.update(s for s in (edge - 1, edge) if 0 <= s <= total)
    ordered = tuple(sorted(steps))
    return Samples(
        ordered,
        tuple(plan.data_fraction(s) for s in ordered),
        tuple(plan.vocab_fraction(s) for s in ordered),
    )


def objective_spans(plan: Plan) -> tuple[Span, ...]:
    """Which unit is trained with what weight when, as spans over ``[0, plan.train.steps)``.

    Consecutive phases that give a unit the same weight are merged into one span.
    Returns spans ordered by unit (in the plan's order of first use) and then by step.
    """
    total = plan.train.steps
    cuts = sorted({0, total} | {p.start for p in plan.phases if 0 < p.start < total})
    spans: list[Span] = []
    for lo, hi in zip(cuts, cuts[1:]):
        for unit, weight in plan.objectives(lo).items():
            previous = next((s for s in reversed(spans) if s.unit == unit), None)
            if previous and previous.end == lo and previous.weight == weight:
                spans[spans.index(previous)] = Span(unit, previous.start, hi, weight)
            else:
                spans.append(Span(unit, lo, hi, weight))
    order = _unit_order(plan, spans)
    return tuple(sorted(spans, key=lambda s: (order[s.unit], s.start)))


def format_steps(step: float) -> str:
    """A step count for an axis: ``950``, ``2k``, ``1.5k``, ``12.5k``, ``1M``."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if abs(step) >= size:
            return f"{step / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{step:g}"


# --- the figure ----------------------------------------------------------------------


def timeline_figure(plan: Plan, *, title: str | None = None) -> Figure:
    """Draw the plan's timeline on a new matplotlib figure and return it (not saved).

    Top panel: pool and vocabulary fractions (0--100 %) over steps, with a dashed vertical
    line (``gid="boundary"``) at each boundary of :meth:`Plan.boundaries`, labelled.
    Bottom panel: one band per unit, its bars as tall and as opaque as the loss weight.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

    total = max(1, plan.train.steps)
    samples = sample_schedules(plan)
    spans = objective_spans(plan)
    units = list(_unit_order(plan, spans))
    max_weight = max((s.weight for s in spans), default=1.0) or 1.0

    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=FIGURE_SIZE, dpi=FIGURE_DPI, layout="constrained")
        # the Agg canvas, set on this figure only: no pyplot, no global backend switch, so a
        # notebook or GUI session that calls this keeps its own backend
        FigureCanvasAgg(figure)
        band_height = 0.35 + 0.3 * max(1, len(units))
        if plan.mix is None:
            curves, bands = figure.subplots(
                2, 1, sharex=True, height_ratios=(2.6, band_height), gridspec_kw={"hspace": 0.04}
            )
            panels = (curves, bands)
        else:  # a third panel: the mix's shares, stacked
            curves, bands, mixed = figure.subplots(
                3, 1, sharex=True, height_ratios=(2.6, band_height, 1.0),
                gridspec_kw={"hspace": 0.04},
            )  # fmt: skip
            panels = (curves, bands, mixed)
            _mix_panel(mixed, plan, samples)

        # pool and vocabulary
        edges = _edges(plan)
        data_x, data_y = _vertical_jumps(samples.steps, samples.data, edges)
        curves.fill_between(data_x, data_y, color=POOL_COLOUR, alpha=0.12, lw=0)
        curves.plot(data_x, data_y, color=POOL_COLOUR, lw=1.6, label=_pool_label(plan), gid="data")
        if plan.vocab.fn != "none":
            curves.plot(
                *_vertical_jumps(samples.steps, samples.vocab, edges),
                color=VOCAB_COLOUR,
                lw=1.4,
                ls=(0, (4, 2)),
                label=f"vocabulary ({plan.vocab.fn})",
                gid="vocab",
            )
        if plan.seq_warmup is not None:  # the length as a share of the model's positions
            curves.plot(
                samples.steps,
                [plan.seq_at(s) / plan.train.seq for s in samples.steps],
                color=SEQ_COLOUR,
                lw=1.3,
                ls=(0, (1, 1.5)),
                drawstyle="steps-post",
                label=f"seq length (÷ {plan.train.seq} positions)",
                gid="seq",
            )
        if plan.batch_ramp is not None:  # the batch as a share of train.batch
            curves.plot(
                samples.steps,
                [plan.batch_at(s) / plan.train.batch for s in samples.steps],
                color=SEQ_COLOUR,
                lw=1.3,
                ls=(0, (3, 1, 1, 1)),
                drawstyle="steps-post",
                label=f"batch (÷ {plan.train.batch} examples)",
                gid="batch",
            )
        curves.set_ylim(0, 1.04)
        curves.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        curves.yaxis.set_major_formatter(PercentFormatter(1.0))
        curves.set_ylabel("share released")
        curves.grid(axis="y", color="0.9", lw=0.6)
        # above the panel, right-aligned: inside it would cover curves or boundary labels
        curves.legend(
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            ncols=2,
            frameon=False,
            handlelength=2.2,
            borderaxespad=0.2,
        )
        if title:  # a row of its own above the legend, wrapped to the figure's width
            heading = figure.suptitle(title, x=0.01, ha="left", fontsize=9, fontweight="bold")
            _wrap_to_width(heading, figure.bbox.width * 0.97, figure.canvas.get_renderer())

        # objectives: one band per unit, weight as bar height and opacity
        for row, unit in enumerate(units):
            colour = UNIT_COLOURS[row % len(UNIT_COLOURS)]
            y = len(units) - 1 - row  # first unit on top
            for span in (s for s in spans if s.unit == unit):
                share = span.weight / max_weight
                height = 0.25 + 0.5 * share
                bands.broken_barh(
                    [(span.start, span.end - span.start)],
                    (y - height / 2, height),
                    facecolor=colour,
                    alpha=0.45 + 0.55 * share,
                    lw=0,
                    gid=f"unit:{unit}",
                )
                if span.weight != 1.0 and (span.end - span.start) / total > 0.06:
                    bands.text(
                        (span.start + span.end) / 2,
                        y,
                        f"×{span.weight:g}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="0.15",
                    )
        bands.set_yticks(range(len(units)), list(reversed(units)))
        bands.set_ylim(-0.6, max(0.6, len(units) - 0.4))
        bands.tick_params(axis="y", length=0)
        bands.spines["left"].set_visible(False)
        bands.set_ylabel("objectives")

        # boundaries: dashed verticals through both panels
        for step, _words in _grouped_boundaries(plan):
            for axes in panels:
                axes.axvline(step, color=BOUNDARY_COLOUR, lw=0.8, ls=(0, (3, 2.5)), gid="boundary")

        bottom = panels[-1]
        bottom.set_xlim(0, total)
        bottom.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10], integer=True))
        bottom.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: format_steps(x)))
        bottom.set_xlabel("optimizer step")

        # the labels are fitted to the settled layout: each along its line, in a gap the
        # curves leave free there, wrapped or smaller when the gap is short
        figure.draw_without_rendering()
        renderer = figure.canvas.get_renderer()
        for step, words in _grouped_boundaries(plan):
            _boundary_label(curves, plan, samples, step, words, renderer)
    return figure


def mix_shares(plan: Plan, steps) -> dict[str, list[float]]:
    """Each mixed source's share of the examples at each of ``steps`` (``Plan.mix_weights``,
    the sampler's rule): what the mix panel stacks and the terminal's mix rows shade."""
    if plan.mix is None:
        return {}
    rows = [plan.mix_weights(s) for s in steps]
    return {name: [row[name] for row in rows] for name in plan.mix.sources}


def _mix_panel(axes, plan: Plan, samples: Samples) -> None:
    """The mix's shares of each step's examples, stacked (one colour per source)."""
    from matplotlib.ticker import PercentFormatter

    shares = mix_shares(plan, samples.steps)
    below = [0.0] * len(samples.steps)
    for index, (name, values) in enumerate(shares.items()):
        above = [b + v for b, v in zip(below, values)]
        axes.fill_between(samples.steps, below, above, step="post", lw=0, label=name,
                          color=UNIT_COLOURS[index % len(UNIT_COLOURS)], alpha=0.75,
                          gid=f"mix:{name}")  # fmt: skip
        below = above
    axes.set_ylim(0, 1)
    axes.set_yticks([0, 0.5, 1.0])
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylabel("mix")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)


def plot_timeline(plan: Plan, path: str | Path, *, title: str | None = None) -> Path:
    """Write the plan's timeline figure to ``path`` (PNG at 300 dpi, or PDF / SVG by suffix).

    Returns the path written. Raises ``ValueError`` for another suffix and ``OSError`` when
    the file cannot be written.
    """
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise ValueError(
            f"cannot write a {path.suffix or 'suffix-less'} file: use one of "
            + ", ".join(FIGURE_SUFFIXES)
        )
    figure = timeline_figure(plan, title=title)
    # metadata pinned so that the same plan gives the same bytes (no date, no version)
    metadata = {
        ".png": {"Software": None},
        ".pdf": {"CreationDate": None, "Producer": None, "Creator": None},
        ".svg": {"Date": None, "Creator": None},
    }[path.suffix.lower()]
    import matplotlib

    with matplotlib.rc_context(_STYLE):  # svg.hashsalt is read while saving
        save_figure(figure, path, dpi=FIGURE_DPI, metadata=metadata)
    return path


_STYLE = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.7,
    "xtick.major.width": 0.7,
    "ytick.major.width": 0.7,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "svg.hashsalt": "curriculumc",  # stable ids in SVG output
    "pdf.fonttype": 42,  # TrueType in PDFs: journals ask for it, and text stays editable
}


def _edges(plan: Plan) -> set[int]:
    """Steps where a schedule may jump: boundaries and phase starts."""
    return {s for s, _ in plan.boundaries()} | {p.start for p in plan.phases}


def _vertical_jumps(
    steps: tuple[int, ...], values: tuple[float, ...], edges: set[int]
) -> tuple[list[float], list[float]]:
    """The polyline through the samples, with each edge ``s`` drawn as a vertical segment.

    The value of step ``t`` holds over ``[t, t + 1)``, so just left of ``s`` the curve is at
    the value of ``s - 1``: a point ``(s, value(s - 1))`` is put before ``(s, value(s))``.
    """
    xs: list[float] = []
    ys: list[float] = []
    previous: tuple[int, float] | None = None
    for step, value in zip(steps, values):
        if step in edges and previous is not None and previous[0] == step - 1:
            xs.append(step)
            ys.append(previous[1])
        xs.append(step)
        ys.append(value)
        previous = (step, value)
    return xs, ys


LABEL_FONT_SIZES = (6.5, 5.5)  # points: the boundary labels, smaller when they do not fit
LABEL_OFFSET = 2.5  # points between a boundary line and its label
LABEL_MARGIN = 3.0  # points kept free between a label and a curve or the axes' edge


def _label_layouts(words: list[str]):
    """The ways to write a boundary's words, longest lines first: on one line, one line per
    event, then each event wrapped ever narrower -- each at each of LABEL_FONT_SIZES."""
    import textwrap

    texts = ["; ".join(words), "\n".join(words)]
    for width in (24, 16, 10):
        texts.append("\n".join(line for w in words for line in textwrap.wrap(w, width)))
    texts = list(dict.fromkeys(texts))
    return [(text, size) for size in LABEL_FONT_SIZES for text in texts]


def _boundary_label(curves, plan: Plan, samples: Samples, step: int, words, renderer):
    """Label the boundary at ``step`` along its line (left of it, or right where the left
    is outside the axes), rotated, in the tallest vertical gap that the pool and
    vocabulary curves leave over the label's width; the first layout of
    :func:`_label_layouts` that fits is used. When none fits, the smallest is shortened
    with an ellipsis to the axes' height. Returns the text artist (``gid="boundary-label"``)."""
    from matplotlib.transforms import ScaledTranslation, blended_transform_factory

    figure = curves.figure
    points = figure.dpi / 72
    area = curves.bbox
    margin = LABEL_MARGIN * points
    y_low, y_high = curves.get_ylim()
    to_pixels = area.height / (y_high - y_low)
    base = blended_transform_factory(curves.transData, curves.transAxes)
    step_x = curves.transData.transform((step, 0))[0]

    def curve_values(x0: float, x1: float, side: int) -> list[float]:
        """The curves' values over steps ``[x0, x1]``, on the label's side of the line (the
        value of step t holds over [t, t + 1))."""
        lo, hi = max(0, math.floor(x0)), min(plan.train.steps, math.floor(x1))
        probes = {s for s in samples.steps if lo <= s <= hi} | {lo, hi}
        probes = {s for s in probes if (s < step if side < 0 else s >= step)}
        probes = probes or {max(0, step - 1) if side < 0 else step}
        values = [plan.data_fraction(s) for s in probes]
        if plan.vocab.fn != "none":
            values += [plan.vocab_fraction(s) for s in probes]
        return values

    def place(text: str, size: float, side: int, y: float, va: str):
        offset = ScaledTranslation(side * LABEL_OFFSET / 72, 0, figure.dpi_scale_trans)
        artist = curves.text(
            step,
            y,
            text,
            transform=base + offset,
            rotation=90,
            ha="right" if side < 0 else "left",
            va=va,
            multialignment="left" if va == "bottom" else "right",
            fontsize=size,
            color="0.25",
            gid="boundary-label",
            bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1.0},
        )
        artist.set_in_layout(False)  # inside the axes: not a margin of the layout
        return artist

    def gap_for(artist, side: int):
        """The (bottom, top) in data units of the tallest free gap over the artist's
        width and whether the artist, as tall as it is, fits in it."""
        extent = artist.get_window_extent(renderer)
        x0, x1 = (curves.transData.inverted().transform((x, 0))[0] for x in (extent.x0, extent.x1))
        values = sorted(curve_values(x0, x1, side))
        edges = [y_low, *values, y_high]
        gaps = list(zip(edges, edges[1:]))
        lo, hi = max(gaps, key=lambda g: g[1] - g[0])
        # a curve's own line and the label's box need room on both sides of a gap
        room = (hi - lo) * to_pixels - 2 * margin
        return lo, hi, extent.height <= room

    chosen = None
    for text, size in _label_layouts(list(words)):
        for side in (-1, 1):
            artist = place(text, size, side, 0.5, "center")
            extent = artist.get_window_extent(renderer)
            if side < 0 and extent.x0 < area.x0 or side > 0 and extent.x1 > area.x1:
                artist.remove()
                continue
            lo, hi, fits = gap_for(artist, side)
            artist.remove()
            if fits:
                chosen = (text, size, side, lo, hi)
                break
        if chosen:
            break
    if chosen is None:  # nothing fits: the smallest layout, shortened to the axes' height
        text, size = _label_layouts(list(words))[-1]
        side = -1 if step_x - area.x0 > area.x1 - step_x else 1
        artist = place(text, size, side, margin / area.height, "bottom")
        _shorten_to_height(artist, area.height - 2 * margin, renderer)
        return artist
    text, size, side, lo, hi = chosen
    if hi >= y_high:  # the gap above every curve: hang the label from the top
        return place(text, size, side, 1 - margin / area.height, "top")
    y = (lo - y_low) / (y_high - y_low) + margin / area.height
    return place(text, size, side, y, "bottom")


def _shorten_to_height(artist, height: float, renderer) -> None:
    """Cut each line of a rotated text until it is at most ``height`` pixels tall."""
    lines = artist.get_text().split("\n")
    while artist.get_window_extent(renderer).height > height and max(map(len, lines)) > 2:
        longest = max(range(len(lines)), key=lambda i: len(lines[i]))
        lines[longest] = lines[longest].rstrip("…")[:-1].rstrip() + "…"
        artist.set_text("\n".join(lines))


def _wrap_to_width(artist, width: float, renderer) -> None:
    """Wrap a text at spaces until it is at most ``width`` pixels wide."""
    import textwrap

    if artist is None:
        return
    words = artist.get_text()
    columns = len(words)
    while artist.get_window_extent(renderer).width > width and columns > 10:
        columns = int(columns * 0.85)
        artist.set_text("\n".join(textwrap.wrap(words, columns)))


def _pool_label(plan: Plan) -> str:
    if plan.pace.fn == "none":
        return "data pool (all data)"
    fns = [fn for fn, *_ in plan.pace.stage_spans()]
    if len(fns) > 1 and set(fns) == {"step"}:
        return f"data pool ({len(fns) + 1} discrete shares)"
    return f"data pool ({', then '.join(fns)})"


# --- the terminal picture ------------------------------------------------------------


def _shade(share: float) -> str:
    """The terminal picture's shade of a share in (0, 1]."""
    return SHADES[min(len(SHADES) - 1, int(share * len(SHADES) - 1e-9))]


def render_terminal(plan: Plan, *, width: int = 80, height: int = 12) -> str:
    """The timeline drawn with characters, ``width`` columns wide, no colour.

    ``height`` rows of chart (the pool filled with block characters, the vocabulary as
    ``•`` when it is paced, boundaries as ``┊``), an axis with the boundary steps labelled,
    then one row per unit whose shade gives its weight. Column ``c`` shows the schedules at
    the last step it covers, so a change at step ``s`` shows from the column holding ``s``.
    Deterministic for a given plan, width and height. Raises ``ValueError`` when the
    picture does not fit (chart narrower than 10 columns or ``height`` < 2).
    """
    total = plan.train.steps
    spans = objective_spans(plan)
    units = list(_unit_order(plan, spans))
    mixed = plan.mix.sources if plan.mix is not None else ()
    gutter = max([4] + [len(u) for u in units] + [min(16, len(f"mix {n}")) for n in mixed])
    columns = width - gutter - 2
    if columns < 10 or height < 2:
        raise ValueError(f"a {width}×{height} terminal is too small for the timeline")
    if total <= 0:
        return "(the plan trains for 0 steps)"

    steps = [_column_step(c, columns, total) for c in range(columns)]
    marks = {_column_of(s, columns, total) for s, _ in plan.boundaries() if s < total}
    data = [plan.data_fraction(s) for s in steps]
    vocab = [plan.vocab_fraction(s) for s in steps] if plan.vocab.fn != "none" else None

    lines = [_legend(plan)[:width]]
    for row in range(height):  # row 0 is the top
        level = height - 1 - row  # eighths below this row: level * 8
        cells = []
        for c in range(columns):
            filled = min(8, max(0, round(data[c] * height * 8) - level * 8))
            cell = EIGHTHS[filled]
            if vocab is not None and min(height - 1, int(vocab[c] * height)) == level:
                cell = VOCAB_MARK
            if cell == " " and c in marks:
                cell = BOUNDARY_MARK
            cells.append(cell)
        label = {0: "100%", height // 2: "50%" if height % 2 == 0 else ""}.get(row, "")
        lines.append(f"{label:>{gutter}} {'┤' if label else '│'}{''.join(cells)}")
    axis = "".join("┴" if c in marks else "─" for c in range(columns))
    lines.append(f"{'0%':>{gutter}} └{axis}")
    lines.append(" " * (gutter + 2) + _step_labels(plan, columns, total))

    max_weight = max((s.weight for s in spans), default=1.0) or 1.0
    for unit in units:
        cells = []
        for c, step in enumerate(steps):
            weight = plan.objectives(step).get(unit, 0.0)
            if weight > 0:
                cells.append(_shade(weight / max_weight))
            else:
                cells.append(BOUNDARY_MARK if c in marks else " ")
        lines.append(f"{unit:>{gutter}}  {''.join(cells)}")
    if plan.seq_warmup is not None:  # the length, shaded as a share of train.seq
        shares = [plan.seq_at(s) / plan.train.seq for s in steps]
        lines.append(f"{'seq':>{gutter}}  {''.join(_shade(v) for v in shares)}")
    if plan.batch_ramp is not None:  # the batch, shaded as a share of train.batch
        shares = [plan.batch_at(s) / plan.train.batch for s in steps]
        lines.append(f"{'batch':>{gutter}}  {''.join(_shade(v) for v in shares)}")
    for name, values in mix_shares(plan, steps).items():  # a row per mixed source
        cells = [
            _shade(v) if v > 0
            else (BOUNDARY_MARK if c in marks else " ")
            for c, v in enumerate(values)
        ]  # fmt: skip
        label = f"mix {name}"[:gutter] if len(f"mix {name}") > gutter else f"mix {name}"
        lines.append(f"{label:>{gutter}}  {''.join(cells)}")
    return "\n".join(line.rstrip() for line in lines)


def _column_step(column: int, columns: int, total: int) -> int:
    """The last step of the range ``[c*total//columns, (c+1)*total//columns)``."""
    lo, hi = column * total // columns, (column + 1) * total // columns
    return max(lo, hi - 1)


def _column_of(step: int, columns: int, total: int) -> int:
    """The column whose range holds ``step``: the largest c with ``c*total//columns <= step``."""
    return min(columns - 1, ((step + 1) * columns - 1) // total)


def _legend(plan: Plan) -> str:
    parts = [f"█ {_pool_label(plan)}"]
    if plan.vocab.fn != "none":
        parts.append(f"{VOCAB_MARK} vocabulary ({plan.vocab.fn})")
    if plan.boundaries():
        parts.append(f"{BOUNDARY_MARK} boundary")
    return "   ".join(parts)


def _step_labels(plan: Plan, columns: int, total: int) -> str:
    """``0``, the last step, and each boundary step under its column where there is room."""
    row = [" "] * columns
    taken = [False] * columns

    def place(text: str, start: int) -> None:
        start = min(max(0, start), columns - len(text))
        lo, hi = max(0, start - 1), min(columns, start + len(text) + 1)
        if start < 0 or any(taken[lo:hi]):
            return  # no room: a neighbour's label wins
        row[start : start + len(text)] = text
        taken[start : start + len(text)] = [True] * len(text)

    place("0", 0)
    end = format_steps(total)
    place(end, columns - len(end))
    for step in sorted({s for s, _ in plan.boundaries() if s < total}):
        text = format_steps(step)
        place(text, _column_of(step, columns, total) - len(text) // 2)
    return "".join(row)


# --- shared ----------------------------------------------------------------------------


def _grouped_boundaries(plan: Plan) -> list[tuple[int, list[str]]]:
    grouped: dict[int, list[str]] = {}
    for step, words in plan.boundaries():
        grouped.setdefault(step, []).append(words)
    return sorted(grouped.items())


def _unit_order(plan: Plan, spans: list[Span] | tuple[Span, ...]) -> dict[str, int]:
    """Units in the order the plan declares them, then any others in order of first use."""
    used = [s.unit for s in sorted(spans, key=lambda s: s.start)]
    names = [u.name for u in plan.units if u.name in used]
    names += [n for n in dict.fromkeys(used) if n not in names]
    return {name: i for i, name in enumerate(names)}
