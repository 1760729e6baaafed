"""``export --format babylm``: revisions named by words seen, loadable by path and by
revision through the hub cache (what the BabyLM pipeline's loader opens), and a push
that offline pushes nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from support.train_fixtures import run_trainer, single_thread, tiny_plan  # noqa: F401

from curriculumc.runtime.train import checkpoint as ckpt
from curriculumc.runtime.train import export as ex
from curriculumc.runtime.train import run_folder as rf

pytestmark = pytest.mark.usefixtures("single_thread")
M = 1_000_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An 8-step run with checkpoints at steps 2, 4, 6 and final/ (do not modify: copy),
    its plan pushing to `babylm-test/tiny`."""
    plan = tiny_plan(
        train=dict(steps=8, warmup=1),
        output=replace(
            tiny_plan().output, checkpoint_every=2, keep=5, push_to_hub="babylm-test/tiny"
        ),
    )
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    run_trainer(plan, run_dir)
    rf.create(rf.RunFolder(run_dir), plan_json=plan.to_json(), spec_path=None, overrides={})
    return run_dir


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    return ex.export_babylm(trained, tmp_path_factory.mktemp("export") / "out")


def words_of(folder: Path) -> int:
    return int(ckpt.read_state(folder)["words_seen"])


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_names_follow_the_babylm_milestones():
    revisions = ex.name_checkpoints(
        [
            (100, 1 * M + 512, "a"),  # the first step past 1M: chck_1M
            (200, 2 * M, "b"),  # exactly 2M
            (250, 2 * M + 500_000, "c"),  # 2M was taken by b: exact count
            (300, 3 * M + 31_000, "d"),  # 3.1% past 3M: exact count
            (400, 10 * M + 99_999, "e"),  # within 1% of 10M
            (500, 20 * M, "f"),
            (600, 200 * M + 1, "g"),
            (700, 999_999, "final"),  # below 1M: main only
        ]
    )
    assert [(r.name, r.source) for r in revisions] == [
        ("chck_1M", "a"), ("chck_2M", "b"), ("chck_2500000", "c"), ("chck_3031000", "d"),
        ("chck_10M", "e"), ("chck_20M", "f"), ("chck_200M", "g"), ("main", "final"),
    ]  # fmt: skip
    assert "already reached chck_2M" in revisions[2].why
    assert "more than 1%" in revisions[3].why


def test_the_final_model_is_main_and_its_milestone():
    revisions = ex.name_checkpoints([(50, 1 * M + 10, "s"), (99, 2 * M + 7, "final")])
    assert [(r.name, r.source, r.words) for r in revisions] == [
        ("chck_1M", "s", 1 * M + 10),
        ("chck_2M", "final", 2 * M + 7),
        ("main", "final", 2 * M + 7),
    ]
    assert ex.MILESTONES[:11] == tuple(i * M for i in range(1, 10)) + (10 * M, 20 * M)
    assert ex.MILESTONES[-1] == 1000 * M and len(ex.MILESTONES) == 28


def test_export_has_exactly_the_run_checkpoints_with_their_words(trained, exported):
    folder = rf.RunFolder(trained)
    sources = {f"chck_{words_of(p)}": p for _, p in ckpt.step_folders(folder.checkpoints)}
    sources["main"] = folder.final
    assert len(sources) == 4  # steps 2, 4, 6 and final/
    assert sorted(p.name for p in exported.model_dir.iterdir()) == sorted(sources)
    record = json.loads((exported.root / ex.EXPORT_FILE).read_text())
    assert {r["name"]: r["words"] for r in record["revisions"]} == {
        name: words_of(p) for name, p in sources.items()
    }
    assert record["repo_id"] == "babylm-test/tiny" and exported.model_name == "tiny"
    for name, source in sources.items():
        files = sorted(p.name for p in exported.revision_dir(name).iterdir())
        assert not set(files) & set(ckpt.TRAINING_FILES), files  # no optimizer, rng, heads
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(files)
        for file in files:  # the checkpoint's own bytes
            assert sha(exported.revision_dir(name) / file) == sha(source / file)


def test_config_and_tokenizer_are_what_transformers_4_reads(exported):
    for rev in exported.revisions:
        folder = exported.revision_dir(rev.name)
        config = json.loads((folder / "config.json").read_text())
        assert config["architectures"] == ["RobertaForMaskedLM"]
        assert config["model_type"] == "roberta"
        assert "torch_dtype" in config  # 4.x's name of 5.x's `dtype`
        tok = json.loads((folder / "tokenizer_config.json").read_text())
        # 5.x names the class TokenizersBackend, unknown to 4.x
        assert tok["tokenizer_class"] == "PreTrainedTokenizerFast"
        assert "backend" not in tok and tok["model_max_length"] <= config["max_position_embeddings"]
    assert exported.backend == "mlm"


def logits(model, tokenizer):
    batch = tokenizer(["the doggie is here", "more juice"], return_tensors="pt", padding=True)
    with torch.no_grad():
        return model(**batch).logits


def test_each_revision_loads_by_path_and_by_revision_with_the_run_s_logits(trained, exported):
    from transformers import AutoModelForMaskedLM, AutoProcessor

    folder = rf.RunFolder(trained)
    by_source = {str(p): p for _, p in ckpt.step_folders(folder.checkpoints)}
    seen = []
    for rev in exported.revisions:
        source = folder.final if rev.source == "final" else by_source[rev.source]
        reference = AutoModelForMaskedLM.from_pretrained(source).eval()
        tokenizer = AutoProcessor.from_pretrained(source)
        expected = logits(reference, tokenizer)
        by_path = AutoModelForMaskedLM.from_pretrained(exported.revision_dir(rev.name)).eval()
        # as the pipeline does: model id + revision=, here from the export's hub cache
        by_revision = AutoModelForMaskedLM.from_pretrained(
            exported.repo_id, revision=rev.name, cache_dir=exported.hub_cache,
            local_files_only=True,
        ).eval()  # fmt: skip
        tok_rev = AutoProcessor.from_pretrained(
            exported.repo_id, revision=rev.name, cache_dir=exported.hub_cache,
            local_files_only=True, padding_side="right",
        )  # fmt: skip
        assert torch.equal(logits(by_path, tokenizer), expected)
        assert torch.equal(logits(by_revision, tok_rev), expected)
        seen.append(expected)
    # the revisions are different models: revision= really chooses
    assert not any(torch.equal(seen[0], other) for other in seen[1:])


def test_pipeline_commands_name_the_export(exported):
    lines = ex.pipeline_commands(exported)
    root = exported.root.resolve()
    assert lines[0] == f"./eval_zero_shot.sh {root / 'tiny' / 'main'} mlm"
    assert lines[1] == (
        f"HF_HUB_CACHE={root / 'hub'} HF_HUB_OFFLINE=1 "
        "./eval_zero_shot_fast_all_revisions.sh babylm-test/tiny mlm strict-small"
    )
    odd = [r.name for r in exported.revisions if r.name != "main"]  # below 1M: exact counts
    assert [line.split()[-2] for line in lines[2:]] == odd


def test_an_existing_folder_is_refused_unless_forced(trained, exported, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ex.ExportError, match="not empty"):
        ex.export_babylm(trained, out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    again = ex.export_babylm(trained, out, force=True, model_name="other")
    assert not (out / "keep.txt").exists() and (out / "other" / "main").is_dir()
    assert [r.name for r in again.revisions] == [r.name for r in exported.revisions]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


def test_a_damaged_checkpoint_is_skipped_with_its_reason(trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    step4 = rf.RunFolder(run).step_checkpoint(4)
    (step4 / "model.safetensors").write_bytes(b"broken")
    result = ex.export_babylm(run, tmp_path / "out")
    assert f"chck_{words_of(step4)}" not in [r.name for r in result.revisions]
    assert len(result.revisions) == 3
    assert result.skipped == (
        f"{step4}: model.safetensors does not match its sha256 in manifest.json",
    )


class NoUploads:
    """Stands in for the hub's writing calls: any call fails the test."""

    def __init__(self, monkeypatch):
        from huggingface_hub import HfApi

        self.calls = []
        for name in ("create_repo", "create_branch", "upload_folder", "upload_file"):
            monkeypatch.setattr(HfApi, name, self.record(name))

    def record(self, name):
        def call(api, *args, **kwargs):
            self.calls.append((name, kwargs.get("revision") or kwargs.get("branch")))
            raise AssertionError(f"{name} called")

        return call


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.is_file() and sha(p) for p in sorted(root.rglob("*"))}


def test_offline_push_pushes_nothing_and_says_so(exported, monkeypatch):
    import huggingface_hub

    uploads = NoUploads(monkeypatch)
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # no network here; and even where there is, nothing listens on this port
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    before = snapshot(exported.root)
    with pytest.raises(ex.ExportError) as excinfo:
        ex.push(exported, "babylm-test/tiny")
    message = str(excinfo.value)
    assert message.startswith("cannot push to babylm-test/tiny: the hub cannot be reached")
    assert "nothing was pushed" in message
    assert uploads.calls == []
    assert snapshot(exported.root) == before  # the export is untouched


@pytest.mark.parametrize(
    ("env", "said"),
    [({"HF_HUB_OFFLINE": "1", "HF_TOKEN": "hf_x"}, "HF_HUB_OFFLINE is set"),
     ({"HF_TOKEN": None}, "no Hugging Face token")],
)  # fmt: skip
def test_push_without_token_or_with_hub_offline_pushes_nothing(exported, monkeypatch, env, said):
    import huggingface_hub

    uploads = NoUploads(monkeypatch)
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    if env.get("HF_TOKEN") is None:
        monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(ex.ExportError, match=said):
        ex.push(exported, "babylm-test/tiny")
    assert uploads.calls == []


class FakeHub:
    """A hub that answers: records the calls; ``fail_at`` a revision whose upload fails."""

    def __init__(self, monkeypatch, fail_at=None):
        import huggingface_hub
        from huggingface_hub import HfApi

        self.calls, self.fail_at = [], fail_at
        monkeypatch.setenv("HF_TOKEN", "hf_x")
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_x")
        monkeypatch.setattr(HfApi, "whoami", lambda api, *a, **k: {"name": "me"})
        monkeypatch.setattr(
            HfApi, "create_repo", lambda api, repo_id, **k: self.calls.append(("repo", repo_id))
        )
        monkeypatch.setattr(
            HfApi,
            "create_branch",
            lambda api, repo_id, branch, **k: self.calls.append(("branch", branch)),
        )
        monkeypatch.setattr(HfApi, "upload_folder", lambda api, **k: self.upload(**k))

    def upload(self, *, folder_path, repo_id, revision, **kwargs):
        if revision == self.fail_at:
            raise ConnectionError("network went away")
        self.calls.append(
            ("upload", revision, Path(folder_path).name, kwargs.get("delete_patterns"))
        )


def test_push_puts_each_revision_on_its_branch(exported, monkeypatch):
    hub = FakeHub(monkeypatch)
    pushed = ex.push(exported, "babylm-test/tiny", report=lambda line: None)
    names = [r.name for r in exported.revisions if r.name != "main"]
    assert pushed == ["main", *names]
    expected = [("repo", "babylm-test/tiny"), ("upload", "main", "main", "*")]
    for name in names:
        expected += [("branch", name), ("upload", name, name, "*")]
    assert hub.calls == expected


def test_a_push_cut_short_says_what_is_on_the_hub(exported, monkeypatch):
    second = [r.name for r in exported.revisions if r.name != "main"][1]
    FakeHub(monkeypatch, fail_at=second)
    with pytest.raises(ex.ExportError) as excinfo:
        ex.push(exported, "babylm-test/tiny", report=lambda line: None)
    first = [r.name for r in exported.revisions if r.name != "main"][0]
    assert f"stopped at {second}" in str(excinfo.value)
    assert f"pushed: main, {first}; not pushed: {second}," in str(excinfo.value)
