"""Golden files: every example spec -> its plan JSON; every bad spec -> its rendered errors.

Rewrite them after an intended change with ``pytest tests/test_golden.py --update-golden``
and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import REPO, TESTS

import curriculumc
from curriculumc.lang.render import render_diagnostics

GOLDEN = TESTS / "golden"
SPECS = sorted([*REPO.glob("specs/*.cur"), *REPO.glob("specs/*.yaml")])
BAD = sorted(p for p in (GOLDEN / "bad").iterdir() if p.suffix in (".cur", ".yaml"))


def _normalise(text: str) -> str:
    # plans hold absolute paths: make them independent of where the repository lives
    # (paths inside it first: the clone's folder name varies too)
    return text.replace(str(REPO), "<repo>").replace(str(REPO.parent), "<root>")


def _compare(actual: str, expected_file: Path, update: bool) -> None:
    if update:
        expected_file.write_text(actual, encoding="utf-8")
        return
    assert expected_file.exists(), f"missing {expected_file}; run pytest --update-golden"
    assert actual == expected_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_example_spec_compiles_to_its_golden_plan(spec: Path, update_golden: bool):
    plan = curriculumc.load(spec)
    text = _normalise(plan.to_json()) + "\n"
    _compare(text, GOLDEN / "plans" / f"{spec.name}.json", update_golden)


@pytest.mark.parametrize("spec", BAD, ids=lambda p: p.name)
def test_bad_spec_renders_its_golden_diagnostics(spec: Path, update_golden: bool, monkeypatch):
    monkeypatch.chdir(REPO)  # diagnostics show the path as given: keep it relative
    relative = spec.relative_to(REPO)
    try:
        _, diagnostics = curriculumc.load_with_warnings(relative)
    except curriculumc.CurriculumError as exc:
        diagnostics = exc.diagnostics
    assert diagnostics, "a bad spec must produce diagnostics"
    assert all(d.span is not None for d in diagnostics if d.code != "E004")
    text = render_diagnostics(diagnostics) + "\n"
    _compare(text, spec.with_suffix(spec.suffix + ".txt"), update_golden)


def test_golden_folder_has_no_stale_files():
    expected = {f"{p.name}.json" for p in SPECS}
    assert {p.name for p in (GOLDEN / "plans").glob("*.json")} <= expected
    outputs = {p.name + ".txt" for p in BAD}
    assert {p.name for p in (GOLDEN / "bad").glob("*.txt")} <= outputs
