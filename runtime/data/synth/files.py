"""Writing the generated corpus and minimal pairs to disk, once per set of parameters.

Layout of a corpus folder::

    train.jsonl          one sentence a line (see :func:`.grammar.generate_sentences`)
    dev.jsonl            the same kind of rows from a different random stream
    pairs/<name>.jsonl   one file per minimal-pair paradigm, BLiMP rows
    meta.json            the parameters, GENERATOR_VERSION and the counts below

:func:`materialize` puts that folder in a cache under a name derived from every
parameter and :data:`GENERATOR_VERSION`, so a second call with the same parameters reuses
it and a change to the generator (bump the version) never serves stale text.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from curriculumc.errors import CurriculumError
from curriculumc.runtime.data.synth.grammar import sentence_stream
from curriculumc.runtime.data.synth.pairs import generate_pairs

#: bump whenever the generated text for given parameters changes
GENERATOR_VERSION = "2"


@dataclass(frozen=True)
class SynthPaths:
    """Where a generated corpus lives: its folder, the two splits and the pairs folder."""

    root: Path
    train: Path
    dev: Path
    pairs: Path


@dataclass(frozen=True)
class FileSummary:
    """What one written corpus file holds."""

    name: str
    sentences: int
    words: int
    sources: dict[str, int] = field(default_factory=dict)
    depths: dict[int, int] = field(default_factory=dict)

    def line(self) -> str:
        """One line for the terminal: ``train.jsonl: 1,234 sentences, 7,890 words (...)``."""
        sources = ", ".join(
            f"{k} {v:,}" for k, v in sorted(self.sources.items(), key=lambda x: -x[1])
        )
        depths = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.depths.items()))
        return (
            f"{self.name}: {self.sentences:,} sentences, {self.words:,} words"
            f" ({sources}; depth {depths})"
        )


def check_sizes(sentences, words, dev_sentences, per_phenomenon) -> None:
    """Raise :class:`CurriculumError` unless the size parameters make sense.

    E700: not exactly one of ``sentences``/``words``; E701: a size that is not a positive
    integer (``dev_sentences`` may be 0); E710 comes from :func:`generate_pairs`.
    """
    if (sentences is None) == (words is None):
        raise CurriculumError.single(
            "E700",
            "give exactly one of sentences or words for the generated corpus",
            hint="for example words=1000000",
        )
    for name, value, least in (
        ("sentences", sentences, 1),
        ("words", words, 1),
        ("dev_sentences", dev_sentences, 0),
        ("per_phenomenon", per_phenomenon, 1),
    ):
        if value is None and name in ("sentences", "words"):
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise CurriculumError.single(
                "E701", f"{name} must be an integer >= {least}, not {value!r}"
            )


def _write_split(path: Path, rows) -> FileSummary:
    sources: Counter[str] = Counter()
    depths: Counter[int] = Counter()
    n = words = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")
            n += 1
            words += row["length"]
            sources[row["source"]] += 1
            depths[row["depth"]] += 1
    return FileSummary(path.name, n, words, dict(sources), dict(depths))


def write_synth(
    out_dir: Path,
    *,
    seed: int = 0,
    sentences: int | None = None,
    words: int | None = None,
    dev_sentences: int = 2000,
    per_phenomenon: int = 200,
) -> tuple[list[FileSummary], dict[str, list[dict]]]:
    """Write train, dev, pairs and meta.json into ``out_dir`` (created if missing).

    Returns the summaries of the two splits and the pairs written. Raises
    :class:`CurriculumError` (E700, E701, E710, E711) on bad sizes.
    """
    check_sizes(sentences, words, dev_sentences, per_phenomenon)
    out_dir.mkdir(parents=True, exist_ok=True)
    train = _write_split(out_dir / "train.jsonl", sentence_stream(seed, "train", sentences, words))
    dev = _write_split(out_dir / "dev.jsonl", sentence_stream(seed, "dev", dev_sentences, None))
    pairs = generate_pairs(seed=seed, per_phenomenon=per_phenomenon)
    pairs_dir = out_dir / "pairs"
    pairs_dir.mkdir(exist_ok=True)
    for name, rows in pairs.items():
        with (pairs_dir / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    meta = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "sentences": sentences,
        "words": words,
        "dev_sentences": dev_sentences,
        "per_phenomenon": per_phenomenon,
        "train": {"sentences": train.sentences, "words": train.words, "sources": train.sources},
        "dev": {"sentences": dev.sentences, "words": dev.words, "sources": dev.sources},
        "pairs": {name: len(rows) for name, rows in pairs.items()},
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return [train, dev], pairs


def cache_key(**params) -> str:
    """Short hash of the parameters and :data:`GENERATOR_VERSION`."""
    text = json.dumps({**params, "generator_version": GENERATOR_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def materialize(
    cache_dir: Path,
    *,
    seed: int = 0,
    sentences: int | None = None,
    words: int | None = None,
    dev_sentences: int = 2000,
    per_phenomenon: int = 200,
) -> SynthPaths:
    """Generate the default corpus into ``cache_dir/synth-<hash>/`` unless it is there.

    The folder is written under a temporary name and renamed into place, so a reader
    never sees half a corpus and two concurrent callers both end with a whole one.
    Returns its :class:`SynthPaths`. Raises :class:`CurriculumError` (E700, E701, E710,
    E711) on bad sizes.
    """
    check_sizes(sentences, words, dev_sentences, per_phenomenon)
    params = dict(
        seed=seed,
        sentences=sentences,
        words=words,
        dev_sentences=dev_sentences,
        per_phenomenon=per_phenomenon,
    )
    cache_dir = Path(cache_dir)
    root = cache_dir / f"synth-{cache_key(**params)}"
    paths = SynthPaths(root, root / "train.jsonl", root / "dev.jsonl", root / "pairs")
    if root.is_dir():
        return paths
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=cache_dir))
    try:
        write_synth(tmp, **params)
        try:
            os.rename(tmp, root)
        except OSError:
            if not root.is_dir():  # not a lost race: a real failure
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return paths
