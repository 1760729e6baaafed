"""A scorer keyword that names a folder (reference_ppl's model=) is resolved against the
spec's folder like a data path, warned about when missing, and required."""

from __future__ import annotations

import pytest

from curriculumc.errors import CurriculumError
from curriculumc.lang.compiler import compile_spec
from curriculumc.lang.parser import parse

SPEC = 'sort by reference_ppl(model="ref")\npace root from 10% over 100\n'


def test_a_relative_model_folder_is_relative_to_the_spec_and_checked(tmp_path):
    (tmp_path / "ref").mkdir()
    plan, warnings = compile_spec(parse(SPEC, base_dir=str(tmp_path)))
    assert dict(plan.sort.terms[0].kwargs) == {"model": str(tmp_path / "ref")}
    assert not [w for w in warnings if w.code == "W005"]
    _, warnings = compile_spec(parse(SPEC, base_dir=str(tmp_path / "elsewhere")))
    (missing,) = [w for w in warnings if w.code == "W005"]
    assert (missing.span.line, missing.span.column) == (
        1,
        29,
    ) and "does not exist" in missing.message


def test_the_model_keyword_is_required():
    with pytest.raises(CurriculumError) as exc:
        compile_spec(parse("sort by reference_ppl\npace root from 10% over 100\n"))
    (problem,) = [d for d in exc.value.diagnostics if d.is_error]
    assert problem.code == "E035" and "needs model=" in problem.message
