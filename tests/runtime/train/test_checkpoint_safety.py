"""Run folders that cannot hurt: no code runs from a checkpoint, one process trains a folder,
damaged checkpoints are passed over, signals checkpoint, divergence names a good checkpoint."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from support.train_fixtures import run_trainer, single_thread, tiny_plan  # noqa: F401

from curriculumc.errors import CurriculumError
from curriculumc.runtime.train import checkpoint as ckpt
from curriculumc.runtime.train import run_folder as rf
from curriculumc.runtime.train.recipe import Recipe, RunRequest
from curriculumc.runtime.train.trainer import Trainer

pytestmark = pytest.mark.usefixtures("single_thread")


def checkpointed_plan(steps: int = 8, every: int = 2, keep: int = 5, **train):
    return tiny_plan(
        train=dict(steps=steps, warmup=1, **train),
        output=replace(tiny_plan().output, checkpoint_every=every, keep=keep),
    )


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def same_weights(a: Path, b: Path) -> bool:
    x, y = weights(a), weights(b)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An 8-step run with checkpoints at 2, 4, 6 and final/ (do not modify: copy)."""
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    run_trainer(checkpointed_plan(), run_dir)
    return run_dir


def copy_run(trained: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(trained, target)
    return target


# --- 1. nothing loaded from a run folder runs code ----------------------------------


class _Planted:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def test_a_planted_pickle_does_not_run_on_resume(trained, tmp_path):
    run = copy_run(trained, tmp_path / "run")
    step4 = run / "checkpoints" / "step-4"
    # the new format never reads rng.pt: a pickle planted beside it stays inert
    marker = tmp_path / "marker-new"
    (step4 / "rng.pt").write_bytes(pickle.dumps({"python": _Planted(str(marker))}))
    trainer, summary = run_trainer(checkpointed_plan(), tmp_path / "resumed", resume_from=step4)
    assert not marker.exists() and summary["finished"]
    assert same_weights(trained / "final", tmp_path / "resumed" / "final")

    # an old-format checkpoint (rng.pt, no manifest): read through weights_only=True, and a
    # planted pickle is refused, clearly, without running
    marker = tmp_path / "marker-old"
    for name in (ckpt.RNG_TENSORS, ckpt.RNG_JSON, ckpt.MANIFEST_FILE, "rng.pt"):
        (step4 / name).unlink(missing_ok=True)
    torch.save({"python": _Planted(str(marker))}, step4 / "rng.pt")
    with pytest.raises(CurriculumError) as err:
        run_trainer(checkpointed_plan(), tmp_path / "old", resume_from=step4)
    assert not marker.exists()
    message = err.value.diagnostics[0].message
    assert err.value.diagnostics[0].code == "E430" and "could run code" in message

    # ... while an honest old rng.pt still resumes, bit for bit
    torch.save(ckpt.rng_state(), step4 / "rng.pt")
    assert ckpt.verify(step4) is None  # no manifest to check: an old checkpoint
    run_trainer(checkpointed_plan(), tmp_path / "old-honest", resume_from=step4)
    assert not marker.exists()


# --- 2. one process trains a run folder ---------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from curriculumc.runtime.train.run_folder import RunFolder, RunLock
RunLock(RunFolder(Path(sys.argv[1]))).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def test_a_second_process_is_refused_a_locked_run_folder(tmp_path):
    plan = tiny_plan()
    runs = tmp_path / "runs"
    folder = rf.RunFolder(runs / rf.folder_name("busy", plan.hash))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder.root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert rf.lock_holder(folder) == holder.pid
        with pytest.raises(CurriculumError) as err:
            Recipe(plan, RunRequest(name="busy", runs_dir=runs, device="cpu")).setup()
        diagnostic = err.value.diagnostics[0]
        assert diagnostic.code == "E424" and f"process {holder.pid}" in diagnostic.message
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert rf.lock_holder(folder) is None  # released by the OS when the holder died
    with rf.RunLock(folder):
        assert rf.lock_holder(folder) == 0 or rf.lock_holder(folder) == os.getpid()


# --- 3. damaged checkpoints -----------------------------------------------------------


def flip(path: Path, count: int = 64) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_damaged_checkpoint_falls_back_to_the_newest_intact_one(trained, tmp_path):
    run = copy_run(trained, tmp_path / "run")
    flip(run / "final" / "model.safetensors")
    (run / "checkpoints" / "step-6" / "optimizer.pt").unlink()
    lines: list[str] = []
    found, skipped = ckpt.newest_intact(run, good_only=True, report=lines.append)
    assert found == run / "checkpoints" / "step-4"
    assert lines == skipped and len(lines) == 2
    assert "final" in lines[0] and "model.safetensors does not match its sha256" in lines[0]
    assert "step-6" in lines[1] and "optimizer.pt is missing" in lines[1]
    with pytest.raises(CurriculumError) as err:  # loading it directly is refused too
        run_trainer(checkpointed_plan(), tmp_path / "direct", resume_from=run / "final")
    assert "damaged" in err.value.diagnostics[0].message

    # from step-4, the run ends where the undamaged one did
    run_trainer(checkpointed_plan(), tmp_path / "resumed", resume_from=found)
    assert same_weights(trained / "final", tmp_path / "resumed" / "final")

    # every checkpoint damaged: a clear error, naming each
    for folder in ckpt.candidates(run):
        flip(folder / ckpt.STATE_FILE, count=4)
    with pytest.raises(CurriculumError) as err:
        Recipe._usable_checkpoint(run, None)
    message = err.value.diagnostics[0].message
    assert err.value.diagnostics[0].code == "E430" and "every checkpoint is damaged" in message
    assert message.count("skipping checkpoint") == 4


# --- 4. signals -----------------------------------------------------------------------


def test_sigusr1_checkpoints_and_sigint_stops_with_a_checkpoint(trained, tmp_path, monkeypatch):
    original = Trainer.train_step
    sent = {3: signal.SIGUSR1, 5: signal.SIGINT}  # during steps 4 and 6 (1-based)

    def signalling(self, step, weights):
        if step in sent:
            os.kill(os.getpid(), sent[step])
        return original(self, step, weights)

    monkeypatch.setattr(Trainer, "train_step", signalling)
    plan = checkpointed_plan(every=None)
    trainer, summary = run_trainer(plan, tmp_path / "run")
    monkeypatch.setattr(Trainer, "train_step", original)
    assert summary["interrupted"] == "SIGINT" and not summary["finished"]
    assert summary["steps"] == 6 and trainer.step == 6
    checkpoints = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["step-4", "step-6"]
    assert ckpt.read_state(checkpoints / "step-6")["step"] == 6
    assert not (tmp_path / "run" / "final").exists()
    # the handlers are restored: SIGINT is Python's again
    assert "_catch_signals" not in getattr(signal.getsignal(signal.SIGINT), "__qualname__", "")

    run_trainer(plan, tmp_path / "run", resume_from=checkpoints / "step-6")
    assert same_weights(trained / "final", tmp_path / "run" / "final")


# --- 5. divergence names a good checkpoint; resume may change lr ----------------------


def test_divergence_names_the_newest_good_checkpoint_and_resume_may_lower_lr(tmp_path, monkeypatch):
    from curriculumc.runtime.train.objectives.mlm import MaskedLM

    original = MaskedLM.loss_sum
    calls = []

    def exploding(self, model, hidden, labels):  # finite but huge from step 5, NaN at 9
        calls.append(1)
        loss = original(self, model, hidden, labels)
        if len(calls) >= 9:
            return loss * float("nan")
        return loss * 1e9 if len(calls) >= 5 else loss

    monkeypatch.setattr(MaskedLM, "loss_sum", exploding)
    plan = checkpointed_plan(steps=12, every=3, keep=1)
    runs = tmp_path / "runs"
    run_dir = runs / rf.folder_name("boom", plan.hash)
    rf.create(rf.RunFolder(run_dir), plan_json=plan.to_json(), spec_path=None, overrides={})
    with pytest.raises(CurriculumError) as err:
        run_trainer(plan, run_dir)
    monkeypatch.setattr(MaskedLM, "loss_sum", original)
    message = err.value.diagnostics[0].message
    assert "step 9" in message and "newest good checkpoint is" in message
    assert message.split("newest good checkpoint is ")[1].split()[0].endswith("step-3")
    assert "step-6" in message and "exploding" in message  # passed over, saying why
    step6 = ckpt.read_state(run_dir / "checkpoints" / "step-6")
    assert step6["good"] is False and "more than 10x" in step6["why"]
    assert ckpt.read_state(run_dir / "checkpoints" / "step-3")["good"] is True  # kept by prune
    last = rf.read_metrics(run_dir / "metrics.jsonl")[-1]
    assert last["event"] == "diverged" and last["good_checkpoint"].endswith("step-3")

    # --resume with a lower lr: allowed, from step-3, and recorded
    lower = replace(plan, train=replace(plan.train, lr=1e-4, warmup=2))
    recipe = Recipe(lower, RunRequest(name="boom", runs_dir=runs, resume=True))
    found = recipe._resume_point(announce=False)
    assert found == run_dir / "checkpoints" / "step-3"
    assert recipe.resume_changes == {"train.lr": [1e-3, 1e-4], "train.warmup": [1, 2]}
    new_dir = runs / rf.folder_name("boom", lower.hash)
    run_trainer(lower, new_dir, resume_from=found, resume_changes=recipe.resume_changes)
    resumed = rf.read_metrics(new_dir / "metrics.jsonl")[0]
    assert resumed["event"] == "resumed" and resumed["changed"]["train.lr"] == [1e-3, 1e-4]
    # any other change is still refused with the diff
    other = replace(plan, train=replace(plan.train, weight_decay=0.5))
    with pytest.raises(CurriculumError) as err:
        Recipe(other, RunRequest(name="boom", runs_dir=runs, resume=True))._resume_point(
            announce=False
        )
    assert err.value.diagnostics[0].code == "E420"


def test_the_metrics_window_survives_a_checkpoint(tmp_path):
    """log every 3, checkpoint every 2: the resumed run's first line (step 6) averages
    steps 5-6 like the uninterrupted run's, not step 6 alone."""
    plan = checkpointed_plan(steps=8, every=4)
    plan = replace(plan, output=replace(plan.output, log_every=3))
    run_trainer(plan, tmp_path / "straight")
    run_trainer(replace(plan, train=replace(plan.train)), tmp_path / "cut", stop_after=4)
    cut = tmp_path / "cut"
    assert (
        json.loads((cut / "checkpoints" / "step-4" / ckpt.STATE_FILE).read_text())["window"][
            "steps"
        ]
        == 1
    )
    run_trainer(plan, cut, resume_from=cut / "checkpoints" / "step-4")

    def lines(run):
        return [
            {k: v for k, v in r.items() if k != "tokens_per_s"}
            for r in rf.read_metrics(run / "metrics.jsonl")
            if "loss" in r
        ]

    assert lines(tmp_path / "straight") == lines(cut)


def test_run_folder_files_are_replaced_whole_on_a_full_disk(tmp_path, monkeypatch):
    """summary.json (and plan.json, overrides, eval results) go through one atomic
    write: a failing write leaves the old file and no temporary file behind."""
    import errno

    from curriculumc import files
    from curriculumc.runtime.train import run_folder as rf

    folder = rf.RunFolder(tmp_path)
    rf.write_summary(folder, {"steps": 1})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full)
    with pytest.raises(OSError) as err:
        rf.write_summary(folder, {"steps": 2})
    assert files.os_error_message(err.value).startswith("no space left on device")
    assert json.loads(folder.summary.read_text()) == {"steps": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.summary.name]
