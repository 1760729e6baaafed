"""``curriculumc export``: the table and the pipeline commands it prints, usage errors, and
an offline ``--push`` that exits 1 having pushed nothing."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from support.train_fixtures import run_trainer, single_thread, tiny_plan  # noqa: F401

from curriculumc.cli import main
from curriculumc.runtime.train import run_folder as rf

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    plan = tiny_plan(
        train=dict(steps=4, warmup=1),
        output=replace(tiny_plan().output, checkpoint_every=2, push_to_hub="org/tiny"),
    )
    folder = tmp_path_factory.mktemp("cli") / "run"
    run_trainer(plan, folder)
    rf.create(rf.RunFolder(folder), plan_json=plan.to_json(), spec_path=None, overrides={})
    return folder


def test_export_prints_revisions_and_the_pipeline_commands(run_dir, tmp_path, capsys):
    out = tmp_path / "babylm"
    assert main(["export", str(run_dir), "-o", str(out), "--format", "babylm"]) == 0
    text = capsys.readouterr().out
    assert "exported 2 revision(s)" in text
    assert re.search(r"^  chck_\d+ +step +2 .* from step-2/", text, re.M)
    assert re.search(r"^  main +step +4 .* from final/ +the final model", text, re.M)
    assert f"./eval_zero_shot.sh {out.resolve() / 'tiny' / 'main'} mlm" in text
    assert (
        f"HF_HUB_CACHE={out.resolve() / 'hub'} HF_HUB_OFFLINE=1 "
        "./eval_zero_shot_fast_all_revisions.sh org/tiny mlm strict-small"
    ) in text
    assert (out / "tiny" / "main" / "config.json").is_file()


def test_offline_push_exits_1_and_pushes_nothing(run_dir, tmp_path, capsys, monkeypatch):
    import huggingface_hub
    from huggingface_hub import HfApi

    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    called = []
    monkeypatch.setattr(HfApi, "upload_folder", lambda *a, **k: called.append(k))
    out = tmp_path / "babylm"
    assert main(["export", str(run_dir), "-o", str(out), "--push"]) == 1
    err = capsys.readouterr().err
    assert "cannot push to org/tiny: the hub cannot be reached" in err
    assert "nothing was pushed" in err and called == []
    assert (out / "tiny" / "main" / "model.safetensors").is_file()  # the local export stands


def test_usage_errors(run_dir, tmp_path, capsys):
    assert main(["export", str(tmp_path), "-o", str(tmp_path / "x")]) == 2
    assert "is not a run folder" in capsys.readouterr().err
    assert main(["export", str(run_dir), "-o", str(tmp_path / "x"), "--name", "a/b"]) == 2
    plain = tmp_path / "plain"
    plan = tiny_plan(train=dict(steps=2, warmup=1))
    rf.create(rf.RunFolder(plain), plan_json=plan.to_json(), spec_path=None, overrides={})
    assert main(["export", str(plain), "-o", str(tmp_path / "y"), "--push"]) == 2
    assert "--push needs `push to hub org/name`" in capsys.readouterr().err
    assert main(["export", str(plain), "-o", str(tmp_path / "y")]) == 1  # nothing trained
    assert "nothing to export" in capsys.readouterr().err
