"""A run over a data mixture, end to end on AO-CHILDES lines of three CHILDES corpora: the
trainer trains on the mix (its words per step are those of the mix's draws, recounted
here from the sampler), and a stop in the middle of the second phase resumed with
``--resume`` ends with the same weights, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.data_inputs import aochildes_file
from support.run_folders import kill_at_checkpoint, only_folder, run_spec, step_records
from support.train_fixtures import single_thread  # noqa: F401 (fixture)

from curriculumc.cli import main

pytestmark = pytest.mark.usefixtures("single_thread")

SPEC = """\
model roberta-tiny
data "train.jsonl"
tokenizer bpe 1000
train 40 steps, batch 8, seq 32, lr 1e-3, warmup 4, seed 5
sort by sentence_length
pace linear from 30% over 50%
mix 0.5 Sawyer + 0.5 Snow until 50%, then 0.25 Sawyer + 0.25 Snow + 0.5 Morisset
log every 1
"""
PER_SOURCE = 400


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mix")
    kept: dict[str, list[str]] = {"Sawyer": [], "Snow": [], "Morisset": []}
    with open(aochildes_file("train"), encoding="utf-8") as handle:
        for line in handle:
            source = json.loads(line)["source"]
            if source in kept and len(kept[source]) < PER_SOURCE:
                kept[source].append(line)
            if all(len(v) == PER_SOURCE for v in kept.values()):
                break
    (folder / "train.jsonl").write_text("".join(sum(kept.values(), [])), encoding="utf-8")
    (folder / "mix.cur").write_text(SPEC, encoding="utf-8")
    return folder


def _run(workdir: Path, runs: str, *extra: str) -> int:
    return run_spec(workdir, "mix.cur", runs, *extra)


@pytest.fixture(scope="module")
def straight(workdir):
    assert _run(workdir, "straight") == 0
    return only_folder(workdir / "straight")


def test_the_run_trains_on_the_mixs_draws(workdir, straight):
    from curriculumc import load
    from curriculumc.runtime.data.prepare import prepare_data
    from curriculumc.runtime.ordering.order import initial_order
    from curriculumc.runtime.ordering.sampler import CurriculumSampler

    steps = step_records(straight)
    assert sorted(steps) == list(range(1, 41))
    assert all(np.isfinite(r["loss"]) for r in steps.values())
    # the words the trainer saw are those of the mix's draws, step by step
    plan = load(workdir / "mix.cur")
    corpus = prepare_data(plan, cache_dir=workdir / "cache").corpus
    order = initial_order(plan, corpus, cache_dir=workdir / "cache", quiet=True).order
    sampler = CurriculumSampler.for_corpus(plan, corpus, order)
    words = corpus.text_words(plan.train.seq)
    names = np.asarray(corpus.source_names)[np.asarray(corpus.source)]
    seen = 0
    drawn = []
    for t in range(40):
        batch = sampler.indices(t)
        drawn.append(names[batch])
        seen += int(words[batch].sum())
        assert steps[t + 1]["words_seen"] == seen, t
    first, second = np.concatenate(drawn[:20]), np.concatenate(drawn[20:])
    assert {n: int((first == n).sum()) for n in ("Sawyer", "Snow", "Morisset")} == {
        "Sawyer": 80, "Snow": 80, "Morisset": 0
    }  # fmt: skip
    assert {n: int((second == n).sum()) for n in ("Sawyer", "Snow", "Morisset")} == {
        "Sawyer": 40, "Snow": 40, "Morisset": 80
    }  # fmt: skip


def test_a_stop_in_the_middle_of_a_mix_resumes_to_the_same_weights(workdir, straight):
    assert _run(workdir, "stopped", "--stop-after", "27") == 0  # in the second phase
    stopped = only_folder(workdir / "stopped")
    assert not (stopped / "final").exists()
    assert _run(workdir, "stopped", "--resume") == 0
    weights = sorted(p.name for p in (straight / "final").glob("*.safetensors"))
    assert "model.safetensors" in weights
    for name in weights:
        assert (straight / "final" / name).read_bytes() == (stopped / "final" / name).read_bytes()
    assert {s: r["words_seen"] for s, r in step_records(stopped).items()} == {
        s: r["words_seen"] for s, r in step_records(straight).items()
    }


def test_a_resume_under_other_sampler_rules_is_refused(workdir, straight, monkeypatch, capsys):
    """A checkpoint records its last step's draws; a curriculumc whose sampler draws other
    examples for that step (here: the mix's random streams moved) refuses to resume (E421)
    rather than train the rest of the run on another stream. The same version resumes."""
    from curriculumc import load
    from curriculumc.runtime.ordering import sampler as sampler_module
    from curriculumc.runtime.train.trainer import draws_digest

    assert _run(workdir, "changed", "--stop-after", "27") == 0
    stopped = only_folder(workdir / "changed")
    (checkpoint,) = (stopped / "checkpoints").iterdir()
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    assert state["step"] == 27
    # the digest is of step 26's global batch, as a fresh sampler draws it
    from curriculumc.runtime.data.prepare import prepare_data
    from curriculumc.runtime.ordering.order import initial_order
    from curriculumc.runtime.ordering.sampler import CurriculumSampler

    plan = load(workdir / "mix.cur")
    corpus = prepare_data(plan, cache_dir=workdir / "cache").corpus
    start = initial_order(plan, corpus, cache_dir=workdir / "cache", quiet=True)
    fresh = CurriculumSampler.for_corpus(plan, corpus, start.order, keys=start.keys)
    assert state["last_draws"] == draws_digest(fresh.indices(26))
    capsys.readouterr()
    monkeypatch.setattr(sampler_module, "_MIX_STREAM_SHIFT", 33)  # other random streams
    assert _run(workdir, "changed", "--resume") == 1
    err = capsys.readouterr().err
    assert "error[E421]: the checkpoint's last step (26) drew other examples" in err
    assert not (stopped / "final").exists()
    monkeypatch.undo()
    assert _run(workdir, "changed", "--resume") == 0
    final = (stopped / "final" / "model.safetensors").read_bytes()
    assert final == (straight / "final" / "model.safetensors").read_bytes()


def test_a_sigkill_in_the_middle_of_a_mix_resumes_to_the_same_weights(workdir, straight):
    """The run killed (SIGKILL, no chance to save) right after its step-25 checkpoint, in
    the mix's second phase, and resumed: the final weights are the uninterrupted run's,
    bit for bit (checkpointing itself changes nothing of the training)."""
    args = ["run", "--runs-dir", str(workdir / "killed"), "--cache-dir", str(workdir / "cache"),
            "--quiet", str(workdir / "mix.cur"), "checkpoint.every=25"]  # fmt: skip
    killed = kill_at_checkpoint(args, workdir / "killed", 25)
    assert main([*args, "--resume"]) == 0
    final = (killed / "final" / "model.safetensors").read_bytes()
    assert final == (straight / "final" / "model.safetensors").read_bytes()
    assert {s: r["words_seen"] for s, r in step_records(killed).items()} == {
        s: r["words_seen"] for s, r in step_records(straight).items()
    }
