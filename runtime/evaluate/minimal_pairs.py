"""Loading minimal-pair sets (BLiMP and files in the same spirit).

A minimal-pair set is a list of (good sentence, bad sentence) pairs, each belonging to
a *paradigm* (one phenomenon, e.g. ``anaphor_gender_agreement``) and a *field*
(``morphology``, ``syntax``, ``semantics``, ``syntax_semantics``; ``unknown`` when the
data does not say). Sources:

- a folder of JSON Lines files, one object a line (every ``*.jsonl`` file in it, sorted
  by name), or a single ``.jsonl`` file;
- a Hugging Face hub dataset id (``blimp`` is short for ``nyu-mll/blimp``) when online.

Column names are configurable with :class:`PairFormat`. By default the paradigm comes
from BLiMP's ``UID`` column or else the file name, the field from ``field`` or else
``unknown``, and the pair id from ``pairID`` (the original BLiMP files) or ``pair_id``
(the hub copy and BabyLM's filtered BLiMP) or else the 0-based line index within the
file. A column *named* in the format must be on every line: a missing one is an error
(E603) listing the columns found, never a silent fallback. Field names are normalised to
lower case with runs of other characters turned into ``_`` (BLiMP spells one field
``syntax/semantics`` and the others ``syntax_semantics``; a ``/`` would also break the
``blimp/field/<field>`` metric names). The list of paradigms is whatever the data holds.

Every malformed line is an error naming its file and line (code E600-E609; E003 for a
line that is not UTF-8, as for any file that is not text); nothing is dropped silently.
A pair whose two sentences are the same is kept (it is always a tie) and listed by
:meth:`PairSet.identical` so that the evaluation's input check warns about it.

**The BabyLM 2025 pipeline's zero-shot formats** (``evaluation_pipeline/sentence_zero_shot/
read_files.py`` of babylm/evaluation-pipeline-2025) are read by their own field names,
recognised line by line from the fields present (with the default :class:`PairFormat`
only). Each becomes the candidates the pipeline ranks, the right one first (its label is
always 0), and the part of each candidate it scores (``scored_from``: the character where
the pipeline's *completion* starts; 0 = the whole sentence):

========================  ==============================================================
fields of a line          read as
========================  ==============================================================
``sentence_good``,        BLiMP and the BLiMP supplement (above). The pipeline names a
``sentence_bad``          supplement line's field ``supplement``; here it stays
                          ``unknown`` (the paradigm is the file name in both).
``Context1``,             EWoK: ``Context1 + " " + Target1`` against ``Context1 + " " +
``Target1``, ``Target2``, ``Target2`` (the pipeline uses Context1 for both), paradigm
``Domain``                ``Domain``, field ``ewok``; only the target is scored.
``input_prefix``,         entity tracking: ``input_prefix + option`` for every option
``options``, ``numops``   (``options[0]`` is right), paradigm ``<file stem>_<numops>_ops``,
                          field the file stem; only the option is scored.
``sentences``, ``ratio``  WUG (adjective nominalisation, past tense): the tab-separated
                          ``sentences``, the first counted right, paradigm the file stem,
                          field ``wug``. (The pipeline reports the Spearman correlation of
                          the first candidate's probability with ``ratio``, not an
                          accuracy.)
``prefix_acceptable``,    COMPS: ``prefix + " " + property_phrase`` for both prefixes,
``prefix_unacceptable``,  paradigm as the pipeline names it (``base``, ``wugs``,
``property_phrase``       ``wugs_dist_before``, ``wugs_dist_in_between``), field
                          ``comps``; only the property phrase is scored.
========================  ==============================================================

Pairs of these formats without an id are numbered ``<file stem>:<line index>``. A line
of a recognised format that lacks one of its fields is E603 with file and line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from curriculumc.errors import CurriculumError, Diagnostic, Span, did_you_mean

# short names for hub datasets a researcher is likely to type
HUB_ALIASES = {"blimp": "nyu-mll/blimp"}
UNKNOWN_FIELD = "unknown"
# how long the online check may take before we call the hub unreachable
HUB_CONNECT_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class PairFormat:
    """The column names of a minimal-pair file.

    ``good`` and ``bad`` must be on every line. ``paradigm``, ``field`` and ``pair_id``
    left as None use the default columns (:data:`DEFAULT_PARADIGM_COLUMN`,
    :data:`DEFAULT_FIELD_COLUMN`, any of :data:`DEFAULT_PAIR_ID_COLUMNS`) where a line has
    them, else the file name, ``unknown`` and the line index. A column named here must
    be on every line (E603 otherwise: a typo must not quietly change the results).
    """

    good: str = "sentence_good"
    bad: str = "sentence_bad"
    paradigm: str | None = None
    field: str | None = None
    pair_id: str | None = None


DEFAULT_PARADIGM_COLUMN = "UID"
DEFAULT_FIELD_COLUMN = "field"
#: BLiMP's files say ``pairID``; the hub copy and BabyLM's filtered BLiMP say ``pair_id``
DEFAULT_PAIR_ID_COLUMNS = ("pairID", "pair_id")
# kept for callers of the old name: the default format reads the hub copy too
HUB_BLIMP_FORMAT = PairFormat()


@dataclass(frozen=True)
class MinimalPair:
    """One pair; ``file`` and ``line`` say where it came from (line is 1-based).

    ``others``: further wrong candidates after ``bad`` (entity tracking, WUG: more than
    two); ``scored_from``: for each candidate (good, bad, *others) the character where its
    scored part starts (empty: every candidate scored whole, as for BLiMP).
    """

    pair_id: str
    paradigm: str
    field: str
    good: str
    bad: str
    file: str
    line: int
    others: tuple[str, ...] = ()
    scored_from: tuple[int, ...] = ()

    @property
    def candidates(self) -> tuple[str, ...]:
        """Every candidate sentence, the right one first."""
        return (self.good, self.bad, *self.others)

    def keys(self) -> tuple[ScoreKey, ...]:
        """What to score for each candidate: the sentence (scored whole), or
        ``(sentence, first scored character)`` when only its completion is scored."""
        starts = self.scored_from or (0,) * len(self.candidates)
        return tuple(
            text if not start else (text, start) for text, start in zip(self.candidates, starts)
        )


#: what is scored: a whole sentence, or (sentence, the character its scored part starts at)
ScoreKey = str | tuple[str, int]


@dataclass(frozen=True)
class PairSet:
    """All pairs of a source, in file order; ``name`` is a short label for reports."""

    name: str
    source: str
    pairs: tuple[MinimalPair, ...]

    @property
    def paradigms(self) -> tuple[str, ...]:
        """Paradigm names in order of first appearance."""
        return tuple(dict.fromkeys(p.paradigm for p in self.pairs))

    def by_paradigm(self) -> dict[str, tuple[MinimalPair, ...]]:
        """Pairs grouped by paradigm, paradigms in order of first appearance."""
        groups: dict[str, list[MinimalPair]] = {}
        for pair in self.pairs:
            groups.setdefault(pair.paradigm, []).append(pair)
        return {name: tuple(items) for name, items in groups.items()}

    def identical(self) -> tuple[MinimalPair, ...]:
        """The pairs whose good and bad sentences are the same text (always a tie)."""
        return tuple(p for p in self.pairs if p.good == p.bad)

    def sentences(self) -> tuple[str, ...]:
        """Every distinct sentence (every candidate), in first-appearance order."""
        return tuple(dict.fromkeys(s for p in self.pairs for s in p.candidates))

    def score_keys(self) -> tuple[ScoreKey, ...]:
        """Every distinct thing to score (:meth:`MinimalPair.keys`), in first-appearance
        order: the sentences themselves when every pair is scored whole."""
        return tuple(dict.fromkeys(k for p in self.pairs for k in p.keys()))

    def __len__(self) -> int:
        return len(self.pairs)


def normalise_field(value: object) -> str:
    """``'Syntax/Semantics'`` -> ``'syntax_semantics'``; empty or missing -> ``unknown``."""
    if not isinstance(value, str) or not value.strip():
        return UNKNOWN_FIELD
    return re.sub(r"[^0-9a-z]+", "_", value.strip().lower()).strip("_") or UNKNOWN_FIELD


def load_pairs(
    path: str | Path, *, fmt: PairFormat = PairFormat(), limit: int | None = None
) -> PairSet:
    """Load a minimal-pair set.

    Takes a folder of ``.jsonl`` files, one ``.jsonl`` file, or a hub dataset id (when
    ``path`` is not an existing file or folder and looks like ``name`` or ``owner/name``).
    ``limit`` keeps the first N pairs of each paradigm (in file order, so deterministic).
    Returns a :class:`PairSet`. Raises :class:`CurriculumError` for a missing path, an
    empty folder, a malformed line (with file and line), a paradigm whose lines disagree
    on the field, a repeated pair id, and a hub dataset that cannot be fetched.
    """
    if limit is not None and limit < 1:
        raise CurriculumError.single("E609", f"--limit must be at least 1, got {limit}")
    local = Path(path)
    if local.is_dir():
        files = sorted(local.glob("*.jsonl"))
        if not files:
            raise CurriculumError.single(
                "E601",
                f"no .jsonl files in folder '{local}'",
                hint="a minimal-pair folder holds one JSON Lines file per paradigm",
            )
        rows = _chain_files(files)
        return _build(local.name, str(local), rows, fmt, limit)
    if local.is_file():
        return _build(local.stem, str(local), _read_jsonl(local), fmt, limit)
    text = str(path)
    if _looks_like_hub_id(text):
        return load_hub_pairs(text, fmt=fmt, limit=limit)
    raise CurriculumError.single(
        "E600",
        f"minimal-pair source '{text}' is not a file or folder",
        hint="pass a folder of BLiMP-style .jsonl files, one .jsonl file, or a hub id like 'blimp'",
    )


def load_hub_pairs(
    dataset_id: str, *, fmt: PairFormat | None = None, limit: int | None = None
) -> PairSet:
    """Load a minimal-pair set from the Hugging Face hub (every config, split ``train``).

    ``blimp`` is short for ``nyu-mll/blimp``. Fails fast when offline: with
    ``HF_HUB_OFFLINE`` set at once, otherwise after a connection attempt of a few
    seconds. Raises :class:`CurriculumError` (E606 offline, E607 fetch failed).
    """
    repo = HUB_ALIASES.get(dataset_id, dataset_id)
    fmt = fmt or PairFormat()
    _require_hub(repo)
    try:
        import datasets

        configs = datasets.get_dataset_config_names(repo)
        split = "train" if limit is None else f"train[:{limit}]"
        tables = [(config, datasets.load_dataset(repo, config, split=split)) for config in configs]
    except CurriculumError:
        raise
    except Exception as exc:  # the hub raises many types; the user needs one message
        raise CurriculumError.single(
            "E607",
            f"could not fetch hub dataset '{repo}': {type(exc).__name__}: {exc}",
            hint=_fetch_hint(repo),
        ) from exc

    def rows() -> Iterator[tuple[str, int, Mapping[str, object]]]:
        for config, table in tables:
            for index, row in enumerate(table):
                yield f"{repo}/{config}", index + 1, row

    return _build(dataset_id.split("/")[-1], f"hub:{repo}", rows(), fmt, limit)


# ---------------------------------------------------------------------------- internals


def _looks_like_hub_id(text: str) -> bool:
    # a hub id is 'name' or 'owner/name' with no suffix; anything else is a mistyped path
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?", text)) and not text.endswith(
        (".jsonl", ".json", ".txt")
    )


def _fetch_hint(repo: str) -> str:
    return (
        f"fetch it where there is network, e.g. `datasets.load_dataset('{repo}', CONFIG)` "
        "for each config, or clone the BLiMP repository (alexwarstadt/blimp, folder data/) "
        "and pass that folder of .jsonl files instead"
    )


def _require_hub(repo: str) -> None:
    """Raise E606 at once when offline, instead of letting a download hang or retry."""
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    if offline:
        raise CurriculumError.single(
            "E606",
            f"hub dataset '{repo}' cannot be fetched: HF_HUB_OFFLINE is set",
            hint=_fetch_hint(repo),
        )
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    endpoint = urlparse(constants.ENDPOINT)
    host = endpoint.hostname or ""
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=HUB_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise CurriculumError.single(
            "E606",
            f"hub dataset '{repo}' cannot be fetched: no connection to {host} ({exc})",
            hint=_fetch_hint(repo),
        ) from exc


def _chain_files(files: list[Path]) -> Iterator[tuple[str, int, Mapping[str, object]]]:
    for file in files:
        yield from _read_jsonl(file)


def _read_jsonl(file: Path) -> Iterator[tuple[str, int, Mapping[str, object]]]:
    """Yield ``(file, line, object)``; blank lines are skipped, anything else must parse.

    A line that is not UTF-8 is E003, one that is not a JSON object (or holds a ``\\u``
    escape that is not a character) E602, both with file and line."""
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _line_error(
                    "E003",
                    str(file),
                    number,
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "a minimal-pair file is JSON Lines text",
                ) from None
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise _line_error("E602", str(file), number, f"not valid JSON: {exc.msg}") from exc
            if not isinstance(row, dict):
                raise _line_error("E602", str(file), number, "a line must be a JSON object")
            if "\\u" in text and _has_lone_surrogate(row):
                raise _line_error(
                    "E602",
                    str(file),
                    number,
                    "a \\u escape that is not a character (a lone surrogate such as \\ud800)",
                )
            yield str(file), number, row


def _has_lone_surrogate(row: Mapping[str, object]) -> bool:
    for value in row.values():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def _line_error(code: str, file: str, line: int, message: str) -> CurriculumError:
    # the renderer shows the offending line itself from the span
    return CurriculumError((Diagnostic(code, message, Span.point(file, line)),))


def _column_error(
    file: str,
    line: int,
    row: Mapping[str, object],
    column: str,
    problem: str,
    *,
    formats: bool = False,
) -> CurriculumError:
    """E603 for ``column`` on this line: the columns found, and the closest of them
    (``formats``: also name the zero-shot formats that were not recognised either)."""
    found = sorted(map(str, row))
    same_but_case = next((c for c in found if c.lower() == column.lower()), None)
    hint = f"did you mean '{same_but_case}'?" if same_but_case else did_you_mean(column, found)
    if formats and hint is None:
        hint = "the formats read: " + "; ".join(
            f"{name} ({', '.join(fields)})" for name, fields in ZERO_SHOT_FORMATS.items()
        )
    return CurriculumError(
        (
            Diagnostic(
                "E603",
                f"column '{column}' {problem} (columns found: {', '.join(found) or 'none'})",
                Span.point(file, line),
                hint,
            ),
        )
    )


#: the fields that identify each zero-shot format of the BabyLM pipeline (module docstring)
ZERO_SHOT_FORMATS: dict[str, tuple[str, ...]] = {
    "blimp": ("sentence_good", "sentence_bad"),
    "ewok": ("Context1", "Target1", "Target2", "Domain"),
    "entity_tracking": ("input_prefix", "options", "numops"),
    "wug": ("sentences", "ratio"),
    "comps": ("prefix_acceptable", "prefix_unacceptable", "property_phrase"),
}
# COMPS' subsets, as the pipeline names them from the file stem (anything else: the last)
_COMPS_SUBSETS = {
    "comps_base": "base",
    "comps_wugs": "wugs",
    "comps_wugs_dist-before": "wugs_dist_before",
}


def zero_shot_format(row: Mapping[str, object]) -> str | None:
    """Which zero-shot format a line is in (a key of :data:`ZERO_SHOT_FORMATS`): the first
    whose identifying field (the first listed) the line has; None for none."""
    for name, fields in ZERO_SHOT_FORMATS.items():
        if fields[0] in row:
            return name
    return None


def _decode_zero_shot(
    file: str, line: int, row: Mapping[str, object]
) -> tuple[str, str, tuple[str, ...], tuple[int, ...], str, str, object] | None:
    """A line of a non-BLiMP zero-shot format as ``(good, bad, others, scored_from,
    paradigm, field, id or None)``, the pipeline's way; None for a BLiMP-style line (or
    one of no known format, which the BLiMP reading then reports)."""
    kind = zero_shot_format(row)
    if kind in (None, "blimp"):
        return None
    stem = Path(file).name.removesuffix(".jsonl")

    def text(column: str, *, empty_ok: bool = False) -> str:
        value = row.get(column)
        if not isinstance(value, str) or not (empty_ok or value.strip()):
            raise _column_error(file, line, row, column, "is missing or not a non-empty string")
        return value

    if kind == "ewok":
        context = text("Context1")
        candidates = [f"{context} {text('Target1')}", f"{context} {text('Target2')}"]
        starts = [len(context)] * 2
        paradigm, field = str(text("Domain")), "ewok"
    elif kind == "entity_tracking":
        prefix = text("input_prefix")
        options = row.get("options")
        if (
            not isinstance(options, list)
            or len(options) < 2
            or not all(isinstance(o, str) and o.strip() for o in options)
        ):
            raise _column_error(
                file, line, row, "options", "is not a list of two or more non-empty strings"
            )
        if "numops" not in row:
            raise _column_error(file, line, row, "numops", "is missing")
        candidates = [prefix + option for option in options]
        starts = [len(prefix)] * len(options)
        paradigm, field = f"{stem}_{row['numops']}_ops", stem
    elif kind == "wug":
        candidates = text("sentences").split("\t")
        if len(candidates) < 2 or not all(c.strip() for c in candidates):
            raise _column_error(
                file, line, row, "sentences", "does not hold two or more tab-separated sentences"
            )
        try:
            float(row.get("ratio"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _column_error(file, line, row, "ratio", "is missing or not a number") from None
        starts = [0] * len(candidates)
        paradigm, field = stem, "wug"
    else:  # comps
        phrase = text("property_phrase")
        prefixes = [text("prefix_acceptable"), text("prefix_unacceptable")]
        candidates = [f"{prefix} {phrase}" for prefix in prefixes]
        starts = [len(prefix) + 1 for prefix in prefixes]
        paradigm, field = _COMPS_SUBSETS.get(stem, "wugs_dist_in_between"), "comps"
    raw_id = next((row[c] for c in DEFAULT_PAIR_ID_COLUMNS if row.get(c) not in (None, "")), None)
    starts_or_whole = tuple(starts) if any(starts) else ()
    return (
        candidates[0],
        candidates[1],
        tuple(candidates[2:]),
        starts_or_whole,
        paradigm,
        field,
        raw_id,
    )


def _check_field_and_id(
    paradigm: str,
    field: str,
    pair_id: str,
    file: str,
    line: int,
    field_of: dict[str, tuple[str, str, int]],
    seen_ids: dict[tuple[str, str], tuple[str, int]],
) -> None:
    known = field_of.setdefault(paradigm, (field, file, line))
    if known[0] != field:
        raise _line_error(
            "E604",
            file,
            line,
            f"paradigm '{paradigm}' has field '{field}' here but '{known[0]}' "
            f"at {known[1]}:{known[2]}",
        )
    first = seen_ids.setdefault((paradigm, pair_id), (file, line))
    if first != (file, line):
        raise _line_error(
            "E605",
            file,
            line,
            f"pair id '{pair_id}' repeats in paradigm '{paradigm}' "
            f"(first at {first[0]}:{first[1]})",
        )


def _build(
    name: str,
    source: str,
    rows: Iterable[tuple[str, int, Mapping[str, object]]],
    fmt: PairFormat,
    limit: int | None,
) -> PairSet:
    pairs: list[MinimalPair] = []
    count: dict[str, int] = {}
    seen_ids: dict[tuple[str, str], tuple[str, int]] = {}
    field_of: dict[str, tuple[str, str, int]] = {}
    index_in_file: dict[str, int] = {}
    for file, line, row in rows:
        index = index_in_file.get(file, 0)
        index_in_file[file] = index + 1
        decoded = _decode_zero_shot(file, line, row) if fmt == PairFormat() else None
        if decoded is not None:
            good, bad, others, starts, paradigm, field, raw_id = decoded
            if limit is not None and count.get(paradigm, 0) >= limit:
                continue
            pair_id = str(raw_id) if raw_id is not None else f"{Path(file).stem}:{index}"
            _check_field_and_id(paradigm, field, pair_id, file, line, field_of, seen_ids)
            count[paradigm] = count.get(paradigm, 0) + 1
            pairs.append(
                MinimalPair(pair_id, paradigm, field, good, bad, file, line, others, starts)
            )
            continue
        good, bad = row.get(fmt.good), row.get(fmt.bad)
        for column, value in ((fmt.good, good), (fmt.bad, bad)):
            if not isinstance(value, str) or not value.strip():
                raise _column_error(
                    file,
                    line,
                    row,
                    column,
                    "is missing or not a non-empty string",
                    formats=fmt == PairFormat(),
                )
        for column in (fmt.paradigm, fmt.field, fmt.pair_id):
            if column is not None and column not in row:
                raise _column_error(file, line, row, column, "is missing")
        paradigm_value = row.get(fmt.paradigm or DEFAULT_PARADIGM_COLUMN)
        paradigm = (
            str(paradigm_value)
            if paradigm_value not in (None, "")
            else Path(file).name.removesuffix(".jsonl")
        )
        if limit is not None and count.get(paradigm, 0) >= limit:
            continue
        field = normalise_field(row.get(fmt.field or DEFAULT_FIELD_COLUMN))
        raw_id = (
            row.get(fmt.pair_id)
            if fmt.pair_id is not None
            else next(
                (row[c] for c in DEFAULT_PAIR_ID_COLUMNS if row.get(c) not in (None, "")), None
            )
        )
        pair_id = str(raw_id) if raw_id not in (None, "") else str(index)
        _check_field_and_id(paradigm, field, pair_id, file, line, field_of, seen_ids)
        count[paradigm] = count.get(paradigm, 0) + 1
        pairs.append(MinimalPair(pair_id, paradigm, field, good.strip(), bad.strip(), file, line))
    if not pairs:
        raise CurriculumError.single(
            "E608", f"no minimal pairs found in '{source}'", hint="the files are empty"
        )
    return PairSet(name=name, source=source, pairs=tuple(pairs))
