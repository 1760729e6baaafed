"""The cost estimate ``curriculumc run`` prints before training (runtime/train/costs.py).

The arithmetic is tested with given calibration figures (no clock); the calibration is
only held to leaving the run untouched; ``run`` prints the estimate unless quiet.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.paths import REPO, shared_data
from support.train_fixtures import prepared, tiny_plan, tokenizer

from curriculumc import registry
from curriculumc.plan import EvalSpec, Phase, Unit
from curriculumc.runtime.train import costs
from curriculumc.runtime.train.costs import Calibration, EvalSize

CPU = Calibration(step_s=0.5, step_forwards=1, eval_tokens_per_s=1000.0)


def test_forward_tokens_masked_pll_costs_a_row_per_token_causal_one_row():
    assert costs.forward_tokens([3, 10], "masked") == 3 * 5 + 10 * 12
    assert costs.forward_tokens([3, 10], "causal") == 4 + 11
    # a sample stands for the whole set: its mean times the number of sentences
    assert costs.scaled_tokens([3, 10], 1000, "masked") == pytest.approx(500 * (15 + 120))
    assert costs.scaled_tokens([], 1000, "masked") == 0.0


def test_training_time_scales_with_the_backbone_forwards_of_each_phase():
    plan = tiny_plan(
        train=dict(steps=100),
        units=(Unit("mlm", "mlm"), Unit("pos", "pos")),
        phases=(Phase(0, (("mlm", 1.0),)), Phase(40, (("mlm", 1.0), ("pos", 0.5)))),
    )
    # mlm alone: one forward; mlm + pos: two (each reads its own corruption)
    batch = plan.train.batch
    assert costs.forwards_by_steps(plan) == [(40, 1, 40 * batch), (60, 2, 60 * batch)]
    assert costs.forwards_by_steps(plan, start=50) == [(50, 2, 50 * batch)]
    assert costs.forwards_by_steps(plan, start=10, end=45) == [(30, 1, 30 * batch),
                                                                (5, 2, 5 * batch)]  # fmt: skip
    assert costs.training_seconds(CPU, costs.forwards_by_steps(plan)) == pytest.approx(
        0.5 * (40 + 2 * 60)
    )
    # a calibration taken on a two-forward step: half of it a forward
    two = Calibration(step_s=1.0, step_forwards=2, eval_tokens_per_s=1.0)
    assert costs.training_seconds(two, [(10, 1, 10)]) == pytest.approx(5.0)


def test_a_batch_ramps_small_steps_cost_their_share_of_the_calibrated_one():
    """Calibrated on step 0 of ``batch ramp from 8 to 32 by 8 over 400`` (8 examples in
    0.1 s), 1,000 steps cost the examples they draw at 0.1 s per 8 -- 57,592 x 0.1 / 8
    -- not 1,000 of the calibrated step (the estimate was 4x low past the ramp)."""
    from curriculumc.plan import BatchRamp

    ramp = BatchRamp(8, 32, 8, over=400)
    plan = tiny_plan(train=dict(steps=1000, batch=32), batch_ramp=ramp)
    sizes = [ramp.size(t) for t in range(1000)]
    (entry,) = costs.forwards_by_steps(plan)
    assert entry == (1000, 1, sum(sizes))
    at_eight = Calibration(step_s=0.1, step_forwards=1, eval_tokens_per_s=1.0, step_examples=8)
    assert costs.training_seconds(at_eight, [entry]) == pytest.approx(sum(sizes) * 0.1 / 8)
    assert costs.forwards_by_steps(plan, start=400) == [(600, 1, 600 * 32)]


def test_the_issue_example_warns_that_evaluation_outlasts_training():
    """`curriculumc run specs/root_pos.cur train.steps=60` spent ~20 of 27 minutes in
    BLiMP evaluations of 67 x 50 pairs with roberta-small at 13.7 pairs/s (issue 15)."""
    from curriculumc import load

    # the spec's evaluation as it was then (it is now sized to its training: see below)
    issue = ["train.steps=60", "eval.every=25%", "eval.limit=50"]
    plan = load(REPO / "specs" / "root_pos.cur", overrides=issue)
    (spec,) = plan.evals
    runs = len(plan.evaluation_steps(spec))
    assert spec.limit == 50 and runs == 4
    lengths = (10,) * 50  # 10 text tokens a sentence: 120 forward tokens, 240 a pair
    per_s = 13.7 * 240  # forward tokens a second at 13.7 pairs/s
    calibration = Calibration(step_s=2.0, step_forwards=1, eval_tokens_per_s=per_s)
    size = EvalSize(spec.path, runs, 67 * 50, 2 * 67 * 50, lengths)
    found = costs.estimate(plan, calibration, [size])
    assert found.steps == 60
    assert found.train_s == pytest.approx(60 * 2.0 * 1.0, rel=0.5)  # mlm, pos, mlm + pos
    assert found.evals[0].seconds == pytest.approx(runs * 3350 / 13.7)
    assert found.eval_dominates
    lines = costs.estimate_lines(found, calibration)
    assert lines[0].startswith("estimated: training ")
    assert f"{runs} run(s) x 3,350 pairs" in lines[1]
    assert lines[-1].startswith("warning: evaluation (~")
    assert "longer than training" in lines[-1] and "limit N" in lines[-1]


# --- the example specs' evaluation is sized to their training -----------------------------

#: no-gradient forward tokens a second at the evaluation's row shape, measured with
#: costs.calibrate on the development machine (2 x86-64 cores, torch's CPU build)
EVAL_TOKENS_PER_S = {"roberta-small": 3_400, "roberta-tiny": 40_000}
#: text tokens of a sentence scored: the issue's 13.7 BLiMP pairs/s with roberta-small at
#: 3,400 tokens/s is 2 n (n + 2) = 248 forward tokens a pair, n = 10 (the specs' BPE on
#: AO-CHILDES); synth pairs and AO-CHILDES dev texts are shorter, so 10 bounds them too
SENTENCE_TOKENS = 10
#: the most a quick run (train.steps=60) may spend evaluating on those 2 cores: it trains
#: in well under a minute (a roberta-small step of 32 x 128 is ~0.25 s) and prepares its
#: data in a few, so 5 minutes keeps evaluation a part of the run, not the 20 of its 27
#: minutes that issue 15 measured (4 x 3,350 pairs)
QUICK_EVAL_S = 300
EXAMPLES = sorted(
    [*REPO.glob("specs/*.cur"), *REPO.glob("specs/*.yaml"), REPO / "configs" / "experiment.yaml"]
)
#: the examples that evaluate (the others have no `eval`; a test keeps this list whole)
EVALUATING = ("demo.cur", "experiment.yaml", "mixture.cur", "reference_ppl.cur", "root_pos.cur",
              "root_pos.yaml", "root_pos_dsl.yaml", "source_order.cur")  # fmt: skip


def _quick_eval_seconds(plan) -> tuple[float, int]:
    """The plan's evaluation seconds on the development machine (costs' arithmetic over
    the counts explain prints), and the pairs scored in all."""
    rate = EVAL_TOKENS_PER_S[plan.model.preset]
    calibration = Calibration(step_s=1.0, step_forwards=1, eval_tokens_per_s=rate)
    sizes, pairs = [], 0
    for spec in plan.evals:
        if spec.path and not Path(spec.path).exists():  # a local copy (../shared/data)
            pytest.skip(f"real data not found at {spec.path} (see ../shared/data/README.md)")
        runs, items = len(plan.evaluation_steps(spec)), registry.eval_items(spec)
        assert items.at_most is not None, f"{spec.name}: the plan does not bound it"
        sizes.append(EvalSize(spec.name, runs, items.at_most, items.sentences, (SENTENCE_TOKENS,)))
        pairs += runs * items.at_most if items.unit == "pairs" else 0
    return costs.estimate(plan, calibration, sizes).eval_s, pairs


def test_the_evaluating_examples_are_those_listed():
    from curriculumc import load

    assert tuple(sorted(p.name for p in EXAMPLES if load(p).evals)) == EVALUATING


@pytest.mark.parametrize(
    "path", [p for p in EXAMPLES if p.name in EVALUATING], ids=lambda p: p.name
)
def test_an_example_spec_run_for_60_steps_evaluates_in_minutes(path):
    from curriculumc import load

    quick = load(path, overrides=["train.steps=60"])
    seconds, pairs = _quick_eval_seconds(quick)
    assert seconds <= QUICK_EVAL_S, f"{path.name}: {seconds:.0f} s, {pairs:,} pairs"
    # roberta-small: 300 s x 3,400 tokens/s / 240 tokens a pair = at most 4,250 pairs
    if quick.model.preset == "roberta-small":
        assert pairs <= QUICK_EVAL_S * 3_400 // (2 * SENTENCE_TOKENS * (SENTENCE_TOKENS + 2))
    # sized as shares of training (`every 25%`, `at phases`): a quick run evaluates as
    # often as the full one, not more often relative to its length, nor only at the end
    full = load(path)
    assert [len(quick.evaluation_steps(e)) for e in quick.evals] == [
        len(full.evaluation_steps(e)) for e in full.evals
    ]


def test_the_issue_spec_broke_the_bound_and_the_quick_override_keeps_it():
    from curriculumc import load

    root_pos = REPO / "specs" / "root_pos.cur"
    issue = load(root_pos, overrides=["train.steps=60", "eval.every=25%", "eval.limit=50"])
    assert _quick_eval_seconds(issue) == (pytest.approx(4 * 6700 * 120 / 3400), 13_400)
    assert _quick_eval_seconds(issue)[0] > QUICK_EVAL_S
    now = load(root_pos, overrides=["train.steps=60"])
    assert _quick_eval_seconds(now) == (pytest.approx(2 * 3350 * 120 / 3400), 3_350)
    smoke = load(root_pos, overrides=["train.steps=60", "eval.limit=5"])  # docs/language.md
    assert _quick_eval_seconds(smoke)[1] == 2 * 67 * 5


def test_no_warning_when_training_dominates():
    plan = tiny_plan(train=dict(steps=1000))
    size = EvalSize("blimp", 1, 100, 200, (5,))
    found = costs.estimate(plan, CPU, [size])
    assert found.eval_s == pytest.approx(200 * 35 / 1000.0)
    assert not found.eval_dominates
    lines = costs.estimate_lines(found, CPU)
    assert not any(line.startswith("warning") for line in lines)
    assert "evaluation 1%" in lines[-1]
    # no evaluation: one line
    assert len(costs.estimate_lines(costs.estimate(plan, CPU, []), CPU)) == 1


def test_format_seconds():
    assert costs.format_seconds(42.4) == "42 s"
    assert costs.format_seconds(0.44) == "0.4 s"
    assert costs.format_seconds(210) == "3.5 min"
    assert costs.format_seconds(2.1 * 3600) == "2.1 h"
    assert costs.format_seconds(float("nan")) == "?"


def _pair_folder(folder: Path, paradigms: int = 2, pairs: int = 6) -> Path:
    source = shared_data("blimp")
    folder.mkdir()
    for path in sorted(source.glob("*.jsonl"))[:paradigms]:
        with open(path, encoding="utf-8") as handle:
            lines = [next(handle) for _ in range(pairs)]
        (folder / path.name).write_text("".join(lines), encoding="utf-8")
    return folder


def test_eval_sizes_counts_runs_pairs_and_lengths(tmp_path, monkeypatch):
    folder = _pair_folder(tmp_path / "pairs")
    spec = EvalSpec("pairs", path=str(folder), every=10, limit=4)
    plan = tiny_plan(train=dict(steps=30), evals=(spec,))
    (size,) = costs.eval_sizes(plan, tokenizer())
    assert (size.runs, size.items, size.sentences, size.unit) == (3, 8, 16, "pairs")
    assert len(size.lengths) == 16 and all(n >= 1 for n in size.lengths)
    assert costs.typical_width([size], "masked") == round(sum(size.lengths) / 16) + 2
    # resumed at step 15 (before --stop-after 25): the evaluations after 20 only
    (later,) = costs.eval_sizes(plan, tokenizer(), start=15, end=25)
    assert later.runs == 1
    # ppl counts texts; an evaluation that cannot be read is left out
    ppl = EvalSpec("ppl", every=10, limit=3)
    gone = EvalSpec("gone", path=str(tmp_path / "missing"), every=10)
    plan = tiny_plan(train=dict(steps=30), evals=(ppl, gone))
    (texts,) = costs.eval_sizes(plan, tokenizer(), dev_texts=("a b", "c", "d e f", "g"))
    assert (texts.items, texts.sentences, texts.unit) == (3, 3, "texts")
    # one that cannot be read but that the plan bounds is counted as explain counts it
    # (registry.eval_items), not timed
    unread = EvalSpec("unread", path=str(tmp_path / "missing"), every=10, limit=5)
    plan = tiny_plan(train=dict(steps=30), evals=(unread,))
    monkeypatch.setattr(registry, "eval_items", lambda spec: registry.EvalItems("pairs", 40))
    (bound,) = costs.eval_sizes(plan, tokenizer())
    assert (bound.runs, bound.items, bound.sentences, bound.lengths) == (3, 40, 80, ())
    found = costs.estimate(plan, CPU, [bound])
    assert found.evals[0].seconds == 0 and not found.evals[0].measured
    assert costs.estimate_lines(found, CPU)[1] == (
        "estimated: eval unread not timed, its inputs cannot be read here "
        "(3 run(s) x up to 40 pairs, as the plan says)"
    )


def test_calibration_leaves_the_run_untouched(tmp_path):
    import numpy as np
    import torch

    from curriculumc.runtime.train.trainer import RunOptions, Trainer

    plan = tiny_plan()
    data = prepared()
    trainer = Trainer(
        plan, data, np.arange(len(data.corpus)),
        RunOptions(run_dir=tmp_path / "run", quiet=True),
    )  # fmt: skip
    trainer.setup()
    before = {k: v.clone() for k, v in trainer.module.state_dict().items()}
    rng = torch.get_rng_state()
    found = costs.calibrate(trainer, budget_s=0.2, sentences=["the dog is here", "a cat"])
    assert found.step_s > 0 and found.eval_tokens_per_s > 0 and found.step_forwards == 1
    assert found.device == "cpu"
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in trainer.module.state_dict().items())
    assert trainer.optimizer.state_dict()["state"] == {}
    synthetic = costs.calibrate(trainer, budget_s=0.2)  # no sentences: bare forwards
    assert synthetic.eval_tokens_per_s > 0
    trainer.cleanup()
    # with accumulation, one micro-batch a time (a global batch may not fit at once)
    accum = Trainer(
        tiny_plan(train=dict(grad_accum=2)), data, np.arange(len(data.corpus)),
        RunOptions(run_dir=tmp_path / "accum", quiet=True),
    )  # fmt: skip
    accum.setup()
    assert costs.calibrate(accum, budget_s=0.2).step_s > 0
    accum.cleanup()


SPEC = """\
model roberta-tiny
data "train.jsonl"
tokenizer bpe 500
train 6 steps, batch 8, seq 32, lr 1e-3, warmup 1, seed 3
eval "pairs" every 3 limit 2
log every 3
"""


def test_run_prints_the_estimate_before_training_and_nothing_when_quiet(
    tmp_path, capsys, monkeypatch
):
    from curriculumc.cli import main

    source = shared_data("aochildes", "train.jsonl")
    with open(source, encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(500)]
    (tmp_path / "train.jsonl").write_text("".join(lines), encoding="utf-8")
    _pair_folder(tmp_path / "pairs")
    (tmp_path / "tiny.cur").write_text(SPEC, encoding="utf-8")
    args = ["run", "--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache")]
    args += ["--device", "cpu"]
    assert main([*args, str(tmp_path / "tiny.cur")]) == 0
    err = capsys.readouterr().err
    assert "estimated: training" in err and "(6 steps," in err
    assert "estimated: eval" in err and "2 run(s) x 4 pairs" in err
    assert "estimated: eval pairs " in err  # the evaluation's name, as its metrics have it
    assert "% in all" not in err and "evaluation " in err.split("in all, ")[1]
    assert "no cost estimate" not in err
    summary = json.loads(next((tmp_path / "runs").glob("*/summary.json")).read_text())
    assert summary["finished"]

    def never(*a, **k):
        raise AssertionError("quiet runs calibrate nothing")

    monkeypatch.setattr(costs, "calibrate", never)
    quiet = [*args, "--quiet", "--force", "--stop-after", "1", str(tmp_path / "tiny.cur")]
    assert main(quiet) == 0
    assert "estimated" not in capsys.readouterr().err
