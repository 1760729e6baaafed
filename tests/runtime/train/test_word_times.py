"""A run whose times are counted in words, end to end on AO-CHILDES lines: the training's
length, a pace, a phase, evaluations and checkpoints in words, each at the first step by
which the run has drawn that many words -- measured against the words the trainer itself
logs every step (``words_seen``), not against the resolution; ``times.json``, the
milestone links, a stop and ``--resume`` bit for bit, and the export's revision names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.data_inputs import aochildes_file
from support.run_folders import only_folder, records, run_spec, step_records
from support.train_fixtures import single_thread  # noqa: F401 (fixture)

from curriculumc.cli import main

pytestmark = pytest.mark.usefixtures("single_thread")

SPEC = """\
model roberta-tiny
data "train.jsonl"
tokenizer bpe 1000
train 5k words, batch 16, seq 64, lr 1e-3, warmup 500 words, seed 5
sort by sentence_length
pace linear from 20% over 60%
at 0 mlm, at 2k words mlm + 0.5 pos(noun, verb)
eval "pairs.jsonl" every 2k words
log every 1
checkpoint at 1k, 3k, 5k words every 2k words keep 1
"""

PAIRS = [
    ("the dog is here .", "the dog are here ."),
    ("she likes it .", "she like it ."),
    ("they were happy .", "they was happy ."),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("words")
    with open(aochildes_file("train"), encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(3000)]
    (folder / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    (folder / "words.cur").write_text(SPEC, encoding="utf-8")
    pairs = [json.dumps({"sentence_good": g, "sentence_bad": b}) for g, b in PAIRS]
    (folder / "pairs.jsonl").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    return folder


def _run(workdir: Path, runs: str, *extra: str) -> int:
    return run_spec(workdir, "words.cur", runs, *extra)


def _words_after(run: Path) -> dict[int, int]:
    """Words the trainer had seen after each step (its own count, logged every step)."""
    return {step: r["words_seen"] for step, r in step_records(run).items()}


@pytest.fixture(scope="module")
def straight(workdir):
    assert _run(workdir, "straight") == 0
    return only_folder(workdir / "straight")


def _first_reaching(words: dict[int, int], value: int) -> int:
    return min(step for step, seen in words.items() if seen >= value)


def test_every_time_in_words_is_the_first_step_that_reaches_it(straight):
    words = _words_after(straight)
    steps = max(words)
    assert words[steps] >= 5000 > words[steps - 1]  # the length: the first step past 5k
    times = json.loads((straight / "times.json").read_text())
    assert times["steps"] == steps
    by_what = {}
    for entry in times["times"]:
        by_what.setdefault(entry["what"], []).append(entry)
        assert entry["step"] == _first_reaching(words, entry["value"]), entry
        assert entry["words"] == words[entry["step"]]  # what the trainer counted there
    # evaluations after 2k and 4k words and at the end; the phase switch at 2k words
    evals = [r["step"] for r in records(straight) if r.get("eval") == "pairs"]
    expected = [_first_reaching(words, 2000), _first_reaching(words, 4000)]
    assert [e["step"] for e in by_what["eval pairs"]] == expected
    assert evals == [*expected, steps]
    switch = [r for r in records(straight) if r.get("event") == "objectives" and r["step"] > 0]
    assert [r["step"] for r in switch] == [_first_reaching(words, 2000)]
    assert {e["name"] for e in by_what["checkpoint"]} == {
        "chck_1000", "chck_2000", "chck_3000", "chck_4000", "chck_5000"
    }  # fmt: skip


def test_milestone_checkpoints_are_kept_and_linked_by_name(straight):
    words = _words_after(straight)
    checkpoints = straight / "checkpoints"
    for name, value in (("chck_1000", 1000), ("chck_2000", 2000), ("chck_3000", 3000),
                        ("chck_4000", 4000)):  # fmt: skip
        link = checkpoints / name
        assert link.is_symlink()
        step = _first_reaching(words, value)
        assert link.resolve() == (checkpoints / f"step-{step}").resolve()
        state = json.loads((link / "trainer_state.json").read_text())
        assert state["step"] == step and state["words_seen"] == words[step]
    # 'keep 1' prunes only what is not a milestone: every checkpoint here is one
    assert len(list(checkpoints.glob("step-*"))) == 4
    # the milestone at the training's length is the final model
    assert (checkpoints / "chck_5000").resolve() == (straight / "final").resolve()


def test_a_stopped_run_resumes_to_the_same_weights(workdir, straight):
    words = _words_after(straight)
    middle = _first_reaching(words, 2500)  # inside the pace's ramp, after the phase switch
    assert _run(workdir, "stopped", "--stop-after", str(middle)) == 0
    stopped = only_folder(workdir / "stopped")
    assert not (stopped / "final").exists()
    assert _run(workdir, "stopped", "--resume") == 0
    for name in ("model.safetensors", "heads.safetensors"):
        assert (straight / "final" / name).read_bytes() == (stopped / "final" / name).read_bytes()
    assert _words_after(stopped) == words
    assert (stopped / "times.json").read_text() == (straight / "times.json").read_text()


def test_export_names_the_checkpoints_as_resolved(workdir, straight):
    out = workdir / "export"
    assert main(["export", str(straight), "-o", str(out), "--format", "babylm"]) == 0
    record = json.loads((out / "export.json").read_text())
    named = {r["name"]: r for r in record["revisions"]}
    words = _words_after(straight)
    for value in (1000, 2000, 3000, 4000):
        revision = named[f"chck_{value}"]
        assert revision["step"] == _first_reaching(words, value)
        assert "resolved before training" in revision["why"]
