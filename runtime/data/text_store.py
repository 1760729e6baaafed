"""The examples read once, as flat arrays: what BPE training and tokenizing both read.

Reading (JSON parsing and the handling rules of :mod:`~curriculumc.runtime.data.readers`)
is the slowest pure-Python step of data preparation, and a corpus whose tokenizer is
trained on it used to be read twice (once for the BPE, once for tokenizing). A
:class:`TextStore` is filled by one pass over :meth:`RawCorpus.batches` -- the BPE can
train on the batches as they come (:meth:`TextStoreBuilder.stream`) -- and then handed
out again in chunks (:meth:`TextStore.chunks`) for tokenizing. It holds no Python object
per example: the texts are one UTF-8 buffer with byte offsets, the sources, word counts
and POS tags are flat arrays, the columns float arrays. At 100M words of child-directed
speech that is ~0.5 GB of text and ~30 bytes an example.
"""

from __future__ import annotations

import math
import mmap
import os
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from curriculumc.runtime.data.readers import RawCorpus, ReadReport

#: a POS length meaning "no tags from the data: the tagger tags this line"
_UNTAGGED = -1


@dataclass(frozen=True)
class TextChunk:
    """Examples ``[start, start + len(texts))``: their ``texts`` and, with POS, ``pos``
    (one tag-index string per example, None where the tagger must tag it) -- the fields of
    a :class:`~curriculumc.runtime.data.readers.RawBatch` that tokenizing reads."""

    start: int
    texts: list[str]
    pos: list[bytes | None] | None = None


@dataclass(frozen=True, eq=False)
class TextStore:
    """The examples of a corpus as read, in order (see the module notes).

    ``text`` (uint8) with ``text_offsets`` (int64, N + 1): example i's UTF-8 bytes;
    ``words``: int32, its whitespace-separated words; ``source``: int32 index into
    ``source_names``; ``columns``: name -> float64 per example (NaN where missing);
    ``pos`` / ``pos_offsets``: the data's tag indices (uint8) and int64 offsets, with
    ``pos_given`` (bool) False where the tagger must tag; None without POS. ``report``:
    what reading did.
    """

    text: np.ndarray
    text_offsets: np.ndarray
    words: np.ndarray
    source: np.ndarray
    source_names: tuple[str, ...]
    columns: dict[str, np.ndarray]
    report: ReadReport
    pos: np.ndarray | None = None
    pos_offsets: np.ndarray | None = None
    pos_given: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.text_offsets) - 1

    @property
    def with_pos(self) -> bool:
        return self.pos is not None

    def texts(self, start: int, stop: int) -> list[str]:
        """The texts of examples ``start:stop`` (decoded from the buffer)."""
        bounds = self.text_offsets[start : stop + 1]
        blob = self.text[bounds[0] : bounds[-1]].tobytes()
        ends = (bounds - bounds[0]).tolist()
        if blob.isascii():  # one decode, then str slices (byte offsets are char offsets)
            whole = blob.decode("ascii")
            return [whole[a:b] for a, b in zip(ends[:-1], ends[1:])]
        return [blob[a:b].decode("utf-8", "surrogatepass") for a, b in zip(ends[:-1], ends[1:])]

    def chunks(self, size: int) -> Iterator[TextChunk]:
        """The examples ``size`` at a time, in order."""
        for start in range(0, len(self), size):
            stop = min(start + size, len(self))
            yield TextChunk(start, self.texts(start, stop), self._pos(start, stop))

    def _pos(self, start: int, stop: int) -> list[bytes | None] | None:
        if self.pos is None:
            return None
        bounds = self.pos_offsets[start : stop + 1]
        blob = self.pos[bounds[0] : bounds[-1]].tobytes()
        ends = (bounds - bounds[0]).tolist()
        given = self.pos_given[start:stop].tolist()
        return [blob[a:b] if g else None for a, b, g in zip(ends[:-1], ends[1:], given)]


@dataclass
class TextStoreBuilder:
    """Fills a :class:`TextStore` from ``raw``'s batches; :meth:`stream` yields each batch's
    texts as it is stored (for the BPE), :meth:`build` reads what is left and returns
    the store."""

    raw: RawCorpus
    with_pos: bool = False
    batch_size: int = 4096
    report: ReadReport = field(default_factory=ReadReport)

    def __post_init__(self):
        self._text = bytearray()
        self._text_lengths = array("q")
        self._words = array("i")
        self._sources = array("i")
        self._source_index: dict[str, int] = {}
        self._columns = ColumnTable()
        self._pos = bytearray()
        self._pos_lengths = array("q")
        self._batches = None
        self._done = False
        self.lines = 0
        self.word_count = 0

    def stream(self) -> Iterator[list[str]]:
        """Each batch's texts, in order, stored as they pass (read once; a second call
        yields nothing)."""
        if self._batches is None:
            self._batches = self.raw.batches(
                batch_size=self.batch_size, report=self.report, with_pos=self.with_pos
            )
        for batch in self._batches:
            self._add(batch)
            yield batch.texts
        self._done = True

    def build(self) -> TextStore:
        """The store (reading the rest of the corpus first, if any)."""
        for _ in self.stream():
            pass
        return self.finish()

    def finish(self) -> TextStore:
        """The store of what was read so far."""
        text_offsets = np.zeros(len(self._text_lengths) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self._text_lengths, dtype=np.int64), out=text_offsets[1:])
        n = len(self._words)
        pos = pos_offsets = pos_given = None
        if self.with_pos:
            lengths = np.frombuffer(self._pos_lengths, dtype=np.int64)
            pos_given = lengths != _UNTAGGED
            pos_offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.where(pos_given, lengths, 0), out=pos_offsets[1:])
            pos = _bytes_array(self._pos)
        return TextStore(
            text=_bytes_array(self._text),
            text_offsets=text_offsets,
            words=np.frombuffer(self._words, dtype=np.int32).copy(),
            source=np.frombuffer(self._sources, dtype=np.int32).copy(),
            source_names=tuple(self._source_index),
            columns=self._columns.arrays(n),
            report=self.report,
            pos=pos,
            pos_offsets=pos_offsets,
            pos_given=pos_given,
        )

    def _add(self, batch) -> None:
        texts = batch.texts
        joined = "".join(texts)
        if joined.isascii():
            self._text += joined.encode("ascii")
            self._text_lengths.extend(map(len, texts))
        else:
            encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
            self._text += b"".join(encoded)
            self._text_lengths.extend(map(len, encoded))
        words = [len(t.split()) for t in texts]
        self._words.extend(words)
        index = self._source_index
        self._sources.extend(index.setdefault(s, len(index)) for s in batch.sources)
        self._columns.extend(batch.columns, len(texts))
        if self.with_pos:
            for tags in batch.pos:
                if tags is None:
                    self._pos_lengths.append(_UNTAGGED)
                else:
                    self._pos += tags
                    self._pos_lengths.append(len(tags))
        self.lines += len(texts)
        self.word_count += sum(words)


def _bytes_array(buffer: bytearray) -> np.ndarray:
    """uint8 view of ``buffer`` (no copy: the builder is done with it)."""
    return np.frombuffer(buffer, dtype=np.uint8) if buffer else np.zeros(0, dtype=np.uint8)


#: a corpus of one uncompressed text or JSON Lines file at least this large is read by
#: worker processes, a part of the file each (see :func:`read_store`)
PARALLEL_MIN_BYTES = 64 << 20
#: parts per worker process (the reading stage's progress advances a part at a time)
PARTS_PER_WORKER = 16


def read_store(
    raw: RawCorpus,
    *,
    with_pos: bool,
    progress,
    batch_size: int = 4096,
    workers: int | None = None,
    min_bytes: int = PARALLEL_MIN_BYTES,
) -> TextStore:
    """Read ``raw`` once into a :class:`TextStore`, shown as the stage ``reading`` of
    ``progress`` (a :class:`~curriculumc.runtime.data.progress.DataProgress`).

    A single uncompressed file of at least ``min_bytes`` is cut into parts at line breaks
    and read by ``workers`` processes (default: the CPUs, at most 8), the same reading
    code on each part; the parts are joined in order (sources numbered in order of first
    appearance, counts added), which is what one pass gives -- a test compares them. When
    a part is refused (a bad line: its message needs the line's number in the file), or
    the file as a whole is (too many bad lines, a listed column never seen), the file is
    read again in one pass, which raises the error as it always did.

    Raises what :meth:`RawCorpus.batches` raises.
    """
    from curriculumc.runtime.data.tagging import default_workers

    workers = default_workers() if workers is None else workers
    if workers > 1 and _splittable(raw, min_bytes):
        store = _read_parallel(raw, with_pos, progress, batch_size, workers)
        if store is not None:
            return store
    builder = TextStoreBuilder(raw, with_pos, batch_size)
    for _ in reported(builder, progress):
        pass
    return builder.build()


def _splittable(raw: RawCorpus, min_bytes: int) -> bool:
    if len(raw.inputs) != 1:
        return False
    inp = raw.inputs[0]
    return (
        inp.format in ("text", "jsonl")
        and not inp.path.endswith(".gz")
        and os.path.getsize(inp.path) >= min_bytes
    )


def _spans(path: str, parts: int) -> list[tuple[int, int, int]]:
    """``parts`` byte ranges of the file, each cut just after a ``\n``, with a stand-in
    count of lines before it: 0 for the first (a byte-order mark is removed only there),
    else its index (line numbers of a part are used only in errors, which are raised by
    the one-pass read)."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        for k in range(1, parts):
            at = m.find(b"\n", max(k * size // parts, cuts[-1]))
            if at < 0:
                break
            if cuts[-1] < at + 1 < size:
                cuts.append(at + 1)
    cuts.append(size)
    return [(a, b, k) for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))]


_PARALLEL_RAW: RawCorpus | None = None  # the corpus the forked workers read


def _read_part(job) -> TextStore | None:
    """One part of the file, read as a file of its own (None when it is refused)."""
    from curriculumc.errors import CurriculumError

    span, with_pos, batch_size = job
    raw = _PARALLEL_RAW
    inp = replace(raw.inputs[0], span=span)
    # the file's share of bad lines is checked on the whole, after the parts are joined
    part = replace(raw, inputs=(inp,), options=replace(raw.options, bad_lines="allow"))
    builder = TextStoreBuilder(part, with_pos, batch_size)
    try:
        for _ in builder.stream():
            pass
    except CurriculumError as exc:
        if [d.code for d in exc.diagnostics] != ["E309"]:  # E309: judged on the whole
            return None
    return builder.finish()


def _read_parallel(raw, with_pos, progress, batch_size, workers) -> TextStore | None:
    import multiprocessing

    global _PARALLEL_RAW
    spans = _spans(raw.inputs[0].path, workers * PARTS_PER_WORKER)
    if len(spans) < 2:
        return None
    methods = multiprocessing.get_all_start_methods()
    if "fork" not in methods:  # spawned workers would need the corpus pickled; not worth it
        return None
    stage = progress.stage("reading", progress.lines_of(raw))
    parts: list[TextStore] = []
    refused = False
    _PARALLEL_RAW = raw
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            jobs = [(span, with_pos, batch_size) for span in spans]
            lines = words = 0
            for part in pool.imap(_read_part, jobs):
                if part is None:
                    refused = True
                    break
                parts.append(part)
                lines += len(part)
                words += int(part.words.sum(dtype=np.int64))
                stage.update(lines, words)
        store = None if refused else _join(raw, parts)
        if store is None:  # the one-pass read raises the error (a stage of its own)
            stage.update(0, 0)
        return store
    finally:
        _PARALLEL_RAW = None
        stage.close()


def _join(raw: RawCorpus, parts: list[TextStore]) -> TextStore | None:
    """The parts of one file joined in order; None when the whole file is refused (too
    many bad lines, a listed column with no value anywhere)."""
    from curriculumc.runtime.data.readers import BAD_LINE_RULES

    path = raw.inputs[0].path
    report = ReadReport()
    counts = report.input_rules.setdefault(path, Counter())
    lines = examples = 0
    for part in parts:
        r = part.report
        report.rules.update(r.rules)
        counts.update(r.input_rules.get(path, Counter()))
        lines += r.inputs[path]["lines"]
        examples += r.inputs[path]["examples"]
        for code, n in r.mor_unlisted.items():
            report.mor_unlisted[code] = report.mor_unlisted.get(code, 0) + n
        report.columns_seen |= r.columns_seen
    report.inputs[path] = {"lines": lines, "examples": examples}
    share = raw.options.bad_line_share
    bad_total = sum(counts[name] for name in BAD_LINE_RULES)
    if bad_total and share is not None and bad_total > share * lines:
        return None
    if any(name not in report.columns_seen for name in raw.options.columns or ()):
        return None
    names: dict[str, int] = {}
    sources = []
    for part in parts:
        renumber = np.array(
            [names.setdefault(name, len(names)) for name in part.source_names], dtype=np.int32
        )
        sources.append(renumber[part.source] if len(part) else part.source)
    columns: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(name for part in parts for name in part.columns):
        columns[name] = np.concatenate(
            [part.columns.get(name, np.full(len(part), math.nan)) for part in parts]
        )
    with_pos = parts[0].with_pos
    return TextStore(
        text=np.concatenate([part.text for part in parts]),
        text_offsets=_joined_offsets([part.text_offsets for part in parts]),
        words=np.concatenate([part.words for part in parts]),
        source=np.concatenate(sources) if sources else np.zeros(0, dtype=np.int32),
        source_names=tuple(names),
        columns=columns,
        report=report,
        pos=np.concatenate([part.pos for part in parts]) if with_pos else None,
        pos_offsets=_joined_offsets([part.pos_offsets for part in parts]) if with_pos else None,
        pos_given=np.concatenate([part.pos_given for part in parts]) if with_pos else None,
    )


def _joined_offsets(offsets: list[np.ndarray]) -> np.ndarray:
    """N + 1 offsets of parts laid end to end (each part's offsets start at 0)."""
    out = [np.zeros(1, dtype=np.int64)]
    base = 0
    for part in offsets:
        out.append(part[1:] + base)
        base += int(part[-1])
    return np.concatenate(out)


def reported(builder: TextStoreBuilder, progress) -> Iterator[list[str]]:
    """:meth:`TextStoreBuilder.stream`, reported as the stage ``reading`` (lines and words
    read) of ``progress``."""
    stage = progress.stage("reading", progress.lines_of(builder.raw))
    try:
        for texts in builder.stream():
            stage.update(builder.lines, builder.word_count)
            yield texts
        stage.update(builder.lines, builder.word_count)
    finally:
        stage.close()


class ColumnTable:
    """Per-example float columns that may appear part-way through the corpus (NaN before)."""

    def __init__(self):
        self.parts: dict[str, list[np.ndarray]] = {}
        self.count = 0

    def extend(self, batch_columns: dict[str, list[float]], n: int) -> None:
        for name, values in batch_columns.items():
            parts = self.parts.get(name)
            if parts is None:
                parts = self.parts[name] = [np.full(self.count, math.nan)]
            parts.append(np.asarray(values, dtype=np.float64))
        for name, parts in self.parts.items():
            if name not in batch_columns:
                parts.append(np.full(n, math.nan))
        self.count += n

    def arrays(self, n: int) -> dict[str, np.ndarray]:
        out = {name: np.concatenate(parts) for name, parts in self.parts.items()}
        assert all(len(a) == n for a in out.values()), "column lengths out of step"
        return out
