"""A batch-size ramp in training: the rows the trainer feeds the model at step t are the
plan's ``batch_at(t)`` examples -- measured at the backbone's input, split over
accumulation steps --, the learning rate it sets is the one that follows the examples
drawn, the words it counts seen are those drawn, every size must split, and a run killed
(SIGKILL) in the middle of the ramp and resumed ends with the same weights, bit for bit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from support.data_inputs import aochildes_file
from support.run_folders import kill_at_checkpoint, only_folder, run_spec, step_records
from support.train_fixtures import prepared, single_thread, tiny_plan  # noqa: F401

from curriculumc.errors import CurriculumError
from curriculumc.plan import BatchRamp
from curriculumc.runtime.ordering.sampler import CurriculumSampler
from curriculumc.runtime.train.trainer import plan_lr

pytestmark = pytest.mark.usefixtures("single_thread")

STEPS = 20
RAMP = BatchRamp(4, 16, 4, over=12)  # 4 for steps 0-3, 8 for 4-7, 12 for 8-11, then 16


def _train_recording(plan, run_dir: Path):
    """Train ``plan`` on the fixture corpus in this process, recording the rows of every
    backbone forward and the learning rate of every optimizer step."""
    from curriculumc.runtime.train.distributed import World
    from curriculumc.runtime.train.models import backbone
    from curriculumc.runtime.train.trainer import RunOptions, Trainer

    data = prepared()
    trainer = Trainer(plan, data, np.arange(len(data.corpus)), RunOptions(run_dir=run_dir,
                      quiet=True), World())  # fmt: skip
    rows: list[int] = []
    rates: list[float] = []

    def record(module, args, kwargs):
        rows.append(int(kwargs["input_ids"].shape[0]))

    try:
        trainer.setup()
        handle = backbone(trainer.model).register_forward_pre_hook(record, with_kwargs=True)
        step = trainer.optimizer.step

        def stepped(*args, **kwargs):
            rates.append(trainer.optimizer.param_groups[0]["lr"])
            return step(*args, **kwargs)

        trainer.optimizer.step = stepped
        summary = trainer.train()
        handle.remove()
    finally:
        trainer.cleanup()
    return trainer, summary, rows, rates


def test_each_step_trains_on_its_batch_at_the_rate_that_follows_it(tmp_path):
    plan = tiny_plan(train=dict(steps=STEPS, lr=2e-3, warmup=6, grad_accum=2), batch_ramp=RAMP)
    trainer, summary, rows, rates = _train_recording(plan, tmp_path)
    sizes = [4] * 4 + [8] * 4 + [12] * 4 + [16] * 8  # written out from the ramp's rule
    assert [plan.batch_at(t) for t in range(STEPS)] == sizes
    # two micro-batches a step (grad_accum 2), each half of the step's batch
    assert rows == [size // 2 for size in sizes for _ in range(2)]
    # the rates the optimizer stepped with: the warm-up over the examples of steps 0-5
    # (4 x 4 + 2 x 8 = 32), then the decay over the examples after it
    drawn = np.concatenate([[0], np.cumsum(sizes)])
    expected = [2e-3 * drawn[t + 1] / 32 if t < 6 else
                2e-3 * (1 - (drawn[t] - 32) / (drawn[STEPS] - 32)) for t in range(STEPS)]  # fmt: skip
    assert rates == pytest.approx(expected, rel=1e-12)
    assert rates == [plan_lr(plan, t) for t in range(STEPS)]
    # what it counts seen: the words of the examples the sampler drew, at each size
    sampler = CurriculumSampler.for_corpus(plan, prepared().corpus, np.arange(2000))
    words = prepared().corpus.text_words(plan.train.seq)
    assert summary["words_seen"] == sum(int(words[sampler.indices(t)].sum()) for t in range(STEPS))


def test_a_size_that_does_not_split_is_refused_before_training(tmp_path):
    plan = tiny_plan(train=dict(steps=STEPS, grad_accum=4), batch_ramp=BatchRamp(6, 16, 2, 8))
    from curriculumc.runtime.train.distributed import World
    from curriculumc.runtime.train.trainer import RunOptions, Trainer

    data = prepared()
    with pytest.raises(CurriculumError) as caught:
        Trainer(plan, data, np.arange(len(data.corpus)), RunOptions(run_dir=tmp_path,
                quiet=True), World()).setup()  # fmt: skip
    (problem,) = caught.value.diagnostics
    assert problem.code == "E440" and "batch 6 (a size the batch ramp takes)" in problem.message


SPEC = """\
model roberta-tiny
data "train.jsonl"
tokenizer bpe 1000
train 28 steps, batch 16, seq 64, lr 1e-3, warmup 4, seed 5
sort by sentence_length
pace linear from 20% over 50%
log every 1
checkpoint every 4 keep 2
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from curriculumc import compile, parse

    folder = tmp_path_factory.mktemp("ramp")
    with open(aochildes_file("train"), encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(1500)]
    (folder / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    spec = parse(SPEC, str(folder / "ramp.cur"), base_dir=str(folder))
    plan = replace(compile(spec), batch_ramp=BatchRamp(4, 16, 4, over=16))
    (folder / "ramp.json").write_text(plan.to_json(), encoding="utf-8")
    return folder


def _args(workdir: Path, runs: str, *extra: str) -> list[str]:
    return ["run", "--runs-dir", str(workdir / runs), "--cache-dir", str(workdir / "cache"),
            "--quiet", *extra, str(workdir / "ramp.json")]  # fmt: skip


def test_a_run_killed_in_the_ramp_resumes_to_the_same_weights(workdir):
    from curriculumc.cli import main

    assert run_spec(workdir, "ramp.json", "straight") == 0
    straight = only_folder(workdir / "straight")
    # killed once its step-8 checkpoint is written: in the ramp (4 -> 16 over 16 steps),
    # where the batch is 8 (steps 6-10)
    killed = kill_at_checkpoint(_args(workdir, "killed"), workdir / "killed", 8)
    assert main(_args(workdir, "killed", "--resume")) == 0
    weights = (straight / "final" / "model.safetensors").read_bytes()
    assert (killed / "final" / "model.safetensors").read_bytes() == weights
    logged = step_records(straight)
    # three increments over 16 steps: 8 from step ceil(16/3) = 6, 12 from 11, 16 from 16
    assert [logged[s]["batch"] for s in range(1, 29)] == [4] * 6 + [8] * 5 + [12] * 5 + [16] * 12
    again = step_records(killed)
    assert {s: r["words_seen"] for s, r in again.items()} == {
        s: r["words_seen"] for s, r in logged.items()
    }
    assert [again[s]["lr"] for s in range(1, 29)] == [logged[s]["lr"] for s in range(1, 29)]
