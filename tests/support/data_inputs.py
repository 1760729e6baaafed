"""Small real inputs: slices and texts of the shared AO-CHILDES files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from support.paths import shared_data


def aochildes_file(split: str = "train") -> Path:
    """The shared AO-CHILDES file, or skip the test saying what is missing."""
    return shared_data("aochildes", f"{split}.jsonl")


def aochildes_slice(tmp_path: Path, lines: int, split: str = "train") -> Path:
    """The first ``lines`` lines of an AO-CHILDES split, copied to ``tmp_path``."""
    source = aochildes_file(split)
    target = tmp_path / f"aochildes_{split}_{lines}.jsonl"
    with source.open("rb") as src, target.open("wb") as dst:
        dst.writelines(itertools.islice(src, lines))
    return target


def aochildes_texts(n: int, split: str = "train") -> list[str]:
    """The first ``n`` non-empty utterances of an AO-CHILDES split, stripped (the
    examples a line-unit corpus of that file starts with)."""
    texts = []
    with aochildes_file(split).open(encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line)["text"].strip()
            if text:
                texts.append(text)
            if len(texts) == n:
                break
    return texts
