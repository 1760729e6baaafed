"""compare: aggregation over hand-written run folders, the paired bootstrap, the plot."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import pytest

from curriculumc.plan import Pace, Phase, Plan, ScorerTerm, SortSpec, TrainSpec
from curriculumc.runtime.experiments import compare

PARADIGMS = {"p1": "syntax", "p2": "morphology"}


def curriculum_plan(seed: int) -> Plan:
    return Plan(
        train=TrainSpec(steps=40, seed=seed),
        sort=SortSpec((ScorerTerm("ngram_ppl"),)),
        pace=Pace("root", 0.2, 1.0, 20),
        phases=(Phase(0, (("mlm", 1.0),)), Phase(30, (("pos", 1.0),))),
    )


def control_of(plan: Plan, scorer: str = "random") -> Plan:
    return dataclasses.replace(plan, sort=SortSpec((ScorerTerm(scorer),)))


def eval_json(outcomes: dict[str, list[int]], *, perplexity: float | None = None) -> dict:
    paradigms = {}
    for name, correct in outcomes.items():
        paradigms[name] = {
            "field": PARADIGMS[name],
            "n": len(correct),
            "accuracy": sum(correct) / len(correct),
            "ties": 0,
            "pair_ids": [str(i) for i in range(len(correct))],
            "correct": correct,
            "good": [0.0] * len(correct),
            "bad": [0.0] * len(correct),
        }
    accs = [p["accuracy"] for p in paradigms.values()]
    data = {
        "format": "curriculumc.eval/1",
        "macro": sum(accs) / len(accs),
        "per_field": {PARADIGMS[n]: p["accuracy"] for n, p in paradigms.items()},
        "paradigms": paradigms,
    }
    if perplexity is not None:
        data["ppl/dev"] = perplexity  # the one perplexity key (PERPLEXITY_METRIC)
    return data


def write_run(root, name, plan, *, curve=(), outcomes=None, summary=None, perplexity=None):
    folder = root / f"{name}-{plan.hash[:8]}"
    folder.mkdir(parents=True)
    (folder / "plan.json").write_text(plan.to_json())
    lines = [json.dumps({"step": s, "loss": 1.0}) for s, _ in curve]
    lines += [json.dumps({"step": s, "eval": "blimp", "blimp/macro": v}) for s, v in curve]
    (folder / "metrics.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""))
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary))
    if outcomes is not None:
        (folder / "eval").mkdir()
        data = eval_json(outcomes, perplexity=perplexity)
        (folder / "eval" / "blimp_final.json").write_text(json.dumps(data))
    return folder


A1 = {"p1": [1, 1, 1, 0], "p2": [1, 0, 1, 0]}  # macro 0.625
A2 = {"p1": [1, 1, 1, 1], "p2": [1, 1, 0, 0]}  # macro 0.75
C1 = {"p1": [1, 0, 1, 0], "p2": [0, 0, 1, 0]}  # macro 0.375
C2 = {"p1": [1, 1, 0, 0], "p2": [1, 0, 1, 0]}  # macro 0.5


@pytest.fixture
def runs_root(tmp_path):
    for seed, outcomes, curve, ppl in ((1, A1, [(10, 0.55), (20, 0.7)], 40.0),
                                       (2, A2, [(10, 0.6), (20, 0.65)], 50.0)):  # fmt: skip
        write_run(
            tmp_path, f"root_pos-{seed}", curriculum_plan(seed), curve=curve, outcomes=outcomes,
            summary={"finished": True, "words_seen": 1000 * seed, "wall_s": 10.0 * seed},
            perplexity=ppl,
        )  # fmt: skip
    for seed, outcomes in ((1, C1), (2, C2)):
        write_run(
            tmp_path, f"root_pos-control-{seed}", control_of(curriculum_plan(seed)),
            curve=[(10, 0.5), (20, 0.45)], outcomes=outcomes,
            summary={  # the trainer's own summary: "finished" and the last evaluations
                "finished": True, "words_seen": 1000 * seed, "wall_s": 12.0,
                "evals": {"ppl": {"step": 20, "eval": "ppl", "ppl/dev": 50.0 + 10 * seed}},
            },
        )  # fmt: skip
    # a run that never evaluated: shown with dashes and a note
    write_run(tmp_path, "broken-1", dataclasses.replace(curriculum_plan(1), pace=Pace()))
    return tmp_path


def comparison(root, **kwargs):
    runs, manifest = compare.collect_runs([root])
    groups = compare.group_runs(runs, manifest, make_control=control_of)
    return compare.compare_groups(groups, **kwargs)


def test_aggregation_numbers_are_exact(runs_root):
    result = comparison(runs_root, resamples=500, seed=3)
    rows = {row.label: row for row in result.rows}
    assert set(rows) == {"root_pos", "root_pos-control", "broken"}
    row = rows["root_pos"]
    assert row.n_runs == 2 and row.n_evaluated == 2
    assert row.final.mean == pytest.approx(0.6875, abs=1e-12)
    assert row.final.std == pytest.approx(math.sqrt(2 * 0.0625**2), abs=1e-12)
    # best = max over the curve and the final value: run 1 0.7, run 2 0.75
    assert row.best.mean == pytest.approx(0.725, abs=1e-12)
    assert row.fields["syntax"].mean == pytest.approx((0.75 + 1.0) / 2, abs=1e-12)
    assert row.fields["morphology"].mean == pytest.approx(0.5, abs=1e-12)
    assert row.perplexity.mean == pytest.approx(45.0) and row.perplexity.n == 2
    assert row.words_seen.mean == pytest.approx(1500.0)
    assert row.wall_s.mean == pytest.approx(15.0)
    assert row.control_label == "root_pos-control"
    # paired point estimate: per-pair means over seeds, macro over paradigms
    interval = row.versus_control
    assert interval.difference == pytest.approx(0.6875 - 0.4375, abs=1e-12)
    assert interval.n_pairs == 8
    assert interval.low <= interval.difference <= interval.high
    assert rows["root_pos-control"].is_control
    assert rows["root_pos-control"].perplexity.mean == pytest.approx(65.0)
    assert rows["root_pos-control"].final.mean == pytest.approx(0.4375)
    assert rows["root_pos-control"].versus_control is None


def test_missing_data_is_a_dash_with_a_note(runs_root):
    result = comparison(runs_root, resamples=200)
    text = compare.render_comparison(result, width=220)
    broken = next(row for row in result.rows if row.label == "broken")
    assert broken.final is None and broken.n_evaluated == 0
    assert any("no minimal-pair evaluation" in n for n in broken.notes)
    assert any("no summary.json" in n for n in broken.notes)
    line = next(line for line in text.splitlines() if line.strip().startswith("│ broken"))
    assert line.count(compare.DASH) >= 6
    assert "68.8 ± 8.8" in text  # final BLiMP of root_pos, percent, mean ± sd
    assert "note: broken: broken-1-" in text


def test_table_json_round_trip(runs_root, tmp_path):
    result = comparison(runs_root, resamples=200)
    data = compare.comparison_to_json(result)
    json.dumps(data)  # JSON-able
    labels = [row["label"] for row in data["rows"]]
    assert labels == ["broken", "root_pos", "root_pos-control"]  # a control follows its curriculum
    first = data["rows"][1]
    assert first["final_macro"]["n"] == 2
    assert first["versus_control"]["pairs"] == 8


def test_manifest_groups_and_pairs_controls(runs_root):
    folders = sorted(p.name for p in runs_root.iterdir() if p.is_dir())
    entries = []
    for name in folders:
        group = name.rsplit("-", 2)[0]
        entry = {"label": name, "group": group, "folder": name, "control_of_groups": []}
        if group == "root_pos-control":
            entry["control_of_groups"] = ["root_pos"]
        entries.append(entry)
    (runs_root / "sweep.json").write_text(json.dumps({"runs": entries}))
    runs, manifest = compare.collect_runs([runs_root])
    assert manifest is not None
    groups = {g.key: g for g in compare.group_runs(runs, manifest)}
    assert groups["root_pos"].control_key == "root_pos-control"
    assert groups["root_pos-control"].is_control
    assert len(groups["root_pos"].runs) == 2


def test_bootstrap_contains_true_difference_and_is_deterministic():
    rng = random.Random(11)
    treatment, control, paradigm_of = {}, {}, {}
    for p in range(12):
        for i in range(300):
            key = f"p{p}/{i}"
            paradigm_of[key] = f"p{p}"
            u = rng.random()  # shared pair difficulty: the two conditions are paired
            treatment[key] = float(u < 0.75)
            control[key] = float(u < 0.65)
    a = compare.paired_bootstrap(treatment, control, paradigm_of, resamples=1000, seed=5)
    b = compare.paired_bootstrap(treatment, control, paradigm_of, resamples=1000, seed=5)
    c = compare.paired_bootstrap(treatment, control, paradigm_of, resamples=1000, seed=6)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)
    assert a.low < 0.10 < a.high
    assert a.high - a.low < 0.05  # paired: far tighter than two independent samples
    assert a.n_pairs == 3600 and a.level == 0.95


def test_bootstrap_of_identical_conditions_is_zero():
    outcomes = {f"p/{i}": float(i % 3 == 0) for i in range(50)}
    iv = compare.paired_bootstrap(outcomes, dict(outcomes), {}, resamples=100)
    assert iv.difference == 0.0 and iv.low == 0.0 and iv.high == 0.0
    assert compare.paired_bootstrap(outcomes, {"q/1": 1.0}, {}) is None


def test_spread_is_sample_std():
    s = compare.spread([1.0, 2.0, 3.0, None])
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    assert compare.spread([None]) is None
    assert compare.spread([4.0]).text() == "4.0"


def test_plot_is_written(runs_root, tmp_path):
    result = comparison(runs_root, resamples=50)
    out = compare.plot_curves(result, tmp_path / "plots" / "compare.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_torn_metrics_line_and_missing_folder(tmp_path):
    folder = write_run(tmp_path, "r-1", curriculum_plan(1), curve=[(10, 0.5)])
    with open(folder / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 20, "eval": "bli')  # killed mid-write
    run = compare.read_run(folder)
    assert run.curve == ((10, 0.5),)
    assert run.final_macro == 0.5  # the last evaluation stands in for the final one
    assert any("unreadable line" in n for n in run.notes)
    from curriculumc.errors import CurriculumError

    with pytest.raises(CurriculumError) as info:
        compare.collect_runs([tmp_path / "nope"])
    assert info.value.diagnostics[0].code == "E840"


def test_cli_prints_the_table_and_writes_plot_and_json(runs_root, tmp_path, capsys):
    from curriculumc.cli import main

    png, out = tmp_path / "out" / "c.png", tmp_path / "out" / "c.json"
    code = main(["compare", str(runs_root), "-o", str(png), "--json", str(out), "--width", "200"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "root_pos-control" in printed and "68.8 ± 8.8" in printed
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert json.loads(out.read_text())["rows"][1]["label"] == "root_pos"
    assert main(["compare", str(tmp_path / "missing")]) == 1


def test_final_eval_is_the_one_of_the_logged_pair_set(tmp_path):
    """A run evaluated during training on `synth`, and later by hand on a BLiMP subset:
    compare reads the synth curve and the synth final result, not the later BLiMP file."""
    from curriculumc.runtime.experiments.compare import read_run

    plan = curriculum_plan(1)
    folder = tmp_path / f"demo-{plan.hash[:8]}"
    (folder / "eval").mkdir(parents=True)
    (folder / "plan.json").write_text(plan.to_json())
    rows = [{"step": s, "eval": "synth", "synth/macro": v} for s, v in ((10, 0.5), (20, 0.75))]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    synth = {**eval_json(A2), "pairs": {"name": "synth"}}
    blimp = {**eval_json(C1), "pairs": {"name": "blimp"}}
    (folder / "eval" / "synth_final.json").write_text(json.dumps(synth))
    (folder / "eval" / "blimp_final_limit20.json").write_text(json.dumps(blimp))
    record = read_run(folder)
    assert record.curve == ((10, 0.5), (20, 0.75))
    assert record.final_macro == pytest.approx(0.75)
    assert len(record.outcomes) == 8 and sum(record.outcomes.values()) == 6


def test_words_seen_and_the_controls_words_relative_to_its_curriculums(tmp_path):
    import csv

    from curriculumc.cli import main

    for seed, words, tokens in ((1, 100_000, 120_000), (2, 110_000, 130_000)):
        write_run(tmp_path, f"root_pos-{seed}", curriculum_plan(seed), outcomes=A1,
                  summary={"finished": True, "words_seen": words, "tokens_seen": tokens})  # fmt: skip
    for seed, words in ((1, 130_000), (2, 134_400)):  # mean 132,200: +25.9% of 105,000
        write_run(tmp_path, f"root_pos-control-{seed}", control_of(curriculum_plan(seed)),
                  outcomes=C1, summary={"finished": True, "words_seen": words})  # fmt: skip
    result = comparison(tmp_path, resamples=50)
    rows = {row.label: row for row in result.rows}
    curriculum, control = rows["root_pos"], rows["root_pos-control"]
    assert curriculum.words_seen.mean == 105_000 and control.words_seen.mean == 132_200
    assert curriculum.tokens_seen.mean == 125_000 and control.tokens_seen is None
    assert curriculum.control_words == pytest.approx(132_200 / 105_000 - 1)
    assert control.control_words is None  # a control has no control
    note = next(n for n in curriculum.notes if "not matched in exposure" in n)
    assert "root_pos-control saw 25.9% more words (132,200 vs 105,000)" in note

    text = compare.render_comparison(result, width=240)
    header = next(line for line in text.splitlines() if "words seen" in line)
    assert "control's words" in header
    line = next(line for line in text.splitlines() if line.startswith("│ root_pos "))
    cells = [c.strip() for c in line.split("│")[1:-1]]
    assert "105,000 ± 7,071" in cells and "+25.9%" in cells
    control_line = next(line for line in text.splitlines() if "root_pos-control" in line)
    assert "132,200 ± 3,111" in control_line

    data = compare.comparison_to_json(result)["rows"]
    by_label = {row["label"]: row for row in data}
    assert by_label["root_pos"]["words_seen"]["mean"] == 105_000
    assert by_label["root_pos"]["tokens_seen"]["mean"] == 125_000
    assert by_label["root_pos"]["control_words_relative"] == pytest.approx(0.259047, abs=1e-6)
    assert by_label["root_pos-control"]["control_words_relative"] is None

    out = tmp_path / "compare.csv"
    argv = ["compare", str(tmp_path), "--no-plot", "--csv", str(out), "--resamples", "50"]
    assert main(argv) == 0
    table = {row["label"]: row for row in csv.DictReader(out.open())}
    assert float(table["root_pos"]["words_seen_mean"]) == 105_000
    assert float(table["root_pos-control"]["words_seen_mean"]) == 132_200
    assert float(table["root_pos"]["control_words_relative"]) == pytest.approx(0.259047, abs=1e-6)
    assert table["root_pos-control"]["control_words_relative"] == ""


def test_runs_scored_under_different_tie_rules_are_flagged(tmp_path):
    write_run(tmp_path, "root_pos-1", curriculum_plan(1), outcomes=A1,
              summary={"finished": True})  # fmt: skip
    control = write_run(tmp_path, "root_pos-control-1", control_of(curriculum_plan(1)),
                        outcomes=C1, summary={"finished": True})  # fmt: skip
    result = comparison(tmp_path, resamples=20)
    assert not [n for row in result.rows for n in row.notes if "tie" in n]  # both strict
    path = control / "eval" / "blimp_final.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "ties_rule": "babylm"}))
    runs, _ = compare.collect_runs([tmp_path])
    assert sorted(r.ties_rule for r in runs) == ["babylm", "strict"]
    rows = {row.label: row for row in comparison(tmp_path, resamples=20).rows}
    note = next(n for n in rows["root_pos"].notes if "tie" in n)
    assert "scored with ties strict while other runs here use babylm" in note
    assert any("ties babylm" in n for n in rows["root_pos-control"].notes)
