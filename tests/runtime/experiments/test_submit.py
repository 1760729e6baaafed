"""sweep --submit: submitit's local executor trains a grid point and its control, survives a
pre-emption (requeued, resumed from its checkpoint, the finished run not trained again)
and compare reads it; the Slurm path writes one array job (fake sbatch/srun/sacct)."""

from __future__ import annotations

import json
import os
import signal
import stat
import threading
import time
from pathlib import Path

import pytest
from support.data_inputs import aochildes_file

from curriculumc.cli import main
from curriculumc.runtime.experiments import submit as submits
from curriculumc.runtime.experiments import sweep as sweeps

SPEC = """\
model roberta-tiny
data "train.jsonl"
tokenizer bpe 1000
train 60 steps, batch 16, seq 64, lr 1e-3, warmup 5, seed 1
sort by sentence_length
pace linear from 30% over 40
at 0 mlm
log every 2
checkpoint every 4 keep 2
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submit")
    with open(aochildes_file("train"), encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(2000)]
    (folder / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    (folder / "tiny.cur").write_text(SPEC, encoding="utf-8")
    return folder


def events(folder: Path) -> list[dict]:
    records = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]
    return [r for r in records if "event" in r]


def test_task_groups_put_each_control_with_its_curriculum(tmp_path):
    from test_sweep import plan  # the fake compiler of the sweep tests

    sweep = plan(
        tmp_path, ["curriculum=root_pos,linear_ngram,linear_length,none", "seed=1"],
        control="random",
    )  # fmt: skip
    assert submits.task_groups(sweep) == [
        ("root_pos-1", "root_pos-1-control"),
        ("linear_ngram-1", "linear_ngram-1-control"),  # linear_length shares this control
        ("linear_length-1",),
        ("none-1",),
    ]
    assert submits.parse_time("90") == 90 and submits.parse_time("1:30:00") == 90
    assert submits.parse_time("1-00:00:00") == 1440 and submits.parse_time("45:30") == 46


def test_local_sweep_is_preempted_requeued_and_resumed(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    runs_dir = workdir / "runs"
    argv = ["sweep", "tiny.cur", "seed=1", "--control", "random", "--runs-dir", str(runs_dir),
            "--cache-dir", str(workdir / "cache"), "--submit", "local"]  # fmt: skip
    sweep = sweeps.plan_sweep("tiny.cur", ["seed=1"], runs_dir=runs_dir, control="random")
    curriculum, control = (sweep.folder_of(run) for run in sweep.runs)
    killed: dict = {}

    def preempt_the_control() -> None:
        """SIGTERM to the control's trainer once it is past its second checkpoint, as
        Slurm pre-empts: every process of the job gets SIGTERM."""
        deadline = time.monotonic() + 240
        from curriculumc.runtime.train import run_folder as rf

        while time.monotonic() < deadline:
            step = submits.last_step(control) or 0
            holder = rf.lock_holder(rf.RunFolder(control)) if control.is_dir() else None
            if step >= 10 and holder:
                killed.update(step=step, pid=holder)
                os.kill(holder, signal.SIGTERM)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=preempt_the_control, daemon=True)
    killer.start()
    code = main(argv)
    killer.join(timeout=5)
    err = capsys.readouterr().err
    assert code == 0, err
    assert killed, "the control run was never seen mid-run"
    assert killed["step"] < 60

    # the manifest: one job (the grid point and its control), finished after one requeue
    manifest = json.loads((sweep.folder / "sweep.json").read_text())
    (job,) = manifest["submit"]["jobs"]
    assert manifest["submit"]["executor"] == "local"
    assert job["runs"] == ["tiny-1", "tiny-1-control"]
    assert job["state"] == "FINISHED" and job["requeues"] == 1
    for entry in manifest["runs"]:
        assert entry["job_id"] == job["job_id"] and entry["job_state"] == "FINISHED"
        assert entry["status"] == "complete" and entry["step"] == 60
    # the job's files, as submitit writes them (the local executor's side by side)
    job_folder = sweep.folder / "submitit"
    names = {p.name for p in job_folder.iterdir()}
    assert {f"{job['job_id']}_submitted.pkl", f"{job['job_id']}_0_result.pkl"} <= names
    log = (job_folder / f"{job['job_id']}_0_log.out").read_text()
    assert log.count("tiny-1: starting") == 1 and "tiny-1: complete, skipped" in log
    assert "tiny-1-control: resuming" in log

    # the curriculum trained once, straight through; the control stopped at a checkpoint
    # of the step it was on and resumed from it, to the end
    assert all(e["event"] not in ("interrupted", "resumed") for e in events(curriculum))
    lines = [json.loads(x) for x in (curriculum / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "event" not in r] == [1, *range(2, 61, 2)]
    stopped = [e for e in events(control) if e["event"] in ("interrupted", "resumed")]
    assert [e["event"] for e in stopped] == ["interrupted", "resumed"]
    assert stopped[0]["step"] == stopped[1]["step"] >= killed["step"]
    assert stopped[1]["from"].endswith(f"step-{stopped[0]['step']}")
    steps = [json.loads(x)["step"] for x in (control / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 60
    for folder in (curriculum, control):
        assert json.loads((folder / "summary.json").read_text())["finished"] is True

    # --status reads the same from submitit's folder; a second submission trains nothing
    assert main(["sweep", "--status", str(sweep.folder)]) == 0
    out = capsys.readouterr().out
    assert "tiny-1-control" in out and "FINISHED" in out
    assert main(argv) == 0
    assert "every run is complete (2); nothing submitted" in capsys.readouterr().err
    assert len(list((sweep.folder / "submitit").glob("*_submitted.pkl"))) == 1
    again = json.loads((sweep.folder / "sweep.json").read_text())
    assert again["submit"]["jobs"] == [job]  # the earlier job stays on record

    # compare reads the result
    assert main(["compare", str(sweep.folder), "-o", str(workdir / "compare.png")]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "control" in out


FAKE_SBATCH = """#!/bin/sh
cp "$1" "{log}/submission.sh"
echo "Submitted batch job 4242"
"""
FAKE_SACCT = """#!/bin/sh
printf 'JobID|State|NodeList\\n4242_0|RUNNING|gpu01\\n4242_1|PENDING|None assigned\\n'
"""


def test_slurm_submission_is_one_array_job(workdir, tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in {
        "sbatch": FAKE_SBATCH.format(log=tmp_path),
        "srun": "#!/bin/sh\nexit 1\n",
        "sacct": FAKE_SACCT,
    }.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(workdir)
    runs_dir = tmp_path / "runs"
    argv = ["sweep", "tiny.cur", "seed=1,2", "--runs-dir", str(runs_dir), "--submit", "slurm",
            "--partition", "gpu", "--gpus-per-run", "2", "--time", "1:30:00",
            "--array-parallelism", "1", "--mem", "16", "--cpus-per-run", "8",
            "--slurm-option", "account=babylm", "--setup", "source .venv/bin/activate"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "job 4242_0: tiny-1" in err and "curriculumc sweep --status" in err
    script = (tmp_path / "submission.sh").read_text()
    for line in ("#SBATCH --array=0-1%1", "#SBATCH --partition=gpu", "#SBATCH --time=90",
                 "#SBATCH --gpus-per-node=2", "#SBATCH --cpus-per-task=8",
                 "#SBATCH --mem=16384MB", "#SBATCH --signal=USR2@120",
                 "#SBATCH --account=babylm", "source .venv/bin/activate"):  # fmt: skip
        assert line in script, line
    manifest = json.loads((runs_dir / "tiny" / "sweep.json").read_text())
    assert [j["job_id"] for j in manifest["submit"]["jobs"]] == ["4242_0", "4242_1"]
    assert [r["status"] for r in manifest["runs"]] == ["submitted", "submitted"]
    # each task pickled: its runs, on 2 GPUs through torchrun
    from submitit.core.utils import DelayedSubmission

    task = DelayedSubmission.load(
        runs_dir / "tiny" / "submitit" / "4242_1" / "4242_1_submitted.pkl"
    )
    assert isinstance(task.function, submits.SweepTask)
    assert task.function.labels == ("tiny-2",) and task.function.nproc == 2
    # --status: sacct's states through submitit
    assert main(["sweep", "--status", str(runs_dir / "tiny")]) == 0
    manifest = json.loads((runs_dir / "tiny" / "sweep.json").read_text())
    states = [(r["job_state"], r["status"]) for r in manifest["runs"]]
    assert states == [("RUNNING", "queued"), ("PENDING", "submitted")]
    # submitting again keeps the jobs still queued or running
    assert main(argv) == 0
    assert "4242_0 is still RUNNING; kept" in capsys.readouterr().err
