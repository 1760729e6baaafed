"""The `mix` statement: its syntax, its plan (weights normalised, times resolved as `at`
resolves them, absent from plans without one), the YAML form, the printer, and each
error and warning at its position -- measured on the compiled plan, not just "it ran"."""

from __future__ import annotations

import json

import pytest
from support.paths import REPO, shared_data

from curriculumc import format_spec, load, loads, loads_with_warnings, parse
from curriculumc.errors import CurriculumError
from curriculumc.lang.builder import known_sources
from curriculumc.plan import Plan

HEAD = "model roberta-tiny\ntrain 1000 steps, batch 16\n"


def _codes(text: str, **kwargs) -> list[tuple[str, int, int]]:
    with pytest.raises(CurriculumError) as caught:
        loads(text, **kwargs)
    return [
        (d.code, d.span.line, d.span.column)
        for d in caught.value.diagnostics
        if d.span and d.is_error
    ]


def test_weights_are_normalised_and_until_resolves_as_at_does():
    plan = loads(HEAD + "mix 0.8 Sawyer + 0.2 Snow until 30%, then 3 Sawyer + 7 Snow + Bates "
                 "until 600, then Sawyer")  # fmt: skip
    (first, second, last) = plan.mix.phases
    assert first.weights == (("Sawyer", 0.8), ("Snow", 0.2)) and first.until == 300
    assert dict(second.weights) == pytest.approx(
        {"Bates": 1 / 11, "Sawyer": 3 / 11, "Snow": 7 / 11}
    )
    assert sum(w for _, w in second.weights) == pytest.approx(1.0)
    assert last.weights == (("Sawyer", 1.0),) and last.until is None
    assert plan.mix.unit == "steps" and plan.mix.sources == ("Bates", "Sawyer", "Snow")
    # the phase of a step: t < until
    assert plan.mix_weights(299) == {"Bates": 0.0, "Sawyer": 0.8, "Snow": 0.2}
    assert plan.mix_weights(300)["Bates"] == pytest.approx(1 / 11)
    assert plan.mix_weights(600) == {"Bates": 0.0, "Sawyer": 1.0, "Snow": 0.0}
    assert [s for s, what in plan.boundaries() if what.startswith("mix")] == [300, 600]
    # train.steps=200 re-derives 30%
    assert (
        load_text_with(HEAD + "mix a until 30%, then b", ["train.steps=200"]).mix.phases[0].until
        == 60
    )


def load_text_with(text: str, overrides: list[str]) -> Plan:
    from curriculumc import compile as compile_spec

    return compile_spec(parse(text), overrides=overrides)


def test_the_same_mix_written_three_ways_is_one_plan(tmp_path):
    a = loads(HEAD + "mix 0.8 a + 0.2 b until 300, then b")
    b = loads(HEAD + 'mix 4 a + 1 "b" until 30%, then 7 b')
    assert a.hash == b.hash
    yaml = tmp_path / "m.yaml"
    yaml.write_text(
        "model: roberta-tiny\ntrain: {steps: 1000, batch: 16}\ncurriculum:\n  mix:\n"
        "    - {weights: {a: 80%, b: 20%}, until: 30%}\n    - {weights: {b: 1}}\n"
    )
    assert load(yaml).hash == a.hash
    # the printer writes it back: the same plan
    assert loads(format_spec(parse(HEAD + "mix 0.8 a + 0.2 b until 300, then b"))).hash == a.hash
    assert loads(format_spec(load_spec_yaml(yaml))).hash == a.hash
    # and the plan's JSON round-trips to the same hash
    assert Plan.from_json(a.to_json()).hash == a.hash


def load_spec_yaml(path):
    from curriculumc import load_spec

    return load_spec(path)


def test_a_plan_without_a_mix_writes_no_mix_key():
    plan = loads(HEAD)
    assert plan.mix is None and "mix" not in json.loads(plan.to_json())
    assert plan.mix_weights(5) == {}


def test_a_mix_in_words_keeps_its_unit_and_needs_the_data_clock():
    plan = loads("train 1M words, batch 16\nmix a until 50%, then a + b")
    assert plan.mix.unit == "words" and plan.mix.phases[0].until == 500_000
    assert plan.needs_data_clock and "data mix in words" in plan.data_time_texts()
    with pytest.raises(ValueError):
        plan.mix_weights(3)  # needs the plan resolved against its data


def test_errors_are_positioned():
    # a source twice in one phase; the second 'until' not after the first
    assert _codes(HEAD + "mix a + b + 0.5 a until 500, then b until 400, then a") == [
        ("E079", 3, 17), ("E081", 3, 43)
    ]  # fmt: skip
    assert _codes(HEAD + "mix 0 a + b") == [("E034", 3, 5)]
    assert _codes(HEAD + "mix a until 100, then b until 2k words, then a") == [("E076", 3, 31)]
    assert _codes("train batch 4096 tokens\nmix a + b") == [("E082", 2, 1)]
    assert _codes(HEAD + "mix a\nmix b") == [("E037", 4, 1)]


def test_a_time_in_data_with_a_self_paced_order_is_e077():
    with pytest.raises(CurriculumError) as caught:
        loads("train 1000 steps, batch 16\nsort by model_ppl\nmix a until 1k words, then b")
    assert [d.code for d in caught.value.diagnostics if d.is_error] == ["E077"]


def _babylm_folder(tmp_path):
    folder = tmp_path / "train_10M"
    folder.mkdir()
    for name in ("bnc_spoken.train", "childes.train", "childes.dev", "gutenberg.test"):
        (folder / name).write_text("a line of text\nanother line\n")
    (folder / "README.md").write_text("about\n")
    (folder / ".hidden").write_text("x\n")
    return folder


def test_unknown_sources_of_a_babylm_folder_are_errors_at_validate(tmp_path):
    folder = _babylm_folder(tmp_path)
    spec = f'data "{folder}"\ntrain 100 steps, batch 2\nmix 0.5 childes + 0.5 bnc_spokn'
    with pytest.raises(CurriculumError) as caught:
        loads(spec)
    (problem,) = caught.value.diagnostics
    assert (problem.code, problem.span.line, problem.span.column) == ("E080", 3, 23)
    assert "bnc_spoken" in problem.hint  # did you mean
    plan, warnings = loads_with_warnings(spec.replace("bnc_spokn", "bnc_spoken"))
    assert plan.mix.sources == ("bnc_spoken", "childes") and warnings == []


def test_the_folder_rule_is_the_readers_rule(tmp_path):
    from curriculumc.runtime.data.readers import load_raw

    folder = _babylm_folder(tmp_path)
    plan = loads(f'data "{folder}"\ntrain 100 steps, batch 2')
    readers = sorted({inp.source for inp in load_raw(plan.data).inputs})
    assert known_sources(plan.data) == tuple(readers) == ("bnc_spoken", "childes")
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"text": "a", "source": "s"}\n')
    assert known_sources(loads(f'data "{jsonl}"').data) is None  # sources in its lines


def test_sources_of_json_lines_are_a_warning_when_compiled():
    shared_data("aochildes", "train.jsonl")  # the spec's data (else W005 besides)
    plan, warnings = loads_with_warnings(
        (REPO / "specs" / "mixture.cur").read_text(), base_dir=str(REPO / "specs")
    )
    assert [w.code for w in warnings] == ["W011"]
    assert "Sawyer" in warnings[0].message and warnings[0].span.line == 14
    assert [p.until for p in plan.mix.phases] == [600, 1400, None]


def test_syntax_errors_are_named():
    for text, words in (
        ("mix", "missing the sources after 'mix'"),
        ("mix a until 30% then b", "expected ', then'"),
        ("mix a until", "missing a time after 'until'"),
    ):
        with pytest.raises(CurriculumError) as caught:
            loads(text)
        assert words in caught.value.diagnostics[0].message, text


def test_explain_lists_the_phases_and_plot_draws_a_row_per_source():
    from curriculumc.views.explain import explain
    from curriculumc.views.timeline import mix_shares, render_terminal

    plan = loads(HEAD + "mix 0.75 a + 0.25 b until 40%, then 0.5 a + 0.5 c")
    text = explain(plan, width=100)
    assert "data mix      phase 1, steps 0–400: a 75%, b 25%" in text
    assert "phase 2, steps 400–1,000: a 50%, c 50%" in text
    assert "changes     mix 2: a 50%, c 50%" in text  # the timeline's segment starts there
    assert "  data        all of each source" in text  # no pace: every source whole
    paced = explain(loads(HEAD + "sort by random\npace linear from 20% over 50%\n"
                          "mix 0.75 a + 0.25 b"), width=100)  # fmt: skip
    assert "a random 20% → 99.8% of each source, rising (linear)" in paced  # per source
    picture = render_terminal(plan, width=60).splitlines()
    rows = {line.split()[1]: line for line in picture if line.lstrip().startswith("mix ")}
    assert set(rows) == {"a", "b", "c"}
    cells = {name: row.split(f"mix {name}", 1)[1][2:] for name, row in rows.items()}
    columns = len(cells["a"])  # a is drawn at every column
    assert set(cells["a"]) == {"▓", "▒"}  # 75%, then 50%
    b_until = len(cells["b"]) - len(cells["b"].lstrip("░"))  # 25% until step 400, then none
    assert abs(b_until - 0.4 * columns) <= 1 and set(cells["b"][b_until:]) <= {" ", "┊"}
    c_from = len(cells["c"]) - len(cells["c"].lstrip(" ┊"))
    assert c_from == b_until and set(cells["c"][c_from:]) == {"▒"}
    shares = mix_shares(plan, [0, 399, 400, 999])
    assert shares == {"a": [0.75, 0.75, 0.5, 0.5], "b": [0.25, 0.25, 0.0, 0.0],
                      "c": [0.0, 0.0, 0.5, 0.5]}  # fmt: skip


def test_a_phase_that_lasts_to_the_end_of_training_warns_at_its_until():
    def late(text):
        _, warnings = loads_with_warnings(HEAD + text)
        return [(w.span.line, w.span.column, w.message) for w in warnings if w.code == "W012"]

    assert late("mix 0.5 A + 0.5 B until 1500, then A until 1800, then B") == [(
        3, 25, "the mix's phase 1 lasts until step 1500, not before training ends (step 1000): "
        "the 2 phases after it never run",
    )]  # fmt: skip
    assert late("mix 0.5 A + 0.5 B until 100%, then A")[0][2].endswith(
        "(step 1000): the phase after it never runs"
    )
    assert late("mix 0.5 A + 0.5 B until 999, then A") == []  # its last step is phase 2's
    assert late("mix 0.5 A + 0.5 B until 5M words, then A") == []  # known once resolved
