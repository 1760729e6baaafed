"""``explain``: the plan's timeline in words, compared as exact strings at a fixed width."""

from __future__ import annotations

import pytest

import curriculumc
from curriculumc import cli
from curriculumc.errors import CurriculumError
from curriculumc.plan import (
    DataSpec,
    EvalSpec,
    Pace,
    Phase,
    Plan,
    ScorerTerm,
    SortSpec,
    TrainSpec,
    Unit,
)
from curriculumc.views.explain import Segment, explain, segments


def root_pos_plan() -> Plan:
    """DESIGN.md's example: root pacing released at 80 %, MLM then POS, then both."""
    return Plan(
        sort=SortSpec((ScorerTerm("ngram_ppl"),)),
        pace=Pace("root", start=0.1, over=10000, release=0.8),
        vocab=Pace("linear", start=0.1, over=10000),
        units=(Unit("mlm", "mlm"), Unit("pos", "pos")),
        phases=(
            Phase(0, (("mlm", 1.0),)),
            Phase(10000, (("pos", 1.0),)),
            Phase(15000, (("mlm", 1.0), ("pos", 0.5))),
        ),
        evals=(EvalSpec("blimp", every=2000),),
    )


ROOT_POS_TEXT = """\
sorted by     ngram_ppl, ascending, easiest first
scoring       ngram_ppl scored in-sample: the n-gram model is trained on the
              sentences it scores (the seed system's rule)
data pace     root from 10% over 10,000 steps, released at 8,000 (80%)
ties          ties at the edge of the pool: broken by a seeded random order
              (seed 42), never by file position
vocabulary    linear from 10% over 10,000 steps
vocab order   by token id: the lowest ids first (a BPE's bytes and first merges,
              its most frequent pieces); hidden tokens are <unk> in inputs and
              token targets (POS tags stay); special tokens are never hidden
batch         batches of 32 examples
sampling      batches drawn without replacement within an epoch: every released
              example once before any repeats; examples released mid-epoch join
              the epoch's remaining draws at random places
corruption    mlm: 15% of tokens chosen: 80% <mask>, 10% random, 10% kept; pos:
              15% of tokens chosen: 80% <mask>, 10% random, 10% kept

steps 0–8,000 (8,000 steps, 256,000 examples)
  data        easiest 10% → 90.5% of the data, rising (root)
  objectives  mlm ×1
  forwards    1 backbone forward a step
  vocabulary  10% → 82% of the vocabulary, rising (linear)
  evals       blimp at 2,000, 4,000, 6,000, 8,000 (4 × 67,000 pairs)

steps 8,000–10,000 (2,000 steps, 64,000 examples)
  changes     data released
  data        all data
  objectives  mlm ×1
  forwards    1 backbone forward a step
  vocabulary  82% → ≈100% of the vocabulary, rising (linear)
  evals       blimp at 10,000 (67,000 pairs)

steps 10,000–15,000 (5,000 steps, 160,000 examples)
  changes     objectives: pos; vocab fully released
  data        all data
  objectives  pos ×1
  forwards    1 backbone forward a step
  vocabulary  full vocabulary
  evals       blimp at 12,000, 14,000 (2 × 67,000 pairs)

steps 15,000–20,000 (5,000 steps, 160,000 examples)
  changes     objectives: mlm + 0.5 pos
  data        all data
  objectives  mlm ×1 + pos ×0.5
  forwards    2 backbone forwards a step: each corrupting objective reads its
              own corruption
  vocabulary  full vocabulary
  evals       blimp at 16,000, 18,000, 20,000 (3 × 67,000 pairs)

total         20,000 steps, batch 32 × seq 128 = up to 4,096 tokens per step
              640,000 examples drawn, up to 81,920,000 tokens
              blimp every 2,000 steps and at the end: 10 evaluations
              blimp: each run 67 paradigms × 1,000 = 67,000 pairs; in all
              670,000 pairs, 1,340,000 sentences scored
              scoring: 2 sentences a pair; the masked model's
              pseudo-log-likelihood is one forward per token of each sentence
              (10 for a 10-token sentence)"""


def test_root_pos_plan_is_explained_exactly():
    assert explain(root_pos_plan(), width=80) == ROOT_POS_TEXT


def no_curriculum_plan() -> Plan:
    """``pace none``: a causal model on packed data, gradients accumulated over 2 batches."""
    return Plan(
        data=DataSpec(unit="packed"),
        train=TrainSpec(steps=5000, batch=16, seq=256, grad_accum=2),
        units=(Unit("clm", "clm"),),
        phases=(Phase(0, (("clm", 1.0),)),),
        evals=(EvalSpec("blimp", every=1000),),
    )


# the batch is the optimizer step's: accumulation splits it into parts (8 + 8 examples)
NO_CURRICULUM_TEXT = """\
sorted by     nothing (the data keeps its order)
data pace     none: all data from the start
vocabulary    none: the full vocabulary from the start
batch         batches of 16 examples; gradients accumulated over 2 parts of each
              step
sampling      batches drawn without replacement within an epoch: every released
              example once before any repeats

steps 0–5,000 (5,000 steps, 80,000 examples)
  data        all data
  objectives  clm ×1
  forwards    1 backbone forward a step
  vocabulary  full vocabulary
  evals       blimp at 1,000, 2,000, 3,000, 4,000, 5,000 (5 × 67,000 pairs)

total         5,000 steps, batch 16 × seq 256 = 4,096 tokens per step
              80,000 examples drawn, 20,480,000 tokens
              blimp every 1,000 steps and at the end: 5 evaluations
              blimp: each run 67 paradigms × 1,000 = 67,000 pairs; in all
              335,000 pairs, 670,000 sentences scored
              scoring: 2 sentences a pair; the masked model's
              pseudo-log-likelihood is one forward per token of each sentence
              (10 for a 10-token sentence)"""


def test_pace_none_plan_is_explained_exactly():
    assert explain(no_curriculum_plan(), width=80) == NO_CURRICULUM_TEXT


def test_segments_split_at_every_boundary_and_phase_start():
    assert segments(root_pos_plan()) == (
        Segment(0, 8000),
        Segment(8000, 10000, ("data released",)),
        Segment(10000, 15000, ("objectives: pos", "vocab fully released")),
        Segment(15000, 20000, ("objectives: mlm + 0.5 pos",)),
    )
    assert segments(no_curriculum_plan()) == (Segment(0, 5000),)


def test_text_wraps_within_the_width():
    text = explain(root_pos_plan(), width=50)
    assert max(len(line) for line in text.splitlines()) <= 50
    # the same words, only wrapped differently
    assert text.split() == ROOT_POS_TEXT.split()
    with pytest.raises(ValueError, match="too small"):
        explain(root_pos_plan(), width=30)


def test_step_pacing_descending_sort_units_and_evals_at_phases():
    plan = Plan(
        train=TrainSpec(steps=1000, batch=8, seq=64),
        sort=SortSpec((ScorerTerm("ngram_ppl", kwargs=(("n", 2),)),), descending=True),
        pace=Pace("step", start=0.25, over=400, after=100),
        units=(Unit("mlm", "mlm"), Unit("pos_nv", "pos", ("noun", "verb"))),
        phases=(Phase(0, (("mlm", 1.0), ("pos_nv", 0.25))),),
        evals=(EvalSpec("blimp", at_phases=True),),
    )
    text = explain(plan)
    lines = text.splitlines()
    assert lines[0] == "sorted by     ngram_ppl(n=2), descending, hardest first"
    assert lines[3] == "data pace     step from 25% over 400 steps, starting at step 100"
    assert "units         pos_nv = pos(noun, verb)" in lines
    # the pool holds at 25% until the step function releases everything at 100 + 400
    assert "  data        hardest 25% of the data, fixed (step)" in lines
    assert text.count("  data        all data") == 1
    assert "  changes     data fully released" in lines
    # "at phases" evaluates once each boundary is reached (at 100 and at 500), and every
    # evaluation also runs at the end, as the trainer does (Plan.evaluation_steps)
    assert "  evals       blimp at 100 (67,000 pairs)" in lines
    assert "  evals       blimp at 500 (67,000 pairs)" in lines
    assert "  evals       blimp at 1,000 (67,000 pairs)" in lines
    assert "              blimp at phase boundaries and at the end: 3 evaluations" in lines
    assert "  objectives  mlm ×1 + pos_nv ×0.25" in lines


def test_an_evaluation_without_every_runs_once_at_the_end_and_is_counted_so():
    # with neither 'every' nor 'at phases' an evaluation runs once, after the last step
    # (Plan.evaluation_steps): explain counts it as the trainer runs it, in the singular
    plan = Plan(
        train=TrainSpec(steps=200, batch=8, seq=64),
        evals=(EvalSpec("synth"), EvalSpec("blimp", every=100)),
    )
    lines = explain(plan).splitlines()
    assert "              synth at the end: 1 evaluation" in lines
    assert "              blimp every 100 steps and at the end: 2 evaluations" in lines
    assert "  evals       synth at 200 (3,200 pairs); blimp at 100, 200 (2 × 67,000 pairs)" in lines
    # and what they score: 1 x 3,200 synth pairs, 2 x 67,000 BLiMP pairs (2 sentences each)
    assert "              synth: each run 16 paradigms × 200 = 3,200 pairs; in all 3,200" in lines
    assert "              134,000 pairs, 268,000 sentences scored" in lines
    assert not any("0 evaluations" in line or "1 evaluations" in line for line in lines)


def test_a_unit_is_defined_only_when_its_name_differs_from_its_call(tmp_path, capsys):
    # an inline unit is named by its call text: 'mlm(mask=0.15) = mlm(mask=0.15)' says
    # nothing; a named unit is shown as the language writes it (tags in lower case)
    spec = tmp_path / "units.cur"
    spec.write_text(
        "model roberta-tiny\ndata synth(words=2k)\ntrain 200 steps, batch 8\n"
        "unit nv = pos(verb, noun)\nat 0 mlm(mask=15%) + pos(verb, noun, mask=40%)\n"
        "at 100 nv\n"
    )
    assert cli.main(["explain", "--width", "200", str(spec)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("units")] == [
        "units         nv = pos(noun, verb)"
    ]
    plan = Plan(units=(Unit("mlm(mask=0.15)", "mlm", kwargs=(("mask", 0.15),)),))
    assert not any(line.startswith("units") for line in explain(plan).splitlines())


def test_shares_never_round_to_a_false_hundred_percent():
    plan = Plan(
        train=TrainSpec(steps=100_000),
        pace=Pace("linear", start=0.5, over=100_000),
        units=(Unit("mlm", "mlm"),),
        phases=(Phase(0, (("mlm", 1.0),)),),
    )
    # at step 99,999 the pool is 99.9995% of the data: close to, but not, all of it
    assert "  data        first 50% → ≈100% of the data, rising (linear)" in explain(plan)


# --- what the curriculum means: ties, sampling, token budgets, scorers -------------------


def _rows(text: str) -> dict[str, str]:
    """The header's rows as ``{label: value}``, wrapped lines joined (wide: no wrapping)."""
    rows: dict[str, str] = {}
    for line in text.split("\n\n")[0].splitlines():
        label, value = line[:14].strip(), line[14:]
        if label:
            rows[label] = value
        else:
            rows[list(rows)[-1]] += " " + value
    return rows


def _explained(spec: str) -> dict[str, str]:
    return _rows(explain(curriculumc.loads(spec), width=400))


def test_the_tie_rule_is_stated_with_the_seed():
    rows = _explained("train seed 7\nsort by ngram_ppl\npace root from 10% over 1000")
    assert rows["ties"] == (
        "ties at the edge of the pool: broken by a seeded random order (seed 7), never by "
        "file position"
    )
    rows = _explained("sort by ngram_ppl\npace root from 10% over 1000 ties include")
    assert rows["ties"] == (
        "ties included: every example at or below the pool's percentile score (the seed "
        "system's rule); the pool may hold more than the fraction"
    )
    # no pool edge (pace none) or no order to tie in (no sort): no tie rule to state
    assert "ties" not in _explained("sort by ngram_ppl")
    assert "ties" not in _explained("pace root from 10% over 1000")


def test_the_sampling_rule_is_stated():
    epochs = (
        "batches drawn without replacement within an epoch: every released example once "
        "before any repeats"
    )
    mid_epoch = "; examples released mid-epoch join the epoch's remaining draws at random places"
    assert _explained("")["sampling"] == epochs  # pace none: nothing is released mid-epoch
    paced = "sort by random\npace linear from 10% over 100\n"
    assert _explained(paced)["sampling"] == epochs + mid_epoch
    assert _explained(paced + "train sample without replacement")["sampling"] == epochs + mid_epoch
    assert _explained(paced + "train sample with replacement")["sampling"] == (
        "every step drawn afresh from the pool (examples may repeat across steps, as in "
        "curriculumc v1)"
    )
    self_paced = "sort by model_ppl(every=100)\npace linear from 10% over 100"
    assert _explained(self_paced)["sampling"] == (
        epochs + mid_epoch + "; an epoch restarts at each re-scoring"
    )


def test_token_budgets_are_stated_and_counted_in_tokens():
    plan = curriculumc.loads("train 2000 steps, batch 4096 tokens, seq 128")
    text = explain(plan, width=400)
    assert _rows(text)["batch"] == (
        "batches of 4,096 tokens of text (<s>, </s> and padding not counted), "
        "each step as many examples as fit"
    )
    assert "steps 0–2,000 (2,000 steps, up to 8,192,000 tokens)" in text.splitlines()
    assert text.splitlines()[-2:] == [
        "total         2,000 steps × 4,096 tokens = up to 8,192,000 tokens",
        "              at least 64,000 examples drawn (32 or more a step: each example is at "
        "most 126 tokens of text)",
    ]
    assert _explained("train batch 32 examples")["batch"] == "batches of 32 examples"


def test_ngram_folds_are_stated():
    paced = "\npace root from 10% over 100"
    assert _explained("sort by ngram_ppl(n=2)" + paced)["scoring"] == (
        "ngram_ppl(n=2) scored in-sample: the n-gram model is trained on the sentences it "
        "scores (the seed system's rule)"
    )
    assert _explained("sort by ngram_ppl(folds=5)" + paced)["scoring"] == (
        "ngram_ppl(folds=5) cross-fitted over 5 folds: each example scored by a model "
        "trained on the other 4 folds"
    )
    assert _explained("sort by ngram_ppl(folds=2)" + paced)["scoring"].endswith(
        "scored by a model trained on the other fold"
    )
    assert "scoring" not in _explained("sort by sentence_length" + paced)


def test_model_ppl_schedule_is_stated_and_the_data_is_uniform_before_its_first_scoring():
    tail = (
        "re-scored every 500 steps with the model being trained; every token of an example "
        "is scored"
    )
    plan = curriculumc.loads(
        "train 3000 steps\nsort by model_ppl(every=500, first=1k)\npace linear from 10% over 2000"
    )
    rows = _rows(explain(plan, width=400))
    assert rows["scoring"] == (
        "model_ppl(every=500, first=1000): all data, uniformly, until the first scoring at "
        "step 1,000, then " + tail
    )
    text = explain(plan, width=400)
    assert segments(plan)[:2] == (
        Segment(0, 1000),
        Segment(1000, 2000, ("first model_ppl scoring",)),
    )
    blocks = text.split("\n\n")
    assert "  data        all data, uniformly (nothing scored yet)" in blocks[1].splitlines()
    assert "  data        easiest 55% → ≈100% of the data, rising (linear)" in blocks[2]
    # first defaults to every (the seed system's rule); first=0 scores the untrained model
    default = _explained("sort by model_ppl(every=500)")
    assert default["scoring"].startswith("model_ppl(every=500): all data, uniformly, until the "
                                          "first scoring at step 500, then ")  # fmt: skip
    zero = _explained("sort by model_ppl(every=500, first=0)")
    assert zero["scoring"] == (
        "model_ppl(every=500, first=0): scored first at step 0 (by the untrained model), then "
        + tail
    )
    assert _explained("sort by model_ppl")["scoring"].startswith(
        "model_ppl: all data, uniformly, until the first scoring at step 1,000, then "
        "re-scored every 1,000 steps"
    )


def test_model_ppl_default_interval_is_the_runtime_scorers():
    import inspect

    from curriculumc.runtime.ordering import scorers
    from curriculumc.views.explain import MODEL_PPL_EVERY

    # the registered function (the package attribute model_ppl is also its submodule's name)
    runtime_scorer = scorers.BUILTIN_SCORERS["model_ppl"]
    default = inspect.signature(runtime_scorer).parameters["every"].default
    assert default == MODEL_PPL_EVERY


def test_fractional_pacing_steps_are_shown_as_the_plan_holds_them():
    rows = _explained("train 300 steps\nsort by random\npace log from 10% after 6.25% over 81.25%")
    assert rows["data pace"] == (
        "log from 10%: from step 18.75 (6.25% of training), over 243 steps (the ramp's whole "
        "steps; it ends at step 262.5)"
    )
    rows = _explained("train 300 steps\nvocab step from 10% after 6.25% over 81.25%")
    assert rows["vocabulary"] == (
        "step from 10%: from step 18.75 (6.25% of training), over 243 steps (it jumps at "
        "step 262.5)"
    )
    # whole steps read as before
    rows = _explained(
        "train 400000 steps\nsort by random\npace log from 10% after 6.25% over 81.25%"
    )
    assert rows["data pace"] == "log from 10% over 325,000 steps, starting at step 25,000"


def test_each_corrupting_unit_states_its_split():
    rows = _explained("at 0 mlm + pos(noun, verb, mask=40%, random=5%, keep=0%)")
    assert rows["corruption"] == (
        "mlm: 15% of tokens chosen: 80% <mask>, 10% random, 10% kept; "
        "pos(noun, verb, keep=0, mask=0.4, random=0.05): 40% of NOUN, VERB tokens and 15% of "
        "the others chosen: 95% <mask>, 5% random, 0% kept"
    )
    assert "corruption" not in _explained("model gpt-tiny")  # clm reads the clean batch


def test_a_units_head_schedule_is_stated_from_its_active_steps():
    rows = _explained("train 1000 steps\nunit nv = pos(noun, verb) lr 1e-3 warmup 10%\n"
                      "during 0%..25% nv\nduring 0%..100% mlm")  # fmt: skip
    # active at t/1000 <= 0.25: steps 0..250, 251 of them; floor(10% of 251) = 25
    assert rows["head lr"] == (
        "nv's head trains at lr 1e-3: linear warm-up over 10% of its 251 active steps (25 "
        "steps), then linear decay to 0 at its last active step"
    )


def test_each_phase_states_its_backbone_forwards():
    text = explain(curriculumc.loads("at 0 mlm, at 100 mlm + pos"), width=400)
    assert "  forwards    1 backbone forward a step\n" in text
    assert (
        "  forwards    2 backbone forwards a step: each corrupting objective reads its own "
        "corruption\n"
    ) in text


def test_the_vocabulary_order_and_rule_are_stated():
    rows = _explained("vocab linear from 10% over 1000")
    assert rows["vocab order"].startswith("by token id: the lowest ids first")
    assert (
        "hidden tokens are <unk> in inputs and token targets (POS tags stay)"
        in (rows["vocab order"])
    )
    rows = _explained("vocab linear from 30% over 1000 by pos_tags inputs only")
    assert "by POS tag class — nouns first, then verbs, adjectives, …" in rows["vocab order"]
    # 30% of 11 ranks = 3.3: NOUN, VERB, ADJ, ADV
    assert (
        "at the start (30%) the tokens tagged NOUN, VERB, ADJ, ADV are visible"
        in (rows["vocab order"])
    )
    assert (
        "<unk> in the inputs only: token targets (MLM/CLM labels) keep them"
        in (rows["vocab order"])
    )
    rows = _explained("vocab linear from 10% over 1000 by pos_tags_and_token_ids")
    assert ("every token tagged NOUN and the VERB tokens with id up to 10% of the "
            "vocabulary size are visible") in rows["vocab order"]  # fmt: skip
    assert "vocab order" not in _explained("at 0 mlm")


# --- the command -----------------------------------------------------------------------


@pytest.fixture
def fake_load(monkeypatch):
    """Stand in for the compiler: records its arguments, returns the root+pos plan."""
    calls = []

    def load(path, overrides=(), *, config_dir=None):
        calls.append((path, tuple(overrides)))
        if path == "bad.cur":
            raise CurriculumError.single("E012", "unknown pacing function 'rot'")
        return root_pos_plan(), []

    monkeypatch.setattr(curriculumc, "load_with_warnings", load)
    return calls


def test_explain_command_prints_the_text(fake_load, capsys):
    assert cli.main(["explain", "--width", "80", "spec.cur", "train.steps=20000"]) == 0
    assert capsys.readouterr().out == ROOT_POS_TEXT + "\n"
    assert fake_load == [("spec.cur", ("train.steps=20000",))]


def test_explain_command_exit_codes(fake_load, capsys):
    assert cli.main(["explain", "spec.cur", "steps"]) == 2  # not key=value
    assert "expected key=value" in capsys.readouterr().err
    assert cli.main(["explain", "--width", "20", "spec.cur"]) == 2
    assert cli.main(["explain", "bad.cur"]) == 1
    assert "E012" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["explain"])  # FILE missing: argparse's usage error
    assert exit_.value.code == 2


# --- with the real compiler --------------------------------------------------------------

ROOT_POS_SPEC = """\
# DESIGN.md's example
model roberta-small
data  synth
train 20000 steps, batch 32, seq 128, lr 1e-3, warmup 10%
sort by ngram_ppl
pace root from 10% over 10000 release at 80%
at 0 mlm
at 10000 pos
at 15000 mlm + 0.5 pos
vocab linear from 10% over 10000
eval blimp every 2000
"""


def test_explain_a_real_spec_with_an_override(tmp_path, capsys):
    spec = tmp_path / "root_pos.cur"
    spec.write_text(ROOT_POS_SPEC.replace("train 20000", "train 10000"))
    assert cli.main(["explain", "--width", "80", str(spec), "train.steps=20000"]) == 0
    assert capsys.readouterr().out == ROOT_POS_TEXT + "\n"


def test_explain_a_wrong_spec_exits_1_with_the_diagnostic(tmp_path, capsys):
    spec = tmp_path / "bad.cur"
    spec.write_text("sort by ngram_ppl\npace rot from 10% over 10000\nat 0 mlm\n")
    assert cli.main(["explain", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "bad.cur:2:6: error[E012]: unknown pacing function 'rot'" in err
