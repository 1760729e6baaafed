"""The run's clock: what it draws before each step, and the plan resolved against it.

A plan may count times in data -- ``train 2M words``, ``at 5M words pos``, ``eval blimp
every 500k words``, ``checkpoint babylm``, ``pace root over 50M words`` -- rather than in
optimizer steps. The sampler's draws are a pure function of (seed, step, plan, data), and
they never depend on those times (a pace counted in data reads the draws before its step,
never the training's length), so replaying them gives, before training, the words, tokens
and examples drawn by every step: a :class:`curriculumc.plan.Clock`. Each time then
resolves to the first step count by which it has been drawn (:meth:`Plan.resolve`). The
trainer, ``simulate`` and ``explain --resolve`` all resolve here.
"""

from __future__ import annotations

import math

import numpy as np

from curriculumc.errors import CurriculumError
from curriculumc.plan import Clock, Plan, Resolved
from curriculumc.runtime.ordering.sampler import CurriculumSampler

#: the most steps a clock replays (a length in words that the data cannot reach stops here)
MOST_STEPS = 10**8
E_CLOCK = "E366"
W_NOT_REACHED = "W010"


def draw_clock(plan: Plan, corpus, order: np.ndarray, *, keys: np.ndarray | None = None) -> Clock:
    """Replay ``plan``'s sampler over ``corpus`` in ``order`` (sort ``keys`` for ``ties
    include``) and count what every step draws: until the training's length is reached
    (``train 2M words``), else for ``train.steps`` steps.

    Raises :class:`CurriculumError` E366 when the length cannot be reached (no example has
    a word, or more than :data:`MOST_STEPS` steps), E361 (the sampler's) when the corpus is
    smaller than one batch.
    """
    sampler = CurriculumSampler.for_corpus(plan, corpus, order, keys=keys, track=True)
    length = plan.train.length
    if length is None:
        return sampler.clock(plan.train.steps)
    readings = {"words": 1, "tokens": 2, "epochs": 0}
    index = readings[length.unit]
    target = length.value
    if length.unit == "epochs":
        target = math.ceil(length.value * len(order) - 1e-9)
    # a step draws at least one example and one token; words may be 0 (an example of
    # punctuation only), so a length in words that an epoch does not advance stops
    per_epoch = math.ceil(len(order) / max(1, _batch_examples(plan))) + 1
    step, last_progress, last_value = 0, 0, 0
    while True:
        value = sampler.drawn_before(step)[index]
        if value >= target:
            return sampler.clock(step)
        if value > last_value:
            last_progress, last_value = step, value
        if step - last_progress > per_epoch or step >= MOST_STEPS:
            raise CurriculumError.single(
                E_CLOCK,
                f"training for {length.text()} cannot end: after {step:,} steps the run has "
                f"drawn {value:,} {length.unit}",
                hint="check the data's word counts, or give the length in steps or tokens",
            )
        # draw ahead a stretch at a time: the totals of each are kept as they are drawn
        step += 1


def _batch_examples(plan: Plan) -> int:
    """The fewest examples a step draws (a token budget: one; a batch ramp: its start)."""
    if plan.train.batch_unit == "tokens":
        return 1
    return int(plan.batch_ramp.start if plan.batch_ramp is not None else plan.train.batch)


def resolve_plan(plan: Plan, corpus, order: np.ndarray, *, keys=None) -> tuple[Plan, tuple]:
    """``plan`` resolved against its data: (the plan in steps with its clock, how each
    time resolved). A plan that counts nothing in data comes back as it is."""
    if not plan.needs_data_clock:
        return plan, ()
    clock = draw_clock(plan, corpus, order, keys=keys)
    return plan.resolve(clock)


def resolution_record(plan: Plan, table: tuple[Resolved, ...]) -> dict:
    """What the run folder records of a resolution (``times.json``): the written times,
    the steps they resolved to and what had been drawn by then, and the training's
    length in steps."""
    return {
        "steps": plan.train.steps,
        "times": [entry.to_dict() for entry in table],
        "paces": [
            {"what": what, "unit": pace.unit, "function": pace.fn}
            for what, pace in plan.data_paces()
        ],
    }


def resolution_lines(table: tuple[Resolved, ...]) -> list[str]:
    """One line per resolved time: ``2M words -> step 15,210 (2,000,118 words drawn)``."""
    lines = []
    for entry in table:
        what = f"{entry.what}: {entry.time.text()}"
        if entry.step is None:  # its phase never starts, its checkpoint is never made
            lines.append(f"warning[{W_NOT_REACHED}]: {what} is not reached within training")
            continue
        drawn = dict(entry.drawn)
        unit = entry.time.unit
        count = drawn.get("examples" if unit == "epochs" else unit, 0)
        shown = f"{count:,} {'examples' if unit == 'epochs' else unit} drawn"
        name = f" = {entry.name}" if entry.name else ""
        lines.append(f"{what} -> step {entry.step:,}{name} ({shown})")
    return lines


def resolve_with_data(plan: Plan, *, cache_dir=None) -> tuple[Plan, tuple[Resolved, ...]]:
    """Prepare ``plan``'s data (cached, as a run does), order it by the plan's sort and
    resolve the plan's times against it: what ``explain --resolve`` shows. No torch."""
    from curriculumc.runtime.data.prepare import default_cache_dir, prepare_data
    from curriculumc.runtime.ordering.order import initial_order

    cache_dir = default_cache_dir() if cache_dir is None else cache_dir
    corpus = prepare_data(plan, cache_dir=cache_dir).corpus
    start = initial_order(plan, corpus, cache_dir=cache_dir, without_model=True)
    return resolve_plan(plan, corpus, start.order, keys=start.keys)
