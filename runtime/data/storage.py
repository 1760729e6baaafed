"""Tokenized storage: flat token arrays + offsets, built once and memory-mapped from a cache.

A corpus is tokenized in batches (``tokenizers``' ``encode_batch``, no special tokens)
and saved under ``cache_dir/corpora/<key>/`` as ``.npy`` files, opened again with
``np.load(mmap_mode="r")``. The key is a hash of the corpus identity (input bytes and
reading options), the tokenizer's ``tokenizer.json`` and the settings (unit, seq), so a
second call with the same inputs reuses the files without tokenizing. Folders are
written to a temporary name and renamed, so a crash never leaves a half cache.

Units
-----
- ``line``: one example a line, truncated to ``seq - 2`` tokens (room for ``<s>``/``</s>``);
  each truncated line is counted (``truncated``).
- ``packed``: the lines joined in order, ``</s>`` (the tokenizer's separator) between two
  lines so that the model sees utterance boundaries, cut into ``seq - 2``-token chunks
  (the last one shorter). A chunk's source and columns are those of the line it starts
  in; its ``words`` are the words of the lines that *start* in it, so that word budgets
  over chunks add up to the corpus's word count exactly.

Files: ``ids.npy`` (uint16 when the vocabulary has at most 65535 ids, else uint32),
``offsets.npy`` (int64, N + 1), ``words.npy`` and ``source.npy`` (int32), ``columns.npy``
(float64, one row per column), ``meta.json``, and per POS setting ``pos-<key>.npy``
(uint8, aligned with ids) with its ``pos-<key>.json`` counts. Error codes E340-E349.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curriculumc.errors import CurriculumError
from curriculumc.runtime.data.progress import DataProgress, as_data_progress
from curriculumc.runtime.data.readers import RawCorpus, ReadReport
from curriculumc.runtime.data.tagging import (
    ALIGN_MODES,
    TAGGER_NAME,
    align_flat,
    batch_tagger,
    tag_batches,
    word_spans,
)
from curriculumc.runtime.data.text_store import TextStore, read_store
from curriculumc.runtime.data.tokenized import NO_TAG, TokenizedCorpus
from curriculumc.runtime.data.tokenizer import TokenizerArtifacts

#: bump when the stored layout or the tokenization rules change (invalidates caches)
STORAGE_VERSION = 2  # 2: words = words read (truncation), truncation counts
UNITS = ("line", "packed")
_UINT16_MAX_VOCAB = 65535


@dataclass(frozen=True)
class StorageSettings:
    """How examples are cut: ``unit`` (``line``/``packed``) and the model's ``seq``."""

    unit: str = "line"
    seq: int = 128

    @property
    def max_tokens(self) -> int:
        """Tokens per example, leaving room for ``<s>`` and ``</s>``."""
        return self.seq - 2


@dataclass(frozen=True)
class StoredCorpus:
    """A corpus opened from the cache: the arrays, what reading did, and whether it was built.

    ``summary``: reading counts (see :func:`build_summary`); ``origin``: ``built`` or
    ``cached``; ``directory``: the cache folder.
    """

    corpus: TokenizedCorpus
    summary: dict
    origin: str
    directory: Path


def corpus_key(raw: RawCorpus, tokenizer: TokenizerArtifacts, settings: StorageSettings) -> str:
    """The content hash of a tokenized corpus: what it was read from, with what, how cut."""
    data = [STORAGE_VERSION, raw.identity, tokenizer.content_hash, settings.unit, settings.seq]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def pos_key(raw: RawCorpus, align: str) -> str:
    """Key of a POS file: the POS options and the alignment mode (the ids are the folder's)."""
    data = [STORAGE_VERSION, raw.options.pos_format, raw.options.pos_field, align]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


def tokenized_corpus(
    raw: RawCorpus,
    tokenizer: TokenizerArtifacts,
    settings: StorageSettings,
    *,
    cache_dir: Path,
    need_pos: bool = False,
    pos_align: str = "all",
    progress: bool | DataProgress = False,
    store: TextStore | None = None,
) -> StoredCorpus:
    """The tokenized corpus of ``raw``: opened from the cache, or built and cached.

    With ``need_pos`` the POS tags are added (and cached) when missing. ``progress``:
    the reading, tokenizing and tagging stages' display (:func:`as_data_progress`).
    ``store``: ``raw`` already read (see :func:`build_arrays`), used only when building. Raises
    :class:`CurriculumError`: reading errors (E3xx from the corpora module), E317 when no
    example is left, E340 for a bad unit / seq / alignment mode.
    """
    _check_settings(settings, pos_align)
    key = corpus_key(raw, tokenizer, settings)
    directory = Path(cache_dir) / "corpora" / key[:32]
    pos_name = f"pos-{pos_key(raw, pos_align)}" if need_pos else None
    origin = "cached"
    if not (directory / "meta.json").exists():
        arrays, summary = build_arrays(
            raw,
            tokenizer,
            settings,
            need_pos=need_pos,
            pos_align=pos_align,
            progress=progress,
            store=store,
        )
        _save(directory, arrays, summary, key, tokenizer.vocab_size, pos_name)
        origin = "built"
    elif pos_name and not (directory / f"{pos_name}.npy").exists():
        arrays, summary = build_arrays(
            raw,
            tokenizer,
            settings,
            need_pos=True,
            pos_align=pos_align,
            progress=progress,
            store=store,
        )
        _save_pos(directory, arrays, summary, pos_name)
        origin = "cached+pos"
    corpus, summary = open_corpus(directory, pos_name=pos_name)
    return StoredCorpus(corpus, summary, origin, directory)


def open_corpus(directory: Path, *, pos_name: str | None = None) -> tuple[TokenizedCorpus, dict]:
    """Memory-map a cached corpus folder; returns the corpus and its stored summary."""
    meta = json.loads((directory / "meta.json").read_text("utf-8"))

    def load(name):
        return np.load(directory / f"{name}.npy", mmap_mode="r")

    columns_matrix = load("columns")
    columns = {name: columns_matrix[i] for i, name in enumerate(meta["columns"])}
    summary = meta["summary"]
    pos = None
    if pos_name is not None:
        pos = load(pos_name)
        pos_summary = json.loads((directory / f"{pos_name}.json").read_text("utf-8"))
        summary = {**summary, "pos": pos_summary["pos"]}
        summary["rules"] = dict(sorted({**summary["rules"], **pos_summary["rules"]}.items()))
    corpus = TokenizedCorpus(
        ids=load("ids"),
        offsets=load("offsets"),
        words=load("words"),
        source=load("source"),
        source_names=tuple(meta["source_names"]),
        vocab_size=meta["vocab_size"],
        content_hash=meta["content_hash"],
        columns=columns,
        pos=pos,
        stats=dict(summary["rules"]),
    )
    return corpus, summary


# --- building -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CorpusArrays:
    """In-memory arrays of a corpus before saving (see the module notes for their meaning)."""

    ids: np.ndarray
    offsets: np.ndarray
    words: np.ndarray
    source: np.ndarray
    source_names: tuple[str, ...]
    columns: dict[str, np.ndarray]
    pos: np.ndarray | None


#: examples per tokenizing chunk: ``encode_batch`` spreads a chunk over the cores, and
#: larger chunks keep them busier (4096 -> 16384: ~1.5x faster on 2 cores)
TOKENIZE_CHUNK = 16384


def build_arrays(
    raw: RawCorpus,
    tokenizer: TokenizerArtifacts,
    settings: StorageSettings,
    *,
    need_pos: bool = False,
    pos_align: str = "all",
    progress: bool | DataProgress = False,
    batch_size: int = 4096,
    store: TextStore | None = None,
) -> tuple[CorpusArrays, dict]:
    """Read and tokenize ``raw`` into arrays; returns them with the reading summary.

    ``store``: ``raw`` already read (:func:`~curriculumc.runtime.data.text_store.read_store`,
    with POS when ``need_pos``), e.g. by the BPE training that came first; else it is
    read here (the stage ``reading``). Tokenizing then runs over the store a chunk at a
    time, appending to flat arrays: no Python object per example outlives its chunk.
    Raises :class:`CurriculumError` for refused input and E317 for an empty corpus.
    """
    from tokenizers import Encoding

    _check_settings(settings, pos_align)
    stages = as_data_progress(progress)
    if store is None or (need_pos and not store.with_pos):
        store = read_store(raw, with_pos=need_pos, progress=stages, batch_size=batch_size)
    report = copy.deepcopy(store.report)  # tokenizing adds its counts; the store stays as read
    n = len(store)
    if n == 0:
        raise CurriculumError.single(
            "E317",
            f"no examples in {raw.description}",
            hint="every line was empty or dropped; see the input's format and text_field",
        )
    backend = tokenizer.backend
    dtype = np.uint16 if tokenizer.vocab_size <= _UINT16_MAX_VOCAB else np.uint32
    limit = settings.max_tokens if settings.unit == "line" else None
    tagger = batch_tagger() if need_pos else None
    # offsets are only needed to align POS tags; encode_batch_fast skips them (~20% faster)
    encode = backend.encode_batch
    if not need_pos and hasattr(backend, "encode_batch_fast"):
        encode = backend.encode_batch_fast

    id_parts: list[np.ndarray] = []
    pos_parts: list[np.ndarray] = []
    lengths = np.empty(n, dtype=np.int64)
    words = store.words.copy()  # the words the model reads: those starting in the kept tokens
    tokenizing = stages.stage("tokenizing", n)
    tagging = stages.stage("tagging", n) if tagger is not None else None
    done_words = 0
    try:
        chunks = store.chunks(TOKENIZE_CHUNK)
        # (chunk, tags of its lines without tags): tagged ahead, in worker processes when large
        stream = (
            tag_batches(tagger, chunks, _untagged_texts)
            if tagger is not None
            else ((chunk, None) for chunk in chunks)
        )
        for chunk, tagged in stream:
            start, stop = chunk.start, chunk.start + len(chunk.texts)
            encodings = _encode_unique(encode, chunk.texts)
            # one Rust-side concatenation, then one list of ids (and of offsets) a chunk
            merged = Encoding.merge(encodings, growing_offsets=False)
            counts = np.fromiter(map(len, encodings), dtype=np.int64, count=stop - start)
            flat_ids = np.array(merged.ids, dtype=dtype)
            flat_offsets = None
            if tagger is not None:
                spans = merged.offsets
                flat_offsets = np.fromiter(
                    itertools.chain.from_iterable(spans), dtype=np.int64, count=2 * len(spans)
                ).reshape(len(spans), 2)
            del merged
            batch_lengths = lengths[start:stop]
            batch_lengths[:] = counts
            if limit is not None and int(counts.max()) > limit:
                cut = np.flatnonzero(counts > limit).tolist()
                with_offsets = (
                    [encodings[k] for k in cut]
                    if encode is backend.encode_batch
                    else backend.encode_batch(
                        [chunk.texts[k] for k in cut], add_special_tokens=False
                    )
                )
                for k, encoding in zip(cut, with_offsets):
                    full = int(store.words[start + k])
                    read = words_read(chunk.texts[k], encoding.offsets[limit - 1][1])
                    words[start + k] = read
                    report.rules["truncated"] += 1
                    report.rules["truncated_tokens"] += int(counts[k]) - limit
                    report.rules["truncated_words"] += full - read
                # keep each example's first `limit` tokens
                firsts = np.repeat(np.cumsum(counts) - counts, counts)
                keep = np.arange(len(flat_ids), dtype=np.int64) - firsts < limit
                flat_ids = flat_ids[keep]
                if flat_offsets is not None:
                    flat_offsets = flat_offsets[keep]
                np.minimum(batch_lengths, limit, out=batch_lengths)
            id_parts.append(flat_ids)
            if tagger is not None:
                pos_parts.append(
                    _batch_pos(chunk, batch_lengths, flat_offsets, tagged, pos_align, report)
                )
            done_words += int(store.words[start:stop].sum(dtype=np.int64))
            tokenizing.update(stop, done_words)
            if tagging is not None:
                tagging.update(stop, done_words)
            del encodings
    finally:
        tokenizing.close()
        if tagging is not None:
            tagging.close()
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    arrays = CorpusArrays(
        ids=np.concatenate(id_parts),
        offsets=offsets,
        words=words,
        source=store.source,
        source_names=store.source_names,
        columns=store.columns,
        pos=np.concatenate(pos_parts) if tagger is not None else None,
    )
    del id_parts, pos_parts
    summary = build_summary(raw, report, arrays, need_pos, all_words=store.words)
    summary["truncation"] = truncation_summary(
        report.rules, examples=n, tokens=int(offsets[-1]), seq=settings.seq
    )
    if settings.unit == "packed":
        arrays = pack(arrays, settings.max_tokens, tokenizer.separator_id)
    summary["examples"] = len(arrays.offsets) - 1
    summary["tokens"] = int(arrays.offsets[-1])
    return arrays, summary


def words_read(text: str, end: int) -> int:
    """Words of ``text`` (as ``str.split``) that start before character ``end``: those a
    model reads when the example is cut after the token ending at ``end``."""
    return sum(1 for start, _ in word_spans(text) if start < end)


def truncation_summary(rules, *, examples: int, tokens: int, seq: int) -> dict:
    """What cutting examples to ``seq - 2`` tokens dropped: ``examples`` cut (and their
    ``share``), ``tokens_cut`` (and ``token_share``, of all the text's tokens),
    ``words_cut`` (words no model step reads; not counted in *words seen*). ``tokens``:
    the tokens kept."""
    cut = int(rules.get("truncated", 0))
    tokens_cut = int(rules.get("truncated_tokens", 0))
    return {
        "seq": seq,
        "examples": cut,
        "share": cut / examples if examples else 0.0,
        "tokens_cut": tokens_cut,
        "token_share": tokens_cut / (tokens + tokens_cut) if tokens + tokens_cut else 0.0,
        "words_cut": int(rules.get("truncated_words", 0)),
    }


def truncation_text(truncation: dict, corpus: str = "…") -> str | None:
    """One line on what truncation dropped, naming the ``packed`` unit; None when nothing
    was cut."""
    if not truncation or not truncation.get("examples"):
        return None
    return (
        f"truncated: {truncation['examples']:,} examples ({truncation['share']:.1%}) are "
        f"longer than seq {truncation['seq']} - 2 tokens; the model never reads "
        f"{truncation['tokens_cut']:,} tokens ({truncation['token_share']:.1%} of the text) "
        f"and {truncation['words_cut']:,} words (not counted as seen); "
        f'`data "{corpus}" packed` trains on all of it'
    )


def _untagged_texts(batch) -> list[str]:
    """The texts of ``batch`` that the tagger must tag (no tags from the data)."""
    return [text for text, tags in zip(batch.texts, batch.pos) if tags is None]


def _batch_pos(batch, lengths, flat_offsets, tagged, align, report) -> np.ndarray:
    """POS tags per token of ``batch``: the data's, else the next of ``tagged`` (the
    tagger's, for :func:`_untagged_texts` in order), aligned to the kept tokens
    (``lengths`` per example, their character spans ``flat_offsets``)."""
    tagged = iter(tagged)
    word_tags = []
    for tags in batch.pos:
        if tags is None:
            tags = next(tagged)
            report.rules["pos_tagged_words"] += len(tags)
        word_tags.append(tags)
    return align_flat(batch.texts, word_tags, lengths, flat_offsets, mode=align)


def _encode_unique(encode, texts: list[str]) -> list:
    """``encode(texts)``, each distinct text encoded once (a chunk of child-directed
    speech repeats a third of its lines: "yeah", "what's that"); an encoding is a pure
    function of its text, so the result is the same."""
    unique = dict.fromkeys(texts)
    if len(unique) == len(texts):
        return encode(texts, add_special_tokens=False)
    by_text = dict(zip(unique, encode(list(unique), add_special_tokens=False)))
    return [by_text[text] for text in texts]


def pack(arrays: CorpusArrays, chunk: int, separator: int | None) -> CorpusArrays:
    """Join the lines (``separator`` between two lines, if any) into ``chunk``-token pieces.

    A piece's source and columns are those of the line it starts in; its words are the
    words of the lines starting in it (the total is unchanged).
    """
    n = len(arrays.offsets) - 1
    ids, pos = arrays.ids, arrays.pos
    line_starts = arrays.offsets[:-1].copy()
    if separator is not None and n > 1:
        ids = np.insert(ids, arrays.offsets[1:-1], separator).astype(ids.dtype, copy=False)
        if pos is not None:
            pos = np.insert(pos, arrays.offsets[1:-1], NO_TAG).astype(np.uint8, copy=False)
        line_starts = line_starts + np.arange(n, dtype=np.int64)
    total = len(ids)
    starts = np.arange(0, total, chunk, dtype=np.int64)
    offsets = np.append(starts, np.int64(total))
    first_line = np.searchsorted(line_starts, starts, side="right") - 1
    chunk_of_line = line_starts // chunk
    words = np.bincount(chunk_of_line, weights=arrays.words, minlength=len(starts))
    return CorpusArrays(
        ids=ids,
        offsets=offsets,
        words=np.rint(words).astype(np.int32),
        source=arrays.source[first_line],
        source_names=arrays.source_names,
        columns={name: values[first_line] for name, values in arrays.columns.items()},
        pos=pos,
    )


def build_summary(
    raw: RawCorpus,
    report: ReadReport,
    arrays: CorpusArrays,
    need_pos: bool,
    *,
    all_words: np.ndarray | None = None,
):
    """What was read: inputs, per-source counts, every handling rule's count, POS coverage.
    ``words`` (in all and per source) counts every word of the text, ``all_words`` per
    example (default ``arrays.words``: the words read, less those truncation cut)."""
    all_words = arrays.words if all_words is None else all_words
    rules = Counter(report.rules)
    for name, values in arrays.columns.items():
        rules[f"missing:{name}"] = int(np.isnan(values).sum())
    per_source = {}
    example_counts = np.bincount(arrays.source, minlength=len(arrays.source_names))
    word_counts = np.bincount(arrays.source, weights=all_words, minlength=len(arrays.source_names))
    for i, name in enumerate(arrays.source_names):
        per_source[name] = {"examples": int(example_counts[i]), "words": int(word_counts[i])}
    summary = {
        "corpus": raw.description,
        "inputs": [_input_entry(inp, report) for inp in raw.inputs],
        "lines": len(arrays.offsets) - 1,
        "words": int(all_words.sum(dtype=np.int64)),
        "sources": per_source,
        "columns": sorted(arrays.columns),
        "rules": {k: int(v) for k, v in sorted(rules.items())},
    }
    if need_pos:
        summary["pos"] = pos_summary(report)
    return summary


def _input_entry(inp, report: ReadReport) -> dict:
    """One input's line of the summary: path, format, lines, examples, and its own rule
    counts (``rules``, only where some rule applied)."""
    entry = {"path": inp.path, "format": inp.format, **report.inputs.get(inp.path, {})}
    rules = {k: int(v) for k, v in sorted(report.input_rules.get(inp.path, {}).items()) if v}
    if rules:
        entry["rules"] = rules
    return entry


def pos_summary(report: ReadReport) -> dict:
    """Where the POS tags came from, by line: ``lines`` -- ``from_data`` (a column of
    universal tags), ``from_mor`` (CHILDES MOR codes), ``by_tagger`` (the offline tagger);
    ``tagger``: its ``name``, the ``words`` it tagged, and ``why`` it tagged those lines
    (``no_tags``: the line has no POS field, or an empty one -- every line of plain text;
    ``tags_not_one_per_word``; ``asked``: ``pos_format=tagger``); and the MOR codes the map
    did not list. (The raw reading counters stay in ``rules``: ``pos_from_data``,
    ``pos_from_mor``, ``pos_missing``, ``pos_mismatch``, ``pos_tagger``,
    ``pos_tagged_words``.)"""
    rules = report.rules
    why = {
        "no_tags": rules.get("pos_missing", 0),
        "tags_not_one_per_word": rules.get("pos_mismatch", 0),
        "asked": rules.get("pos_tagger", 0),
    }
    lines = {
        "from_data": rules.get("pos_from_data", 0),
        "from_mor": rules.get("pos_from_mor", 0),
        "by_tagger": sum(why.values()),
    }
    tagger = {"name": TAGGER_NAME, "words": rules.get("pos_tagged_words", 0), "why": why}
    return {
        "lines": lines,
        "tagger": tagger,
        "mor_unlisted_codes": dict(sorted(report.mor_unlisted.items())),
    }


def pos_text(pos: dict | None) -> str | None:
    """One line on where the POS tags came from (None without POS tags)."""
    if not pos:
        return None
    lines, tagger = pos.get("lines", {}), pos.get("tagger", {})
    parts = []
    if lines.get("from_data"):
        parts.append(f"{lines['from_data']:,} lines from the data's universal tags")
    if lines.get("from_mor"):
        parts.append(f"{lines['from_mor']:,} lines from CHILDES MOR codes")
    if lines.get("by_tagger"):
        why = tagger.get("why", {})
        reasons = {
            "no_tags": "no tags in the data",
            "tags_not_one_per_word": "tags not one per word",
            "asked": "pos_format=tagger",
        }
        shown = ", ".join(f"{text} {why[k]:,}" for k, text in reasons.items() if why.get(k))
        parts.append(
            f"{lines['by_tagger']:,} lines ({tagger.get('words', 0):,} words) by the offline "
            f"{tagger.get('name', 'tagger')} ({shown})"
        )
    return "POS tags: " + ("; ".join(parts) if parts else "none (no lines)")


# --- saving ---------------------------------------------------------------------------------


def _save(directory, arrays: CorpusArrays, summary, key, vocab_size, pos_name) -> None:
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        names = sorted(arrays.columns)
        matrix = (
            np.stack([arrays.columns[n] for n in names])
            if names
            else np.zeros((0, len(arrays.offsets) - 1))
        )
        for name, value in (
            ("ids", arrays.ids),
            ("offsets", arrays.offsets),
            ("words", arrays.words),
            ("source", arrays.source),
            ("columns", matrix),
        ):
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(value))
        base = {k: v for k, v in summary.items() if k != "pos"}
        if pos_name is not None:
            _write_pos_files(tmp, arrays, summary, pos_name)
            base["rules"] = {k: v for k, v in base["rules"].items() if not k.startswith("pos_")}
        meta = {
            "version": STORAGE_VERSION,
            "content_hash": key,
            "vocab_size": vocab_size,
            "dtype": str(arrays.ids.dtype),
            "source_names": list(arrays.source_names),
            "columns": names,
            "summary": base,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), "utf-8")
        try:
            os.rename(tmp, directory)
        except OSError:
            if not (directory / "meta.json").exists():  # not a lost race: a real failure
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _save_pos(directory, arrays: CorpusArrays, summary, pos_name) -> None:
    stored = np.load(directory / "ids.npy", mmap_mode="r")
    if not np.array_equal(stored, arrays.ids):
        raise CurriculumError.single(
            "E341",
            f"cached corpus {directory} does not match its inputs any more",
            hint="delete that folder and run again",
        )
    _write_pos_files(directory, arrays, summary, pos_name)


def _write_pos_files(directory: Path, arrays: CorpusArrays, summary, pos_name) -> None:
    pos_rules = {k: v for k, v in summary["rules"].items() if k.startswith("pos_")}
    record = {"pos": summary["pos"], "rules": pos_rules}
    tmp = directory / f".{pos_name}.{os.getpid()}"
    np.save(f"{tmp}.npy", arrays.pos)
    Path(f"{tmp}.json").write_text(json.dumps(record, indent=2, sort_keys=True), "utf-8")
    # the .json first: a present .npy then always has its counts
    os.replace(f"{tmp}.json", directory / f"{pos_name}.json")
    os.replace(f"{tmp}.npy", directory / f"{pos_name}.npy")


def _check_settings(settings: StorageSettings, pos_align: str) -> None:
    if settings.unit not in UNITS:
        raise CurriculumError.single(
            "E340", f"unknown data unit {settings.unit!r}", hint="one of: line, packed"
        )
    if settings.seq < 3:
        raise CurriculumError.single("E340", f"seq {settings.seq} leaves no room for tokens")
    if pos_align not in ALIGN_MODES:
        raise CurriculumError.single(
            "E340", f"unknown POS alignment {pos_align!r}", hint="one of: all, first"
        )
