"""The loop that keeps the device busy: the next step's batch prepared on a background
thread, losses read back only at logged steps -- and results bitwise equal to the plain
loop's (prepare on time, read back every step)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from support.train_fixtures import prepared, single_thread, tiny_plan  # noqa: F401

from curriculumc.errors import CurriculumError
from curriculumc.plan import Pace, Phase, ScorerTerm, SortSpec, Unit, VocabRule
from curriculumc.runtime.train import checkpoint as ckpt
from curriculumc.runtime.train.objectives.mlm import MaskedLM
from curriculumc.runtime.train.prefetch import Prefetcher
from curriculumc.runtime.train.trainer import RunOptions, Trainer

pytestmark = pytest.mark.usefixtures("single_thread")

#: what depends on the clock, not on the computation
TIMED = ("tokens_per_s", "seconds", "eval_seconds")


def set_up(plan, folder, *, fast: bool, order=None, data=None, **options) -> Trainer:
    data = data or prepared()
    order = (
        np.arange(len(data.corpus))
        if order is None and not (plan.sort and plan.sort.terms)
        else order
    )
    trainer = Trainer(plan, data, order, RunOptions(run_dir=folder, quiet=True, **options))
    trainer.setup()
    trainer.prefetch = trainer.defer_losses = fast
    return trainer


def run(plan, folder, *, fast: bool, **options) -> Trainer:
    trainer = set_up(plan, folder, fast=fast, **options)
    try:
        trainer.train()
    finally:
        trainer.cleanup()
    return trainer


def metrics(folder) -> list[dict]:
    records = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]
    for record in records:  # the run folder's own path, relative
        if "path" in record:
            record["path"] = str(Path(record["path"]).relative_to(folder))
    return [{k: v for k, v in r.items() if k not in TIMED} for r in records]


def same_weights(a: Trainer, b: Trainer) -> bool:
    left, right = a.module.state_dict(), b.module.state_dict()
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


@pytest.fixture
def threads_seen(monkeypatch):
    """The names of the threads that prepared each step: ``{step: [thread, ...]}``."""
    seen: dict[int, list[str]] = {}
    original = Trainer.prepare_step

    def recording(self, step, sampler, weights):
        seen.setdefault(step, []).append(threading.current_thread().name)
        return original(self, step, sampler, weights)

    monkeypatch.setattr(Trainer, "prepare_step", recording)
    return seen


def two_objectives_and_a_vocabulary_plan():
    """mlm, then mlm + pos from step 3 (a phase switch inside a logged window), the
    vocabulary released from 12% to all over 6 steps (inputs and labels mapped), log every
    4 steps, a checkpoint every 5, dropout on (the main thread's RNG)."""
    plan = tiny_plan(
        train=dict(steps=11, batch=32, warmup=2),
        units=(Unit("mlm", "mlm"), Unit("pos", "pos", args=("noun", "verb"))),
        phases=(Phase(0, (("mlm", 1.0),)), Phase(3, (("mlm", 1.0), ("pos", 0.5)))),
        vocab=Pace(fn="linear", start=0.12, end=1.0, over=6),
        vocab_rule=VocabRule(order="token_ids", hides="inputs_and_labels"),
    )
    return replace(plan, output=replace(plan.output, log_every=4, checkpoint_every=5))


def test_prefetch_and_deferred_losses_change_nothing(tmp_path, threads_seen):
    """Two objectives, a phase switch, a vocabulary curriculum: the metrics file (but its
    timings), every weight and the checkpoints are bitwise those of the plain loop, and
    every step after the first was prepared on the background thread."""
    plan = two_objectives_and_a_vocabulary_plan()
    runs = ("plain", "fast")
    plain = run(plan, tmp_path / "plain", fast=False)
    plain_threads = dict(threads_seen)
    threads_seen.clear()
    fast = run(plan, tmp_path / "fast", fast=True)
    assert metrics(tmp_path / "plain") == metrics(tmp_path / "fast")
    assert [r["step"] for r in metrics(tmp_path / "fast") if "loss/pos" in r] == [4, 8, 11]
    assert same_weights(plain, fast)
    states = [ckpt.read_state(tmp_path / run / "checkpoints" / "step-5") for run in runs]
    for state in states:  # what the clock decides
        del state["wall_s"], state["window"]["seconds"]
    assert states[0] == states[1]
    assert all(names == ["MainThread"] for names in plain_threads.values())
    assert threads_seen[0] == ["MainThread"]  # nothing before the first step
    assert all(threads_seen[s] == ["curriculumc-prefetch"] for s in range(1, 11))


def test_resumed_with_prefetch_equals_uninterrupted_without(tmp_path):
    plan = two_objectives_and_a_vocabulary_plan()
    plain = run(plan, tmp_path / "plain", fast=False)
    resumed = run(
        plan,
        tmp_path / "resumed",
        fast=True,
        resume_from=tmp_path / "plain" / "checkpoints" / "step-5",
    )
    assert same_weights(plain, resumed)
    after = [r for r in metrics(tmp_path / "plain") if r["step"] > 5 and "event" not in r]
    again = [r for r in metrics(tmp_path / "resumed") if r["step"] > 5 and "event" not in r]
    assert after == again


def test_a_self_paced_rescore_invalidates_the_prefetched_batch(tmp_path, threads_seen):
    """model_ppl(every=3): the batch of step 3 prefetched from the uniform sampler is
    stale once step 3 re-scores -- it is prepared again, from the new order, and the run
    equals the plain one across both re-scores."""
    plan = tiny_plan(
        train=dict(steps=7, warmup=1),
        sort=SortSpec(terms=(ScorerTerm("model_ppl", kwargs=(("every", 3), ("batch", 256))),)),
        pace=Pace(fn="linear", start=0.2, end=1.0, over=6),
    )
    plan = replace(plan, output=replace(plan.output, log_every=2))
    plain = run(plan, tmp_path / "plain", fast=False)
    threads_seen.clear()
    fast = run(plan, tmp_path / "fast", fast=True)
    assert same_weights(plain, fast)
    assert metrics(tmp_path / "plain") == metrics(tmp_path / "fast")
    assert [r["step"] for r in metrics(tmp_path / "fast") if r.get("event") == "rescored"] == [3, 6]
    # prepared ahead from the old sampler, then again on time from the new one
    assert threads_seen[3] == threads_seen[6] == ["curriculumc-prefetch", "MainThread"]
    assert threads_seen[4] == ["curriculumc-prefetch"]


def test_an_error_while_preparing_a_step_surfaces_at_that_step(tmp_path, monkeypatch):
    original = Trainer.step_inputs
    raised_on = []

    def failing(self, step, batch, weights):
        if step == 3:
            raised_on.append(threading.current_thread().name)
            raise CurriculumError.single("E441", "no objective is active at step 3 (test)")
        return original(self, step, batch, weights)

    monkeypatch.setattr(Trainer, "step_inputs", failing)
    trainer = set_up(tiny_plan(train=dict(steps=6, warmup=1)), tmp_path, fast=True)
    try:
        with pytest.raises(CurriculumError) as err:
            trainer.train()
    finally:
        trainer.cleanup()
    assert raised_on == ["curriculumc-prefetch"]
    assert err.value.diagnostics[0].message == "no objective is active at step 3 (test)"
    assert trainer.step == 3  # steps 0-2 trained, step 3 not
    steps = [r["step"] for r in metrics(tmp_path) if "loss" in r]
    assert steps == [1, 2, 3]  # log_every 1: every step before it was logged


def test_losses_are_read_back_only_at_logged_steps(tmp_path, monkeypatch):
    sizes = []
    original = Trainer._flush

    def counting(self):
        if self._pending:
            sizes.append((self.step, len(self._pending)))
        return original(self)

    monkeypatch.setattr(Trainer, "_flush", counting)
    plan = tiny_plan(train=dict(steps=10, warmup=1))
    plan = replace(plan, output=replace(plan.output, log_every=5))
    run(plan, tmp_path, fast=True)
    assert sizes == [(1, 1), (5, 4), (10, 5)]


def test_a_divergence_between_logged_steps_stops_before_the_next_checkpoint(tmp_path, monkeypatch):
    """log every 10, a checkpoint every 3, NaN from step 5: step-3 is written; the
    read-back before step-6's checkpoint finds step 5 (E450 names it) and step-6 is never
    written. The optimizer took one step (6) on a non-finite loss in between."""
    original = MaskedLM.loss_sum
    calls = []

    def poisoned(self, model, hidden, labels):
        calls.append(1)
        loss = original(self, model, hidden, labels)
        return loss * float("nan") if len(calls) >= 5 else loss

    monkeypatch.setattr(MaskedLM, "loss_sum", poisoned)
    plan = tiny_plan(train=dict(steps=10, warmup=1))
    plan = replace(plan, output=replace(plan.output, log_every=10, checkpoint_every=3))
    trainer = set_up(plan, tmp_path, fast=True)
    try:
        with pytest.raises(CurriculumError) as err:
            trainer.train()
    finally:
        trainer.cleanup()
    message = err.value.diagnostics[0].message
    assert err.value.diagnostics[0].code == "E450"
    assert "step 5" in message and "checkpoints/step-3" in message
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-3"]
    assert ckpt.read_state(tmp_path / "checkpoints" / "step-3")["good"] is True
    last = metrics(tmp_path)[-1]
    assert last["event"] == "diverged" and last["step"] == 5
    assert trainer.step == 6


def test_the_prefetcher_keys_jobs_by_step_and_context():
    calls = []

    def prepare(step, sampler, weights):
        calls.append((step, threading.current_thread().name))
        if step == 9:
            raise ValueError("nine")
        return (step, weights["a"])

    sampler, other = object(), object()
    prefetcher = Prefetcher(prepare)
    prefetcher.submit(1, (sampler, {"a": 1.0}))
    assert prefetcher.take(1, (sampler, {"a": 1.0})) == (1, 1.0)
    prefetcher.submit(2, (sampler, {"a": 1.0}))
    assert prefetcher.take(2, (other, {"a": 1.0})) == (2, 1.0)  # stale: prepared again
    prefetcher.submit(3, (sampler, {"a": 1.0}))
    assert prefetcher.take(3, (sampler, {"a": 2.0})) == (3, 2.0)
    prefetcher.submit(9, (sampler, {"a": 1.0}))
    with pytest.raises(ValueError, match="nine"):
        prefetcher.take(9, (sampler, {"a": 1.0}))
    prefetcher.close()
    assert [name for _, name in calls] == [
        "curriculumc-prefetch",
        "curriculumc-prefetch",
        "MainThread",
        "curriculumc-prefetch",
        "MainThread",
        "curriculumc-prefetch",
    ]
