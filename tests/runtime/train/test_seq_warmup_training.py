"""A sequence-length warmup in training: what the trainer feeds the model at step t is no
longer than ``Plan.seq_at(t)`` -- measured at the backbone's input, counting every
position the attention mask keeps (``<s>``, the text's tokens, ``</s>``; padding is not
counted) -- the words and tokens it logs are those read at each step's length, and a run
stopped in the middle of the ramp and resumed ends with the same weights, bit for bit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from support.data_inputs import aochildes_file
from support.run_folders import only_folder, run_spec, step_records
from support.train_fixtures import losses, prepared, single_thread, tiny_plan  # noqa: F401

from curriculumc.plan import SeqWarmup
from curriculumc.runtime.ordering.sampler import CurriculumSampler

pytestmark = pytest.mark.usefixtures("single_thread")

STEPS = 30
WARM = SeqWarmup("linear", 8, 64, over=20)  # 8 at step 0, 64 from step 20


def _train_recording(plan, run_dir: Path):
    """Train ``plan`` on the fixture corpus in this process, recording every backbone
    forward's input: (its width, each row's attended positions)."""
    from curriculumc.runtime.train.distributed import World
    from curriculumc.runtime.train.models import backbone
    from curriculumc.runtime.train.trainer import RunOptions, Trainer

    data = prepared()
    trainer = Trainer(plan, data, np.arange(len(data.corpus)), RunOptions(run_dir=run_dir,
                      quiet=True), World())  # fmt: skip
    fed: list[tuple[int, list[int]]] = []

    def record(module, args, kwargs):
        ids, mask = kwargs["input_ids"], kwargs["attention_mask"]
        fed.append((int(ids.shape[1]), [int(n) for n in mask.sum(dim=1)]))

    try:
        trainer.setup()
        handle = backbone(trainer.model).register_forward_pre_hook(record, with_kwargs=True)
        summary = trainer.train()
        handle.remove()
    finally:
        trainer.cleanup()
    return trainer, summary, fed


def _read(indices, seq):
    """(words, tokens) of text read of ``indices`` at ``seq`` positions, counted here."""
    corpus = prepared().corpus
    words = tokens = 0
    for i in indices:
        length, stored = int(corpus.lengths()[i]), int(corpus.words[i])
        kept = min(length, seq - 2)
        tokens += kept
        words += stored if kept == length else math.ceil(stored * kept / length)
    return words, tokens


def test_no_input_is_longer_than_its_steps_length(tmp_path):
    plan = tiny_plan(train=dict(steps=STEPS, lr=2e-3), seq_warmup=WARM)
    trainer, summary, fed = _train_recording(plan, tmp_path)
    assert len(fed) == STEPS  # one forward a step (mlm, one process, no accumulation)
    lengths = [plan.seq_at(t) for t in range(STEPS)]
    assert lengths[:3] == [8, 8, 8] and lengths[20:] == [64] * 10
    sampler = CurriculumSampler.for_corpus(plan, prepared().corpus, np.arange(2000))
    stored = prepared().corpus.lengths()
    for step, (width, positions) in enumerate(fed):
        seq = lengths[step]
        assert width <= seq and max(positions) <= seq
        # each row is <s> + min(length, seq - 2) tokens + </s>: the truncation, exactly
        drawn = sampler.indices(step)
        assert positions == [min(int(stored[i]), seq - 2) + 2 for i in drawn]
    # the early steps really were cut: their longest row fills the step's length
    assert [max(p) for _, p in fed[:3]] == [8, 8, 8]
    assert max(max(p) for _, p in fed) > 8
    # what the trainer counts seen: each step's words at its length, summed
    words = sum(_read(sampler.indices(t), lengths[t])[0] for t in range(STEPS))
    tokens = sum(_read(sampler.indices(t), lengths[t])[1] for t in range(STEPS))
    assert summary["words_seen"] == trainer.words_seen == words
    assert summary["tokens_seen"] == tokens
    full = sum(_read(sampler.indices(t), 64)[0] for t in range(STEPS))
    assert words < full  # the warmup's steps read less than seq 64 would have
    values = list(losses(tmp_path).values())
    assert len(values) == STEPS and all(math.isfinite(v) for v in values)


SPEC = """\
model roberta-tiny
data "train.jsonl"
tokenizer bpe 1000
train 24 steps, batch 16, seq 64, lr 1e-3, warmup 2, seed 5
seq root from 8 over 50%
log every 1
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seqwarm")
    with open(aochildes_file("train"), encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(1500)]
    (folder / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    (folder / "seq.cur").write_text(SPEC, encoding="utf-8")
    return folder


def _run(workdir: Path, runs: str, *extra: str) -> int:
    return run_spec(workdir, "seq.cur", runs, *extra)


def _words_after(run: Path) -> dict[int, int]:
    return {step: r["words_seen"] for step, r in step_records(run).items()}


def _logged(run: Path, key: str) -> list:
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [r[key] for r in sorted((r for r in records if "loss" in r), key=lambda r: r["step"])]


def test_a_run_stopped_in_the_ramp_resumes_to_the_same_weights(workdir):
    assert _run(workdir, "straight") == 0
    straight = only_folder(workdir / "straight")
    # stopped after steps 0-6, in the root ramp (8 -> 64 over 12 steps) where the length
    # changes: step 6 trained at 8 + 56 sqrt(6/12) = 47.6 -> 40 positions, step 7 (prepared
    # ahead on the prefetch thread, and the first resumed) at 8 + 56 sqrt(7/12) = 50.8 -> 48
    assert _run(workdir, "stopped", "--stop-after", "7") == 0
    stopped = only_folder(workdir / "stopped")
    assert not (stopped / "final").exists()
    assert _run(workdir, "stopped", "--resume") == 0
    weights = (straight / "final" / "model.safetensors").read_bytes()
    assert (stopped / "final" / "model.safetensors").read_bytes() == weights
    words = _words_after(straight)
    assert _words_after(stopped) == words and len(words) == 24
    # the length each step trained at, as logged by both runs: root from 8 to 64 over 12
    # steps, rounded down to multiples of 8 (written out here), then 64
    ramp = [min(64, math.floor((8 + 56 * math.sqrt(t / 12)) / 8) * 8) for t in range(24)]
    assert ramp[:4] == [8, 24, 24, 32] and ramp[12:] == [64] * 12
    assert _logged(straight, "seq") == _logged(stopped, "seq") == ramp
    # the words seen per step grow with the length until the ramp's end (step 12)
    per_step = [words[s] - words.get(s - 1, 0) for s in range(1, 25)]
    assert np.mean(per_step[:4]) < np.mean(per_step[12:])
