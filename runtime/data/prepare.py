"""The data layer's one entry point: a Plan in, a tokenized corpus and its tokenizer out.

``prepare_data`` runs the stages in order -- resolve the inputs
(:mod:`~curriculumc.runtime.data.readers`), train or load the tokenizer
(:mod:`~curriculumc.runtime.data.tokenizer`), tokenize and store
(:mod:`~curriculumc.runtime.data.storage`), with POS tags when asked
(:mod:`~curriculumc.runtime.data.tagging`) -- each cached by content hash under ``cache_dir``.
The inputs are read once, into flat arrays (:mod:`~curriculumc.runtime.data.text_store`),
which the BPE trains on and tokenizing then reads a chunk at a time: a 100M-word corpus
never sits in memory as Python strings or lists of ids (``bench/prepare_100m.py``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from curriculumc.plan import DataSpec, Plan
from curriculumc.runtime.data.progress import DataProgress, as_data_progress
from curriculumc.runtime.data.readers import (
    RawCorpus,
    default_cache_dir,
    load_raw,
    remember_sources,
    synth_paths,
)
from curriculumc.runtime.data.storage import (
    StorageSettings,
    pos_text,
    tokenized_corpus,
    truncation_text,
)
from curriculumc.runtime.data.text_store import read_store
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.data.tokenizer import TokenizerArtifacts, prepare_tokenizer

__all__ = [
    "PreparedData",
    "data_report",
    "data_report_text",
    "default_cache_dir",
    "dev_split",
    "load_raw",
    "prepare_data",
]


@dataclass(frozen=True, eq=False)
class PreparedData:
    """What training needs from the data.

    ``corpus``: the tokenized examples; ``tokenizer``: a
    ``transformers.PreTrainedTokenizerFast`` loaded from ``tokenizer_dir`` (a Hugging
    Face folder to copy next to checkpoints) on first use -- so that ``simulate`` never
    imports transformers; ``artifacts`` holds the fast ``tokenizers`` object; ``summary``: what was read -- inputs,
    per-source counts, every handling rule's count, POS coverage, caches hit or built; ``raw``: the
    resolved inputs, for tools that want the texts (``raw.texts()``, in example order for
    the ``line`` unit).
    """

    corpus: TokenizedCorpus
    tokenizer_dir: Path
    summary: dict
    raw: RawCorpus
    artifacts: TokenizerArtifacts

    @cached_property
    def tokenizer(self):
        """The ``transformers.PreTrainedTokenizerFast`` (imports transformers when first read)."""
        return self.artifacts.hf()


def prepare_data(
    plan: Plan,
    *,
    cache_dir: Path | None = None,
    need_pos: bool = False,
    pos_align: str = "all",
    progress: bool | DataProgress = False,
) -> PreparedData:
    """Read, tokenize and store ``plan.data`` with ``plan.tokenizer`` (cached by content).

    ``cache_dir``: default :func:`default_cache_dir` (``$CURRICULUMC_CACHE`` or
    ``.cache/curriculumc``). ``need_pos``: also give every token its word's universal POS
    tag (``corpus.pos``); ``pos_align``: ``"all"`` tokens of a word get its tag, or only
    the ``"first"``. ``progress``: a :class:`DataProgress` shows every stage (reading,
    BPE training, tokenizing, tagging) with an ETA and a summary line each; ``True``
    does that on stderr and then prints the data report of :func:`data_report_text`.

    Raises :class:`~curriculumc.errors.CurriculumError` for data that cannot be read
    (codes E300-E349, with file and line for a bad line).
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    stages = as_data_progress(progress)
    raw = load_raw(plan.data, cache_dir=cache_dir)
    bpe = []  # the BPE stage, opened when the tokenizer is trained (not when cached)
    store = []  # the corpus read once, when the BPE needs it: tokenizing reads it again

    def texts():
        bpe.append(stages.stage("BPE training", None))
        store.append(read_store(raw, with_pos=need_pos, progress=stages))
        # batches of texts: tokenizers counts a list at a time, ~2x faster than one by one
        return (chunk.texts for chunk in store[0].chunks(4096))

    tokenizer = prepare_tokenizer(
        plan.tokenizer,
        texts,
        corpus_identity=raw.identity,
        cache_dir=cache_dir,
        seq=plan.train.seq,
    )
    for stage in bpe:
        read = [e for e in stages.events if e[:2] == ("end", "reading")]
        if read:
            stage.update(read[-1][2], read[-1][3])
        stage.close()
    settings = StorageSettings(unit=plan.data.unit, seq=plan.train.seq)
    stored = tokenized_corpus(
        raw,
        tokenizer,
        settings,
        cache_dir=cache_dir,
        need_pos=need_pos,
        pos_align=pos_align,
        progress=stages,
        store=store[0] if store else None,
    )
    remember_sources(cache_dir, raw.identity, stored.corpus.source_names)  # for validate
    summary = {
        **stored.summary,
        "unit": settings.unit,
        "seq": settings.seq,
        "content_hash": stored.corpus.content_hash,
        "tokenizer": {
            "kind": plan.tokenizer.kind,
            "vocab_size": tokenizer.vocab_size,
            "hash": tokenizer.content_hash,
            "directory": str(tokenizer.directory),
        },
        "cache": {"tokenizer": tokenizer.origin, "corpus": stored.origin},
        "skipped": [{"path": path, "reason": reason} for path, reason in raw.skipped],
    }
    if progress is True:
        print(data_report_text(summary), file=sys.stderr)
    return PreparedData(
        corpus=stored.corpus,
        tokenizer_dir=tokenizer.directory,
        summary=summary,
        raw=raw,
        artifacts=tokenizer,
    )


def dev_split(data: DataSpec, *, cache_dir: Path | None = None) -> tuple[Path, str] | None:
    """The held-out file of ``data`` and its text field: the synth corpus's dev split, or
    a ``dev``/``validation``/``valid`` file next to a file named ``*train*``; None when
    there is none (``eval ppl`` then fails with a clear message)."""
    text_field = str(dict(data.options).get("text_field", "text"))
    if data.kind == "registered" and data.source == "synth":
        return synth_paths(data, cache_dir=cache_dir).dev, "text"
    if data.kind == "path":
        source = Path(data.source)
        if source.is_file() and "train" in source.name:
            for word in ("dev", "validation", "valid"):
                candidate = source.with_name(source.name.replace("train", word))
                if candidate.is_file():
                    return candidate, text_field
    return None


# --- the data report ------------------------------------------------------------------------

#: the per-file counts shown in the report, in order, with their column titles
_REPORT_COLUMNS = (
    ("empty_lines", "empty"),
    ("invalid_utf8_lines", "not-utf8"),
    ("binary_lines", "binary"),
    ("nul_lines", "nul"),
    ("cr_line_breaks", "cr-breaks"),
)


def data_report(summary: dict) -> dict:
    """What reading did, from :attr:`PreparedData.summary`: ``corpus``; ``files`` (one
    entry a file: ``path``, ``lines`` read, ``kept`` examples, and ``empty``,
    ``not-utf8``, ``binary``, ``nul``, ``cr-breaks``); ``skipped`` paths with why;
    ``rules`` (every rule's count over the corpus, ``truncated`` included) and the totals
    ``examples``, ``words``, ``tokens``."""
    files = []
    for entry in summary.get("inputs", []):
        rules = entry.get("rules", {})
        row = {
            "path": entry["path"],
            "lines": entry.get("lines", 0),
            "kept": entry.get("examples", 0),
        }
        row.update({title: int(rules.get(name, 0)) for name, title in _REPORT_COLUMNS})
        files.append(row)
    return {
        "corpus": summary.get("corpus", ""),
        "files": files,
        "skipped": list(summary.get("skipped", [])),
        "rules": {k: v for k, v in summary.get("rules", {}).items() if v},
        "examples": summary.get("examples", 0),
        "words": summary.get("words", 0),
        "tokens": summary.get("tokens", 0),
    }


def data_report_text(summary: dict) -> str:
    """:func:`data_report` as a few lines of text, for the start of a run."""
    report = data_report(summary)
    files, skipped = report["files"], report["skipped"]
    lines = [
        f"data: {report['corpus']} -- {len(files)} file(s) read, {len(skipped)} path(s) "
        f"skipped; {report['examples']:,} examples, {report['words']:,} words, "
        f"{report['tokens']:,} tokens"
    ]
    titles = ["lines", "kept"] + [title for _, title in _REPORT_COLUMNS]
    names = [Path(f["path"]).name for f in files]
    width = max([len(n) for n in names] + [4])
    lines.append("  " + "file".ljust(width) + "".join(f"{t:>11}" for t in titles))
    for name, row in zip(names, files):
        lines.append("  " + name.ljust(width) + "".join(f"{row[t]:>11,}" for t in titles))
    for item in skipped:
        lines.append(f"  skipped {item['path']}: {item['reason']}")
    # the POS and truncation counters have lines of their own, in words
    rules = {
        k: v
        for k, v in report["rules"].items()
        if not (k.startswith("pos_") and summary.get("pos")) and not k.startswith("truncated_")
    }
    if rules:
        shown = ", ".join(f"{k}={v:,}" for k, v in rules.items())
        lines.append(f"  rules: {shown}")
    for line in (
        truncation_text(summary.get("truncation") or {}, _spec_source(summary)),
        pos_text(summary.get("pos")),
    ):
        if line:
            lines.append(f"  {line}")
    return "\n".join(lines)


def _spec_source(summary: dict) -> str:
    """The data path as a spec would name it (one input), else ``…``."""
    inputs = summary.get("inputs") or []
    return str(inputs[0]["path"]) if len(inputs) == 1 else "…"
