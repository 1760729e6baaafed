"""``explain`` counts evaluations and pairs as the run spends them (issue 15).

The counts explain prints -- runs per evaluation (per segment and in all), pairs or texts a
run scores, pairs and sentences in all -- are read back from its text and compared with
what the trainer does: it evaluates after the steps of ``Plan.evaluations_due`` and scores
the pairs ``load_pairs(pair_source(spec), limit=spec.limit)`` gives (``run_eval``), or the
dev texts the run loads (``Recipe._dev_texts``) cut to ``limit``.
"""

from __future__ import annotations

import inspect
import re
from types import SimpleNamespace

import pytest
from support.paths import REPO, shared_data

import curriculumc
from curriculumc import registry
from curriculumc.plan import EvalSpec
from curriculumc.views.explain import explain

#: the example specs that evaluate, with the overrides of a quick run
EVALUATING = ("root_pos.cur", "root_pos.yaml", "source_order.cur", "reference_ppl.cur", "demo.cur")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _printed(text: str, name: str) -> dict:
    """What explain says of evaluation ``name``: runs in all, runs per segment, items a
    run, items and sentences in all (None where it prints none)."""
    lines = text.splitlines()
    (total,) = [line for line in lines if re.match(rf"\s+{name}\b.*: \d+ evaluations?$", line)]
    (cost,) = [line for line in lines if line.strip().startswith(f"{name}: each run ")]
    per_segment = 0
    for line in lines:
        if line.startswith("  evals "):
            for part in line.split("evals", 1)[1].strip().split("; "):
                found = re.match(rf"{name} at [^(]*\((?:(\d+) × )?", part)
                if found:
                    per_segment += int(found.group(1) or 1)
    each = re.search(r"= (?:up to )?([\d,]+) (?:pairs|texts)|up to ([\d,]+) texts", cost)
    all_ = re.search(r"in all (?:up to )?([\d,]+) (pairs|texts)(?:, ([\d,]+) sentences)?", cost)
    return {
        "runs": _number(re.search(r": (\d+) evaluations?$", total).group(1)),
        "per_segment": per_segment,
        "each": _number(next(g for g in each.groups() if g)),
        "all": _number(all_.group(1)),
        "sentences": _number(all_.group(3)) if all_.group(3) else None,
    }


def _scored(plan, spec, cache_dir) -> int:
    """The items one run of ``spec`` scores, as the trainer reads them."""
    from curriculumc.runtime.evaluate.evaluation import pair_source
    from curriculumc.runtime.evaluate.minimal_pairs import load_pairs

    if spec.name == "ppl":
        from curriculumc.runtime.train.recipe import Recipe

        texts = Recipe._dev_texts(SimpleNamespace(plan=plan), cache_dir)
        return len(texts[: spec.limit] if spec.limit else texts)
    return len(load_pairs(pair_source(spec, data=plan.data, cache_dir=cache_dir), limit=spec.limit))


@pytest.mark.parametrize("name", EVALUATING)
def test_explain_counts_the_runs_the_trainer_makes_and_the_pairs_it_scores(
    name, tmp_path, monkeypatch
):
    shared_data("blimp")  # skips without the shared data
    # `eval blimp` reads $CURRICULUMC_BLIMP (else the hub): here, the official BLiMP folder
    monkeypatch.setenv("CURRICULUMC_BLIMP", str(shared_data("blimp")))
    plan = curriculumc.load(REPO / "specs" / name, overrides=["train.steps=60"])
    text = explain(plan, width=400)  # one line per row: nothing wrapped
    assert plan.evals
    for spec in plan.evals:
        # the trainer evaluates once `step` steps are done when evaluations_due says so
        due = [
            step for step in range(1, plan.train.steps + 1) if spec in plan.evaluations_due(step)
        ]
        assert due == plan.evaluation_steps(spec)
        printed = _printed(text, spec.name)
        assert printed["runs"] == printed["per_segment"] == len(due)
        # a run scores what the plan bounds: BLiMP as shipped has 1,000 pairs a paradigm,
        # so "up to" is the count; synth's generator writes 16 x 200; the run loads 1,000
        # dev texts for a ppl without limit
        scored = _scored(plan, spec, tmp_path / "cache")
        assert printed["each"] == scored == registry.eval_items(spec).at_most
        assert printed["all"] == len(due) * scored
        if spec.name != "ppl":
            assert printed["sentences"] == 2 * len(due) * scored


def test_the_issue_spec_is_counted_as_it_ran():
    # issue 15: `run specs/root_pos.cur train.steps=60` with `every 25% limit 50` scored
    # four times 67 x 50 pairs (about 4 minutes each on 2 cores)
    shared_data("blimp")  # the spec's evaluation reads the local copy: 67 paradigm files
    plan = curriculumc.load(
        REPO / "specs" / "root_pos.cur",
        overrides=["train.steps=60", "eval.every=25%", "eval.limit=50"],
    )
    lines = explain(plan, width=200).splitlines()
    assert "  evals       blimp at 15 (up to 3,350 pairs)" in lines
    assert "  evals       blimp at 60 (up to 3,350 pairs)" in lines
    assert any(line.endswith("every 15 steps and at the end: 4 evaluations") for line in lines)
    assert (
        "              blimp: each run 67 pair files × limit 50 = up to 3,350 pairs (a paradigm "
        "a file); in all up to 13,400 pairs, 26,800 sentences scored"
    ) in lines


def test_what_a_run_scores_without_reading_the_data(tmp_path):
    blimp = registry.eval_items(EvalSpec("blimp", limit=50))
    assert (blimp.at_most, blimp.sentences, blimp.exact) == (3350, 6700, False)
    assert blimp.text() == "67 paradigms × limit 50 = up to 3,350 pairs"
    whole = registry.eval_items(EvalSpec("blimp"))
    assert (whole.at_most, whole.exact, whole.short()) == (67_000, True, "67,000 pairs")
    # a limit above the set's size keeps the set
    assert registry.eval_items(EvalSpec("synth", limit=500)).at_most == 3200
    assert registry.eval_items(EvalSpec("ppl", limit=300)).text() == "up to 300 texts"
    assert registry.eval_items(EvalSpec("ppl")).at_most == registry.PPL_TEXTS == 1000
    # a folder is counted by its files (a listing), one paradigm a file
    folder = tmp_path / "pairs"
    folder.mkdir()
    for stem in ("a", "b", "c"):
        (folder / f"{stem}.jsonl").write_text("")
    (folder / "README.md").write_text("")
    three = registry.eval_items(EvalSpec("pairs", path=str(folder), limit=10))
    assert (three.at_most, three.paradigms, three.files) == (30, 3, True)
    assert three.text() == "3 pair files × limit 10 = up to 30 pairs (a paradigm a file)"
    # without a limit, or for one file, only the data knows
    assert registry.eval_items(EvalSpec("pairs", path=str(folder))).at_most is None
    assert registry.eval_items(EvalSpec("pairs", path=str(folder))).text() == (
        "every pair of 3 pair files"
    )
    one = registry.eval_items(EvalSpec("pairs", path=str(folder / "a.jsonl"), limit=10))
    assert (one.at_most, one.text()) == (None, "limit 10 pairs per paradigm")
    assert one.short() == "limit 10 a paradigm"


def test_the_built_in_pair_sets_are_the_runtimes():
    from curriculumc.runtime.data.synth import files
    from curriculumc.runtime.data.synth.pairs import PARADIGMS

    default = inspect.signature(files.write_synth).parameters["per_phenomenon"].default
    assert registry.PAIR_SETS["synth"] == (len(PARADIGMS), default)
    blimp = sorted(shared_data("blimp").glob("*.jsonl"))
    lines = {sum(1 for _ in open(path, encoding="utf-8")) for path in blimp}
    assert registry.PAIR_SETS["blimp"] == (len(blimp), 1000) and lines == {1000}
