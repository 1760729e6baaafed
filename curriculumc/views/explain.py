"""A compiled curriculum in words: what ``curriculumc explain`` prints.

:func:`explain` turns a :class:`~curriculumc.plan.Plan` into a short plain-text timeline: what
the data is sorted by (and how each scorer scores), how it is paced, how ties at the pool's
edge are decided, how batches are made and drawn (the definitions of docs/language.md,
"What your curriculum means"), then one block per stretch of training in which
nothing changes (split at every step of :meth:`Plan.boundaries` and at every phase start),
and the totals. Every number shown comes from the Plan's own schedule methods
(:meth:`Plan.data_fraction`, :meth:`Plan.vocab_fraction`, :meth:`Plan.objectives`) -- there
is no second copy of the pacing math here.

The text has no colour and wraps at a fixed width, so tests compare it exactly.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

from curriculumc import pos_tags, registry
from curriculumc.lang.builder import canonical_unit_name
from curriculumc.lang.printer import call_text, percent_text
from curriculumc.plan import EvalSpec, Pace, Plan, Resolved, ScorerTerm, Time, Unit

LABEL_WIDTH = 14  # "  objectives" plus two spaces: values line up in one column
MAX_LISTED_EVALS = 5  # longer lists are shortened to "a, b, ..., z (n times)"
#: model_ppl's re-scoring interval when the spec gives none (the runtime scorer's default;
#: tests/views/test_explain.py checks the two agree)
MODEL_PPL_EVERY = 1000


@dataclass(frozen=True)
class Segment:
    """Steps ``[start, end)`` over which the objectives do not change and no boundary falls.

    ``reasons`` are the :meth:`Plan.boundaries` labels of the step ``start`` (empty for 0).
    """

    start: int
    end: int
    reasons: tuple[str, ...] = ()


def first_scoring(plan: Plan) -> int | None:
    """The step of a self-paced sort's first scoring (``model_ppl(first=S)``, by default
    its ``every``): before it, all data is drawn uniformly. None when the sort has none."""
    for term in plan.sort.terms if plan.sort else ():
        if term.name == "model_ppl":
            kwargs = dict(term.kwargs)
            every = kwargs.get("every", MODEL_PPL_EVERY)
            return kwargs.get("first", every)
    return None


def segments(plan: Plan) -> tuple[Segment, ...]:
    """Split ``[0, plan.train.steps)`` at every boundary and phase start (and at a
    self-paced sort's first scoring).

    Returns the segments in order; an empty tuple when the plan has no steps.
    """
    total = plan.train.steps
    if total <= 0:
        return ()
    reasons: dict[int, list[str]] = {}
    first = first_scoring(plan)
    if first is not None and 0 < first < total:
        reasons[first] = ["first model_ppl scoring"]
    for step, what in plan.boundaries():
        reasons.setdefault(step, []).append(what)
    cuts = {0, total}
    cuts.update(step for step in reasons if step < total)
    cuts.update(p.start for p in plan.phases if 0 < p.start < total)
    ordered = sorted(cuts)
    return tuple(
        Segment(lo, hi, tuple(reasons.get(lo, ()))) for lo, hi in zip(ordered, ordered[1:])
    )


def explain(plan: Plan, *, width: int = 80, times: tuple[Resolved, ...] | None = None) -> str:
    """The plan's timeline in words, wrapped at ``width`` columns (no colour).

    Takes a compiled :class:`Plan` -- or one resolved against its data (:meth:`Plan.
    resolve`) with how its times in data resolved (``times``). A plan that counts times in
    data and is not resolved is explained up to those times: each is listed with what it
    will resolve to once the data is known. Returns the text, ending without a newline.
    Raises ``ValueError`` when ``width`` is too small to lay the text out (< 40).
    """
    if width < 40:
        raise ValueError(f"width {width} is too small for explain (need at least 40)")
    # (label, value): label None = a title flush left, "" = continues the row above;
    # a row None = a blank line
    rows: list[tuple[str | None, str] | None] = []
    rows += _header(plan)
    if plan.needs_data_clock:
        rows.append(None)
        rows += _unresolved_rows(plan)
        return "\n".join(_layout(rows, width))
    if times:
        rows.append(None)
        rows += _resolved_rows(times)
    for segment in segments(plan):
        rows.append(None)
        rows.append((None, _segment_title(plan, segment)))
        rows += _segment_body(plan, segment)
    rows.append(None)
    rows += _totals(plan)
    return "\n".join(_layout(rows, width))


# --- the parts -------------------------------------------------------------------------


def _unresolved_rows(plan: Plan) -> list[tuple[str | None, str]]:
    """What a plan that counts times in data will resolve, before the data is known."""
    rows: list[tuple[str | None, str]] = [(None, "Times counted in data")]
    written = [
        text + (" (1M, 2M, ... 10M, 20M, ... 100M, 200M, ... 1B words, up to the training's "
                "length)" if text == "checkpoint babylm" else "")
        for text in plan.data_time_texts()
    ]  # fmt: skip
    label = "written"
    for text in written:
        rows.append((label, text))
        label = ""
    rows.append(("resolves to", "the first step by which the run has drawn that many words "
                 "or tokens (as the trainer counts them seen) or examples (an epoch: as many "
                 "as the corpus has); a pace in data reads what was drawn before each step"))  # fmt: skip
    rows.append(("", "the sampler's draws are a pure function of the seed, the plan and the "
                 "data, so every time resolves before training, the same in every run: "
                 "`curriculumc explain --resolve` (prepares the data) and `curriculumc "
                 "simulate` show the steps; `run` records them in times.json"))  # fmt: skip
    return rows


def _resolved_rows(times: tuple[Resolved, ...]) -> list[tuple[str | None, str]]:
    """How each time counted in data resolved (the steps the rest of the text uses)."""
    rows: list[tuple[str | None, str]] = [(None, "Times counted in data, resolved")]
    label = "resolved"
    for entry in times:
        text = f"{entry.what} {entry.time.text()}"
        if entry.step is None:
            text += ": not reached within training"
        else:
            drawn = dict(entry.drawn)
            unit = "examples" if entry.time.unit == "epochs" else entry.time.unit
            name = f" = {entry.name}" if entry.name else ""
            text += (f" → step {_steps(entry.step)}{name} ({_steps(drawn.get(unit, 0))} "
                     f"{unit} drawn by then)")  # fmt: skip
        rows.append((label, text))
        label = ""
    return rows


def _header(plan: Plan) -> list[tuple[str, str]]:
    rows = [("sorted by", _sort_text(plan))]
    scoring = [text for text in map(_scoring_text, plan.sort.terms if plan.sort else ()) if text]
    if scoring:
        rows.append(("scoring", "; ".join(scoring)))
    rows.append(("data pace", _pace_text(plan.pace, "data", plan.train.steps)))
    if plan.pace.fn != "none" and plan.sort is not None and plan.sort.terms:
        rows.append(("ties", _ties_text(plan)))
    rows.append(("vocabulary", _pace_text(plan.vocab, "vocabulary", plan.train.steps)))
    if plan.vocab.fn != "none":
        rows.append(("vocab order", _vocab_rule_text(plan)))
    rows.append(("batch", _batch_text(plan)))
    rows.append(("sampling", _sampling_text(plan)))
    rows += _mix_rows(plan)
    rows += _seq_rows(plan)
    # a unit's definition, as the language writes it, when its name does not already say
    # it: 'nv = pos(noun, verb)', never 'mlm(mask=0.15) = mlm(mask=0.15)' for an inline one
    definitions = ((u.name, canonical_unit_name(u.objective, u.args, u.kwargs)) for u in plan.units)
    defined = [f"{name} = {text}" for name, text in definitions if text != name]
    if defined:
        rows.append(("units", "; ".join(defined)))
    split = [text for text in map(_corruption_text, plan.trained_units()) if text]
    if split:
        rows.append(("corruption", "; ".join(split)))
    for unit in plan.trained_units():
        if unit.lr is not None:
            rows.append(("head lr", _head_lr_text(plan, unit)))
    return rows


def _vocab_rule_text(plan: Plan) -> str:
    """The order a vocabulary curriculum releases tokens in, and what it hides them from."""
    rule, start = plan.vocab_rule, plan.vocab.start
    tags = pos_tags.VOCAB_TAG_ORDER
    named = ", ".join(_tag_word(t) for t in tags[:3])
    if rule.order == "token_ids":
        text = (
            "by token id: the lowest ids first (a BPE's bytes and first merges, its most "
            "frequent pieces)"
        )
    elif rule.order == "pos_tags":
        visible = pos_tags.visible_tags(start)
        text = (
            f"by POS tag class — {named}, … ({' < '.join(tags)}); at the start "
            f"({_pct(start)}) the tokens tagged {', '.join(visible)} are visible"
        )
    else:
        top = start * (len(tags) - 1)
        whole = [t for r, t in enumerate(tags) if r <= top - 1]
        part = math.floor(top)
        text = f"by POS tag class and, within a class, by token id — {named}, …; at the start"
        text += f" ({_pct(start)}) "
        shown = []
        if whole:
            shown.append(f"every token tagged {', '.join(whole)}")
        if part < len(tags) and top - part > 0:
            shown.append(f"the {tags[part]} tokens with id up to {_pct(top - part)} of the "
                         "vocabulary size")  # fmt: skip
        text += " and ".join(shown) + " are visible" if shown else "no tagged token is visible"
    if rule.order != "token_ids":
        text += (
            " (by the POS tag of each occurrence: the data needs POS tags; an untagged token "
            "ranks as X)"
        )
    if rule.hides == "inputs":
        text += (
            "; hidden tokens are <unk> in the inputs only: token targets (MLM/CLM labels) keep them"
        )
    else:
        text += "; hidden tokens are <unk> in inputs and token targets (POS tags stay)"
    return text + "; special tokens are never hidden"


def _tag_word(tag: str) -> str:
    return {"NOUN": "nouns first", "VERB": "then verbs", "ADJ": "adjectives"}.get(tag, tag)


def _corruption_text(unit: Unit) -> str | None:
    """How a corrupting unit chooses and hides tokens: ``mlm: 15% of tokens chosen: 80%
    <mask>, 10% random, 10% kept`` (None for a unit that reads the clean batch)."""
    kwargs = dict(unit.kwargs)
    split = {k: kwargs.get(k, registry.DEFAULT_CORRUPTION[k]) for k, _ in registry.CORRUPTION}
    if unit.objective == "mlm":
        chosen = f"{percent_text(kwargs.get('mask', registry.MLM_MASK))} of tokens chosen"
    elif unit.objective == "pos":
        tags = ", ".join(unit.args)
        if unit.args and len(unit.args) < len(pos_tags.UNIVERSAL_TAGS):
            mask = kwargs.get("mask", registry.POS_MASK_RESTRICTED)
            other = kwargs.get("mask_other", registry.POS_MASK_OTHER)
            chosen = (f"{percent_text(mask)} of {tags} tokens and {percent_text(other)} of "
                      "the others chosen")  # fmt: skip
        else:
            chosen = f"{percent_text(kwargs.get('mask', registry.POS_MASK_OTHER))} of tokens chosen"
    else:
        return None
    masked = 1 - split["random"] - split["keep"]
    return (
        f"{unit.name}: {chosen}: {percent_text(round(masked, 12))} <mask>, "
        f"{percent_text(split['random'])} random, {percent_text(split['keep'])} kept"
    )


def _head_lr_text(plan: Plan, unit: Unit) -> str:
    """A unit's own head schedule, from the plan's active spans (:meth:`Plan.head_lr`)."""
    n = sum(hi - lo for lo, hi in plan.active_spans(unit.name))
    w = math.floor(unit.head_warmup * n)
    return (
        f"{unit.name}'s head trains at lr {_rate(unit.lr)}: linear warm-up over "
        f"{percent_text(unit.head_warmup)} of its {_steps(n)} active steps ({_steps(w)} "
        f"step{'s' * (w != 1)}), then linear decay to 0 at its last active step"
    )


def _sort_text(plan: Plan) -> str:
    if plan.sort is None or not plan.sort.terms:
        return "nothing (the data keeps its order)"
    terms = plan.sort.terms
    if len(terms) == 1:
        text = _term(terms[0])
    else:
        text = " + ".join(f"{t.weight:g} × {_term(t)}" for t in terms) + " (z-scored)"
    if _is_random(plan):
        return f"{text}: a fixed random order (the control)"
    order = "descending, hardest first" if plan.sort.descending else "ascending, easiest first"
    return f"{text}, {order}"


def _term(term: ScorerTerm) -> str:
    return _call(term.name, term.args, term.kwargs)


def _scoring_text(term: ScorerTerm) -> str | None:
    """How a scorer scores, where that is a choice the reader should see (else None)."""
    kwargs = dict(term.kwargs)
    if term.name == "ngram_ppl":
        folds = kwargs.get("folds", 1)
        if folds == 1:
            return (
                f"{_term(term)} scored in-sample: the n-gram model is trained on the sentences "
                "it scores (the seed system's rule)"
            )
        return f"{_term(term)} cross-fitted over {folds} folds: each example scored by a model " + (
            "trained on the other fold" if folds == 2 else f"trained on the other {folds - 1} folds"
        )
    if term.name == "model_ppl":
        every = kwargs.get("every", MODEL_PPL_EVERY)
        first = kwargs.get("first", every)
        if first == 0:
            start = "scored first at step 0 (by the untrained model)"
        else:
            start = f"all data, uniformly, until the first scoring at step {_steps(first)}"
        return (
            f"{_term(term)}: {start}, then re-scored every {_steps(every)} steps with the "
            "model being trained; every token of an example is scored"
        )
    if term.name == "reference_ppl":
        return (
            f"{_term(term)}: scored once, before training, by the saved reference model (not "
            "the one being trained), which reads each example's text with its own tokenizer: "
            "mean negative log-likelihood per token (masked: pseudo-log-likelihood; causal: "
            "next-token)"
        )
    return None


def _ties_text(plan: Plan) -> str:
    if plan.pace.ties == "include":
        return (
            "ties included: every example at or below the pool's percentile score (the seed "
            "system's rule); the pool may hold more than the fraction"
        )
    return (
        f"ties at the edge of the pool: broken by a seeded random order (seed "
        f"{plan.train.seed}), never by file position"
    )


def _batch_text(plan: Plan) -> str:
    train = plan.train
    if train.batch_unit == "tokens":
        text = (
            f"batches of {_steps(train.batch)} tokens of text (<s>, </s> and padding not "
            "counted), each step as "
            "many examples as fit"
        )
    elif plan.batch_ramp is not None:
        ramp = plan.batch_ramp
        text = f"batches growing from {ramp.start} to {ramp.end} examples by {ramp.increment}"
        if ramp.unit == "steps":
            firsts = [next(t for t in range(math.ceil(ramp.over) + 1) if ramp.size(t) >= size)
                      for size in ramp.sizes()]  # fmt: skip
            text += " (" + ", ".join(f"{size} from step {_steps(first)}"
                                     for size, first in zip(ramp.sizes(), firsts)) + ")"  # fmt: skip
        else:
            text += f" over {_steps(ramp.over)} {ramp.unit} drawn"
        text += ("; the learning rate follows the examples drawn (Megatron's batch ramp: "
                 "warm-up and decay end at their steps)")  # fmt: skip
    else:
        text = f"batches of {_steps(train.batch)} examples"
    if train.grad_accum > 1:
        text += f"; gradients accumulated over {train.grad_accum} parts of each step"
    return text


def _mix_rows(plan: Plan) -> list[tuple[str, str]]:
    """The data mixture, phase by phase with its weights, and what it means."""
    mix = plan.mix
    if mix is None:
        return []
    rows: list[tuple[str, str]] = []
    start: float = 0
    label = "data mix"
    for number, phase in enumerate(mix.phases, start=1):
        if mix.unit == "steps":
            end = plan.train.steps if phase.until is None else min(phase.until, plan.train.steps)
            when = f"steps {_steps(start)}–{_steps(max(start, end))}"
            if phase.until is not None and phase.until >= plan.train.steps:
                when += " (to the end: its 'until' is not reached)"
        else:
            upto = (
                "the end" if phase.until is None else f"{Time(phase.until, mix.unit).text()} drawn"
            )
            begun = "the start" if not start else f"{Time(start, mix.unit).text()} drawn"
            when = f"from {begun} to {upto}"
        shares = ", ".join(f"{name} {_pct(weight)}" for name, weight in phase.weights)
        rows.append((label, f"phase {number}, {when}: {shares}"))
        label = ""
        start = phase.until if phase.until is not None else start
    rows.append(("", "each step's examples are split between the sources by these shares "
                 "(within a phase, each source's running count within one example of its share); a "
                 "source a phase does not name is not drawn in it; within a source, the pace "
                 "releases its share of that source's examples in sort order, drawn "
                 + ("afresh every step" if plan.train.sampling == "replacement"
                    else "without replacement within the source's own epochs")))  # fmt: skip
    return rows


def _seq_rows(plan: Plan) -> list[tuple[str, str]]:
    """A sequence-length warmup: its schedule, and what it means (``Plan.seq_at``)."""
    warm = plan.seq_warmup
    if warm is None:
        return []
    if warm.unit == "steps":
        ramp = math.floor(warm.over) if warm.fn != "step" else warm.over
        when = f"over {_steps(ramp)} steps"
        if warm.after:
            when += f", starting at step {_steps(warm.after)}"
        reached = f"{warm.end} from step {_steps(plan.step_at(warm.ends_at, 'steps'))} on"
    else:
        when = f"over {Time(warm.over, warm.unit).text()} drawn"
        if warm.after:
            when += f", starting at {Time(warm.after, warm.unit).text()}"
        reached = f"{warm.end} once that much is drawn (a function of the {warm.unit} drawn " \
            "before each step)"  # fmt: skip
    rows = [("seq warmup", f"{warm.fn} from {warm.start} to {warm.end} positions {when}, in "
             f"whole multiples of {warm.multiple} (rounded down); {reached}; the model keeps "
             f"{plan.train.seq} positions")]  # fmt: skip
    budget = plan.train.batch_unit == "tokens"
    rows.append(("", "an input of step t is <s>, at most seq(t) − 2 tokens of text, </s>: a "
                 "longer example is truncated (as Composer does), never skipped; tokens and "
                 "words seen (and times in data) are counted at seq(t); "
                 + ("the token budget holds each step's tokens: early steps take more, "
                    "shorter examples" if budget else
                    f"each step is {_steps(plan.train.batch)} examples, so early steps read "
                    "fewer tokens (write 'batch N tokens' to hold tokens per step)")))  # fmt: skip
    return rows


def _sampling_text(plan: Plan) -> str:
    if plan.train.sampling == "replacement":
        return (
            "every step drawn afresh from the pool (examples may repeat across steps, as in "
            "curriculumc v1)"
        )
    text = (
        "batches drawn without replacement within an epoch: every released example once "
        "before any repeats"
    )
    if plan.pace.fn != "none":
        text += "; examples released mid-epoch join the epoch's remaining draws at random places"
    if plan.sort is not None and any(t.name == "model_ppl" for t in plan.sort.terms):
        text += "; an epoch restarts at each re-scoring"
    return text


def _call(name: str, args: tuple, kwargs: tuple) -> str:
    parts = [_scalar(a) for a in args] + [f"{k}={_scalar(v)}" for k, v in kwargs]
    return call_text(name, parts)


def _scalar(value) -> str:
    # a display, not DSL text: six significant digits read better than a float's repr
    return f"{value:g}" if isinstance(value, float) else str(value)


def _pace_text(pace: Pace, what: str, steps: int = 0) -> str:
    if pace.fn == "none":
        whole = "all data" if what == "data" else "the full vocabulary"
        return f"none: {whole} from the start"
    if pace.unit != "steps":
        return _data_pace_text(pace)
    if pace.stages:
        return _stages_text(pace)
    return _stage_text(pace, steps)


def _stages_text(pace: Pace) -> str:
    """A staged pace, stage by stage; the discrete form (every stage a ``step`` with no
    pause) as its shares and the steps they take effect at."""
    spans = pace.stage_spans()
    if pace.after == 0 and all(fn == "step" and s.after == 0 for (fn, *_), s in
                               zip(spans[1:], pace.stages)):  # fmt: skip
        levels = [f"{_pct(spans[0][1])} from step 0"]
        levels += [f"{_pct(end)} from step {_steps(begins + over)}"
                   for _, _, end, begins, over in spans]  # fmt: skip
        return f"discrete, {len(levels)} shares: " + ", ".join(levels)
    parts = []
    for number, (fn, start, end, begins, over) in enumerate(spans, start=1):
        parts.append(
            f"stage {number}: {fn} {_pct(start)} → {_pct(end)}, steps {_steps(begins)}–"
            f"{_steps(begins + over)}"
        )
    return "; ".join(parts)


def _data_pace_text(pace: Pace) -> str:
    """A pace counted in data drawn (``pace root from 10% over 1M words``)."""

    def at(value: float) -> str:
        return Time(value, pace.unit).text()

    parts = []
    for number, (fn, start, end, begins, over) in enumerate(pace.stage_spans(), start=1):
        lead = f"stage {number}: " if pace.stages else ""
        parts.append(f"{lead}{fn} from {_pct(start)} to {_pct(end)} over {at(over)} drawn"
                     + (f", starting at {at(begins)}" if begins else ""))  # fmt: skip
    release = pace.release_at
    if release is not None and pace.release is not None and pace.release < 1.0:
        parts[-1] += f", released at {at(release)} ({_pct(pace.release)})"
    return "; ".join(parts) + f" (a function of the {pace.unit} drawn before each step)"


def _stage_text(pace: Pace, steps: int) -> str:
    text = f"{pace.fn} from {_pct(pace.start)}"
    if pace.end != 1.0:
        text += f" to {_pct(pace.end)}"
    if isinstance(pace.over, float) or isinstance(pace.after, float):
        # an exact share of training that is not a whole step: say what the plan holds
        if pace.after:
            text += f": from step {_steps(pace.after)}"
            if steps:
                text += f" ({percent_text(pace.after / steps)} of training)"
            text += ","
        ramp = math.floor(pace.over)
        text += f" over {_steps(ramp)} steps"
        if pace.fn == "step":
            text += f" (it jumps at step {_steps(pace.after + pace.over)})"
        elif isinstance(pace.over, float):
            text += f" (the ramp's whole steps; it ends at step {_steps(pace.after + pace.over)})"
    else:
        text += f" over {_steps(pace.over)} steps"
        if pace.after:
            text += f", starting at step {_steps(pace.after)}"
    release = pace.release_step
    if release is not None and pace.release is not None and pace.release < 1.0:
        text += f", released at {_steps(release)} ({_pct(pace.release)})"
    return text


def _examples(plan: Plan, start: int, end: int) -> int:
    """Examples drawn by steps ``start .. end - 1`` (:meth:`Plan.examples_before`; a batch
    ramp counted in data, unresolved: at the full batch, an upper bound)."""
    ramp = plan.batch_ramp
    if ramp is not None and ramp.unit != "steps" and plan.clock is None:
        return (end - start) * plan.train.batch
    return plan.examples_before(end) - plan.examples_before(start)


def _segment_title(plan: Plan, segment: Segment) -> str:
    span = segment.end - segment.start
    if plan.train.batch_unit == "tokens":
        drawn = f"up to {_steps(span * plan.train.batch)} tokens"
    else:
        drawn = f"{_steps(_examples(plan, segment.start, segment.end))} examples"
    return (
        f"steps {_steps(segment.start)}–{_steps(segment.end)} "
        f"({_steps(span)} step{'s' * (span != 1)}, {drawn})"
    )


def _segment_body(plan: Plan, segment: Segment) -> list[tuple[str, str]]:
    first, last = segment.start, segment.end - 1
    rows = [("  changes", "; ".join(segment.reasons))] if segment.reasons else []
    scoring = first_scoring(plan)
    if scoring is not None and first < scoring:
        data = "all data, uniformly (nothing scored yet)"
    else:
        data = _share_text(plan, plan.data_fraction(first), plan.data_fraction(last), "data",
                           first)  # fmt: skip
    rows += [
        ("  data", data),
        ("  objectives", _objectives_text(plan.objectives(first))),
        ("  forwards", _forwards_text(plan, plan.objectives(first))),
        (
            "  vocabulary",
            _share_text(
                plan, plan.vocab_fraction(first), plan.vocab_fraction(last), "vocabulary", first
            ),  # fmt: skip
        ),
    ]
    if plan.seq_warmup is not None:
        low, high = plan.seq_at(first), plan.seq_at(last)
        shape = plan.seq_warmup.fn
        rows.append(("  seq", f"{low} positions, fixed" if low == high else
                     f"{low} → {high} positions, rising ({shape})"))  # fmt: skip
    if plan.evals:
        listed = [_eval_text(plan, e, segment) for e in plan.evals]
        listed = [text for text in listed if text]
        rows.append(("  evals", "; ".join(listed) if listed else "none"))
    return rows


def _share_text(plan: Plan, first: float, last: float, what: str, step: int = 0) -> str:
    """How much of the data (or vocabulary) is released over one segment (from ``step``;
    the shape named is that of the stage in force there)."""
    pace = plan.pace if what == "data" else plan.vocab
    shape = pace.stage_spans()[pace.stage_at(step)][0] if pace.fn != "none" else pace.fn
    mixed = what == "data" and plan.mix is not None  # the pace's share of each source
    if first == 1.0 and last == 1.0:
        if mixed:
            return "all of each source"
        return "all data" if what == "data" else "full vocabulary"
    # the vocabulary is released lowest ids first; for a BPE those are the bytes and the
    # earliest (most frequent) merges -- "the first 10%" says no more than that
    which = f"{_pool_word(plan)} " if what == "data" else ""
    noun = "of the data" if what == "data" else "of the vocabulary"
    if mixed:
        noun = "of each source"
    if first == last:
        return f"{which}{_pct(first)} {noun}, fixed ({shape})"
    direction = "rising" if last > first else "falling"
    return f"{which}{_pct(first)} → {_pct(last)} {noun}, {direction} ({shape})"


def _pool_word(plan: Plan) -> str:
    if plan.sort is None or not plan.sort.terms:
        return "first"
    if _is_random(plan):
        return "a random"
    return "hardest" if plan.sort.descending else "easiest"


def _is_random(plan: Plan) -> bool:
    return plan.sort is not None and all(t.name == "random" for t in plan.sort.terms)


def _objectives_text(weights: dict[str, float]) -> str:
    if not weights:
        return "none (no loss is trained)"
    return " + ".join(f"{name} ×{weight:g}" for name, weight in weights.items())


def _forwards_text(plan: Plan, weights: dict[str, float]) -> str:
    """What a step of these objectives costs in backbone forwards
    (:func:`curriculumc.registry.forwards_per_step`)."""
    objectives = []
    for name in weights:
        try:
            objectives.append(plan.unit(name).objective)
        except KeyError:
            objectives.append(name)
    n = registry.forwards_per_step(objectives)
    signatures = registry.objectives()
    corrupted = sum(
        1 for o in objectives if signatures.get(o, registry.Signature()).inputs == "corrupted"
    )
    text = f"{n} backbone forward{'s' * (n != 1)} a step"
    if corrupted > 1:
        text += ": each corrupting objective reads its own corruption"
        if n > corrupted:
            text += ", plus one of the clean batch"
    return text


def _eval_text(plan: Plan, spec: EvalSpec, segment: Segment) -> str:
    steps = plan.evaluation_steps(spec, segment.start, segment.end)
    if not steps:
        return ""
    items = registry.eval_items(spec).short()
    times = f"{len(steps)} × " if len(steps) > 1 else ""
    return f"{spec.name} at {_step_list(steps)} ({times}{items})"


def _step_list(steps: list[int]) -> str:
    if len(steps) <= MAX_LISTED_EVALS:
        return ", ".join(_steps(s) for s in steps)
    shown = ", ".join(_steps(s) for s in steps[:2])
    return f"{shown}, …, {_steps(steps[-1])} ({len(steps)} times)"


def _totals(plan: Plan) -> list[tuple[str, str]]:
    train = plan.train
    if train.batch_unit == "tokens":
        # an example is at most seq - 2 tokens of text and a step stops only when the next
        # would not fit, so a step holds at least batch // (seq - 2) of them
        longest = max(train.seq - 2, 1)
        fit = train.batch // longest
        rows = [
            (
                "total",
                f"{_steps(train.steps)} steps × {_steps(train.batch)} tokens"
                f" = up to {_steps(train.steps * train.batch)} tokens",
            ),
            (
                "",
                f"at least {_steps(train.steps * fit)} examples drawn ({_steps(fit)} or more "
                f"a step: each example is at most {longest} tokens of text)",
            ),
        ]
    else:
        # the batch is the optimizer step's (accumulation splits it, never adds to it);
        # examples of the "line" unit are truncated to seq and padded: seq is an upper bound
        upto = "" if plan.data.unit == "packed" else "up to "
        rows = [
            (
                "total",
                f"{_steps(train.steps)} steps, batch {train.batch} × seq {train.seq}"
                f" = {upto}{_steps(train.batch * train.seq)} tokens per step",
            ),
            (
                "",
                f"{_steps(_examples(plan, 0, train.steps))} examples drawn,"
                f" {upto}{_steps(_examples(plan, 0, train.steps) * train.seq)} tokens",
            ),
        ]
    for spec in plan.evals:
        runs = plan.evaluation_steps(spec)
        how = []
        if spec.every:
            how.append(f"every {_steps(spec.every)} steps")
        before_end = [s for s in spec.at_steps if s < plan.train.steps]
        if before_end:  # a resolved plan's times in data (listed above, "resolved")
            how.append(f"at {_step_list(before_end)}")
        if spec.at_phases:
            how.append("at phase boundaries")
        how.append("at the end")
        where = f" ({spec.path})" if spec.path else ""
        count = f"{len(runs)} evaluation{'s' * (len(runs) != 1)}"
        when = " and ".join(how)  # at most three parts: every N, at phases, at the end
        rows.append(("", f"{spec.name}{where} {when}: {count}"))
        rows.append(("", _eval_cost_text(spec, len(runs))))
        if spec.name != "ppl" and (spec.ties, spec.pll) != ("strict", "pll"):
            rules = {"strict": "a tie counts wrong", "babylm": "a tie counts right, as the "
                     "official BabyLM pipeline counts it"}  # fmt: skip
            rows.append(("", f"{spec.name}: headline accuracy with ties {spec.ties} "
                         f"({rules[spec.ties]}; results carry both), PLL {spec.pll}"))  # fmt: skip
    if any(registry.eval_items(spec).unit == "pairs" for spec in plan.evals):
        rows.append(("", _scoring_cost_text(plan)))
    return rows


def _eval_cost_text(spec: EvalSpec, runs: int) -> str:
    """What the runs of one evaluation score (:func:`curriculumc.registry.eval_items`):
    items a run, then items and sentences in all."""
    items = registry.eval_items(spec)
    text = f"{spec.name}: each run {items.text()}"
    if items.at_most is None:
        return text + " (how many is in the data)"
    bound = "" if items.exact else "up to "
    total = f"{bound}{runs * items.at_most:,} {items.unit}"
    if items.unit == "pairs":
        total += f", {runs * items.sentences:,} sentences scored"
    return f"{text}; in all {total}"


def _scoring_cost_text(plan: Plan) -> str:
    """What scoring a sentence costs: the count of forwards is the plan's family's."""
    if plan.model.family == "masked":
        return (
            "scoring: 2 sentences a pair; the masked model's pseudo-log-likelihood is one "
            "forward per token of each sentence (10 for a 10-token sentence)"
        )
    return "scoring: 2 sentences a pair; the causal model reads each in one forward"


# --- formatting ------------------------------------------------------------------------


def _steps(n: int | float) -> str:
    """A step count with thousands separators; a fractional one (an exact share of
    training) with its decimals, as the plan holds it: ``18.75``."""
    if isinstance(n, float):
        return f"{n:,.12g}" if n.is_integer() else f"{n:,.6f}".rstrip("0").rstrip(".")
    return f"{n:,}"


def _rate(value: float) -> str:
    """A learning rate as a researcher writes it: ``1e-3``, ``2.5e-4``, ``0.05``."""
    if value == 0 or value >= 1e-2:
        return f"{value:g}"
    mantissa, exponent = f"{value:.6e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def _pct(x: float) -> str:
    """A share as a percentage with at most one decimal; never shows 100% or 0% for a share
    that is not exactly that (a pool at 99.99% is not all the data)."""
    value = round(x * 100, 1)
    if value == 100 and x < 1:
        return "≈100%"
    if value == 0 and x > 0:
        return "≈0%"
    return f"{value:g}%"


def _layout(rows: list[tuple[str | None, str] | None], width: int) -> list[str]:
    lines: list[str] = []
    for row in rows:
        if row is None:
            lines.append("")
            continue
        label, value = row
        if label is None:  # a segment title; its wrapped tail is indented a little
            first, rest = "", "    "
        else:
            first, rest = f"{label:<{LABEL_WIDTH}}", " " * LABEL_WIDTH
        lines += textwrap.wrap(
            value,
            width=width,
            initial_indent=first,
            subsequent_indent=rest,
            break_on_hyphens=False,
        )
    return lines
