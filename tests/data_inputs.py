"""Small inputs for the data-layer tests: slices of the shared AO-CHILDES files."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def aochildes_file(split: str = "train") -> Path:
    """The shared AO-CHILDES file, or skip the test saying what is missing."""
    path = DATA / "aochildes" / f"{split}.jsonl"
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (see ../shared/data/README.md)")
    return path


def aochildes_slice(tmp_path: Path, lines: int, split: str = "train") -> Path:
    """The first ``lines`` lines of an AO-CHILDES split, copied to ``tmp_path``."""
    source = aochildes_file(split)
    target = tmp_path / f"aochildes_{split}_{lines}.jsonl"
    with source.open("rb") as src, target.open("wb") as dst:
        dst.writelines(itertools.islice(src, lines))
    return target
