"""Where the tests find things -- the one place that knows the layout on disk.

Tests and helpers take their paths from here, so moving a test file into a subfolder
changes nothing, and moving the shared data changes one line.
"""

from __future__ import annotations

from pathlib import Path

#: the repository root (``tests/support/`` is two levels below it)
REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
#: real corpora (AO-CHILDES, BLiMP) shared by every checkout, beside the repository
DATA = REPO.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """``DATA/parts...``, or skip the calling test saying what is missing."""
    import pytest  # here, so that scripts (tests/support/plan_schema_gen.py) can use the paths

    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (see ../shared/data/README.md)")
    return path
