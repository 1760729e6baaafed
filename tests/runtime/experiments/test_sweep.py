"""sweep: grid expansion, naming, controls, skip/resume, --print lines (fake runner)."""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

import pytest

from curriculumc.errors import CurriculumError
from curriculumc.plan import Pace, Plan, ScorerTerm, SortSpec, TrainSpec
from curriculumc.runtime.experiments import sweep as sweeps

CURRICULA = {
    "root_pos": (SortSpec((ScorerTerm("ngram_ppl"),)), Pace("root", 0.1, 1.0, 20)),
    "linear_ngram": (SortSpec((ScorerTerm("ngram_ppl"),)), Pace("linear", 0.1, 1.0, 20)),
    "linear_length": (SortSpec((ScorerTerm("sentence_length"),)), Pace("linear", 0.1, 1.0, 20)),
    "none": (None, Pace()),
}


def fake_load(spec: Path, overrides) -> Plan:
    """Stands in for the compiler: the curriculum and seed overrides pick the plan."""
    values = dict(item.split("=", 1) for item in overrides)
    if values.get("curriculum") == "broken":
        raise CurriculumError.single("E999", "no such curriculum")
    sort, pace = CURRICULA[values.get("curriculum", "root_pos")]
    steps = int(values.get("train.steps", 30))
    return Plan(
        train=TrainSpec(steps=steps, seed=int(values.get("seed", 42))), sort=sort, pace=pace
    )


def fake_control(plan: Plan, scorer: str = "random") -> Plan:
    return dataclasses.replace(plan, sort=SortSpec((ScorerTerm(scorer),)))


def plan(tmp_path, overrides, **kwargs) -> sweeps.Sweep:
    return sweeps.plan_sweep(
        tmp_path / "exp.yaml",
        overrides,
        runs_dir=tmp_path / "runs",
        load_plan=fake_load,
        make_control=fake_control,
        **kwargs,
    )


class FakeTrainer:
    """Writes the run folder the real trainer would, and records every call."""

    def __init__(self, *, fail=(), interrupt=(), wrong_hash=(), leave_incomplete=()):
        self.calls: list[list[str]] = []
        self.fail, self.interrupt = set(fail), set(interrupt)
        self.wrong_hash, self.leave_incomplete = set(wrong_hash), set(leave_incomplete)

    def __call__(self, run: sweeps.SweepRun, argv) -> int:
        self.calls.append(list(argv))
        argv = list(argv)
        runs_dir = Path(argv[argv.index("--runs-dir") + 1])
        name = argv[argv.index("--name") + 1]
        if "--control" in argv:
            name += "-control"  # as `curriculumc run --control` names it
        assert name == run.label
        digest = "deadbeef" if run.label in self.wrong_hash else run.plan_hash[:8]
        folder = runs_dir / f"{name}-{digest}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.jsonl").write_text('{"step": 1}\n')
        checkpoint = folder / "checkpoints" / "step-1"
        checkpoint.mkdir(parents=True, exist_ok=True)
        (checkpoint / "trainer_state.json").write_text('{"step": 1}')
        if run.label in self.interrupt:
            raise KeyboardInterrupt
        if run.label in self.fail:
            return 1
        if run.label not in self.leave_incomplete:
            (folder / "summary.json").write_text(json.dumps({"finished": True}))
        return 0


def test_split_choices_respects_brackets_and_quotes():
    assert sweeps.split_choices("a,b, c") == ("a", "b", "c")
    assert sweeps.split_choices("ngram_ppl(n=3),random") == ("ngram_ppl(n=3)", "random")
    assert sweeps.split_choices('"x,y",z') == ('"x,y"', "z")
    assert sweeps.split_choices("[1,2],3") == ("[1,2]", "3")
    with pytest.raises(CurriculumError) as info:
        sweeps.split_choices("a,,b")
    assert info.value.diagnostics[0].code == "E820"


def test_grid_is_the_cartesian_product_first_axis_slowest():
    axes = sweeps.parse_axes(["curriculum=a,b", "seed=1,2,3", "train.steps=30"])
    grid = sweeps.expand_grid(axes)
    assert len(grid) == 6
    assert grid[0] == ("curriculum=a", "seed=1", "train.steps=30")
    assert grid[1] == ("curriculum=a", "seed=2", "train.steps=30")
    assert grid[3] == ("curriculum=b", "seed=1", "train.steps=30")
    for bad, code in (("seed", "E821"), ("=1", "E821")):
        with pytest.raises(CurriculumError) as info:
            sweeps.parse_axes([bad])
        assert info.value.diagnostics[0].code == code
    with pytest.raises(CurriculumError):
        sweeps.parse_axes(["seed=1", "seed=2"])


def test_runs_are_named_by_swept_values_and_plan_hash(tmp_path):
    sweep = plan(tmp_path, ["seed=1,2", "curriculum=root_pos,none", "train.steps=30"])
    labels = [r.label for r in sweep.runs]
    # curriculum first in the name, seed last, whatever the order on the command line
    assert labels == ["none-1", "root_pos-1", "none-2", "root_pos-2"] or labels == [
        "root_pos-1", "none-1", "root_pos-2", "none-2"
    ]  # fmt: skip
    run = next(r for r in sweep.runs if r.label == "root_pos-2")
    expected = fake_load(tmp_path, ["curriculum=root_pos", "seed=2", "train.steps=30"])
    assert run.plan_hash == expected.hash
    assert run.group == "root_pos" and run.seed == 2
    assert sweep.folder_of(run) == tmp_path / "runs" / "exp" / f"root_pos-2-{expected.hash[:8]}"
    other = plan(tmp_path, ["curriculum=root_pos", "train.steps=10,20"], name="steps")
    assert [r.label for r in other.runs] == ["root_pos-steps_10", "root_pos-steps_20"]
    assert other.folder == tmp_path / "runs" / "steps"


def test_controls_pair_each_paced_curriculum_and_deduplicate(tmp_path):
    sweep = plan(
        tmp_path,
        ["curriculum=root_pos,linear_ngram,linear_length,none", "seed=1,2"],
        control="random",
    )
    by_label = {r.label: r for r in sweep.runs}
    # no control for `none`; linear_ngram and linear_length share one control plan
    assert "none-1-control" not in by_label
    root_control = by_label["root_pos-1-control"]
    base = fake_load(tmp_path, ["curriculum=root_pos", "seed=1"])
    assert root_control.plan_hash == fake_control(base).hash
    assert root_control.control == "random" and root_control.controls == ("root_pos",)
    shared = by_label["linear_ngram-1-control"]
    assert shared.controls == ("linear_ngram", "linear_length")
    assert "linear_length-1-control" not in by_label
    assert len(sweep.runs) == 4 * 2 + 2 * 2
    assert len({r.plan_hash for r in sweep.runs}) == len(sweep.runs)
    # the control follows its curriculum in execution order
    labels = [r.label for r in sweep.runs]
    assert labels.index("root_pos-1-control") == labels.index("root_pos-1") + 1


def test_execute_skips_complete_and_resumes_incomplete(tmp_path):
    sweep = plan(tmp_path, ["curriculum=root_pos,none", "seed=1,2"], control="random")
    trainer = FakeTrainer(leave_incomplete={"none-2"})
    outcome = sweeps.execute(sweep, runner=trainer, log=lambda _: None)
    assert outcome.failed == ("none-2",)  # exit 0 but no complete folder
    assert len(trainer.calls) == len(sweep.runs) == 6
    manifest = json.loads((sweep.folder / "sweep.json").read_text())
    status = {r["label"]: r for r in manifest["runs"]}
    assert status["none-2"]["status"] == "failed"
    assert status["root_pos-1-control"]["control_of_groups"] == ["root_pos"]
    assert status["root_pos-1"]["folder"] == sweep.runs[0].folder_name

    again = FakeTrainer()
    outcome = sweeps.execute(sweep, runner=again, log=lambda _: None)
    assert len(again.calls) == 1 and "--resume" in again.calls[0]
    assert again.calls[0][again.calls[0].index("--name") + 1] == "none-2"
    assert outcome.ok and outcome.resumed == ("none-2",) and len(outcome.skipped) == 5
    final = json.loads((sweep.folder / "sweep.json").read_text())
    assert {r["status"] for r in final["runs"]} == {"complete"}


def test_interrupt_marks_the_run_and_a_restart_resumes_it(tmp_path):
    sweep = plan(tmp_path, ["seed=1,2,3"])
    with pytest.raises(KeyboardInterrupt):
        sweeps.execute(sweep, runner=FakeTrainer(interrupt={"exp-2"}), log=lambda _: None)
    manifest = json.loads((sweep.folder / "sweep.json").read_text())
    states = [r["status"] for r in manifest["runs"]]
    assert states == ["complete", "interrupted", "pending"]
    trainer = FakeTrainer()
    assert sweeps.execute(sweep, runner=trainer, log=lambda _: None).ok
    names = [c[c.index("--name") + 1] for c in trainer.calls]
    assert names == ["exp-2", "exp-3"]
    assert "--resume" in trainer.calls[0] and "--resume" not in trainer.calls[1]


def test_failure_and_hash_disagreement_do_not_stop_the_sweep(tmp_path):
    sweep = plan(tmp_path, ["seed=1,2,3"])
    trainer = FakeTrainer(fail={"exp-1"}, wrong_hash={"exp-2"})
    outcome = sweeps.execute(sweep, runner=trainer, log=lambda _: None)
    assert outcome.failed == ("exp-1", "exp-2")
    assert outcome.complete == ("exp-3",)
    manifest = json.loads((sweep.folder / "sweep.json").read_text())
    assert manifest["runs"][0]["returncode"] == 1
    assert "no complete run folder" in manifest["runs"][1]["error"]


def test_print_lines(tmp_path):
    sweep = plan(tmp_path, ["curriculum=root_pos", "seed=1,2"], control="random")
    first = sweep.runs[0]
    folder = sweep.folder_of(first)
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text('{"finished": true}')
    lines = sweeps.print_lines(sweep)
    assert lines[0] == f"# complete: {folder}"
    spec, runs_dir = str(tmp_path / "exp.yaml"), str(sweep.folder)
    assert shlex.split(lines[1]) == [
        "python", "-m", "curriculumc", "run", spec, "curriculum=root_pos", "seed=1",
        "--control", "random", "--runs-dir", runs_dir, "--name", "root_pos-1",
    ]  # fmt: skip
    assert len(lines) == 4
    torchrun = sweeps.print_lines(sweep, launcher="torchrun", nproc=4)
    assert shlex.split(torchrun[2])[:6] == [
        "torchrun",
        "--standalone",
        "--nproc-per-node=4",
        "-m",
        "curriculumc",
        "run",
    ]
    slurm = shlex.split(sweeps.print_lines(sweep, launcher="slurm", nproc=2)[3])
    assert slurm[0] == "sbatch" and "--gpus-per-node=2" in slurm
    assert slurm[-1].startswith("--wrap=torchrun --standalone --nproc-per-node=2 -m curriculumc")
    # an incomplete folder is resumed from its checkpoint, or started over without one
    (folder / "summary.json").unlink()
    assert sweeps.print_lines(sweep)[0].endswith("--force")
    (folder / "checkpoints" / "step-5").mkdir(parents=True)
    (folder / "checkpoints" / "step-5" / "trainer_state.json").write_text('{"step": 5}')
    assert sweeps.print_lines(sweep)[0].endswith("--resume")
    # final/ holds a checkpoint only after the last step: complete even without a summary
    (folder / "final").mkdir()
    (folder / "final" / "trainer_state.json").write_text('{"step": 30}')
    assert sweeps.print_lines(sweep)[0].startswith("# complete")


def test_a_point_that_does_not_compile_is_named(tmp_path):
    with pytest.raises(CurriculumError) as info:
        plan(tmp_path, ["curriculum=root_pos,broken"])
    codes = [d.code for d in info.value.diagnostics]
    assert codes == ["E999", "E824"]
    assert "curriculum=broken" in info.value.diagnostics[1].message


def test_dry_run_rows(tmp_path):
    sweep = plan(tmp_path, ["curriculum=root_pos", "seed=1"], control="random")
    rows = sweeps.dry_run_rows(sweep)
    assert [r[0] for r in rows] == ["root_pos-1", "root_pos-1-control"]
    assert rows[1][1].endswith("--control random")
    assert rows[0][2] == sweep.runs[0].plan_hash[:8] and rows[0][3] == "missing"


def test_cli_plans_a_composed_sweep_with_the_real_compiler(tmp_path, capsys):
    from curriculumc.cli import main

    files = {
        "curriculum/root.yaml": "curriculum: |\n  sort by sentence_length\n"
        "  pace root from 20% over 10\n",
        "curriculum/none.yaml": "curriculum: pace none\n",
        "exp.yaml": "defaults:\n  - curriculum: root\nmodel: roberta-tiny\n"
        "train: {steps: 20, batch: 4}\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    argv = ["sweep", str(tmp_path / "exp.yaml"), "curriculum=root,none", "seed=1,2",
            "--control", "random", "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    assert main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    for label in ("root-1", "root-1-control", "none-2"):
        assert label in out
    assert "none-1-control" not in out
    assert main([*argv, "--print"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and all(" -m curriculumc run " in line for line in lines)
    manifest = json.loads((tmp_path / "runs" / "exp" / "sweep.json").read_text())
    assert [r["label"] for r in manifest["runs"]][:2] == ["root-1", "root-1-control"]
    assert main(["sweep", str(tmp_path / "exp.yaml"), "seed", "--dry-run"]) == 1  # E821


def test_exposure_is_checked_once_per_curriculum_and_control(tmp_path):
    sweep = plan(
        tmp_path,
        ["curriculum=root_pos,linear_ngram,linear_length,none", "seed=1,2"],
        control="random",
    )
    calls = []

    def check(plan, control_plan, *, cache_dir, pair, corpora):
        calls.append((pair, plan.hash, control_plan.hash))
        return f"warning: the control of {pair} is not matched" if pair != "root_pos-1" else None

    warnings = sweeps.control_exposure_warnings(sweep, cache_dir=tmp_path, check=check)
    by_label = {r.label: r for r in sweep.runs}
    # the first seed of each curriculum; linear_length shares linear_ngram's control
    assert [c[0] for c in calls] == ["root_pos-1", "linear_ngram-1", "linear_length-1"]
    assert calls[2][1:] == (by_label["linear_length-1"].plan_hash,
                            by_label["linear_ngram-1-control"].plan_hash)  # fmt: skip
    assert warnings == [
        "warning: the control of linear_ngram-1 is not matched",
        "warning: the control of linear_length-1 is not matched",
    ]
    assert sweeps.control_exposure_warnings(plan(tmp_path, ["seed=1,2"]), check=check) == []


def test_control_runs_skip_their_own_check_when_the_sweep_made_it(tmp_path):
    sweep = plan(tmp_path, ["curriculum=root_pos,none", "seed=1"], control="random")
    # printed lines (run later, by hand or by Slurm) keep the run's own check
    printed = sweeps.print_lines(sweep)
    assert len(printed) == 3 and "--control random" in printed[1]
    assert not any("--no-exposure-check" in line for line in printed)
    trainer = FakeTrainer()
    sweeps.execute(sweep, runner=trainer, log=lambda _: None, exposure_checked=True)
    checked = [("--control" in argv, "--no-exposure-check" in argv) for argv in trainer.calls]
    assert checked == [(False, False), (True, True), (False, False)]


def test_execute_skips_a_run_another_process_is_training(tmp_path):
    from curriculumc.runtime.train import run_folder as rf

    sweep = plan(tmp_path, ["seed=1,2"])
    busy = sweep.runs[0]
    lines: list[str] = []
    with rf.RunLock(rf.RunFolder(sweep.folder_of(busy))):  # as a `run` in another sweep
        outcome = sweeps.execute(sweep, runner=FakeTrainer(), log=lines.append)
    assert outcome.skipped == (busy.label,) and outcome.complete == (sweep.runs[1].label,)
    assert any(
        f"{busy.label}: skipped, process" in line and "is training" in line for line in lines
    )
    status = {r["label"]: r for r in json.loads((sweep.folder / "sweep.json").read_text())["runs"]}
    assert status[busy.label]["status"] == "busy"


def finished_folder(folder: Path, run_plan: Plan, *, summary_hash: bool) -> Path:
    """A finished run folder as the trainer leaves it (summary with or without the hash)."""
    folder.mkdir(parents=True)
    (folder / "plan.json").write_text(run_plan.to_json())
    summary = {"finished": True, **({"plan_hash": run_plan.hash} if summary_hash else {})}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_a_run_finished_elsewhere_under_the_runs_dir_is_not_trained_again(tmp_path, capsys):
    from curriculumc.runtime.experiments.compare import collect_runs

    sweep = plan(tmp_path, ["seed=1,2,3"])
    first, second, third = sweep.runs
    runs_dir = sweep.folder.parent
    # `curriculumc run` of the same plan: runs/demo-<hash8>, not runs/exp/exp-1-<hash8>
    plain = finished_folder(
        runs_dir / f"demo-{first.plan_hash[:8]}", sweep.plans[first.plan_hash], summary_hash=True
    )
    # another sweep's folder, recognised by plan.json alone
    other = finished_folder(
        runs_dir / "other" / f"x-{second.plan_hash[:8]}",
        sweep.plans[second.plan_hash],
        summary_hash=False,
    )
    # same 8 digits, another plan: not the run
    impostor = runs_dir / f"fake-{third.plan_hash[:8]}"
    impostor.mkdir()
    (impostor / "summary.json").write_text(json.dumps({"finished": True, "plan_hash": "0" * 64}))

    assert sweeps.find_finished(runs_dir, first.plan_hash) == plain
    assert sweeps.find_finished(runs_dir, second.plan_hash) == other
    assert sweeps.find_finished(runs_dir, third.plan_hash) is None
    rows = sweeps.dry_run_rows(sweep)
    assert [(r[3], r[4]) for r in rows] == [
        ("complete (same plan)", str(plain)),
        ("complete (same plan)", str(other)),
        ("missing", str(sweep.folder_of(third))),
    ]
    assert sweeps.print_lines(sweep)[0] == f"# complete: {plain} (same plan {first.plan_hash[:8]})"

    trainer, lines = FakeTrainer(), []
    outcome = sweeps.execute(sweep, runner=trainer, log=lines.append)
    assert [c[c.index("--name") + 1] for c in trainer.calls] == [third.label]
    assert outcome.skipped == (first.label, second.label) and outcome.complete == (third.label,)
    assert lines[0] == (
        f"[1/3] {first.label}: skipped, the same plan ({first.plan_hash[:8]}) finished in {plain}"
    )
    manifest = {
        r["label"]: r for r in json.loads((sweep.folder / "sweep.json").read_text())["runs"]
    }
    assert manifest[first.label]["status"] == "complete"
    assert manifest[first.label]["finished_at"] == str(plain)
    assert manifest[first.label]["folder"] == f"../demo-{first.plan_hash[:8]}"
    # compare reads the sweep and finds the run where it finished
    runs, _ = collect_runs([sweep.folder])
    assert {r.folder.resolve() for r in runs} >= {plain.resolve(), other.resolve()}
