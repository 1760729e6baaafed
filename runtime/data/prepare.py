"""The data layer's one entry point: a Plan in, a tokenized corpus and its tokenizer out.

``prepare_data`` runs the stages in order -- resolve the inputs
(:mod:`~curriculumc.runtime.data.readers`), train or load the tokenizer
(:mod:`~curriculumc.runtime.data.tokenizer`), tokenize and store
(:mod:`~curriculumc.runtime.data.storage`), with POS tags when asked
(:mod:`~curriculumc.runtime.data.tagging`) -- each cached by content hash under ``cache_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from curriculumc.plan import DataSpec, Plan
from curriculumc.runtime.data.readers import RawCorpus, default_cache_dir, load_raw, synth_paths
from curriculumc.runtime.data.storage import StorageSettings, tokenized_corpus
from curriculumc.runtime.data.tokenized import TokenizedCorpus
from curriculumc.runtime.data.tokenizer import TokenizerArtifacts, prepare_tokenizer

__all__ = ["PreparedData", "default_cache_dir", "dev_split", "load_raw", "prepare_data"]


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
    progress: bool = False,
) -> PreparedData:
    """Read, tokenize and store ``plan.data`` with ``plan.tokenizer`` (cached by content).

    ``cache_dir``: default :func:`default_cache_dir` (``$CURRICULUMC_CACHE`` or
    ``.cache/curriculumc``). ``need_pos``: also give every token its word's universal POS
    tag (``corpus.pos``); ``pos_align``: ``"all"`` tokens of a word get its tag, or only
    the ``"first"``. ``progress``: report on stderr.

    Raises :class:`~curriculumc.errors.CurriculumError` for data that cannot be read
    (codes E300-E349, with file and line for a bad line).
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    raw = load_raw(plan.data, cache_dir=cache_dir)
    tokenizer = prepare_tokenizer(
        plan.tokenizer,
        raw.texts,
        corpus_identity=raw.identity,
        cache_dir=cache_dir,
        seq=plan.train.seq,
        progress=progress,
    )
    settings = StorageSettings(unit=plan.data.unit, seq=plan.train.seq)
    stored = tokenized_corpus(
        raw,
        tokenizer,
        settings,
        cache_dir=cache_dir,
        need_pos=need_pos,
        pos_align=pos_align,
        progress=progress,
    )
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
    }
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
