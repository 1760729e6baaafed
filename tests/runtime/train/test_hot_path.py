"""What the loop moved off the main thread's critical path (issue 15): the learning rates
and the micro-batches' forward arguments come prepared with the batch, the spent autograd
graphs are freed on the prefetch thread, the display builds a record only when one is
shown -- and every result stays bitwise that of the plain loop (prepare on time, read
back every step)."""

from __future__ import annotations

import threading
import weakref
from dataclasses import replace

import numpy as np
import pytest
import torch
from support.train_fixtures import prepared, single_thread, tiny_plan  # noqa: F401
from test_prefetch import metrics, run, same_weights, set_up

from curriculumc.plan import Phase, Unit
from curriculumc.runtime.train import reporting
from curriculumc.runtime.train.objectives.mlm import MaskedLM
from curriculumc.runtime.train.prefetch import Prefetcher
from curriculumc.runtime.train.trainer import lr_at

pytestmark = pytest.mark.usefixtures("single_thread")


def two_units_with_a_head_lr(**train):
    """mlm, then mlm + pos (whose head has its own learning rate) from step 2."""
    return tiny_plan(
        train=dict(steps=6, warmup=2, **train),
        units=(Unit("mlm", "mlm"), Unit("pos", "pos", args=("noun", "verb"), lr=3e-3)),
        phases=(Phase(0, (("mlm", 1.0),)), Phase(2, (("mlm", 1.0), ("pos", 0.5)))),
    )


def test_the_prepared_step_holds_the_learning_rates_and_the_forward_arguments(tmp_path):
    """Each optimizer group's rate at the step (backbone at lr_at, the pos head at
    plan.head_lr), and each micro-batch's forward arguments: its rows of the groups, the
    mask and the labels -- as train_step once cut them on the main thread."""
    plan = two_units_with_a_head_lr(batch=16, grad_accum=2)
    trainer = set_up(plan, tmp_path, fast=True)
    try:
        step, weights = 3, trainer.objective_weights(3)
        ready = trainer.prepare_step(step, trainer.sampler, weights)
        units = [group.get("unit") for group in trainer.optimizer.param_groups]
        assert "pos" in units
        expected = tuple(
            lr_at(step, plan.train) if unit is None else plan.head_lr(unit, step) for unit in units
        )
        assert ready.lrs == expected
        shares = trainer._micro_rows(ready.batch)
        assert len(ready.micro) == len(shares) == 2
        for inputs, rows in zip(ready.micro, shares):
            assert [names for _, names in inputs["groups"]] == [n for _, n in ready.groups]
            for (ids, _), (whole, _) in zip(inputs["groups"], ready.groups):
                assert torch.equal(ids, whole[rows])
            assert torch.equal(inputs["attention_mask"], ready.batch.attention_mask[rows])
            assert inputs["labels"].keys() == weights.keys()
            for name in weights:
                assert torch.equal(inputs["labels"][name], ready.labels[name][rows])
            assert inputs["scales"] == ready.scales
    finally:
        trainer.cleanup()


@pytest.mark.parametrize(
    "train",
    [dict(batch=16, grad_accum=2), dict(batch=300, batch_unit="tokens", grad_accum=2)],
    ids=["examples", "token-budget"],
)
def test_accumulated_micro_batches_read_back_later_equal_the_plain_loop(tmp_path, train):
    """Two micro-batches a step, a head with its own rate, a phase switch: the losses
    summed in float64 at the read-back (not on the device at each step) and the weights
    are bitwise the plain loop's."""
    plan = replace(
        two_units_with_a_head_lr(**train), output=replace(tiny_plan().output, log_every=3)
    )
    plain = run(plan, tmp_path / "plain", fast=False)
    fast = run(plan, tmp_path / "fast", fast=True)
    assert metrics(tmp_path / "plain") == metrics(tmp_path / "fast")
    assert [r["step"] for r in metrics(tmp_path / "fast") if "loss" in r] == [1, 3, 6]
    assert same_weights(plain, fast)


def test_the_spent_graphs_are_freed_on_the_prefetch_thread(tmp_path, monkeypatch):
    """Each step's summed loss (and with it the step's autograd graph) is let go of on the
    prefetch thread, during a later step's backward -- but the last window's, which go
    with the prefetcher at the end of train(). None outlives the run."""
    freed: dict[int, str] = {}
    original = MaskedLM.loss_sum
    calls = []

    def watched(self, model, hidden, labels):
        loss = original(self, model, hidden, labels)
        step = len(calls)
        calls.append(step)
        weakref.finalize(loss, lambda: freed.__setitem__(step, threading.current_thread().name))
        return loss

    monkeypatch.setattr(MaskedLM, "loss_sum", watched)
    plan = tiny_plan(train=dict(steps=10, warmup=1))
    plan = replace(plan, output=replace(plan.output, log_every=4))
    run(plan, tmp_path, fast=True)
    assert sorted(freed) == list(range(10))  # every one freed by the end
    # read back at steps 1, 4 and 8: those go with a later step's preparation (steps 2-9)
    assert [freed[s] for s in range(8)] == ["curriculumc-prefetch"] * 8
    # read back at the end (step 10): nothing is prepared after it
    assert [freed[s] for s in (8, 9)] == ["MainThread"] * 2


def test_the_prefetcher_arms_fires_and_releases():
    seen = []
    dropped = []

    class Watched:
        def __del__(self):
            dropped.append(threading.current_thread().name)

    prefetcher = Prefetcher(lambda step, tag: seen.append((step, tag)) or step * 10)
    prefetcher.arm(1, ("a",))
    prefetcher.arm(2, ("b",))  # replaces the first: only one job is named at a time
    prefetcher.release(Watched())
    assert seen == [] and dropped == []  # nothing runs until fired
    prefetcher.fire()
    assert prefetcher.take(2, ("b",)) == 20
    assert seen == [(2, "b")]
    assert dropped == ["curriculumc-prefetch"]  # let go of with the job, on the thread
    prefetcher.fire()  # nothing armed: nothing to do
    prefetcher.release(Watched())
    prefetcher.close()  # never fired again: dropped with the prefetcher
    assert dropped == ["curriculumc-prefetch", "MainThread"]
    prefetcher.submit(3, ("c",))  # a closed prefetcher starts a new thread
    assert prefetcher.take(3, ("c",)) == 30
    prefetcher.close()


def test_a_closed_prefetcher_with_a_job_in_flight_ends_its_thread():
    started, go = threading.Event(), threading.Event()

    def slow(step):
        started.set()
        go.wait(5)
        return step

    before = {t.ident for t in threading.enumerate()}
    prefetcher = Prefetcher(slow)
    prefetcher.submit(1, ())
    started.wait(5)
    prefetcher.close()
    go.set()
    for thread in threading.enumerate():
        if thread.ident not in before:
            thread.join(5)
            assert not thread.is_alive()


def test_every_step_reaches_wandb_and_the_bar_shows_the_latest(tmp_path, monkeypatch):
    """Records are built at the read-back only where they are used: wandb still gets
    every step's scalars; the bar, redrawn at most every BAR_INTERVAL_S, ends on the last
    step (the record it was given last)."""

    class Run:
        def __init__(self):
            self.steps = []

        def log(self, record, step):
            self.steps.append(step)

        def finish(self):
            pass

    plan = tiny_plan(train=dict(steps=7, warmup=1))
    plan = replace(plan, output=replace(plan.output, log_every=3))
    trainer = set_up(plan, tmp_path, fast=True)
    trainer.reporter.wandb = wandb = Run()
    try:
        trainer.train()
    finally:
        trainer.cleanup()
    assert wandb.steps == list(range(1, 8))

    monkeypatch.setattr(reporting, "BAR_INTERVAL_S", 1e9)  # drawn at the first, then kept
    reporter = reporting.Reporter(total_steps=5, start_step=0, interactive=True)
    bar = reporter._bar
    for step in range(1, 6):
        reporter.step({"step": step, "loss": 1.0 / step})
    assert bar.tasks[0].completed == 1  # drawn once; 2-5 kept
    reporter.close()
    assert bar.tasks[0].completed == 5


def test_a_direct_train_step_still_reads_back_at_once(tmp_path):
    """Outside train() (no prefetcher) a step's losses are read back at that step."""
    trainer = set_up(tiny_plan(train=dict(steps=3, warmup=1)), tmp_path, fast=True)
    try:
        result = trainer.train_step(0, trainer.objective_weights(0))
    finally:
        trainer.cleanup()
    assert result.sums is None and np.isfinite(result.total)
    assert set(result.losses) == {"mlm"}
