"""Comparing finished runs: one table per sweep, a paired bootstrap against controls, a plot.

``curriculumc compare RUN_DIR... | SWEEP_DIR`` reads run folders (``plan.json``,
``metrics.jsonl``, ``summary.json``, ``eval/*.json``), groups the runs that differ only in
their seed, and reports per group (a *curriculum*):

- final and best BLiMP macro accuracy, per-field accuracy, held-out perplexity, words
  (and tokens) seen and wall time, each as **mean ± sample standard deviation** (n − 1)
  across seeds (just the mean when a group has one run);
- the words its matched control saw relative to its own (a control more than
  :data:`~curriculumc.runtime.experiments.simulate.EXPOSURE_TOLERANCE` apart is not
  matched in exposure: a note says so);
- the difference of its final macro accuracy to its matched control (the same plan with a
  random scorer) with a **paired, stratified bootstrap 95% interval over minimal pairs**:
  per pair the outcome (1/0) is averaged over each condition's seeds, pairs are resampled
  with replacement within each paradigm -- the same resampled pairs for both conditions --
  and the statistic is the macro (mean over paradigms) difference, matching the macro
  column.

Grouping: by the sweep manifest (``sweep.json``) when there is one, else by the hash of the
plan with its seed set to 0. The matched control of a group is named by the manifest, or
else found as the group whose seed-free plan equals :func:`curriculumc.make_control` of the
group's plan.

Missing data (a run with no eval, no summary, no plan) shows as ``–`` with a note; it
never stops the comparison. Nothing here imports torch.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from curriculumc.errors import CurriculumError
from curriculumc.files import save_figure
from curriculumc.plan import Plan
from curriculumc.runtime.evaluate.evaluation import PERPLEXITY_METRIC, RESULT_FORMAT
from curriculumc.runtime.experiments.simulate import EXPOSURE_TOLERANCE
from curriculumc.runtime.experiments.sweep import MANIFEST_NAME
from curriculumc.runtime.train import run_folder as rf

DASH = "–"
#: the minimal-pair evaluation compared when a run logged several (else the first by name)
_PREFERRED_PAIRS = "blimp"


# ------------------------------------------------------------------------------ one run


@dataclass(frozen=True)
class RunRecord:
    """What ``compare`` knows about one run folder; ``None`` where the run does not say.

    ``curve``: ``(step, BLiMP macro)`` from the eval lines of ``metrics.jsonl``.
    ``outcomes``: ``{"paradigm/pair_id": 1 | 0}`` of the final minimal-pair evaluation.
    ``notes``: what was missing or unreadable, in words.
    """

    folder: Path
    name: str
    plan: Plan | None = None
    seed: int | None = None
    curve: tuple[tuple[int, float], ...] = ()
    final_macro: float | None = None
    per_field: Mapping[str, float] = field(default_factory=dict)
    paradigm_of: Mapping[str, str] = field(default_factory=dict)
    outcomes: Mapping[str, int] = field(default_factory=dict)
    perplexity: float | None = None
    words_seen: float | None = None
    tokens_seen: float | None = None
    #: steps where the curriculum changes (the plan's boundaries; for a plan that counts
    #: times in data, the phase starts its run resolved, from times.json)
    marks: tuple[int, ...] = ()
    wall_s: float | None = None
    complete: bool = False
    notes: tuple[str, ...] = ()
    ties_rule: str | None = None  # the final evaluation's headline tie rule

    @property
    def best_macro(self) -> float | None:
        values = [v for _, v in self.curve]
        if self.final_macro is not None:
            values.append(self.final_macro)
        return max(values) if values else None

    @property
    def group_key(self) -> str:
        """Hash of the plan with the seed set to 0 (runs equal up to the seed share it)."""
        if self.plan is None:
            return f"folder:{self.folder}"
        return seedless_hash(self.plan)


def _curriculum_marks(plan: Plan | None, run: rf.RunFolder) -> tuple[int, ...]:
    if plan is None:
        return ()
    if not plan.needs_data_clock:
        return tuple(step for step, _ in plan.boundaries())
    times = (rf.read_times(run) or {}).get("times", ())
    return tuple(t["step"] for t in times if t["what"].startswith("objectives") and t["step"])


def seedless_hash(plan: Plan) -> str:
    """The hash of ``plan`` with ``train.seed`` set to 0."""
    return replace(plan, train=replace(plan.train, seed=0)).hash


def read_run(folder: str | Path) -> RunRecord:
    """Read one run folder; never raises for missing or broken files (they become notes).

    Raises :class:`CurriculumError` (E840) only when ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CurriculumError.single("E840", f"run folder '{folder}' not found")
    run = rf.RunFolder(folder)
    notes: list[str] = []
    plan = _read_plan(folder, notes)
    curve, last_metrics, pairs_name = _read_metrics(folder, notes)
    macro_keys, field_prefix = (f"{pairs_name}/macro",), f"{pairs_name}/field/"
    summary = _read_json(run.summary, notes, "no summary.json (run unfinished?)")
    final_eval = _final_eval(folder, notes, pairs_name)

    final_macro: float | None = None
    per_field: dict[str, float] = {}
    outcomes: dict[str, int] = {}
    paradigm_of: dict[str, str] = {}
    ties_rule = None
    if final_eval is not None:
        # results written before the tie rules existed counted a tie wrong
        ties_rule = str(final_eval.get("ties_rule", "strict"))
        final_macro = _number(final_eval.get("macro"))
        per_field = {k: float(v) for k, v in (final_eval.get("per_field") or {}).items()}
        for paradigm, entry in (final_eval.get("paradigms") or {}).items():
            for pair_id, ok in zip(entry.get("pair_ids", ()), entry.get("correct", ())):
                key = f"{paradigm}/{pair_id}"
                outcomes[key] = int(ok)
                paradigm_of[key] = paradigm
    final_metrics = {**last_metrics, **_summary_metrics(summary)}
    if final_macro is None:
        final_macro = _first(final_metrics, macro_keys)
    if final_macro is None and curve:
        final_macro = curve[-1][1]
    if not per_field:
        per_field = {
            k[len(field_prefix) :]: float(v)
            for k, v in final_metrics.items()
            if k.startswith(field_prefix) and _number(v) is not None
        }
    if final_macro is None:
        notes.append("no minimal-pair evaluation")

    perplexity = _perplexity(final_eval, final_metrics, summary)
    return RunRecord(
        folder=folder,
        name=folder.name,
        plan=plan,
        seed=plan.train.seed if plan is not None else None,
        curve=curve,
        final_macro=final_macro,
        per_field=per_field,
        paradigm_of=paradigm_of,
        outcomes=outcomes,
        perplexity=perplexity,
        words_seen=_first(summary or {}, ("words_seen",)),
        tokens_seen=_first(summary or {}, ("tokens_seen",)),
        marks=_curriculum_marks(plan, run),
        wall_s=_first(summary or {}, ("wall_s",)),
        complete=rf.is_finished(run),
        notes=tuple(notes),
        ties_rule=ties_rule,
    )


def _read_json(path: Path, notes: list[str], missing_note: str | None) -> dict | None:
    if not path.is_file():
        if missing_note:
            notes.append(missing_note)
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        notes.append(f"{path.name} unreadable ({exc})")
        return None
    if not isinstance(data, dict):
        notes.append(f"{path.name} is not a JSON object")
        return None
    return data


def _read_plan(folder: Path, notes: list[str]) -> Plan | None:
    path = rf.RunFolder(folder).plan
    if not path.is_file():
        notes.append("no plan.json")
        return None
    try:
        return Plan.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        notes.append(f"plan.json unreadable ({exc})")
        return None


def _read_metrics(
    folder: Path, notes: list[str]
) -> tuple[tuple[tuple[int, float], ...], dict, str]:
    """``(curve, last figures, pairs name)``: the macro accuracy over steps of the run's
    minimal-pair evaluation (``blimp`` when it logged several, else the first by name),
    and the latest value of every logged evaluation figure."""
    path = rf.RunFolder(folder).metrics
    if not path.is_file():
        notes.append("no metrics.jsonl")
        return (), {}, _PREFERRED_PAIRS
    curves: dict[str, dict[int, float]] = {}
    last: dict[str, Any] = {}
    bad = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                bad += 1  # a run killed mid-write leaves a torn last line
                continue
            if not isinstance(row, dict) or "eval" not in row:
                continue
            step = row.get("step")
            name = str(row["eval"])
            macro = _first(row, (f"{name}/macro",))
            if isinstance(step, int) and macro is not None:
                curves.setdefault(name, {})[step] = macro
            last.update({k: v for k, v in row.items() if k not in ("step", "eval")})
    if bad:
        notes.append(f"{bad} unreadable line(s) in metrics.jsonl")
    name = _PREFERRED_PAIRS if _PREFERRED_PAIRS in curves or not curves else min(curves)
    return tuple(sorted(curves.get(name, {}).items())), last, name


def _final_eval(folder: Path, notes: list[str], pairs_name: str) -> dict | None:
    """The minimal-pair eval JSON of the final model; only files in the evaluator's format
    count. Preferred, in turn: the pair set the curves use (``pairs_name``), the final
    model (``*final*``) over a checkpoint (highest ``step-N``), all pairs over a
    ``--limit`` run, the newest."""
    candidates = []
    for path in sorted(rf.RunFolder(folder).evals.glob("*.json")):
        data = _read_json(path, notes, None)
        if data is None or data.get("format") != RESULT_FORMAT or not data.get("paradigms"):
            continue
        same_pairs = (data.get("pairs") or {}).get("name") == pairs_name
        rank = (same_pairs, *rf.eval_result_rank(path), path.stat().st_mtime)
        candidates.append((rank, data))
    if not candidates:
        return None
    return max(candidates, key=lambda item: item[0])[1]


def _summary_metrics(summary: Mapping[str, Any] | None) -> dict:
    """The final figures a summary holds: its last evaluations (``evals``: one record per
    evaluation, as logged) and ``final_metrics``."""
    if not summary:
        return {}
    merged: dict[str, Any] = {}
    evals = summary.get("evals")
    if isinstance(evals, dict):
        for record in evals.values():
            if isinstance(record, dict):
                merged.update({k: v for k, v in record.items() if k not in ("step", "eval")})
    final = summary.get("final_metrics")
    if isinstance(final, dict):
        merged.update(final)
    return merged


def _perplexity(final_eval: dict | None, metrics: Mapping[str, Any], summary) -> float | None:
    """Held-out perplexity: the final eval JSON's, else the last logged (one key,
    :data:`~curriculumc.runtime.evaluate.evaluation.PERPLEXITY_METRIC`, everywhere)."""
    for source in (final_eval or {}, metrics, _summary_metrics(summary)):
        value = _number(source.get(PERPLEXITY_METRIC))
        if value is not None:
            return value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


def _first(mapping: Mapping[str, Any], keys: Iterable[str]) -> float | None:
    for key in keys:
        value = _number(mapping.get(key))
        if value is not None:
            return value
    return None


# ------------------------------------------------------------------------------ groups


@dataclass(frozen=True)
class Group:
    """Runs that differ only in their seed: one curriculum (or one control)."""

    key: str
    label: str
    runs: tuple[RunRecord, ...]
    control_key: str | None = None  # key of this group's matched control, if any
    is_control: bool = False

    @property
    def plan(self) -> Plan | None:
        return next((r.plan for r in self.runs if r.plan is not None), None)


def collect_runs(paths: Sequence[str | Path]) -> tuple[list[RunRecord], dict | None]:
    """Run records for ``paths`` (run folders, folders of run folders, or a sweep folder)
    and the sweep manifest when one path is a sweep folder.

    Raises :class:`CurriculumError` E840 (a path is missing) or E841 (no run found).
    """
    runs: list[RunRecord] = []
    manifest: dict | None = None
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise CurriculumError.single("E840", f"run or sweep folder '{path}' not found")
        if (path / MANIFEST_NAME).is_file():
            manifest = json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8"))
            for entry in manifest.get("runs", ()):
                folder = path / entry["folder"]
                if folder.is_dir():
                    runs.append(read_run(folder))
                else:
                    runs.append(RunRecord(folder=folder, name=folder.name, notes=("not run yet",)))
        elif rf.is_run_folder(path):
            runs.append(read_run(path))
        else:
            inner = sorted(p for p in path.iterdir() if p.is_dir() and rf.is_run_folder(p))
            runs.extend(read_run(p) for p in inner)
    if not runs:
        raise CurriculumError.single(
            "E841",
            "no run folders found in " + ", ".join(str(p) for p in paths),
            hint="a run folder holds plan.json or metrics.jsonl",
        )
    return runs, manifest


def group_runs(
    runs: Sequence[RunRecord],
    manifest: Mapping[str, Any] | None = None,
    *,
    make_control: Callable[[Plan], Plan] | None = None,
) -> list[Group]:
    """Group runs by curriculum, in first-seen order, and pair each group with its control.

    With a manifest, runs are grouped by its ``group`` entry and a run's
    ``control_of_groups`` names the groups it is the matched control of. Without one, runs are grouped by
    :func:`seedless_hash`; a group is another group's control when its seed-free plan
    equals ``make_control`` of that group's plan (``make_control`` defaults to
    :func:`curriculumc.make_control` when the compiler provides it).
    """
    if manifest:
        return _groups_from_manifest(runs, manifest)
    order: list[str] = []
    members: dict[str, list[RunRecord]] = {}
    for run in runs:
        key = run.group_key
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(run)
    if make_control is None:
        make_control = _default_make_control()
    control_of: dict[str, str] = {}
    if make_control is not None:
        for key in order:
            plan = next((r.plan for r in members[key] if r.plan is not None), None)
            if plan is None:
                continue
            try:
                control_key = seedless_hash(make_control(plan))
            except Exception:  # noqa: BLE001 -- a plan the control maker refuses has no control
                continue
            if control_key != key and control_key in members:
                control_of[key] = control_key
    controls = set(control_of.values())
    return _controls_after_curricula(
        [
            Group(
                key=key,
                label=_label_of(members[key]),
                runs=tuple(members[key]),
                control_key=control_of.get(key),
                is_control=key in controls,
            )
            for key in order
        ]
    )


def _controls_after_curricula(groups: list[Group]) -> list[Group]:
    """Each control right after the first curriculum it controls (easier to read)."""
    by_key = {g.key: g for g in groups}
    placed: set[str] = set()
    ordered: list[Group] = []
    for group in groups:
        if group.key in placed or (group.is_control and _controls_someone(group, groups)):
            continue
        ordered.append(group)
        placed.add(group.key)
        control = by_key.get(group.control_key) if group.control_key else None
        if control is not None and control.key not in placed:
            ordered.append(control)
            placed.add(control.key)
    ordered.extend(g for g in groups if g.key not in placed)
    return ordered


def _controls_someone(group: Group, groups: Sequence[Group]) -> bool:
    return any(g.control_key == group.key for g in groups)


def _default_make_control() -> Callable[[Plan], Plan]:
    from curriculumc import make_control

    return make_control


def _groups_from_manifest(runs: Sequence[RunRecord], manifest: Mapping[str, Any]) -> list[Group]:
    by_folder = {r.folder.name: r for r in runs}
    order: list[str] = []
    members: dict[str, list[RunRecord]] = {}
    control_of: dict[str, str] = {}
    is_control: set[str] = set()
    for entry in manifest.get("runs", ()):
        key = entry.get("group") or entry.get("curriculum") or entry["label"]
        run = by_folder.get(Path(entry["folder"]).name)
        if run is None:
            continue
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(run)
        for controlled in entry.get("control_of_groups") or ():
            control_of[controlled] = key
            is_control.add(key)
    return _controls_after_curricula(
        [
            Group(key, key, tuple(members[key]), control_of.get(key), key in is_control)
            for key in order
        ]
    )


def _label_of(runs: Sequence[RunRecord]) -> str:
    """A readable name: the run folder name without its ``-<hash8>`` and seed parts."""
    run = runs[0]
    name = re.sub(r"-[0-9a-f]{8}$", "", run.name)
    if run.seed is not None:
        name = re.sub(rf"(^|-)(seed)?{run.seed}$", "", name)
    return name or run.name


# ------------------------------------------------------------------------------ statistics


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation (n − 1; 0 for one value) over ``n`` values."""

    mean: float
    std: float
    n: int

    def text(self, fmt: str = "{:.1f}", scale: float = 1.0) -> str:
        if self.n > 1:
            return f"{fmt.format(self.mean * scale)} ± {fmt.format(self.std * scale)}"
        return fmt.format(self.mean * scale)


def spread(values: Iterable[float | None]) -> Spread | None:
    """:class:`Spread` of the values that are not None, or None when there are none."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return None
    mean = sum(present) / len(present)
    if len(present) < 2:
        return Spread(mean, 0.0, 1)
    var = sum((v - mean) ** 2 for v in present) / (len(present) - 1)
    return Spread(mean, math.sqrt(var), len(present))


@dataclass(frozen=True)
class Interval:
    """A paired difference (curriculum − control) with its bootstrap interval."""

    difference: float
    low: float
    high: float
    n_pairs: int
    level: float
    resamples: int


def mean_outcomes(runs: Sequence[RunRecord]) -> dict[str, float]:
    """Per pair, the outcome averaged over the runs that evaluated it."""
    totals: dict[str, list[int]] = {}
    for run in runs:
        for key, ok in run.outcomes.items():
            totals.setdefault(key, []).append(ok)
    return {key: sum(v) / len(v) for key, v in totals.items()}


def paired_bootstrap(
    treatment: Mapping[str, float],
    control: Mapping[str, float],
    paradigm_of: Mapping[str, str],
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval | None:
    """Paired, paradigm-stratified bootstrap of the macro accuracy difference.

    ``treatment``/``control``: per-pair outcomes (0..1, already averaged over seeds);
    only pairs present in both count. ``paradigm_of`` maps a pair key to its paradigm.
    Each resample draws, within every paradigm, as many pairs as it has, with replacement
    and the *same* draws for both conditions; the statistic is the mean over paradigms of
    the mean per-pair difference. Returns None when the conditions share no pair.
    Deterministic for a given ``seed``.
    """
    import numpy as np

    shared = sorted(set(treatment) & set(control))
    if not shared:
        return None
    by_paradigm: dict[str, list[float]] = {}
    for key in shared:
        by_paradigm.setdefault(paradigm_of.get(key, key.split("/")[0]), []).append(
            treatment[key] - control[key]
        )
    rng = np.random.default_rng(seed)
    point = float(np.mean([np.mean(d) for d in by_paradigm.values()]))
    stats = np.zeros(resamples)
    for diffs in by_paradigm.values():
        values = np.asarray(diffs)
        draws = rng.integers(0, len(values), size=(resamples, len(values)))
        stats += values[draws].mean(axis=1)
    stats /= len(by_paradigm)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return Interval(point, float(low), float(high), len(shared), level, resamples)


# ------------------------------------------------------------------------------ comparison


@dataclass(frozen=True)
class Row:
    """One line of the comparison table."""

    label: str
    n_runs: int
    n_evaluated: int
    final: Spread | None
    best: Spread | None
    fields: Mapping[str, Spread | None]
    perplexity: Spread | None
    words_seen: Spread | None
    wall_s: Spread | None
    versus_control: Interval | None
    control_label: str | None
    is_control: bool
    notes: tuple[str, ...]
    tokens_seen: Spread | None = None
    #: (control's mean words − this group's) / this group's, when both are known
    control_words: float | None = None


@dataclass(frozen=True)
class Comparison:
    rows: tuple[Row, ...]
    fields: tuple[str, ...]
    groups: tuple[Group, ...]


def compare_groups(
    groups: Sequence[Group], *, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> Comparison:
    """Aggregate every group into a :class:`Row` (a pure function of the records)."""
    by_key = {g.key: g for g in groups}
    fields = sorted({f for g in groups for r in g.runs for f in r.per_field})
    rules = sorted({r.ties_rule for g in groups for r in g.runs if r.ties_rule})
    rows = []
    for group in groups:
        runs = group.runs
        notes = [f"{r.name}: {n}" for r in runs for n in r.notes]
        if len(rules) > 1:
            own = sorted({r.ties_rule for r in runs if r.ties_rule})
            notes.append(
                f"scored with ties {', '.join(own) or 'unknown'} while other runs here use "
                f"{', '.join(r for r in rules if r not in own)}: accuracies are not comparable "
                "(re-evaluate with one --ties rule)"
            )
        interval = None
        control_label = None
        control_words = None
        words = spread(r.words_seen for r in runs)
        control = by_key.get(group.control_key) if group.control_key else None
        if control is not None:
            control_label = control.label
            control_words = _relative(spread(r.words_seen for r in control.runs), words)
            if control_words is not None and abs(control_words) > EXPOSURE_TOLERANCE:
                notes.append(_exposure_note(control, control_words, words))
            paradigm_of: dict[str, str] = {}
            for r in (*runs, *control.runs):
                paradigm_of.update(r.paradigm_of)
            interval = paired_bootstrap(
                mean_outcomes(runs),
                mean_outcomes(control.runs),
                paradigm_of,
                resamples=resamples,
                level=level,
                seed=seed,
            )
            if interval is None:
                notes.append(f"no per-pair outcomes shared with control {control.label}")
        rows.append(
            Row(
                label=group.label,
                n_runs=len(runs),
                n_evaluated=sum(r.final_macro is not None for r in runs),
                final=spread(r.final_macro for r in runs),
                best=spread(r.best_macro for r in runs),
                fields={f: spread(r.per_field.get(f) for r in runs) for f in fields},
                perplexity=spread(r.perplexity for r in runs),
                words_seen=words,
                wall_s=spread(r.wall_s for r in runs),
                versus_control=interval,
                control_label=control_label,
                is_control=group.is_control,
                notes=tuple(notes),
                tokens_seen=spread(r.tokens_seen for r in runs),
                control_words=control_words,
            )
        )
    return Comparison(tuple(rows), tuple(fields), tuple(groups))


def _relative(control: Spread | None, own: Spread | None) -> float | None:
    if control is None or own is None or not own.mean:
        return None
    return control.mean / own.mean - 1.0


def _exposure_note(control: Group, relative: float, words: Spread) -> str:
    more = "more" if relative > 0 else "fewer"
    theirs = words.mean * (1 + relative)
    return (
        f"its control {control.label} saw {abs(relative):.1%} {more} words "
        f"({theirs:,.0f} vs {words.mean:,.0f}): not matched in exposure "
        f"(more than {EXPOSURE_TOLERANCE:.0%} apart); `batch N tokens` matches them"
    )


def compare_paths(
    paths: Sequence[str | Path], *, resamples: int = 2000, seed: int = 0
) -> Comparison:
    """Read, group and aggregate: :func:`collect_runs` → :func:`group_runs` →
    :func:`compare_groups`. Raises :class:`CurriculumError` as :func:`collect_runs` does."""
    runs, manifest = collect_runs(paths)
    return compare_groups(group_runs(runs, manifest), resamples=resamples, seed=seed)


# ------------------------------------------------------------------------------ output


def comparison_table(comparison: Comparison) -> Any:
    """The rich Table of a comparison (accuracies in %, mean ± sd across seeds)."""
    from rich.table import Table

    table = Table(
        title="curricula compared (mean ± sd across seeds; Δ: paired bootstrap 95% CI)",
        title_justify="left",
    )
    # names are what a reader looks for: never cut them (the number columns wrap instead)
    labels = [
        f"{r.label} (control)" if r.is_control and "control" not in r.label else r.label
        for r in comparison.rows
    ]
    table.add_column("curriculum", min_width=max(map(len, labels), default=10))
    table.add_column("runs", justify="right")
    table.add_column("final pairs %", justify="right")
    table.add_column("best pairs %", justify="right")
    for name in comparison.fields:
        table.add_column(f"{name} %", justify="right")
    table.add_column("dev ppl", justify="right")
    table.add_column("words seen", justify="right")
    table.add_column("control's words", justify="right")
    table.add_column("wall s", justify="right")
    table.add_column("Δ vs control (pts)", justify="right")
    for row, label in zip(comparison.rows, labels):
        table.add_row(
            label,
            f"{row.n_evaluated}/{row.n_runs}" if row.n_evaluated != row.n_runs else str(row.n_runs),
            _cell(row.final, "{:.1f}", 100),
            _cell(row.best, "{:.1f}", 100),
            *(_cell(row.fields[f], "{:.1f}", 100) for f in comparison.fields),
            _cell(row.perplexity, "{:.1f}"),
            _cell(row.words_seen, "{:,.0f}"),
            DASH if row.control_words is None else f"{row.control_words:+.1%}",
            _cell(row.wall_s, "{:.0f}"),
            _interval_cell(row),
        )
    return table


def _cell(value: Spread | None, fmt: str, scale: float = 1.0) -> str:
    return DASH if value is None else value.text(fmt, scale)


def _interval_cell(row: Row) -> str:
    iv = row.versus_control
    if iv is None:
        return DASH
    return f"{100 * iv.difference:+.1f} [{100 * iv.low:+.1f}, {100 * iv.high:+.1f}]"


def comparison_notes(comparison: Comparison) -> list[str]:
    """Human-readable notes: what was missing, which control each Δ is against."""
    lines = []
    for row in comparison.rows:
        if row.control_label:
            pairs = row.versus_control.n_pairs if row.versus_control else 0
            lines.append(f"{row.label}: Δ against {row.control_label} over {pairs} pairs")
        lines.extend(f"{row.label}: {note}" for note in row.notes)
    return lines


def render_comparison(comparison: Comparison, *, width: int = 160) -> str:
    """Table and notes as plain text at a fixed width (no colour)."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(comparison_table(comparison))
    for line in comparison_notes(comparison):
        console.print(f"note: {line}", highlight=False)
    return buffer.getvalue()


def comparison_to_json(comparison: Comparison) -> dict[str, Any]:
    """A JSON-ready dict of the comparison (fractions, not percentages)."""

    def sp(value: Spread | None):
        return None if value is None else {"mean": value.mean, "std": value.std, "n": value.n}

    rows = []
    for row in comparison.rows:
        iv = row.versus_control
        rows.append(
            {
                "label": row.label,
                "runs": row.n_runs,
                "evaluated": row.n_evaluated,
                "is_control": row.is_control,
                "final_macro": sp(row.final),
                "best_macro": sp(row.best),
                "per_field": {f: sp(v) for f, v in row.fields.items()},
                "perplexity": sp(row.perplexity),
                "words_seen": sp(row.words_seen),
                "tokens_seen": sp(row.tokens_seen),
                "wall_s": sp(row.wall_s),
                "control": row.control_label,
                "control_words_relative": row.control_words,
                "versus_control": None
                if iv is None
                else {
                    "difference": iv.difference,
                    "low": iv.low,
                    "high": iv.high,
                    "pairs": iv.n_pairs,
                    "level": iv.level,
                    "resamples": iv.resamples,
                },
                "notes": list(row.notes),
            }
        )
    return {
        "format": "curriculumc.compare/1",
        "spread": "mean and sample standard deviation (n-1) across seeds",
        "interval": "paired paradigm-stratified bootstrap over minimal pairs",
        "rows": rows,
        "runs": {g.label: [str(r.folder) for r in g.runs] for g in comparison.groups},
    }


def comparison_csv_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """One flat row per group for a spreadsheet: means, standard deviations and run
    counts (fractions, not percentages); empty cells where unknown."""

    def put(row: dict, name: str, value: Spread | None) -> None:
        row[f"{name}_mean"] = "" if value is None else value.mean
        row[f"{name}_std"] = "" if value is None else value.std

    rows = []
    for row in comparison.rows:
        flat: dict[str, Any] = {
            "label": row.label,
            "runs": row.n_runs,
            "evaluated": row.n_evaluated,
            "is_control": row.is_control,
            "control": row.control_label or "",
        }
        put(flat, "final_macro", row.final)
        put(flat, "best_macro", row.best)
        for name in comparison.fields:
            put(flat, f"field_{name}", row.fields[name])
        put(flat, "perplexity", row.perplexity)
        put(flat, "words_seen", row.words_seen)
        put(flat, "tokens_seen", row.tokens_seen)
        flat["control_words_relative"] = "" if row.control_words is None else row.control_words
        put(flat, "wall_s", row.wall_s)
        iv = row.versus_control
        for key in ("difference", "low", "high"):
            flat[f"versus_control_{key}"] = "" if iv is None else getattr(iv, key)
        rows.append(flat)
    return rows


def write_csv(comparison: Comparison, path: str | Path) -> Path:
    """Write :func:`comparison_csv_rows` as CSV (a header line, one line per group)."""
    import csv
    import io

    from curriculumc.files import write_atomic

    path = Path(path)
    rows = comparison_csv_rows(comparison)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]) if rows else ["label"])
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, text.getvalue())
    return path


FIGURE_DPI = 300  # compare.png: print-ready


def plot_curves(comparison: Comparison, out: str | Path) -> Path:
    """Write a PNG of the BLiMP macro curve over steps per group.

    The line is the mean over seeds at each evaluated step, the shaded band the min–max
    across seeds; dotted vertical lines mark each curriculum's ``boundaries()``. Groups
    with no evaluation are listed in the legend as "(no eval)". Returns the path.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(out)
    # 7 inches wide (a full page width) at 300 dpi, on an Agg canvas without pyplot
    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, group in enumerate(comparison.groups):
        colour = colours[index % len(colours)]
        per_step: dict[int, list[float]] = {}
        for run in group.runs:
            for step, value in run.curve:
                per_step.setdefault(step, []).append(100 * value)
        label = f"{group.label} (control)" if group.is_control else group.label
        style = "--" if group.is_control else "-"
        if not per_step:
            ax.plot([], [], style, color=colour, label=f"{label} (no eval)")
            continue
        steps = sorted(per_step)
        means = [sum(per_step[s]) / len(per_step[s]) for s in steps]
        ax.plot(steps, means, style, color=colour, label=label, marker="o", markersize=3)
        if any(len(per_step[s]) > 1 for s in steps):
            ax.fill_between(
                steps,
                [min(per_step[s]) for s in steps],
                [max(per_step[s]) for s in steps],
                color=colour,
                alpha=0.2,
                linewidth=0,
            )
        marks = next((r.marks for r in group.runs if r.plan is not None), ())
        if not group.is_control:
            for step in marks:
                ax.axvline(step, color=colour, linestyle=":", linewidth=1, alpha=0.8)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("minimal pairs, macro accuracy (%)")
    ax.set_title(  # two lines: the figure is a page wide, not a title long
        "Minimal pairs (BLiMP-style) over training\n"
        "mean over seeds; band: min–max across seeds; dotted: phase changes",
        fontsize="medium",
    )
    ax.grid(alpha=0.3)
    # below the axes, a row of the layout: it covers no curve, however many groups
    fig.legend(
        *ax.get_legend_handles_labels(),
        loc="outside lower center",
        ncols=2,
        fontsize="small",
        frameon=False,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out, dpi=FIGURE_DPI, bbox_inches="tight", pad_inches=0.05)
    return out


__all__ = [
    "Comparison",
    "Group",
    "Interval",
    "Row",
    "RunRecord",
    "Spread",
    "collect_runs",
    "compare_groups",
    "compare_paths",
    "comparison_csv_rows",
    "comparison_notes",
    "comparison_table",
    "comparison_to_json",
    "group_runs",
    "mean_outcomes",
    "paired_bootstrap",
    "plot_curves",
    "read_run",
    "render_comparison",
    "seedless_hash",
    "spread",
    "write_csv",
]
