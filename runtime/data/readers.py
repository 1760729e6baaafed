"""Reading raw examples: text files, JSON Lines, ``datasets`` folders, hub ids, ``synth``.

:func:`load_raw` resolves a :class:`~curriculumc.plan.DataSpec` to a :class:`RawCorpus`:
the list of inputs and a content identity, nothing read yet. :meth:`RawCorpus.batches`
then streams the examples in order, a batch at a time, so that a 100M-word corpus never
sits in memory as Python strings.

Inputs
------
- a plain-text file: one example a line, source = the file's stem;
- a JSON Lines file (``.jsonl``/``.json``, also ``.gz``): the text in ``text_field``
  (default ``text``), the source in ``source_field`` (default ``source``; the file stem
  when absent), POS in ``pos_field``; every numeric field becomes a column (``columns=``
  restricts them; ``age_days`` is called ``age``);
- a folder: every file in it (sorted by name; hidden files and ``README*`` skipped), one
  source per file; a folder written by ``datasets.save_to_disk`` is read as a dataset.
  A BabyLM corpus folder (the organisers' ``train_10M/``: ``bnc_spoken.train``,
  ``childes.train``, ...) is such a folder: its sources are the file stems and its words
  are counted as the organisers count them (whitespace-separated). In a folder that holds
  ``*.train`` files, ``*.dev`` / ``*.test`` files are held-out splits and are skipped
  (recorded in :attr:`RawCorpus.skipped`), never trained on;
- a hub dataset id (``kind="hub"``), only when online;
- ``synth``: the generated corpus (:mod:`curriculumc.runtime.data.synth`), 300k words unless
  ``words=`` or ``sentences=`` says otherwise, read as JSON Lines with gold universal
  POS tags and the columns ``depth`` and ``length``.

POS fields (read only when POS tags are asked for): ``pos_format=universal`` reads
``pos_field`` (default ``pos``) as universal tags, ``mor`` reads it (default ``mor``) as
CHILDES MOR codes, ``tagger`` ignores any field. Unset (``auto``): a ``pos`` field is
universal, else a ``mor`` field is MOR, else the tagger tags the line.

Bad input -- every case is handled by a rule and counted, or refused
-----------------------------------------------------------------------
=============================  ===========================================  ===============
problem                        rule                                         counted as
=============================  ===========================================  ===============
empty / whitespace-only line   dropped                                      ``empty_lines``
empty / whitespace-only text   dropped                                      ``empty_texts``
bytes that are not UTF-8       replaced by U+FFFD, line kept (bad line)     ``invalid_utf8_lines``
a NUL byte in a line           line dropped (bad line)                      ``nul_lines``
other control bytes            line dropped as binary-looking (bad line)    ``binary_lines``
 (0x01-0x08, 0x0e-0x1f, 0x7f)
more than 1% bad lines in a    refused: E316 with the first bad line's      --
 file (``bad_lines=``)          file:line
``\r`` alone (old Mac text)    a line break, like ``\n`` and ``\r\n``        ``cr_line_breaks``
byte-order mark on line 1      removed                                      (not a problem)
truncated / corrupt ``.gz``    refused: E318 with file:line                 --
lone surrogate escape          refused: E319 with file:line                 --
 (``"\ud800"``) in JSON
spaces around a text           stripped                                     (not a problem)
line longer than ``max_chars``  refused: E307 with file:line                 --
invalid JSON                   refused: E303 with file:line                 --
JSON value not an object       refused: E304 with file:line                 --
text field missing / null      refused: E305 with file:line                 --
text field not a string        refused: E306 with file:line                 --
source field missing           the file's stem is the source                ``missing_source``
numeric column missing / null  NaN                                          ``missing:<column>``
listed column not numeric      refused: E310 with file:line                 --
POS field missing / empty      tagged by the tagger (only with POS)         ``pos_missing``
POS tags != words in number    tagged by the tagger (only with POS)         ``pos_mismatch``
unknown universal POS tag      refused: E311 with file:line                 --
=============================  ===========================================  ===============

Paths: a data path that is not a regular file or a folder (a FIFO, a device such as
``/dev/zero``, a socket) is refused with E302 and never opened. In a folder, every entry
that is not read is recorded in :attr:`RawCorpus.skipped` with the reason (hidden,
README, folder, dangling symlink, not a regular file); the run's data report lists them.

``bad_lines``: ``refuse`` (default: a file is refused when more than 1% of its lines are
bad), ``allow`` (never refused; the rules above still drop or replace), or a share such as
``"5%"``. The counts per file are in :attr:`ReadReport.input_rules`.

Error codes E300-E319 are raised here.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import re
import socket
import stat
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from curriculumc.errors import CurriculumError, Span
from curriculumc.plan import DataSpec
from curriculumc.registry import DATA_OPTIONS, REGISTERED_CORPORA
from curriculumc.runtime.data.tagging import mor_to_indices, universal_to_indices

#: bump when reading rules change what comes out of a file (invalidates caches)
READER_VERSION = 2
#: default share of a file's lines that may be bad (NUL, binary-looking, not UTF-8)
DEFAULT_BAD_LINE_SHARE = 0.01
#: control bytes that make a line look binary (tab, line breaks, VT and FF are text)
_BINARY_BYTES = re.compile(rb"[\x01-\x08\x0e-\x1f\x7f]")
#: the per-file counts that are "bad lines" for the ``bad_lines`` threshold
BAD_LINE_RULES = ("nul_lines", "binary_lines", "invalid_utf8_lines")
#: default size of the generated corpus when a spec gives neither words= nor sentences=
DEFAULT_SYNTH_WORDS = 300_000
#: numeric columns of the generated corpus
SYNTH_COLUMNS = ("depth", "length")
#: JSON fields renamed to the column names scorers know
COLUMN_ALIASES = {"age_days": "age"}
POS_FORMATS = ("auto", "universal", "mor", "tagger")
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
_NUMBER_TYPES = frozenset({int, float})

try:  # orjson is faster where present; json.loads is the same contract
    from orjson import loads as _json_loads  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    # what json.loads(str) calls, without its per-call argument checks
    _json_loads = json.JSONDecoder().decode


@dataclass(frozen=True)
class ReadOptions:
    """A DataSpec's options, typed, with their defaults (see ``DATA_OPTIONS``)."""

    text_field: str = "text"
    source_field: str = "source"
    pos_field: str | None = None
    pos_format: str = "auto"
    columns: tuple[str, ...] | None = None
    split: str = "train"
    max_chars: int = 20_000
    words: int | None = None
    sentences: int | None = None
    seed: int | None = None
    bad_lines: str = "refuse"

    @property
    def bad_line_share(self) -> float | None:
        """The share of a file's lines that may be bad; None: any (``bad_lines=allow``)."""
        return _bad_line_share(self.bad_lines)

    def identity(self) -> dict:
        """The options that change which texts, sources and columns are read."""
        return {
            "text_field": self.text_field,
            "source_field": self.source_field,
            "columns": list(self.columns) if self.columns is not None else None,
            "split": self.split,
            "max_chars": self.max_chars,
            # a cached corpus read with bad_lines=allow must not satisfy a stricter run
            "bad_lines": self.bad_lines,
        }


def _bad_line_share(value: str) -> float | None:
    text = value.strip().lower()
    if text == "allow":
        return None
    if text == "refuse":
        return DEFAULT_BAD_LINE_SHARE
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text)
    if match and float(match.group(1)) <= 100:
        return float(match.group(1)) / 100
    raise CurriculumError.single(
        "E308",
        f"data option bad_lines must be allow, refuse or a share like '5%', got {value!r}",
    )


@dataclass(frozen=True)
class RawInput:
    """One input: ``format`` is ``text``, ``jsonl``, ``datasets`` or ``hub``.

    ``source``: the default source name (file stem); ``fingerprint``: sha256 of its bytes
    (of its arrow files for a dataset). ``dataset`` holds the opened dataset, if any.
    """

    path: str
    format: str
    source: str
    fingerprint: str
    pos_format: str = "auto"
    dataset: object | None = field(default=None, compare=False, repr=False)
    #: read only bytes ``[start, stop)`` of the file (cut after a line break), numbering its
    #: lines from ``before + 1``: one part of a file read in parallel (text_store.py)
    span: tuple[int, int, int] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RawBatch:
    """Examples ``[start, start + len(texts))`` of the corpus, after the handling rules.

    ``columns``: name -> one float per example (NaN where missing) for the columns seen
    in this batch; ``pos``: one tag-index string per example (one byte per word), or None
    where the tagger must tag it; ``pos`` itself is None when POS was not asked for.
    """

    start: int
    texts: list[str]
    sources: list[str]
    columns: dict[str, list[float]]
    pos: list[bytes | None] | None = None


@dataclass
class ReadReport:
    """What reading did -- a mutable tally filled by :meth:`RawCorpus.batches`.

    ``rules``: handling-rule counts (see the module table); ``inputs``: per input path,
    ``{"lines": ..., "examples": ...}``; ``input_rules``: per input path, the rule counts
    of that file (``empty_lines``, ``nul_lines``, ...); ``mor_unlisted``: MOR codes outside
    the map; ``columns_seen``: columns that had a value somewhere.
    """

    rules: Counter = field(default_factory=Counter)
    inputs: dict[str, dict[str, int]] = field(default_factory=dict)
    input_rules: dict[str, Counter] = field(default_factory=dict)
    mor_unlisted: dict[str, int] = field(default_factory=dict)
    columns_seen: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class RawCorpus:
    """Resolved inputs of a corpus plus its identity; read with :meth:`batches`/:meth:`texts`.

    ``identity`` is a sha256 of the reader version, the reading options and every input's
    fingerprint: equal identities read the same examples. ``skipped``: the paths of a data
    folder that are not read, each with why (``(path, reason)``; not part of the identity).
    """

    inputs: tuple[RawInput, ...]
    options: ReadOptions
    identity: str
    description: str
    skipped: tuple[tuple[str, str], ...] = ()

    def batches(
        self,
        *,
        batch_size: int = 4096,
        report: ReadReport | None = None,
        with_pos: bool = False,
    ) -> Iterator[RawBatch]:
        """Stream the examples in order, ``batch_size`` at a time.

        ``report`` collects rule counts; ``with_pos`` also parses POS fields. Raises
        :class:`CurriculumError` for refused input (see the module table), and E309 at
        the end when a column listed in ``columns=`` never had a value.
        """
        report = report if report is not None else ReadReport()
        wanted = self.options.columns or ()
        start = 0
        for inp in self.inputs:
            reader = _READERS[inp.format]
            for batch in reader(inp, self.options, report, with_pos, batch_size, start):
                start += len(batch.texts)
                for name in wanted:  # every listed column is present, NaN where absent
                    batch.columns.setdefault(name, [math.nan] * len(batch.texts))
                report.columns_seen.update(
                    name
                    for name, values in batch.columns.items()
                    if name not in report.columns_seen and not _all_nan(values)
                )
                yield batch
        missing = [name for name in wanted if name not in report.columns_seen]
        if missing:
            raise CurriculumError.single(
                "E309",
                f"column {missing[0]!r} has no numeric value anywhere in {self.description}",
                hint="numeric columns found: " + (", ".join(sorted(report.columns_seen)) or "none"),
            )

    def texts(self, *, batch_size: int = 4096) -> Iterator[str]:
        """Every example's text, in order (the same examples as a line-unit corpus)."""
        for batch in self.batches(batch_size=batch_size):
            yield from batch.texts


def _all_nan(values: list[float]) -> bool:
    return all(v != v for v in values)  # NaN is the only float unequal to itself


# --- resolution ---------------------------------------------------------------------------


def read_options(spec: DataSpec) -> ReadOptions:
    """Type-check a DataSpec's options. Raises :class:`CurriculumError` (E308)."""
    values: dict = {}
    for key, value in spec.options:
        kind = DATA_OPTIONS.get(key)
        if kind is None:
            raise CurriculumError.single(
                "E308",
                f"unknown data option {key!r}",
                hint="known options: " + ", ".join(sorted(DATA_OPTIONS)),
            )
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise CurriculumError.single(
                    "E308", f"data option {key} must be a positive integer"
                )
        elif not isinstance(value, str) or not value:
            raise CurriculumError.single("E308", f"data option {key} must be a non-empty string")
        values[key] = value
    if "columns" in values:
        names = tuple(c.strip() for c in values["columns"].split(",") if c.strip())
        values["columns"] = tuple(COLUMN_ALIASES.get(c, c) for c in names)
    if values.get("pos_format", "auto") not in POS_FORMATS:
        raise CurriculumError.single(
            "E308",
            f"unknown pos_format {values['pos_format']!r}",
            hint="one of: " + ", ".join(POS_FORMATS),
        )
    options = ReadOptions(**values)
    options.bad_line_share  # noqa: B018 -- raises E308 for a bad value now, not mid-file
    return options


def load_raw(spec: DataSpec, *, cache_dir: Path | None = None) -> RawCorpus:
    """Resolve ``spec`` to its inputs (opening datasets, generating ``synth`` if needed).

    ``cache_dir`` is where ``synth`` is generated (default: :func:`default_cache_dir`).
    Reads no examples. Raises :class:`CurriculumError`: E300 path not found, E301 no
    input files, E308 bad options, E312/E313 hub dataset unavailable, E314 dataset folder
    unreadable, E315 unknown registered corpus.
    """
    options = read_options(spec)
    skipped: list[tuple[str, str]] = []
    if spec.kind == "registered":
        inputs, description = _resolve_registered(spec, options, cache_dir)
        if options.columns is None:  # the generator's documented features
            options = replace(options, columns=SYNTH_COLUMNS)
    elif spec.kind == "path":
        inputs, description = _resolve_path(Path(spec.source), options, skipped), spec.source
    elif spec.kind == "hub":
        inputs, description = (_resolve_hub(spec.source, options),), f"hub:{spec.source}"
    else:
        raise CurriculumError.single("E308", f"unknown data kind {spec.kind!r}")
    generator_only = [k for k in ("words", "sentences", "seed") if getattr(options, k) is not None]
    if generator_only and spec.kind != "registered":
        raise CurriculumError.single(
            "E308",
            f"data option {generator_only[0]} sets the size of the generated corpus only",
            hint=f"remove it from the data statement for {spec.source}",
        )
    identity = _sha256_json(
        {
            "reader": READER_VERSION,
            "options": options.identity(),
            "inputs": [[i.format, i.source, i.fingerprint] for i in inputs],
        }
    )
    return RawCorpus(tuple(inputs), options, identity, description, tuple(skipped))


#: ``validate`` reads a corpus in full to learn its sources (a mix names them) only up to
#: this many bytes of input; a bigger one is known once ``run`` or ``simulate`` has read it
SOURCES_SCAN_BYTES = 256 << 20


def _sources_file(cache_dir: Path, identity: str) -> Path:
    return Path(cache_dir) / "sources" / f"{identity}.json"


def remember_sources(cache_dir: Path, identity: str, names) -> None:
    """Keep the source names of the corpus ``identity`` (a :class:`RawCorpus`'s) for
    :func:`corpus_sources`; a cache that cannot be written is left alone."""
    from curriculumc.files import write_atomic

    path = _sources_file(cache_dir, identity)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(sorted(set(names))))
    except OSError:
        pass


def corpus_sources(spec: DataSpec, *, cache_dir: Path | None = None) -> tuple[str, ...] | None:
    """The sorted, distinct source names of the examples ``spec`` reads, by the readers'
    own rules (a record's source field, else its file's stem; a record with no text is
    no example): kept by content (the corpus identity: :func:`remember_sources`, which
    ``prepare_data`` calls too), else read when the inputs are at most
    :data:`SOURCES_SCAN_BYTES`; None for a bigger corpus not read yet, and for data not
    given by a path (a registered corpus is generated, a hub dataset downloaded).

    Raises :class:`CurriculumError` for data that cannot be read (E300-E349)."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if spec.kind != "path":
        return None
    raw = load_raw(spec, cache_dir=cache_dir)
    path = _sources_file(cache_dir, raw.identity)
    try:
        return tuple(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    size = 0
    for inp in raw.inputs:
        try:
            size += os.stat(inp.path).st_size
        except OSError:
            return None
    if size > SOURCES_SCAN_BYTES:
        return None
    names: set[str] = set()
    for batch in raw.batches(batch_size=16384):
        names.update(batch.sources)
    remember_sources(cache_dir, raw.identity, names)
    return tuple(sorted(names))


def default_cache_dir() -> Path:
    """``$CURRICULUMC_CACHE`` if set, else ``.cache/curriculumc`` under the current folder."""
    env = os.environ.get("CURRICULUMC_CACHE")
    return Path(env) if env else Path.cwd() / ".cache" / "curriculumc"


def _synth_settings(options: ReadOptions) -> dict:
    kwargs = {}
    if options.words is not None:
        kwargs["words"] = options.words
    if options.sentences is not None:
        kwargs["sentences"] = options.sentences
    if not kwargs:
        kwargs["words"] = DEFAULT_SYNTH_WORDS
    if options.seed is not None:
        kwargs["seed"] = options.seed
    return kwargs


def synth_paths(spec: DataSpec, *, cache_dir: Path | None = None):
    """The generated corpus that a ``data synth(...)`` spec names -- its train, dev and
    minimal-pair files -- materialized on first use (``curriculumc.runtime.data.synth``).

    The one place that turns the spec's options into generator settings, so that the
    trainer's corpus, ``eval ppl`` (dev split) and ``eval synth`` (pairs) all read the same
    folder. Raises :class:`CurriculumError` E308 for bad options.
    """
    from curriculumc.runtime.data.synth import materialize

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return materialize(root, **_synth_settings(read_options(spec)))


def _resolve_registered(spec: DataSpec, options: ReadOptions, cache_dir):
    name = spec.source
    if name not in REGISTERED_CORPORA:
        raise CurriculumError.single(
            "E315",
            f"unknown corpus {name!r}",
            hint="registered corpora: " + ", ".join(sorted(REGISTERED_CORPORA)),
        )
    kwargs = _synth_settings(options)
    paths = synth_paths(spec, cache_dir=cache_dir)
    train = Path(paths.train)
    inp = RawInput(str(train), "jsonl", "synth", _file_sha256(train), pos_format="universal")
    size = ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
    return (inp,), f"synth({size})"


#: a BabyLM-style folder: beside ``*.train`` files, ``*.dev``/``*.test`` are held out
TRAIN_SUFFIX = ".train"
HELD_OUT_SUFFIXES = (".dev", ".test")
HELD_OUT_REASON = "held-out split (beside .train files)"


def _resolve_path(
    path: Path, options: ReadOptions, skipped: list[tuple[str, str]] | None = None
) -> tuple[RawInput, ...]:
    skipped = skipped if skipped is not None else []
    kind = _path_kind(path)
    if kind == "dangling symlink" or kind == "missing":
        what = "is a dangling symbolic link" if kind == "dangling symlink" else "does not exist"
        raise CurriculumError.single(
            "E300", f"data path {path} {what}", hint="give a file or a folder of files"
        )
    if kind == "folder":
        if _is_datasets_folder(path):
            return (_open_datasets_folder(path, options),)
        files = []
        for p in sorted(path.iterdir()):
            if p.name.startswith("."):
                reason = "hidden"
            elif p.name.upper().startswith("README"):
                reason = "README"
            else:
                reason = _path_kind(p)
            if reason == "file":
                files.append(p)
            else:
                skipped.append((str(p), reason))
        if any(p.suffix == TRAIN_SUFFIX for p in files):
            held_out = [p for p in files if p.suffix in HELD_OUT_SUFFIXES]
            files = [p for p in files if p not in held_out]
            skipped.extend((str(p), HELD_OUT_REASON) for p in held_out)
        if not files:
            listed = "; ".join(f"{Path(p).name} ({why})" for p, why in skipped[:5])
            raise CurriculumError.single(
                "E301",
                f"data folder {path} holds no input files",
                hint=f"skipped: {listed}"
                if listed
                else "put one text or .jsonl file per source in it",
            )
        return tuple(_file_input(p) for p in files)
    if kind != "file":
        raise CurriculumError.single(
            "E302",
            f"data path {path} is {kind}, not a file or a folder",
            hint="a FIFO or a device (such as /dev/zero) is never read; give a regular file",
        )
    return (_file_input(path),)


def _path_kind(path: Path) -> str:
    """``file``, ``folder``, ``missing``, ``dangling symlink`` or ``not a regular file
    (...)`` -- from ``os.stat`` alone, so that a FIFO or a device is never opened."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "dangling symlink" if os.path.islink(path) else "missing"
    except OSError as exc:  # a symlink loop, no permission
        return f"unreadable ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    what = (
        "a FIFO" if stat.S_ISFIFO(mode)
        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket" if stat.S_ISSOCK(mode)
        else "special"
    )  # fmt: skip
    return f"not a regular file ({what})"


def _file_input(path: Path) -> RawInput:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    fmt = "jsonl" if name.endswith(JSON_SUFFIXES) else "text"
    return RawInput(str(path), fmt, Path(name).stem, _file_sha256(path))


def _is_datasets_folder(path: Path) -> bool:
    return (path / "dataset_dict.json").exists() or (
        (path / "state.json").exists() and (path / "dataset_info.json").exists()
    )


def _open_datasets_folder(path: Path, options: ReadOptions) -> RawInput:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises many types for a broken folder
        raise CurriculumError.single("E314", f"cannot open dataset folder {path}: {exc}") from None
    dataset = _pick_split(loaded, options.split, str(path))
    return RawInput(
        str(path), "datasets", path.name, _dataset_fingerprint(dataset), dataset=dataset
    )


def _pick_split(loaded, split: str, where: str):
    import datasets

    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise CurriculumError.single(
                "E314",
                f"{where} has no split {split!r}",
                hint="splits: " + ", ".join(sorted(loaded.keys())) + " (choose with split=...)",
            )
        return loaded[split]
    return loaded


def _dataset_fingerprint(dataset) -> str:
    digest = hashlib.sha256()
    files = [f["filename"] for f in getattr(dataset, "cache_files", [])]
    for name in sorted(files):
        digest.update(_file_sha256(Path(name)).encode())
    if not files:  # an in-memory dataset: datasets' own fingerprint of its history
        digest.update(str(getattr(dataset, "_fingerprint", "")).encode())
    return digest.hexdigest()


def _resolve_hub(dataset_id: str, options: ReadOptions) -> RawInput:
    save_hint = (
        'download it once while online, e.g. python -c "import datasets; '
        f"datasets.load_dataset('{dataset_id}', split='{options.split}')"
        '.save_to_disk(\'data/NAME\')", and use data "data/NAME"'
    )
    offline = [v for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if _truthy(os.environ.get(v))]
    if offline:
        raise CurriculumError.single(
            "E312",
            f"hub dataset {dataset_id!r} cannot be fetched: {offline[0]} is set",
            hint=save_hint,
        )
    if not _hub_reachable():
        raise CurriculumError.single(
            "E312",
            f"hub dataset {dataset_id!r} cannot be fetched: the hub is unreachable",
            hint=save_hint,
        )
    import datasets

    try:
        dataset = datasets.load_dataset(dataset_id, split=options.split)
    except Exception as exc:  # network, auth, missing dataset: all reported the same way
        raise CurriculumError.single(
            "E313", f"cannot load hub dataset {dataset_id!r}: {exc}", hint=save_hint
        ) from None
    return RawInput(
        dataset_id, "hub", dataset_id.split("/")[-1], _dataset_fingerprint(dataset), dataset=dataset
    )


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


def _hub_reachable(timeout: float = 3.0) -> bool:
    # A short TCP connect decides "online" before any library call that could hang.
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        with socket.create_connection((host or "huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256_json(data) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- readers ------------------------------------------------------------------------------


def _open_binary(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _raw_lines(inp: RawInput, counts: Counter) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes without the line break) of every line; ``\n``, ``\r\n`` and a
    lone ``\r`` all end a line. Raises E318 for a truncated or corrupt compressed file."""
    number = 0 if inp.span is None else inp.span[2]
    try:
        with _open_binary(inp.path) as handle:
            for raw in handle if inp.span is None else _span_lines(handle, inp.span):
                raw = raw[:-1] if raw.endswith(b"\n") else raw
                raw = raw[:-1] if raw.endswith(b"\r") else raw
                if b"\r" in raw:  # old Mac line breaks (or stray CRs): each one ends a line
                    parts = raw.split(b"\r")
                    counts["cr_line_breaks"] += len(parts) - 1
                    for part in parts:
                        number += 1
                        yield number, part
                    continue
                number += 1
                yield number, raw
    except (EOFError, OSError, zlib.error) as exc:
        what = "is truncated" if isinstance(exc, EOFError) else f"cannot be read: {exc}"
        raise CurriculumError.single(
            "E318",
            f"{inp.path} {what} (after line {number})",
            Span.point(inp.path, number + 1),
            hint="the compressed file is incomplete or corrupt; download or compress it again",
        ) from None


def _span_lines(handle, span: tuple[int, int, int]) -> Iterator[bytes]:
    """The lines of bytes ``[start, stop)`` of ``handle`` (``stop`` follows a line break)."""
    start, stop, _ = span
    handle.seek(start)
    left = stop - start
    for raw in handle:
        yield raw
        left -= len(raw)
        if left <= 0:
            break


def _decoded_lines(
    inp: RawInput, report: ReadReport, options: ReadOptions | None = None
) -> Iterator[tuple[int, str]]:
    """(line number, text) of every text line, decoded; bad lines dropped or replaced and
    counted (see the module table); E316 at the end of a file with too many bad lines."""
    counts = report.input_rules.setdefault(inp.path, Counter())
    first_bad: tuple[int, str] | None = None
    number = 0 if inp.span is None else inp.span[2]
    for number, raw in _raw_lines(inp, counts):
        bad = None
        if b"\x00" in raw:
            bad = "nul_lines"
        elif _BINARY_BYTES.search(raw):
            bad = "binary_lines"
        if bad is None:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("utf-8", "replace")
                bad = "invalid_utf8_lines"
        if bad is not None:
            counts[bad] += 1
            report.rules[bad] += 1
            if first_bad is None:
                first_bad = (number, bad)
            if bad != "invalid_utf8_lines":
                continue  # not text: dropped
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        yield number, line
    report.inputs.setdefault(inp.path, {})["lines"] = number - (inp.span[2] if inp.span else 0)
    share = (options or ReadOptions()).bad_line_share
    bad_total = sum(counts[name] for name in BAD_LINE_RULES)
    if first_bad is not None and share is not None and bad_total > share * number:
        what = {
            "nul_lines": "a NUL byte",
            "binary_lines": "control bytes",
            "invalid_utf8_lines": "bytes that are not UTF-8",
        }
        parts = ", ".join(
            f"{counts[name]} with {what[name]}" for name in BAD_LINE_RULES if counts[name]
        )
        raise CurriculumError.single(
            "E316",
            f"{bad_total} of the {number} lines of {inp.path} are not text ({parts}), more "
            f"than the {share:.0%} that bad_lines allows; the first is line {first_bad[0]} "
            f"({what[first_bad[1]]})",
            Span.point(inp.path, first_bad[0]),
            hint="remove the file from the data folder, or accept it with the data option "
            'bad_lines=allow (or a share such as bad_lines="20%")',
        )


def _too_long(inp: RawInput, number: int, length: int, max_chars: int) -> CurriculumError:
    return CurriculumError.single(
        "E307",
        f"line {number} of {inp.path} has {length} characters, more than max_chars={max_chars}",
        Span.point(inp.path, number),
        hint="split the line, or raise the limit with the data option max_chars=...",
    )


def _read_text(inp, options, report, with_pos, batch_size, start):
    texts: list[str] = []
    kept = 0
    counts = report.input_rules.setdefault(inp.path, Counter())
    for number, line in _decoded_lines(inp, report, options):
        text = line.strip()
        if not text:
            report.rules["empty_lines"] += 1
            counts["empty_lines"] += 1
            continue
        if len(text) > options.max_chars:
            raise _too_long(inp, number, len(text), options.max_chars)
        texts.append(text)
        if len(texts) == batch_size:
            yield _plain_batch(start + kept, texts, inp.source, with_pos)
            kept += len(texts)
            texts = []
    if texts:
        yield _plain_batch(start + kept, texts, inp.source, with_pos)
        kept += len(texts)
    report.inputs.setdefault(inp.path, {})["examples"] = kept
    if with_pos:  # plain text has no POS field: the tagger tags every line
        report.rules["pos_tagger" if options.pos_format == "tagger" else "pos_missing"] += kept


def _plain_batch(start, texts, source, with_pos) -> RawBatch:
    return RawBatch(
        start, texts, [source] * len(texts), {}, [None] * len(texts) if with_pos else None
    )


class _BatchBuilder:
    """Collects examples with their columns, filling NaN where a column is absent."""

    def __init__(self, start: int, with_pos: bool):
        self.start = start
        self.texts: list[str] = []
        self.sources: list[str] = []
        self.columns: dict[str, list[float]] = {}
        self.pos: list[bytes | None] | None = [] if with_pos else None

    def add(self, text: str, source: str, values: dict[str, float], pos: bytes | None) -> None:
        n = len(self.texts)
        for name, value in values.items():
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = [math.nan] * n
            column.append(value)
        if len(values) != len(self.columns):  # some column has no value on this line
            for column in self.columns.values():
                if len(column) == n:
                    column.append(math.nan)
        self.texts.append(text)
        self.sources.append(source)
        if self.pos is not None:
            self.pos.append(pos)

    def build(self) -> RawBatch:
        return RawBatch(self.start, self.texts, self.sources, self.columns, self.pos)


def _read_jsonl(inp, options, report, with_pos, batch_size, start):
    skip = {options.text_field, options.source_field}
    builder = _BatchBuilder(start, with_pos)
    kept = 0
    counts = report.input_rules.setdefault(inp.path, Counter())
    for number, line in _decoded_lines(inp, report, options):
        if not line.strip():
            report.rules["empty_lines"] += 1
            counts["empty_lines"] += 1
            continue
        try:
            record = _json_loads(line)
        except ValueError as exc:
            reason, column = getattr(exc, "msg", str(exc)), getattr(exc, "colno", 1)
            raise CurriculumError.single(
                "E303",
                f"invalid JSON on line {number} of {inp.path}: {reason} (column {column})",
                Span.point(inp.path, number, column),
                hint="each line of a JSON Lines file must be one JSON object",
            ) from None
        where = (inp.path, number)
        text = _record_text(record, options, where)
        if "\\u" in line and _lone_surrogate(record, text, options):
            raise CurriculumError.single(
                "E319",
                f"line {number} of {inp.path} has a \\u escape that is not a character "
                "(a lone surrogate such as \\ud800)",
                Span.point(inp.path, number),
                hint="such text cannot be encoded as UTF-8; fix or drop that line",
            )
        if not text:
            report.rules["empty_texts"] += 1
            counts["empty_texts"] += 1
            continue
        if len(text) > options.max_chars:
            raise _too_long(inp, number, len(text), options.max_chars)
        source = record.get(options.source_field)
        if source is None:
            report.rules["missing_source"] += 1
            source = inp.source
        elif not isinstance(source, str):
            source = str(source)
        values = _record_columns(record, options, skip, where)
        pos = _record_pos(record, text, inp, options, report, where) if with_pos else None
        builder.add(text, source, values, pos)
        if len(builder.texts) == batch_size:
            yield builder.build()
            kept += batch_size
            builder = _BatchBuilder(start + kept, with_pos)
    if builder.texts:
        yield builder.build()
        kept += len(builder.texts)
    report.inputs.setdefault(inp.path, {})["examples"] = kept


def _lone_surrogate(record: dict, text: str, options: ReadOptions) -> bool:
    """Whether the text or the source holds a lone surrogate (only a ``\\u`` escape can
    make one: the line itself was decoded from UTF-8)."""
    source = record.get(options.source_field)
    for value in (text, source if isinstance(source, str) else ""):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def _record_text(record, options: ReadOptions, where: tuple[str, int]) -> str:
    path, number = where
    if not isinstance(record, dict):
        raise CurriculumError.single(
            "E304",
            f"line {number} of {path} is a JSON {type(record).__name__}, not an object",
            Span.point(path, number),
        )
    text = record.get(options.text_field)
    if text is None:
        fields = ", ".join(sorted(record)) or "none"
        raise CurriculumError.single(
            "E305",
            f"line {number} of {path} has no {options.text_field!r} field",
            Span.point(path, number),
            hint=f"fields on that line: {fields}; choose one with text_field=...",
        )
    if not isinstance(text, str):
        raise CurriculumError.single(
            "E306",
            f"field {options.text_field!r} on line {number} of {path} is not a string",
            Span.point(path, number),
        )
    return text.strip()


def _record_columns(record: dict, options, skip, where) -> dict[str, float]:
    values: dict[str, float] = {}
    if options.columns is None:
        # type() rather than isinstance: bool is an int subclass but not a column
        return {
            COLUMN_ALIASES.get(key, key): float(value)
            for key, value in record.items()
            if type(value) in _NUMBER_TYPES and key not in skip
        }
    for name in options.columns:
        value = record.get(name)
        if value is None:
            alias = next((k for k, v in COLUMN_ALIASES.items() if v == name), None)
            value = record.get(alias) if alias else None
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            path, number = where
            raise CurriculumError.single(
                "E310",
                f"column {name!r} on line {number} of {path} is not a number: {value!r}",
                Span.point(path, number),
            )
        values[name] = float(value)
    return values


def _record_pos(record, text, inp, options, report, where) -> bytes | None:
    fmt = options.pos_format if options.pos_format != "auto" else inp.pos_format
    if fmt == "tagger":
        report.rules["pos_tagger"] += 1
        return None
    fields = (
        [options.pos_field or ("mor" if fmt == "mor" else "pos")]
        if fmt != "auto" or options.pos_field
        else ["pos", "mor"]
    )
    for name in fields:
        value = record.get(name)
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, str):
            tags = value.split()
        elif not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            path, number = where
            raise CurriculumError.single(
                "E311",
                f"POS field {name!r} on line {number} of {path} is neither a string nor a list of strings",
                Span.point(path, number),
            )
        else:
            tags = value
        if len(tags) != len(text.split()):
            report.rules["pos_mismatch"] += 1
            return None
        is_mor = fmt == "mor" or (fmt == "auto" and name == "mor" and not options.pos_field)
        if is_mor:
            report.rules["pos_from_mor"] += 1
            return mor_to_indices(tags, report.mor_unlisted)
        try:
            indices = universal_to_indices(tags)
        except KeyError as exc:
            path, number = where
            raise CurriculumError.single(
                "E311",
                f"unknown universal POS tag {exc.args[0]!r} on line {number} of {path}",
                Span.point(path, number),
                hint="use pos_format=mor for CHILDES MOR codes, or pos_format=tagger",
            ) from None
        report.rules["pos_from_data"] += 1
        return indices
    report.rules["pos_missing"] += 1
    return None


def _read_dataset(inp, options, report, with_pos, batch_size, start):
    dataset = inp.dataset
    features = dataset.features
    if options.text_field not in features:
        raise CurriculumError.single(
            "E305",
            f"dataset {inp.path} has no {options.text_field!r} column",
            hint="columns: " + ", ".join(dataset.column_names) + "; choose one with text_field=...",
        )
    numeric = _dataset_numeric_columns(features, options, inp.path)
    has_source = options.source_field in features
    kept = 0
    row = 0
    for chunk in dataset.iter(batch_size=batch_size):
        builder = _BatchBuilder(start + kept, with_pos)
        texts = chunk[options.text_field]
        sources = chunk[options.source_field] if has_source else None
        for k, text in enumerate(texts):
            row += 1
            if text is None or not isinstance(text, str):
                raise CurriculumError.single(
                    "E306",
                    f"row {row} of {inp.path}: {options.text_field!r} is not a string",
                    Span.point(inp.path, row),
                )
            text = text.strip()
            if not text:
                report.rules["empty_texts"] += 1
                continue
            if len(text) > options.max_chars:
                raise _too_long(inp, row, len(text), options.max_chars)
            source = sources[k] if sources is not None else None
            if source is None:
                report.rules["missing_source"] += 1
                source = inp.source
            values = {
                name: float(chunk[column][k])
                for name, column in numeric.items()
                if chunk[column][k] is not None
            }
            record = {
                key: chunk[key][k] for key in ("pos", "mor", options.pos_field) if key in chunk
            }
            pos = (
                _record_pos(record, text, inp, options, report, (inp.path, row))
                if with_pos
                else None
            )
            builder.add(text, str(source), values, pos)
        for name in numeric:  # keep every listed column, even if all NaN in this batch
            builder.columns.setdefault(name, [math.nan] * len(builder.texts))
        if builder.texts:
            kept += len(builder.texts)
            yield builder.build()
    report.inputs[inp.path] = {"lines": row, "examples": kept}


def _dataset_numeric_columns(features, options: ReadOptions, where: str) -> dict[str, str]:
    """column name -> dataset feature name, for the numeric columns kept."""
    numeric = {}
    for key, feature in features.items():
        dtype = getattr(feature, "dtype", "")
        if key in (options.text_field, options.source_field) or dtype == "bool":
            continue
        if dtype.startswith(("int", "uint", "float")):
            numeric[COLUMN_ALIASES.get(key, key)] = key
    if options.columns is None:
        return numeric
    missing = [c for c in options.columns if c not in numeric]
    if missing:
        raise CurriculumError.single(
            "E309",
            f"dataset {where} has no numeric column {missing[0]!r}",
            hint="numeric columns: " + (", ".join(sorted(numeric)) or "none"),
        )
    return {c: numeric[c] for c in options.columns}


_READERS = {
    "text": _read_text,
    "jsonl": _read_jsonl,
    "datasets": _read_dataset,
    "hub": _read_dataset,
}
