"""Evaluation progress: plain lines at every 10 % (or 30 s) with an ETA, a bar on a
terminal, nothing when quiet; scoring reports every batch; eval and in-training evals."""

from __future__ import annotations

import re

import pytest
from support.eval_models import make_masked_model, make_tokenizer, save_model
from support.paths import shared_data

from curriculumc.runtime.evaluate.progress import EvalProgress, eval_progress, format_duration


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drive(progress: EvalProgress, clock: Clock, total: int, seconds_per_batch: float):
    progress(0, total)
    for done in range(1, total + 1):
        clock.now += seconds_per_batch
        progress(done, total)


def test_plain_lines_at_every_tenth_with_an_eta():
    clock, lines = Clock(), []
    progress = EvalProgress("eval blimp", mode="lines", emit=lines.append, clock=clock)
    drive(progress, clock, total=20, seconds_per_batch=1.0)
    assert lines[0] == "eval blimp: started, 20 batches"
    assert lines[-1] == "eval blimp: 100% (20/20 batches), done in 20s"
    middle = lines[1:-1]
    percents = [int(re.search(r": (\d+)%", line).group(1)) for line in middle]
    assert percents == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    # at 10 %: 2 batches in 2 s, 18 to go at 1 s each
    assert middle[0] == "eval blimp: 10% (2/20 batches), 2s elapsed, ETA 18s"
    assert middle[4] == "eval blimp: 50% (10/20 batches), 10s elapsed, ETA 10s"
    assert all("ETA" in line for line in middle)


def test_plain_lines_every_30_seconds_when_a_tenth_takes_longer():
    clock, lines = Clock(), []
    progress = EvalProgress("eval", mode="lines", emit=lines.append, clock=clock)
    progress(0, 1000)
    for done in range(1, 21):  # 10 s a batch: 2 % in 200 s
        clock.now += 10.0
        progress(done, 1000)
    timed = lines[1:]
    assert [line.split(" (")[1].split(" ")[0] for line in timed] == [
        "3/1000",
        "6/1000",
        "9/1000",
        "12/1000",
        "15/1000",
        "18/1000",
    ]
    assert timed[0] == "eval: 0.3% (3/1000 batches), 30s elapsed, ETA 2h46m"


def test_off_and_modes():
    lines = []
    quiet = EvalProgress("eval", mode="off", emit=lines.append)
    drive(quiet, Clock(), total=10, seconds_per_batch=1.0)
    assert lines == []
    assert eval_progress("eval", quiet=True).mode == "off"
    assert eval_progress("eval", interactive=False).mode == "lines"
    assert eval_progress("eval", interactive=True).mode == "bar"
    assert format_duration(3725) == "1h02m" and format_duration(185) == "3m05s"


def test_a_training_reporter_decides(capsys, monkeypatch):
    from curriculumc.runtime.evaluate import progress as progress_module
    from curriculumc.runtime.train.reporting import Reporter

    plain = Reporter(total_steps=10, start_step=0, interactive=False)
    assert eval_progress("eval", reporter=plain).after_s == progress_module.TRAINING_AFTER_S
    monkeypatch.setattr(progress_module, "TRAINING_AFTER_S", 0.0)  # show even a short one
    progress = eval_progress("eval blimp (3 pairs)", reporter=plain)
    assert progress.mode == "lines"
    drive(progress, Clock(), total=4, seconds_per_batch=1.0)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "eval blimp (3 pairs): started, 4 batches"
    assert out[-1].startswith("eval blimp (3 pairs): 100% (4/4 batches)")
    quiet = Reporter(total_steps=10, start_step=0, interactive=False, quiet=True)
    assert eval_progress("eval", reporter=quiet).mode == "off"
    other_rank = Reporter(total_steps=10, start_step=0, interactive=True, enabled=False)
    assert eval_progress("eval", reporter=other_rank).mode == "off"
    on_terminal = Reporter(total_steps=10, start_step=0, interactive=True)
    try:
        progress = eval_progress("eval blimp", reporter=on_terminal)
        assert progress.mode == "bar"
        drive(progress, Clock(), total=3, seconds_per_batch=1.0)
        assert len(on_terminal._bar.tasks) == 2  # a row under the training bar
        progress.close()
        assert len(on_terminal._bar.tasks) == 1
    finally:
        on_terminal.close()


@pytest.mark.parametrize("family", ["masked", "causal"])
def test_scoring_reports_every_batch(family):
    pytest.importorskip("torch")
    from support.eval_models import make_causal_model

    from curriculumc.runtime.evaluate.evaluation import evaluate_pairs
    from curriculumc.runtime.evaluate.minimal_pairs import load_pairs

    tokenizer = make_tokenizer()
    model = (make_masked_model if family == "masked" else make_causal_model)(tokenizer)
    pairs = load_pairs(shared_data("blimp", "adjunct_island.jsonl"), limit=20)
    calls = []
    result = evaluate_pairs(
        model,
        tokenizer,
        pairs,
        family=family,
        batch_tokens=256,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert result.n_pairs == 20
    total = calls[0][1]
    assert total > 3
    assert calls == [(done, total) for done in range(total + 1)]


def test_eval_command_prints_progress_lines_and_nothing_when_quiet(tmp_path, capsys):
    pytest.importorskip("torch")
    from curriculumc.cli import main

    tokenizer = make_tokenizer()
    folder = save_model(make_masked_model(tokenizer), tokenizer, tmp_path / "model")
    blimp = str(shared_data("blimp", "adjunct_island.jsonl"))
    argv = ["eval", str(folder), "--blimp", blimp, "--limit", "10", "--batch-tokens", "512"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "eval adjunct_island (10 pairs): started," in out
    assert re.search(r"eval adjunct_island \(10 pairs\): \d+% \(\d+/\d+ batches\), .* ETA", out)
    assert "eval adjunct_island (10 pairs): 100% (" in out
    assert main([*argv, "--quiet"]) == 0
    quiet = capsys.readouterr().out
    assert "batches" not in quiet and "macro accuracy" in quiet


def test_in_training_evaluation_shows_progress_through_the_reporter(capsys, monkeypatch):
    pytest.importorskip("torch")
    from curriculumc.plan import EvalSpec
    from curriculumc.runtime.evaluate import progress as progress_module

    monkeypatch.setattr(progress_module, "TRAINING_AFTER_S", 0.0)  # a short one shows too
    from curriculumc.runtime.evaluate.evaluation import run_eval
    from curriculumc.runtime.train.reporting import Reporter

    tokenizer = make_tokenizer()
    model = make_masked_model(tokenizer)
    spec = EvalSpec(name="pairs", path=str(shared_data("blimp", "adjunct_island.jsonl")), limit=8)
    reporter = Reporter(total_steps=10, start_step=0, interactive=False)
    figures, _ = run_eval(spec, model, tokenizer, family="masked", reporter=reporter)
    assert "adjunct_island/macro" in figures
    out = capsys.readouterr().out
    assert "eval pairs (8 pairs): started," in out and "eval pairs (8 pairs): 100% (" in out
    # without a reporter (as before): silent
    run_eval(spec, model, tokenizer, family="masked")
    assert capsys.readouterr().out == ""


def test_plain_lines_in_training_start_only_after_ten_seconds():
    clock, lines = Clock(), []
    short = EvalProgress("eval", mode="lines", emit=lines.append, clock=clock, after_s=10.0)
    drive(short, clock, total=20, seconds_per_batch=0.2)  # 4 s in all: nothing to show
    assert lines == []
    long = EvalProgress("eval", mode="lines", emit=lines.append, clock=clock, after_s=10.0)
    drive(long, clock, total=20, seconds_per_batch=1.0)  # 20 s: lines from 10 s on
    percents = [int(re.search(r": (\d+)%", line).group(1)) for line in lines]
    assert percents[0] == 50 and percents[-1] == 100 and lines[-1].endswith("done in 20s")
