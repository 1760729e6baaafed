"""A curriculum against its matched control (``--control random``): words and tokens seen,
the 2% warning of simulate, run and sweep, and token budgets that match them."""

from __future__ import annotations

import json

import pytest
from support.paths import DATA
from support.scorer_corpora import aochildes_corpus

import curriculumc
from curriculumc.cli import main
from curriculumc.plan import Pace, Plan, ScorerTerm, SortSpec, TrainSpec
from curriculumc.runtime.experiments import simulate
from curriculumc.runtime.experiments.simulate import (
    check_control_exposure,
    control_exposure_warning,
    simulate_pair,
)

AOCHILDES = DATA / "aochildes" / "train.jsonl"
LENGTH = SortSpec((ScorerTerm("sentence_length"),))
ROOT = Pace(fn="root", start=0.1, over=300)


def _pair(corpus, train: TrainSpec, sort: SortSpec = LENGTH):
    plan = Plan(train=train, sort=sort, pace=ROOT)
    return simulate_pair(plan, curriculumc.make_control(plan), corpus)


@pytest.fixture(scope="module")
def childes():
    corpus = aochildes_corpus(4000)
    if corpus is None:
        pytest.skip("shared AO-CHILDES data not found at ../shared/data/aochildes")
    return corpus


def test_fixed_batches_leave_the_control_unmatched_and_the_warning_says_by_how_much(childes):
    gap = _pair(childes, TrainSpec(steps=400, batch=64, seq=32))
    cur, ctl = gap.curriculum, gap.control
    # short utterances first: the curriculum sees fewer words than its control
    assert gap.relative("words_seen") > 0.02 and gap.relative("tokens_seen") > 0.02
    assert gap.difference("words_seen") == ctl.words_seen - cur.words_seen
    assert gap.relative("words_seen") == pytest.approx(ctl.words_seen / cur.words_seen - 1)
    assert cur.draws == ctl.draws == 400 * 64 and gap.difference("draws") == 0
    assert gap.matched() is False
    # the suggested budget: the curriculum's mean tokens per step to two digits
    mean = cur.tokens_seen / 400
    assert 100 <= mean < 1000
    assert gap.suggested_budget() == round(mean / 10) * 10
    warning = control_exposure_warning(gap)
    assert warning.startswith("warning: the control is not matched in exposure")
    for figure in (cur.words_seen, ctl.words_seen, cur.tokens_seen, ctl.tokens_seen):
        assert f"{figure:,}" in warning
    assert f"({gap.relative('words_seen'):+.1%})" in warning
    assert f"`batch {gap.suggested_budget()} tokens`" in warning
    assert "so that both see the same tokens per step" in warning


def test_a_token_budget_matches_tokens_and_words_and_silences_the_warning(childes):
    budget = _pair(childes, TrainSpec(steps=400, batch=64, seq=32)).suggested_budget()
    gap = _pair(childes, TrainSpec(steps=400, batch=budget, batch_unit="tokens", seq=32))
    assert abs(gap.relative("tokens_seen")) < 0.005
    assert abs(gap.relative("words_seen")) < 0.02
    # the curriculum's short examples: more of them per step
    assert gap.curriculum.draws > gap.control.draws
    assert gap.matched() is True and control_exposure_warning(gap) is None
    assert gap.to_dict()["suggested_batch_tokens"] is None  # nothing to suggest


def test_a_budget_holds_at_least_seq(childes):
    gap = _pair(childes, TrainSpec(steps=100, batch=8, seq=128))
    assert gap.curriculum.tokens_per_step < 100
    assert gap.suggested_budget() == 128  # the compiler's least budget (E039)
    assert "`batch 128 tokens`" in control_exposure_warning(gap)
    assert "at least seq, 128" in control_exposure_warning(gap)


def test_a_self_paced_curriculum_gets_no_false_number(childes):
    sort = SortSpec((ScorerTerm("model_ppl"),))
    gap = _pair(childes, TrainSpec(steps=200, batch=16, seq=32), sort)
    assert not gap.exact and gap.matched() is None
    assert gap.value("curriculum", "words_seen") is None and gap.difference("words_seen") is None
    assert gap.value("curriculum", "draws") == 200 * 16  # a fixed batch's draws are known
    figures = gap.to_dict()["figures"]
    assert figures["tokens_seen"]["curriculum"] is None
    assert figures["tokens_seen"]["control"] == gap.control.tokens_seen
    warning = control_exposure_warning(gap)
    assert "self-paced" in warning and "cannot be simulated" in warning
    assert f"{gap.control.words_seen:,} words" in warning and "`batch " in warning
    # a token budget matches tokens whatever the order: nothing to warn about
    tokens = _pair(childes, TrainSpec(steps=200, batch=64, batch_unit="tokens", seq=32), sort)
    assert control_exposure_warning(tokens) is None
    text = _plain(simulate.render_gap_table(gap))
    words_line = next(line for line in text.splitlines() if "words seen" in line)
    assert words_line.split("│")[2].strip() == "–"


def test_the_gap_table_holds_the_exposure_numbers(childes):
    gap = _pair(childes, TrainSpec(steps=400, batch=64, seq=32))
    text = _plain(simulate.render_gap_table(gap))
    rows = _rows(text)
    cur, ctl = gap.curriculum, gap.control
    assert rows["words seen"] == [
        f"{cur.words_seen:,}",
        f"{ctl.words_seen:,}",
        f"{ctl.words_seen - cur.words_seen:+,}",
        f"{gap.relative('words_seen'):+.1%}",
    ]
    assert rows["tokens seen"][:2] == [f"{cur.tokens_seen:,}", f"{ctl.tokens_seen:,}"]
    assert rows["draws (examples)"] == ["25,600", "25,600", "0", "0%"]
    assert rows["unique examples seen"][:2] == [f"{cur.unique_seen:,}", f"{ctl.unique_seen:,}"]
    assert rows["completed epochs"][:2] == [
        str(len(cur.epoch_coverage)),
        str(len(ctl.epoch_coverage)),
    ]
    assert "warning: the control is not matched in exposure" in text


def _plain(renderable, width: int = 140) -> str:
    from support.rendering import plain_text

    return plain_text(renderable, width=width)


def _rows(text: str) -> dict[str, list[str]]:
    """The cells of each table row, by its first cell."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


# --- the commands, on a file of real child-directed speech ---------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A spec over the first 10,000 AO-CHILDES utterances (a text file, a small BPE), and
    a cache shared by this module's tests."""
    if not AOCHILDES.exists():
        pytest.skip("shared AO-CHILDES data not found at ../shared/data/aochildes")
    root = tmp_path_factory.mktemp("childes")
    with AOCHILDES.open() as lines:
        texts = [json.loads(line)["text"] for _, line in zip(range(10_000), lines)]
    (root / "cds.txt").write_text("\n".join(texts) + "\n")
    spec = root / "cds.cur"
    spec.write_text(
        'model roberta-tiny\ndata "cds.txt"\ntokenizer bpe 4000\n'
        "train 400 steps, batch 64, seq 32\nsort by sentence_length\n"
        "pace root from 10% over 300\nat 0 mlm\n"
    )
    return spec, root / "cache"


def _gap_of(spec, cache, overrides=()):
    """What simulate --control computes, in-process."""
    from curriculumc.runtime.data.prepare import prepare_data

    plan = curriculumc.load(spec, tuple(overrides))
    corpus = prepare_data(plan, cache_dir=cache).corpus
    return simulate_pair(plan, curriculumc.make_control(plan), corpus, cache_dir=cache)


def test_cli_simulate_control_prints_and_writes_both_exposures(project, tmp_path, capsys):
    spec, cache = project
    out = tmp_path / "exposure.json"
    argv = ["simulate", "--control", "random", "--cache-dir", str(cache), "--width", "140"]
    assert main([*argv, "--json", str(out), str(spec)]) == 0
    printed = capsys.readouterr().out
    gap = _gap_of(spec, cache)
    cur, ctl = gap.curriculum, gap.control
    data = json.loads(out.read_text())
    # the curriculum's figures stay at the top level; the control's and the gap beside them
    assert data["words_seen"] == cur.words_seen and data["tokens_seen"] == cur.tokens_seen
    assert data["control"]["words_seen"] == ctl.words_seen
    assert data["control"]["tokens_seen"] == ctl.tokens_seen
    assert data["control_gap"] == json.loads(json.dumps(gap.to_dict()))
    words = data["control_gap"]["figures"]["words_seen"]
    assert words["difference"] == ctl.words_seen - cur.words_seen
    assert words["relative"] > 0.02 and data["control_gap"]["matched"] is False
    # a real tokenizer: tokens are not words
    assert cur.tokens_seen != cur.words_seen
    rows = _rows(printed)
    assert rows["words seen"][:2] == [f"{cur.words_seen:,}", f"{ctl.words_seen:,}"]
    assert rows["tokens seen"][:2] == [f"{cur.tokens_seen:,}", f"{ctl.tokens_seen:,}"]
    flat = " ".join(printed.split())
    assert data["control_gap"]["warning"] in flat
    assert f"`batch {data['control_gap']['suggested_batch_tokens']} tokens`" in flat

    # with the suggested token budget: matched, and the table says so
    budget = data["control_gap"]["suggested_batch_tokens"]
    assert main([*argv, "--json", str(out), str(spec), f"train.batch={budget} tokens"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    matched = json.loads(out.read_text())["control_gap"]
    assert abs(matched["figures"]["tokens_seen"]["relative"]) < 0.005
    assert abs(matched["figures"]["words_seen"]["relative"]) < 0.02
    assert matched["warning"] is None and matched["matched"] is True
    assert "matched: the control's words and tokens are within 2% of the curriculum's" in printed
    assert f"token budget: every step holds at most {budget:,} tokens" in printed


def test_cli_run_control_warns_before_training(project, monkeypatch, capsys):
    import curriculumc.commands.run as run_command

    trained = []
    monkeypatch.setattr(
        run_command, "train_plan", lambda plan, args, **kw: trained.append((plan, kw)) or 0
    )
    spec, cache = project
    gap = _gap_of(spec, cache)
    argv = ["run", "--control", "random", "--cache-dir", str(cache), str(spec)]
    assert main(argv) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert trained[-1][1]["name"] == "cds-control"
    assert trained[-1][0].sort.terms[0].name == "random"
    assert control_exposure_warning(gap) in err
    assert f"{gap.curriculum.words_seen:,} words" in err
    assert f"{gap.control.words_seen:,} words" in err

    assert main([*argv, "--no-exposure-check"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["run", "--cache-dir", str(cache), str(spec)]) == 0  # no control, no check
    assert "warning" not in capsys.readouterr().err
    budget = gap.suggested_budget()
    assert main([*argv, f"train.batch={budget} tokens"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert len(trained) == 4


def test_cli_sweep_warns_once_per_curriculum_and_control(project, tmp_path, capsys):
    spec, cache = project
    argv = ["sweep", str(spec), "seed=1,2", "pace=root,linear", "--control", "random"]
    argv += ["--cache-dir", str(cache), "--runs-dir", str(tmp_path / "runs"), "--dry-run"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    # two curricula (root, linear) x two seeds: one warning per curriculum, its first seed
    assert len(warnings) == 2
    assert "the control of pace_root-1 is not matched" in warnings[0]
    assert "the control of pace_linear-1 is not matched" in warnings[1]
    assert "pace_root-1-control" in captured.out  # the listing itself


def test_the_check_never_stops_a_run(project, monkeypatch):
    spec, cache = project
    plan = curriculumc.load(spec)
    control = curriculumc.make_control(plan)
    missing = curriculumc.loads('data "/no/such/file.txt"\ntrain 10 steps, batch 4')
    # a data problem: the run reports it itself
    assert check_control_exposure(missing, curriculumc.make_control(missing)) is None

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(simulate, "simulate_pair", broken)
    note = check_control_exposure(plan, control, cache_dir=cache, pair="cds-1")
    assert note == "note: the exposure of the control of cds-1 was not checked (RuntimeError: boom)"
    # a token budget too long to simulate: tokens are matched by construction
    monkeypatch.setattr(simulate, "CHECK_MAX_TOKEN_DRAWS", 1000)
    tokens = curriculumc.load(spec, ("train.batch=256 tokens",))
    note = check_control_exposure(tokens, curriculumc.make_control(tokens), cache_dir=cache)
    assert note.startswith("note: the exposure of the control was not simulated")
    assert "simulate SPEC --control random" in note
