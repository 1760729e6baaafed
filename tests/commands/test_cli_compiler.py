"""The compiler's commands: validate, compile, schema (exit codes, output, no torch)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support.paths import REPO, TESTS

from curriculumc.cli import main
from curriculumc.plan import Plan

SPECS = REPO / "specs"
BAD = TESTS / "golden" / "bad"


def test_validate_good_specs_exit_0(capsys):
    files = [str(SPECS / "one_line.cur"), str(SPECS / "vocab.cur"), str(SPECS / "root_pos.yaml")]
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{f}: Spec is well-formed" for f in files]


def test_validate_reports_every_error_and_exits_1(capsys):
    code = main(["validate", str(SPECS / "vocab.cur"), str(BAD / "unknown_pacing.cur")])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.strip().endswith("vocab.cur: Spec is well-formed")
    assert "error[E012]: unknown pacing function 'rot'" in captured.err
    assert "= help: did you mean 'root'?" in captured.err and "1 error" in captured.err


def test_validate_prints_warnings_but_succeeds(capsys):
    assert main(["validate", str(BAD / "warnings.cur")]) == 0
    captured = capsys.readouterr()
    assert "warning[W002]" in captured.err and "5 warnings" in captured.err
    assert "Spec is well-formed" in captured.out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["compile", "--bogus"])
    assert info.value.code == 2


def test_missing_file_is_a_diagnostic(capsys):
    assert main(["validate", "no/such.cur"]) == 1
    assert "error[E004]: cannot read 'no/such.cur'" in capsys.readouterr().err


def test_compile_prints_or_writes_the_plan_with_overrides(tmp_path, capsys):
    assert main(["compile", str(SPECS / "one_line.cur"), "train.steps=12000"]) == 0
    plan = Plan.from_json(capsys.readouterr().out)
    assert plan.train.steps == 12000 and plan.train.warmup == 1200
    target = tmp_path / "plan.json"
    assert main(["compile", str(SPECS / "vocab.cur"), "-o", str(target)]) == 0
    assert Plan.from_json(target.read_text()).vocab.fn == "linear"
    assert main(["compile", str(SPECS / "vocab.cur"), "train.stepz=3"]) == 1
    assert "did you mean 'train.steps'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, title", [([], "curriculumc YAML spec"), (["--plan"], "curriculumc plan")]
)
def test_schema_prints_json_schema(flag, title, capsys):
    assert main(["schema", *flag]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == title


def test_validate_and_compile_do_not_import_torch(tmp_path):
    # a mix over JSON Lines: validate reads the data's sources (the readers, no torch)
    (tmp_path / "kids.jsonl").write_text('{"text": "a dog", "source": "Snow"}\n')
    mixed = tmp_path / "mixed.cur"
    mixed.write_text(f'data "{tmp_path / "kids.jsonl"}"\ntrain 10 steps, batch 1\nmix Snow\n')
    probe = (
        "import os, sys\n"
        f"os.environ['CURRICULUMC_CACHE'] = {str(tmp_path / 'cache')!r}\n"
        "from curriculumc.cli import main\n"
        f"assert main(['validate', {str(SPECS / 'root_pos.cur')!r}, {str(SPECS / 'root_pos.yaml')!r}]) == 0\n"
        f"assert main(['validate', {str(mixed)!r}]) == 0\n"
        f"assert main(['compile', {str(SPECS / 'source_order.cur')!r}, '-o', {str(tmp_path / 'p.json')!r}]) == 0\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=REPO, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert "W011" not in result.stderr and (tmp_path / "cache" / "sources").is_dir()
