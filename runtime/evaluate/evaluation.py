"""Minimal-pair accuracy and held-out perplexity of a trained model.

:func:`evaluate_pairs` scores every distinct sentence of a :class:`PairSet` once (see
:mod:`curriculumc.runtime.evaluate.likelihoods`) and judges each pair by one of two tie
rules (:data:`TIE_RULES`), the *headline* rule of the result:

- ``strict`` (the default): correct when the good sentence scores strictly higher than
  the bad one. A tie is *not* correct and is counted, so a model that gives every
  sentence the same score gets 0 % with every pair a tie.
- ``babylm``: the BabyLM 2025 pipeline's rule (``sentence_zero_shot/compute_results.py``,
  ``rank_and_evaluate``): it stacks the candidates' scores, the right one first, takes
  ``torch.max(..., dim=1)[1]`` -- the index of the *first* maximum -- and counts the pair
  right when that index is 0. So a tie with the good sentence counts as correct, and
  with more than two candidates (entity tracking, WUG) the good one must score at least
  as high as the best of the others.

With more than two candidates the ``bad`` score of a pair is the best wrong candidate's.
Every result carries both rules' accuracies (per paradigm, per field, macro) whatever
its headline rule, which it names (``ties_rule``); ``accuracy``/``macro``/``per_field``
and ``correct`` are the headline rule's (what ``compare`` and the metrics read). The PLL
variant of a masked model is named too (``pll``; null for a causal model).
Accuracies are fractions in [0, 1]; the macro average is the mean over paradigms and a
field's figure is the mean over its paradigms (BLiMP's convention).

:func:`perplexity` is exp(-sum log-likelihood / tokens scored) over a list of texts: true
perplexity for causal models, pseudo-perplexity (Salazar et al., 2020) for masked ones.

JSON written by :meth:`PairResult.to_json` (``format`` ``curriculumc.eval/1``)::

    {"format", "pairs": {name, source}, "family", "pll", "ties_rule", "n_pairs",
     "macro", "macro_strict", "macro_babylm", "ties", "wall_s", "pairs_per_s",
     "per_field": {field: accuracy}, "per_field_strict": {...}, "per_field_babylm": {...},
     "paradigms": {name: {"field", "n", "accuracy", "accuracy_strict", "accuracy_babylm",
                          "ties", "pair_ids": [...], "correct": [1|0, ...],
                          "good": [score, ...], "bad": [score, ...]}}}

(Files written before the tie rules were named have neither ``ties_rule`` nor the
``_strict``/``_babylm`` keys; they were ``strict`` and read back so.)

A pair with a sentence longer than the model's positions is *skipped* and counted per
paradigm (``"skipped"`` in a paradigm's entry and at the top, present only when some
pair was skipped; a paradigm with every pair skipped has no accuracy and does not enter
the averages). :func:`check_eval_inputs` finds all of this before training starts, and
:class:`EvalOutcomes` tells the trainer when an evaluation failed every time it ran.

Scores are kept exact (rounding could turn a narrow win into a tie when the result is
read back, so ties and accuracy would disagree); the per-pair lists let ``compare`` run a paired
bootstrap across runs. Rendering (:func:`result_tables`) builds rich tables and prints
nothing; colour is added only by the command line.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

from curriculumc import registry
from curriculumc.errors import CurriculumError
from curriculumc.plan import DataSpec
from curriculumc.runtime.data.readers import load_raw
from curriculumc.runtime.evaluate.likelihoods import (
    model_family,
    position_limit,
    score_sentences_with_counts,
    sentence_lengths,
)
from curriculumc.runtime.evaluate.minimal_pairs import PairSet

RESULT_FORMAT = "curriculumc.eval/1"
#: how a tie of the good sentence with the best wrong one is judged (module docstring)
TIE_RULES = registry.TIE_RULES


def is_correct(good: float, bad: float, rule: str) -> bool:
    """One pair under a tie rule: ``strict`` good > bad; ``babylm`` good >= bad (the
    pipeline's first-index argmax, the good sentence first)."""
    if rule == "strict":
        return good > bad
    if rule == "babylm":
        return good >= bad
    raise CurriculumError.single(
        "E610", f"unknown tie rule {rule!r}", hint=f"use one of {', '.join(TIE_RULES)}"
    )


#: the one name of held-out (pseudo-)perplexity, in metrics.jsonl, summaries and eval JSON
PERPLEXITY_METRIC = "ppl/dev"


@dataclass(frozen=True)
class ParadigmResult:
    """Outcomes of one paradigm, pair by pair (``correct[i]`` is 1 or 0)."""

    name: str
    field: str
    pair_ids: tuple[str, ...]
    correct: tuple[int, ...]
    good_scores: tuple[float, ...]
    bad_scores: tuple[float, ...]
    skipped: int = 0  # pairs not scored: a sentence longer than the model's positions
    ties_rule: str = "strict"  # the rule ``correct`` and ``accuracy`` follow

    @property
    def n(self) -> int:
        return len(self.pair_ids)

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / self.n if self.n else 0.0

    def accuracy_by(self, rule: str) -> float:
        """Accuracy under a tie rule (:data:`TIE_RULES`), from the scores."""
        right = sum(is_correct(g, b, rule) for g, b in zip(self.good_scores, self.bad_scores))
        return right / self.n if self.n else 0.0

    @property
    def ties(self) -> int:
        return sum(g == b for g, b in zip(self.good_scores, self.bad_scores))


@dataclass(frozen=True)
class PairResult:
    """Minimal-pair results of one model on one pair set.

    ``wall_s`` is the time spent scoring (0 when unknown, e.g. built from scores).
    """

    pairs_name: str
    pairs_source: str
    family: str
    paradigms: tuple[ParadigmResult, ...]
    wall_s: float = 0.0
    ties_rule: str = "strict"  # the headline rule: accuracy, macro, per_field, correct
    pll: str | None = None  # the PLL variant of a masked model; None for causal

    @property
    def per_paradigm(self) -> dict[str, float]:
        """Accuracy of each paradigm with a scored pair, in pair-set order."""
        return {p.name: p.accuracy for p in self.scored_paradigms}

    @property
    def scored_paradigms(self) -> tuple[ParadigmResult, ...]:
        """The paradigms with at least one scored pair (those the averages are over)."""
        return tuple(p for p in self.paradigms if p.n)

    @property
    def skipped(self) -> int:
        """Pairs not scored (a sentence longer than the model's positions)."""
        return sum(p.skipped for p in self.paradigms)

    @property
    def per_field(self) -> dict[str, float]:
        """Mean paradigm accuracy of each field, fields sorted by name."""
        groups: dict[str, list[float]] = {}
        for p in self.scored_paradigms:
            groups.setdefault(p.field, []).append(p.accuracy)
        return {field: sum(v) / len(v) for field, v in sorted(groups.items())}

    @property
    def macro(self) -> float:
        """Mean accuracy over paradigms (with a scored pair)."""
        scored = self.scored_paradigms
        return sum(p.accuracy for p in scored) / len(scored) if scored else 0.0

    def macro_by(self, rule: str) -> float:
        """The macro accuracy under a tie rule (:data:`TIE_RULES`)."""
        scored = self.scored_paradigms
        return sum(p.accuracy_by(rule) for p in scored) / len(scored) if scored else 0.0

    def per_field_by(self, rule: str) -> dict[str, float]:
        """:attr:`per_field` under a tie rule."""
        groups: dict[str, list[float]] = {}
        for p in self.scored_paradigms:
            groups.setdefault(p.field, []).append(p.accuracy_by(rule))
        return {field: sum(v) / len(v) for field, v in sorted(groups.items())}

    @property
    def ties(self) -> int:
        return sum(p.ties for p in self.paradigms)

    @property
    def n_pairs(self) -> int:
        return sum(p.n for p in self.paradigms)

    @property
    def pairs_per_s(self) -> float:
        return self.n_pairs / self.wall_s if self.wall_s > 0 else 0.0

    def to_metrics(self, prefix: str = "blimp") -> dict[str, float]:
        """Flat metrics: ``<prefix>/macro`` (the headline rule), ``<prefix>/macro_strict``
        and ``<prefix>/macro_babylm``, ``<prefix>/<paradigm>``, ``<prefix>/field/<field>``,
        and ``<prefix>/ties``."""
        metrics = {f"{prefix}/macro": self.macro, f"{prefix}/ties": float(self.ties)}
        metrics.update({f"{prefix}/macro_{rule}": self.macro_by(rule) for rule in TIE_RULES})
        metrics.update({f"{prefix}/{name}": acc for name, acc in self.per_paradigm.items()})
        metrics.update({f"{prefix}/field/{field}": acc for field, acc in self.per_field.items()})
        if self.skipped:
            metrics[f"{prefix}/skipped"] = float(self.skipped)
        return metrics

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (shape in the module docstring)."""
        data = {
            "format": RESULT_FORMAT,
            "pairs": {"name": self.pairs_name, "source": self.pairs_source},
            "family": self.family,
            "pll": self.pll,
            "ties_rule": self.ties_rule,
            "n_pairs": self.n_pairs,
            "macro": self.macro,
            **{f"macro_{rule}": self.macro_by(rule) for rule in TIE_RULES},
            "ties": self.ties,
            "wall_s": round(self.wall_s, 3),
            "pairs_per_s": round(self.pairs_per_s, 2),
            "per_field": self.per_field,
            **{f"per_field_{rule}": self.per_field_by(rule) for rule in TIE_RULES},
            "paradigms": {
                p.name: {
                    "field": p.field,
                    "n": p.n,
                    "accuracy": p.accuracy,
                    **{f"accuracy_{rule}": p.accuracy_by(rule) for rule in TIE_RULES},
                    "ties": p.ties,
                    "pair_ids": list(p.pair_ids),
                    "correct": list(p.correct),
                    "good": list(p.good_scores),
                    "bad": list(p.bad_scores),
                    **({"skipped": p.skipped} if p.skipped else {}),
                }
                for p in self.paradigms
            },
        }
        if self.skipped:
            data["skipped"] = self.skipped
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PairResult:
        """Rebuild a result from :meth:`to_json` output.

        Raises :class:`CurriculumError` (E640) when ``data`` is not such output.
        """
        if data.get("format") != RESULT_FORMAT:
            raise CurriculumError.single(
                "E640", f"not a curriculumc evaluation result (format {data.get('format')!r})"
            )
        rule = data.get("ties_rule", "strict")  # files from before the rules were named
        paradigms = tuple(
            ParadigmResult(
                name,
                entry["field"],
                tuple(entry["pair_ids"]),
                tuple(entry["correct"]),
                tuple(entry["good"]),
                tuple(entry["bad"]),
                int(entry.get("skipped", 0)),
                rule,
            )
            for name, entry in data["paradigms"].items()
        )
        pairs = data.get("pairs", {})
        return cls(
            pairs.get("name", ""),
            pairs.get("source", ""),
            data.get("family", ""),
            paradigms,
            data.get("wall_s", 0.0),
            rule,
            data.get("pll"),
        )


def judge_pairs(
    pairs: PairSet,
    scores: Mapping[Any, float],
    *,
    family: str = "",
    wall_s: float = 0.0,
    ties: str = "strict",
    pll: str | None = None,
) -> PairResult:
    """Judge every pair from sentence scores; a pure function.

    ``scores[key]`` for every :meth:`MinimalPair.keys` key (the sentence itself for a pair
    scored whole). A pair is correct under ``ties`` (:func:`is_correct`) against its best
    wrong candidate. A pair with a NaN score (a sentence too long to score) is skipped and
    counted. Raises ``KeyError`` when a sentence has no score, CurriculumError (E610) for
    an unknown rule.
    """
    is_correct(0.0, 0.0, ties)  # an unknown rule fails here, not after scoring
    paradigms = []
    for name, all_items in pairs.by_paradigm().items():
        good: list[float] = []
        bad: list[float] = []
        kept = []
        for pair in all_items:
            values = [scores[key] for key in pair.keys()]
            if any(v != v for v in values):  # NaN: skipped
                continue
            kept.append(pair)
            good.append(values[0])
            bad.append(max(values[1:]))
        paradigms.append(
            ParadigmResult(
                name,
                all_items[0].field,
                tuple(p.pair_id for p in kept),
                tuple(int(is_correct(g, b, ties)) for g, b in zip(good, bad)),
                tuple(good),
                tuple(bad),
                len(all_items) - len(kept),
                ties,
            )
        )
    return PairResult(pairs.name, pairs.source, family, tuple(paradigms), wall_s, ties, pll)


def evaluate_pairs(
    model: Any,
    tokenizer: Any,
    pairs: PairSet,
    *,
    family: str | None = None,
    batch_tokens: int = 8192,
    device: Any = None,
    progress: Callable[[int, int], None] | None = None,
    ties: str = "strict",
    pll: str = "pll",
) -> PairResult:
    """Score a pair set with a model and judge every pair.

    ``family`` (``"masked"``/``"causal"``) defaults to :func:`model_family` of the model.
    ``batch_tokens``, ``device`` and ``progress`` (an
    :class:`~curriculumc.runtime.evaluate.progress.EvalProgress`, or any
    ``progress(done, total)``) are passed to the scorer. ``ties``: the headline tie rule
    (:data:`TIE_RULES`; both are in the result); ``pll``: the PLL variant of a masked
    model (:data:`~curriculumc.runtime.evaluate.likelihoods.PLL_VARIANTS`). Returns a
    :class:`PairResult` whose ``wall_s`` is the scoring time. A pair with a sentence
    longer than the model's positions is skipped and counted per paradigm. Raises
    :class:`CurriculumError` as :func:`score_sentences` does, and E615 when every pair is
    skipped.
    """
    family = family or model_family(model)
    is_correct(0.0, 0.0, ties)
    keys = pairs.score_keys()
    started = time.perf_counter()
    scored = score_sentences_with_counts(
        model,
        tokenizer,
        [k if isinstance(k, str) else k[0] for k in keys],
        family=family,
        batch_tokens=batch_tokens,
        device=device,
        over_long="skip",
        progress=progress,
        pll=pll,
        scored_from=[0 if isinstance(k, str) else k[1] for k in keys],
    )
    wall = time.perf_counter() - started
    result = judge_pairs(
        pairs,
        dict(zip(keys, scored.log_likelihoods)),
        family=family,
        wall_s=wall,
        ties=ties,
        pll=pll if family == "masked" else None,
    )
    if not result.n_pairs:
        raise CurriculumError.single(
            "E615",
            f"every pair of '{pairs.source}' has a sentence longer than the model's "
            f"{position_limit(model)} positions",
            hint="train with a longer seq, or evaluate on shorter pairs",
        )
    return result


def perplexity(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    family: str | None = None,
    batch_tokens: int = 8192,
    device: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> float:
    """exp(-total log-likelihood / total tokens scored) over ``texts``.

    Pseudo-perplexity for masked models. ``progress`` as for :func:`evaluate_pairs`. Every occurrence counts (a repeated text counts
    each time); a text longer than the model's positions is left out. Raises
    :class:`CurriculumError` (E621) when no token is scored.
    """
    family = family or model_family(model)
    scored = score_sentences_with_counts(
        model,
        tokenizer,
        list(texts),
        family=family,
        batch_tokens=batch_tokens,
        device=device,
        over_long="skip",
        progress=progress,
    )
    tokens = sum(scored.token_counts)
    if tokens == 0:
        raise CurriculumError.single("E621", "no tokens to compute a perplexity over")
    total = sum(v for v, n in zip(scored.log_likelihoods, scored.token_counts) if n)
    return math.exp(-total / tokens)


def load_texts(path: str | Path, *, limit: int | None = None, column: str = "text") -> list[str]:
    """Texts of a dev file, read as a training file is read (:func:`load_raw`, the same
    rules): a JSON Lines file (``.jsonl``, ``.json``, ``.ndjson``, also ``.gz``) gives its
    ``column`` field, any other file its lines; blank lines and texts are dropped, spaces
    stripped. ``limit`` keeps the first N texts (no line after them is parsed).

    Raises :class:`CurriculumError` for a missing file (E620), a file with no text (E621),
    and a line the reader refuses (E303-E307 with file and line: not JSON, no ``column``
    field, ...).
    """
    file = Path(path)
    if not file.is_file():
        raise CurriculumError.single("E620", f"dev file '{file}' not found")
    raw = load_raw(DataSpec(source=str(file), kind="path", options=(("text_field", column),)))
    # a batch of exactly ``limit`` texts: reading stops where the texts asked for end
    texts = list(itertools.islice(raw.texts(batch_size=limit or 4096), limit))
    if not texts:
        raise CurriculumError.single("E621", f"dev file '{file}' holds no text")
    return texts


# ---------------------------------------------------------------------------- model folders


def resolve_model_dir(path: str | Path) -> Path:
    """The model folder for a model folder or a run folder.

    A folder with ``config.json`` is a model folder. A run folder resolves to
    ``RUN/final`` when present, else its newest ``RUN/checkpoints/step-N``. Raises
    :class:`CurriculumError` (E630 missing, E631 neither kind of folder).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise CurriculumError.single("E630", f"model or run folder '{folder}' not found")
    if (folder / "config.json").is_file():
        return folder
    if (folder / "final" / "config.json").is_file():
        return folder / "final"
    steps = []
    for candidate in (folder / "checkpoints").glob("step-*"):
        match = re.fullmatch(r"step-(\d+)", candidate.name)
        if match and (candidate / "config.json").is_file():
            steps.append((int(match.group(1)), candidate))
    if steps:
        return max(steps)[1]
    raise CurriculumError.single(
        "E631",
        f"'{folder}' is neither a model folder (config.json) nor a run folder "
        "(final/ or checkpoints/step-N/)",
    )


def load_model_dir(path: str | Path) -> tuple[Any, Any, str]:
    """Load ``(model, tokenizer, family)`` from a model folder or a run folder.

    See :func:`resolve_model_dir` for which folder is used. The tokenizer is read from
    the model folder, else from the run folder or its ``tokenizer/``. The model is
    returned in eval mode on the CPU. Raises :class:`CurriculumError` for missing
    folders (E630, E631), a missing tokenizer (E632) or a model that cannot be loaded
    (E633).
    """
    folder = resolve_model_dir(path)
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(folder)
    except Exception as exc:  # transformers raises many types; the user needs one message
        raise CurriculumError.single(
            "E633", f"cannot read model config in '{folder}': {exc}"
        ) from exc
    family = model_family(config)
    loader = AutoModelForMaskedLM if family == "masked" else AutoModelForCausalLM
    try:
        model = loader.from_pretrained(folder)
    except Exception as exc:
        raise CurriculumError.single("E633", f"cannot load model in '{folder}': {exc}") from exc
    tokenizer = None
    for candidate in _tokenizer_folders(folder):
        if (candidate / "tokenizer.json").is_file() or (
            candidate / "tokenizer_config.json"
        ).is_file():
            tokenizer = AutoTokenizer.from_pretrained(candidate)
            break
    if tokenizer is None:
        raise CurriculumError.single(
            "E632",
            f"no tokenizer found for '{folder}'",
            hint="save it next to the model with tokenizer.save_pretrained(folder)",
        )
    return model.eval(), tokenizer, family


def _tokenizer_folders(model_folder: Path) -> Iterable[Path]:
    yield model_folder
    # a checkpoint may rely on the run's tokenizer: RUN/final or RUN/checkpoints/step-N
    for parent in list(model_folder.parents)[:2]:
        if (parent / "plan.json").is_file():
            yield parent
            yield parent / "tokenizer"


# ---------------------------------------------------------------------------- rendering


def result_tables(result: PairResult, *, perplexity_value: float | None = None) -> Any:
    """The rich renderables for a result: per paradigm, per field, summary."""
    from rich.console import Group
    from rich.table import Table

    headline = result.ties_rule
    paradigms = Table(
        title=f"minimal pairs: {result.pairs_name} (accuracy: ties {headline})",
        title_justify="left",
    )
    other = next(rule for rule in TIE_RULES if rule != headline)
    for header, justify in (
        ("paradigm", "left"),
        ("field", "left"),
        ("pairs", "right"),
        ("accuracy", "right"),
        (f"ties {other}", "right"),
        ("ties", "right"),
    ):
        paradigms.add_column(header, justify=justify)
    for p in result.paradigms:
        paradigms.add_row(
            p.name,
            p.field,
            str(p.n),
            _percent(p.accuracy),
            _percent(p.accuracy_by(other)),
            str(p.ties),
        )

    fields = Table(title="per field (mean over paradigms)", title_justify="left")
    for header, justify in (("field", "left"), ("paradigms", "right"), ("accuracy", "right")):
        fields.add_column(header, justify=justify)
    counts: dict[str, int] = {}
    for p in result.paradigms:
        counts[p.field] = counts.get(p.field, 0) + 1
    for field, accuracy in result.per_field.items():
        fields.add_row(field, str(counts[field]), _percent(accuracy))

    summary = Table(show_header=False, title="summary", title_justify="left")
    summary.add_column("what")
    summary.add_column("value", justify="right")
    summary.add_row(f"macro accuracy (ties {headline})", _percent(result.macro))
    summary.add_row(f"macro accuracy (ties {other})", _percent(result.macro_by(other)))
    summary.add_row("pairs", str(result.n_pairs))
    summary.add_row("ties", str(result.ties))
    summary.add_row("model family", result.family)
    if result.pll:
        summary.add_row("pseudo-log-likelihood", result.pll)
    if result.wall_s > 0:
        summary.add_row("wall time", f"{result.wall_s:.1f} s")
        summary.add_row("pairs/s", f"{result.pairs_per_s:.1f}")
    if perplexity_value is not None:
        label = "pseudo-perplexity (dev)" if result.family == "masked" else "perplexity (dev)"
        summary.add_row(label, f"{perplexity_value:.2f}")
    return Group(paradigms, fields, summary)


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


# --- evaluations during training ---------------------------------------------------------


def run_eval(
    spec,
    model,
    tokenizer,
    *,
    family,
    data=None,
    cache_dir=None,
    dev_texts=None,
    device=None,
    reporter=None,
):
    """Evaluation ``spec`` (a plan's :class:`~curriculumc.plan.EvalSpec`) of ``model``:
    ``(figures, details)``.

    ``figures`` is flat, ``{"blimp/macro": ..., ...}``; ``details`` is the minimal-pair
    result's JSON (per-pair outcomes, for ``compare``'s paired bootstrap) or None for
    ``ppl``. ``blimp``: ``$CURRICULUMC_BLIMP`` or the hub copy; ``synth``: the generated
    pairs of the run's synth corpus (``data``), or of the default one; ``ppl``: held-out
    perplexity on ``dev_texts``; otherwise ``spec.path`` is a pair file or folder.
    ``reporter``: the run's :class:`~curriculumc.runtime.train.reporting.Reporter`, which
    then shows the evaluation's progress and ETA (:func:`eval_progress`); None: silent.
    Raises CurriculumError when the pairs or texts are missing.
    """
    from dataclasses import replace

    from curriculumc.runtime.evaluate.minimal_pairs import load_pairs
    from curriculumc.runtime.evaluate.progress import EvalProgress, eval_progress

    def progress_of(what: str) -> EvalProgress:
        if reporter is None:
            return EvalProgress(what, mode="off")
        return eval_progress(what, reporter=reporter)

    if spec.name == "ppl":
        if not dev_texts:
            raise CurriculumError.single(
                "E460", "eval ppl needs a dev split and this data has none"
            )
        texts = list(dev_texts)[: spec.limit] if spec.limit else list(dev_texts)
        with progress_of(f"eval ppl ({len(texts):,} texts)") as progress:
            ppl = perplexity(
                model, tokenizer, texts, family=family, device=device, progress=progress
            )
        return {PERPLEXITY_METRIC: ppl}, None
    source = pair_source(spec, data=data, cache_dir=cache_dir)
    prefix = spec.name if not spec.path else Path(spec.path).stem
    # named as in the spec and the metrics (not by the pair folder's name)
    pairs = replace(load_pairs(source, limit=spec.limit), name=prefix)
    ties, pll = spec.ties, spec.pll  # `eval ... ties babylm pll pll-word-l2r`
    with progress_of(f"eval {spec.name} ({len(pairs):,} pairs)") as progress:
        result = evaluate_pairs(
            model,
            tokenizer,
            pairs,
            family=family,
            device=device,
            progress=progress,
            ties=ties,
            pll=pll,
        )
    return result.to_metrics(prefix=prefix), result.to_json()


def pair_source(spec, *, data=None, cache_dir=None) -> str:
    """Where the pairs of a minimal-pair evaluation ``spec`` come from: ``spec.path``;
    ``blimp``: ``$CURRICULUMC_BLIMP`` or the hub copy; ``synth``: the generated pairs of the
    run's synth corpus (``data``) or of the default one. Raises E461 for another name."""
    import os

    if spec.path:
        return spec.path
    if spec.name == "blimp":
        return os.environ.get("CURRICULUMC_BLIMP") or "nyu-mll/blimp"
    if spec.name == "synth":
        from curriculumc.plan import DataSpec
        from curriculumc.runtime.data.readers import synth_paths

        synth = data if data is not None and data.source == "synth" else DataSpec()
        return str(synth_paths(synth, cache_dir=cache_dir).pairs)
    raise CurriculumError.single("E461", f"unknown evaluation {spec.name!r}")


# --- checking evaluation inputs before training ------------------------------------------


@dataclass(frozen=True)
class EvalInputCheck:
    """What :func:`check_eval_inputs` found for one evaluation of a plan.

    ``error``: the CurriculumError that the evaluation would fail with at every step
    (None when it can run); ``items``: pairs (or dev texts, for ``ppl``) read;
    ``over_long``: paradigm (``ppl`` for dev texts) -> items that will be skipped because a
    sentence is longer than the model's positions; ``identical``: ``file:line`` of pairs
    whose two sentences are the same (always a tie).
    """

    name: str
    source: str
    items: int = 0
    paradigms: int = 0
    over_long: dict[str, int] = dc_field(default_factory=dict)
    identical: tuple[str, ...] = ()
    error: CurriculumError | None = None

    def warnings(self) -> list[str]:
        notes = []
        if self.over_long:
            total = sum(self.over_long.values())
            shown = ", ".join(f"{k} {v}" for k, v in sorted(self.over_long.items()))
            notes.append(
                f"eval {self.name}: {total} of {self.items} will be skipped, a sentence longer "
                f"than the model's positions ({shown})"
            )
        if self.identical:
            more = f" and {len(self.identical) - 3} more" if len(self.identical) > 3 else ""
            notes.append(
                f"eval {self.name}: {len(self.identical)} pair(s) with two identical sentences "
                f"(always a tie): {', '.join(self.identical[:3])}{more}"
            )
        return notes


@dataclass(frozen=True)
class EvalInputReport:
    """:func:`check_eval_inputs`' answer: one :class:`EvalInputCheck` per evaluation."""

    checks: tuple[EvalInputCheck, ...]
    limit: int | None

    @property
    def errors(self) -> list[CurriculumError]:
        return [c.error for c in self.checks if c.error is not None]

    def warnings(self) -> list[str]:
        return [note for c in self.checks for note in c.warnings()]

    def raise_for_errors(self) -> None:
        """Raise one CurriculumError holding every failed evaluation's diagnostics."""
        errors = self.errors
        if errors:
            raise CurriculumError(tuple(d for e in errors for d in e.diagnostics))

    def text(self) -> str:
        """A line per evaluation, then the warnings and errors (for the start of a run)."""
        lines = []
        for c in self.checks:
            state = "FAILS" if c.error is not None else "ok"
            what = (
                f"{c.items} pairs, {c.paradigms} paradigms"
                if c.name != "ppl"
                else f"{c.items} texts"
            )
            lines.append(f"eval {c.name}: {c.source}: {what}: {state}")
        lines.extend(f"  warning: {w}" for w in self.warnings())
        lines.extend(f"  error: {e}" for e in self.errors)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "evals": [
                {
                    "name": c.name,
                    "source": c.source,
                    "items": c.items,
                    "paradigms": c.paradigms,
                    "over_long": dict(c.over_long),
                    "identical": list(c.identical),
                    "error": str(c.error) if c.error is not None else None,
                }
                for c in self.checks
            ],
        }


def check_eval_inputs(
    plan, tokenizer, seq: int | None, *, family=None, dev_texts=None, cache_dir=None
) -> EvalInputReport:
    """Check every evaluation of ``plan`` before training: its pairs (or dev texts) can be
    read and parsed, and every sentence fits in ``seq`` tokens as scored -- the model's
    positions, :func:`~curriculumc.runtime.evaluate.likelihoods.position_limit` of the
    built model (None: no limit). Over-long pairs are counted per paradigm (the
    evaluation will skip them), pairs with two identical sentences listed; an evaluation
    that would fail every time (unreadable, malformed, every pair over-long, ``ppl``
    without dev texts) carries its CurriculumError. Reads files; scores nothing.
    """
    from dataclasses import replace

    from curriculumc.runtime.evaluate.minimal_pairs import load_pairs

    family = family or plan.model.family
    checks = []
    for spec in plan.evals:
        if spec.name == "ppl":
            checks.append(_check_dev_texts(spec, tokenizer, seq, family, dev_texts))
            continue
        try:
            source = pair_source(spec, data=plan.data, cache_dir=cache_dir)
            pairs = load_pairs(source, limit=spec.limit)
        except CurriculumError as exc:
            checks.append(EvalInputCheck(spec.name, spec.path or spec.name, error=exc))
            continue
        over_long: dict[str, int] = {}
        if seq:
            sentences = pairs.sentences()
            too_long = {
                s for s, n in zip(sentences, sentence_lengths(tokenizer, sentences, family))
                if n > seq
            }  # fmt: skip
            for pair in pairs.pairs:
                if pair.good in too_long or pair.bad in too_long:
                    over_long[pair.paradigm] = over_long.get(pair.paradigm, 0) + 1
        identical = tuple(f"{p.file}:{p.line}" for p in pairs.identical())
        check = EvalInputCheck(
            spec.name, str(source), len(pairs), len(pairs.paradigms), over_long, identical
        )
        if over_long and sum(over_long.values()) == len(pairs):
            error = CurriculumError.single(
                "E615",
                f"every pair of '{source}' has a sentence longer than the model's {seq} positions",
                hint="train with a longer seq, or evaluate on shorter pairs",
            )
            check = replace(check, error=error)
        checks.append(check)
    return EvalInputReport(tuple(checks), seq)


def _check_dev_texts(spec, tokenizer, seq, family, dev_texts) -> EvalInputCheck:
    if not dev_texts:
        error = CurriculumError.single("E460", "eval ppl needs a dev split and this data has none")
        return EvalInputCheck("ppl", "dev split", error=error)
    texts = list(dev_texts)[: spec.limit] if spec.limit else list(dev_texts)
    over = 0
    if seq:
        over = sum(n > seq for n in sentence_lengths(tokenizer, texts, family))
    check = EvalInputCheck("ppl", "dev split", len(texts), 0, {"ppl": over} if over else {})
    if over == len(texts):
        error = CurriculumError.single(
            "E621", f"every dev text is longer than the model's {seq} positions"
        )
        return EvalInputCheck("ppl", "dev split", len(texts), 0, {"ppl": over}, error=error)
    return check


# --- which evaluations failed during training --------------------------------------------


@dataclass
class EvalOutcomes:
    """Each evaluation's runs during training: successes and failures (step, message).

    The trainer records every run (:meth:`success` / :meth:`failure`); at the end
    :meth:`error` is the E462 error when some evaluation failed *every* time it ran (the
    run must then exit non-zero), None otherwise.
    """

    succeeded: dict[str, list[int]] = dc_field(default_factory=dict)
    failed: dict[str, list[tuple[int, str]]] = dc_field(default_factory=dict)

    def success(self, name: str, step: int) -> None:
        self.succeeded.setdefault(name, []).append(step)

    def failure(self, name: str, step: int, error: Exception | str) -> None:
        self.failed.setdefault(name, []).append((step, str(error)))

    def never_succeeded(self) -> list[str]:
        """Evaluations that ran at least once and failed every time, in first-failure order."""
        return [name for name in self.failed if not self.succeeded.get(name)]

    def error(self) -> CurriculumError | None:
        names = self.never_succeeded()
        if not names:
            return None
        name = names[0]
        step, message = self.failed[name][0]
        others = f" (also: {', '.join(names[1:])})" if len(names) > 1 else ""
        return CurriculumError.single(
            "E462",
            f"eval {name} failed all {len(self.failed[name])} times it ran{others}; "
            f"first at step {step}: {message}",
            hint="fix the evaluation's input (see the first failure), or remove the eval",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "succeeded": {k: list(v) for k, v in self.succeeded.items()},
            "failed": {k: [list(x) for x in v] for k, v in self.failed.items()},
        }
