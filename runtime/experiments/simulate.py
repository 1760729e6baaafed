"""Simulate a curriculum without a model: what the sampler will draw, step by step.

:func:`exposure` runs the trainer's own sampler (:class:`CurriculumSampler`) over every
step of the schedule and aggregates what was drawn: words seen (against the BabyLM
budgets), unique examples seen, how often each difficulty decile was drawn in each tenth
of training, each source's share over time, and the step at which every example had been
seen. :func:`simulate_plan` adds the scoring; :func:`render_table` and :func:`save_figure`
show the result. No torch is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curriculumc.plan import Plan
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.ordering.order import initial_order
from curriculumc.runtime.ordering.sampler import CurriculumSampler

#: BabyLM word budgets: strict-small and strict tracks
BUDGETS = {"10M": 10_000_000, "100M": 100_000_000}
TENTHS = 10
DECILES = 10


@dataclass(frozen=True)
class Exposure:
    """What a schedule draws. Matrices count examples drawn (with repeats).

    - ``decile_by_tenth[d, k]``: draws from difficulty decile ``d`` (0 = easiest tenth of
      the order) during tenth ``k`` of training; ``decile_by_bin`` the same with ``bins``
      finer time bins (for the picture).
    - ``source_by_tenth[s, k]``: draws from source ``s`` during tenth ``k`` (and
      ``source_by_bin`` per time bin).
    - ``all_seen_step``: the first step by whose end every example had been drawn, or None.
    - ``floor_steps``: steps whose paced pool was smaller than a batch and was raised to one.
    - ``draws``: examples drawn in all (steps x batch, or as many as the token budgets took).
    - ``epoch_coverage``: for each completed epoch, the share of the corpus it drew
      (``sampling: epochs``; with pacing an epoch covers its pool); ``epoch_repeats``:
      draws that repeated an example within its epoch (0 by construction).
    - ``max_draws``: the most-drawn example's draws, ``max_draws_expected`` what uniform
      draws from each step's pool would give that example (:func:`expected_draws`).
    - ``notes``: what the reader must know (fallbacks, scorer warnings).
    """

    steps: int
    batch: int
    batch_unit: str
    sampling: str
    n_examples: int
    draws: int
    corpus_words: int
    words_seen: int
    tokens_seen: int
    unique_seen: int
    all_seen_step: int | None
    pool_first: int
    pool_last: int
    pool_full_step: int | None
    floor_steps: int
    epoch_coverage: tuple[float, ...]
    epoch_repeats: int
    max_draws: int
    max_draws_expected: float
    decile_by_tenth: np.ndarray
    decile_by_bin: np.ndarray
    source_names: tuple[str, ...]
    source_by_tenth: np.ndarray
    source_by_bin: np.ndarray
    sort: str
    notes: tuple[str, ...] = ()

    def source_unlock_order(self) -> np.ndarray:
        """Source indices by the time bin of their first draw (never drawn: last), then by
        their draws in that bin (most first)."""
        drawn = self.source_by_bin > 0
        first = np.where(drawn.any(axis=1), drawn.argmax(axis=1), drawn.shape[1])
        bins = self.source_by_bin.shape[1]
        in_first = [self.source_by_bin[s, b] if b < bins else 0 for s, b in enumerate(first)]
        return np.array(
            sorted(range(len(self.source_names)), key=lambda s: (first[s], -in_first[s], s)),
            dtype=np.int64,
        )

    def budget_share(self) -> dict[str, float]:
        """Words seen as a share of each BabyLM budget."""
        return {name: self.words_seen / words for name, words in BUDGETS.items()}

    def to_dict(self) -> dict:
        """JSON-able summary (matrices as nested lists)."""
        return {
            "steps": self.steps,
            "batch": self.batch,
            "batch_unit": self.batch_unit,
            "sampling": self.sampling,
            "examples": self.n_examples,
            "draws": self.draws,
            "corpus_words": self.corpus_words,
            "words_seen": self.words_seen,
            "tokens_seen": self.tokens_seen,
            "budget_share": self.budget_share(),
            "epochs": self.draws / self.n_examples,
            "epoch_coverage": list(self.epoch_coverage),
            "epoch_repeats": self.epoch_repeats,
            "max_draws": self.max_draws,
            "max_draws_expected": self.max_draws_expected,
            "unique_examples_seen": self.unique_seen,
            "all_seen_step": self.all_seen_step,
            "pool_first": self.pool_first,
            "pool_last": self.pool_last,
            "pool_full_step": self.pool_full_step,
            "floor_steps": self.floor_steps,
            "decile_by_tenth": self.decile_by_tenth.tolist(),
            "source_names": list(self.source_names),
            "source_by_tenth": self.source_by_tenth.tolist(),
            "sort": self.sort,
            "notes": list(self.notes),
        }


def draw_positions(sampler: CurriculumSampler, steps: int):
    """What the sampler the trainer uses draws at steps ``0..steps-1``: the positions in
    the order (flat, in draw order), the step of each draw, the epoch of each draw and the
    pool size of each step."""
    positions, epochs, sizes = [], [], np.empty(steps, dtype=np.int64)
    pools = np.empty(steps, dtype=np.int64)
    for step in range(steps):
        pools[step] = sampler.pool_size(step)
        drawn = sampler.positions(step)
        positions.append(drawn)
        epochs.append(sampler.draw_epochs(step))
        sizes[step] = len(drawn)
    empty = np.empty(0, dtype=np.int64)
    flat = np.concatenate(positions) if positions else empty
    epoch_of = np.concatenate(epochs) if epochs else empty
    step_of = np.repeat(np.arange(steps, dtype=np.int64), sizes)
    return flat, step_of, epoch_of, pools


def expected_draws(step_of: np.ndarray, pools: np.ndarray, n: int) -> np.ndarray:
    """Expected draws of each position of the order if every step drew uniformly from its
    pool: sum over steps of (draws of the step) / (pool of the step), over the steps
    whose pool holds it."""
    sizes = np.bincount(step_of, minlength=len(pools)).astype(np.float64)
    rate = sizes / np.maximum(pools, 1)
    change = np.zeros(n + 1)
    np.add.at(change, 0, rate.sum())
    np.add.at(change, pools, -rate)
    return np.cumsum(change)[:n]


def exposure(
    plan: Plan,
    corpus: TokenizedCorpus,
    order: np.ndarray,
    *,
    keys: np.ndarray | None = None,
    bins: int = 50,
    sort: str = "corpus order",
    notes: tuple[str, ...] = (),
) -> Exposure:
    """Run the sampler over ``plan.train.steps`` steps of ``order`` (with its sort ``keys``
    for ``ties include``) and count what it draws.

    Raises :class:`CurriculumError` E361 when the corpus is smaller than one batch.
    """
    sampler = CurriculumSampler.for_corpus(plan, corpus, order, keys=keys)
    steps, n = plan.train.steps, len(order)
    flat_positions, step_of, epoch_of, pools = draw_positions(sampler, steps)
    flat_examples = sampler.order[flat_positions]

    decile = flat_positions * DECILES // n
    tenth = step_of * TENTHS // max(steps, 1)
    bins = max(1, min(bins, steps))
    time_bin = step_of * bins // max(steps, 1)
    decile_by_tenth = np.bincount(decile * TENTHS + tenth, minlength=DECILES * TENTHS)
    decile_by_bin = np.bincount(decile * bins + time_bin, minlength=DECILES * bins)
    n_sources = max(len(corpus.source_names), 1)
    source = np.asarray(corpus.source, dtype=np.int64)[flat_examples]
    source_by_tenth = np.bincount(source * TENTHS + tenth, minlength=n_sources * TENTHS)
    source_by_bin = np.bincount(source * bins + time_bin, minlength=n_sources * bins)

    seen, first = np.unique(flat_examples, return_index=True)
    all_seen = int(step_of[first.max()]) if len(seen) == n else None
    full = np.flatnonzero(pools == n)
    floor_steps = sum(sampler.floor_applied(s) for s in range(steps)) if steps else 0
    words = np.asarray(corpus.words, dtype=np.int64)
    tokens = corpus.text_tokens(plan.train.seq)
    # epochs: the share of the corpus each completed epoch drew, and whether any repeated
    coverage, repeats = [], 0
    last_epoch = int(epoch_of[-1]) if len(epoch_of) else 0
    for epoch in range(last_epoch):  # the last one may be unfinished
        drawn = flat_examples[epoch_of == epoch]
        unique = len(np.unique(drawn))
        coverage.append(unique / n)
        repeats += len(drawn) - unique
    counts = np.bincount(flat_positions, minlength=n)
    expected = expected_draws(step_of, pools, n)
    most = int(counts.argmax()) if n else 0
    return Exposure(
        steps=steps,
        batch=plan.train.batch,
        batch_unit=plan.train.batch_unit,
        sampling=plan.train.sampling,
        n_examples=n,
        draws=int(len(flat_examples)),
        corpus_words=int(words.sum()),
        words_seen=int(words[flat_examples].sum()),
        tokens_seen=int(tokens[flat_examples].sum()),
        unique_seen=int(len(seen)),
        all_seen_step=all_seen,
        pool_first=int(pools[0]) if steps else 0,
        pool_last=int(pools[-1]) if steps else 0,
        pool_full_step=int(full[0]) if full.size else None,
        floor_steps=int(floor_steps),
        epoch_coverage=tuple(coverage),
        epoch_repeats=int(repeats),
        max_draws=int(counts[most]) if n else 0,
        max_draws_expected=float(expected[most]) if n else 0.0,
        decile_by_tenth=decile_by_tenth.reshape(DECILES, TENTHS),
        decile_by_bin=decile_by_bin.reshape(DECILES, bins),
        source_names=tuple(corpus.source_names),
        source_by_tenth=source_by_tenth.reshape(n_sources, TENTHS),
        source_by_bin=source_by_bin.reshape(n_sources, bins),
        sort=sort,
        notes=notes,
    )


def simulate_plan(
    plan: Plan, corpus: TokenizedCorpus, *, cache_dir: Path | str | None = None, bins: int = 50
) -> Exposure:
    """Score ``corpus`` by the plan's sort and simulate its whole schedule."""
    start = initial_order(plan, corpus, cache_dir=cache_dir, without_model=True)
    return exposure(
        plan,
        corpus,
        start.order,
        keys=start.keys,
        bins=bins,
        sort=start.described,
        notes=start.notes,
    )


# --- showing the result ----------------------------------------------------------------


def render_table(result: Exposure):
    """A rich renderable (a Group of tables) summarising ``result``."""
    from rich.console import Group
    from rich.table import Table

    summary = Table(title=f"exposure: sort by {result.sort}", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    shares = result.budget_share()
    unit = "tokens" if result.batch_unit == "tokens" else "examples"
    summary.add_row("steps x global batch", f"{result.steps:,} x {result.batch:,} {unit}")
    summary.add_row(
        "words seen",
        f"{result.words_seen:,}  ("
        + ", ".join(f"{share:.1%} of {name}" for name, share in shares.items())
        + ")",
    )
    summary.add_row("tokens seen", f"{result.tokens_seen:,}")
    epochs = result.draws / result.n_examples
    summary.add_row("corpus", f"{result.n_examples:,} examples, {result.corpus_words:,} words")
    summary.add_row("epochs (draws / examples)", f"{epochs:.2f}")
    if result.sampling == "replacement":
        summary.add_row("sampling", "with replacement across steps (no epochs)")
    elif result.epoch_coverage:
        low, high = min(result.epoch_coverage), max(result.epoch_coverage)
        shown = f"{low:.1%}" if low == high else f"{low:.1%} to {high:.1%}"
        summary.add_row(
            "corpus drawn per completed epoch",
            f"{shown} ({len(result.epoch_coverage)} epochs, {result.epoch_repeats} repeats)",
        )
    else:
        summary.add_row("sampling", "without replacement; no epoch completed")
    summary.add_row(
        "most-drawn example",
        f"{result.max_draws:,} draws (uniform draws from the pool: {result.max_draws_expected:.1f})",
    )
    summary.add_row(
        "unique examples seen",
        f"{result.unique_seen:,} ({result.unique_seen / result.n_examples:.1%})",
    )
    summary.add_row(
        "every example seen by step",
        "never" if result.all_seen_step is None else f"{result.all_seen_step:,}",
    )
    summary.add_row(
        "pool at first / last step", f"{result.pool_first:,} / {result.pool_last:,} examples"
    )
    summary.add_row(
        "whole corpus released at step",
        "never" if result.pool_full_step is None else f"{result.pool_full_step:,}",
    )
    if result.floor_steps:
        summary.add_row("steps with pool raised to one batch", f"{result.floor_steps:,}")

    deciles = Table(title="draws per difficulty decile (rows) and tenth of training (columns), %")
    deciles.add_column("decile")
    for k in range(TENTHS):
        deciles.add_column(f"{k * 10}%", justify="right")
    per_tenth = np.maximum(result.decile_by_tenth.sum(axis=0), 1)
    for d in range(DECILES):
        share = 100.0 * result.decile_by_tenth[d] / per_tenth
        label = "0 easiest" if d == 0 else ("9 hardest" if d == DECILES - 1 else str(d))
        deciles.add_row(label, *(f"{s:.0f}" for s in share))

    sources = Table(title="share of draws per source and tenth of training, %")
    sources.add_column("source")
    for k in range(TENTHS):
        sources.add_column(f"{k * 10}%", justify="right")
    source_per_tenth = np.maximum(result.source_by_tenth.sum(axis=0), 1)
    for s in result.source_unlock_order():
        name = result.source_names[s]
        share = 100.0 * result.source_by_tenth[s] / source_per_tenth
        sources.add_row(name, *(f"{v:.0f}" for v in share))
    parts = [summary, deciles, sources]
    parts.extend(result.notes)  # each says what it is: "note: ..." or "warning[CODE]: ..."
    return Group(*parts)


def save_figure(result: Exposure, path: Path | str) -> Path:
    """Write a PNG: decile x time heatmap above each source's share of draws over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    matrix = result.decile_by_bin / np.maximum(result.decile_by_bin.sum(axis=0), 1)
    image = top.imshow(
        matrix,
        aspect="auto",
        origin="lower",
        cmap="viridis",
        extent=(0, result.steps, -0.5, DECILES - 0.5),
        interpolation="nearest",
    )
    top.set_ylabel("difficulty decile (0 = easiest)")
    sort = result.sort if len(result.sort) <= 70 else result.sort[:67] + "..."
    top.set_title(f"share of draws per decile over training — sort by {sort}", fontsize="medium")
    fig.colorbar(image, ax=top, label="share of the step's draws")
    shares = result.source_by_bin / np.maximum(result.source_by_bin.sum(axis=0), 1)
    n_bins = shares.shape[1]
    edges = np.linspace(0, result.steps, n_bins + 1)
    # a step-shaped area: each bin's share held across the bin
    x = np.repeat(edges, 2)[1:-1]
    y = np.repeat(shares, 2, axis=1)
    n_sources = len(result.source_names)
    unlocked = result.source_unlock_order()  # stack sources in the order they appear
    cmap = plt.get_cmap("tab20" if n_sources <= 20 else "gist_ncar")
    colors = cmap(np.arange(n_sources) % 20 if n_sources <= 20 else np.linspace(0, 0.95, n_sources))
    bottom.stackplot(
        x, y[unlocked], labels=[result.source_names[i] for i in unlocked], colors=colors
    )
    bottom.set_xlim(0, result.steps)
    bottom.set_ylabel("share of draws")
    bottom.set_xlabel("optimizer step")
    bottom.set_ylim(0, 1)
    if len(result.source_names) <= 24:
        bottom.legend(
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            fontsize="x-small",
            ncol=2 if len(result.source_names) > 12 else 1,
        )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
