"""One table of codes (curriculumc/codes.py): every code the source uses is listed once,
with one meaning; every listed code is used; docs/language.md shows the same table."""

from __future__ import annotations

import ast
import re

from support.paths import REPO

from curriculumc.codes import CODES, markdown_table

CODE = re.compile(r"[EW]\d{3}")


def codes_in_source() -> dict[str, list[str]]:
    """code -> the places (file:line) that write it, over the package's source."""
    found: dict[str, list[str]] = {}
    for folder in ("curriculumc", "runtime"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.name == "codes.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if CODE.fullmatch(node.value):
                        where = f"{path.relative_to(REPO)}:{node.lineno}"
                        found.setdefault(node.value, []).append(where)
    return found


def test_every_code_in_the_source_is_in_the_table():
    unlisted = {c: w for c, w in codes_in_source().items() if c not in CODES}
    assert unlisted == {}


def test_every_code_in_the_table_is_used():
    used = codes_in_source()
    assert [c for c in CODES if c not in used] == []


def test_codes_are_sorted_and_well_formed():
    assert all(CODE.fullmatch(c) for c in CODES)
    errors = [c for c in CODES if c.startswith("E")]
    assert errors == sorted(errors)
    assert len(set(CODES.values())) == len(CODES)  # no two codes mean the same


def test_the_docs_table_is_the_code_table():
    text = (REPO / "docs" / "language.md").read_text(encoding="utf-8")
    shown = text.split("<!-- codes: generated from curriculumc/codes.py -->\n")[1]
    assert shown.split("<!-- /codes -->")[0] == markdown_table()


def test_a_file_that_cannot_be_read_is_e004_wherever_it_is(tmp_path):
    import pytest

    import curriculumc
    from curriculumc.errors import CurriculumError
    from curriculumc.importers.climb import import_climb
    from curriculumc.lang.compose import compose

    (tmp_path / "folder.yaml").mkdir()
    cases = [
        lambda: curriculumc.load(tmp_path / "nothing.cur"),  # a DSL spec
        lambda: curriculumc.load(tmp_path / "folder.yaml"),  # a YAML spec that is a folder
        lambda: compose(tmp_path / "nothing.yaml", []),  # a composed spec
        lambda: import_climb(tmp_path / "no_conf"),  # a CLIMB config folder
    ]
    for case in cases:
        with pytest.raises(CurriculumError) as info:
            case()
        assert [d.code for d in info.value.diagnostics] == ["E004"]
