"""compose: Hydra-style defaults, deep merge, group overrides, errors in the right file."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import REPO

import curriculumc
from curriculumc.errors import CurriculumError
from curriculumc.lang import compose
from curriculumc.lang.render import render_diagnostics


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


BASE = {
    "model/tiny.yaml": "model: roberta-tiny\ntokenizer: {kind: bpe, vocab_size: 1000}\n",
    "train/short.yaml": "train:\n  steps: 100\n  batch: 8\n  seed: 5\n",
    "curriculum/root.yaml": (
        "# root pacing\n"
        "curriculum: |\n"
        "  sort by sentence_length\n"
        "  pace root from 20% over 50\n"
        "  at 0 mlm\n"
    ),
    "curriculum/linear.yaml": (
        "curriculum:\n"
        "  scoring_fn: sentence_length\n"
        "  pacing_fn: linear\n"
        "  pacing_fn_kwargs: {start_percent: 0.3, num_steps: 40}\n"
    ),
    "exp.yaml": (
        "defaults:\n  - model/tiny\n  - train: short\n  - curriculum: root\ntrain:\n  steps: 60\n"
    ),
}


@pytest.fixture
def configs(tmp_path):
    return write(tmp_path, BASE)


def test_merge_order_and_deep_merge(configs):
    plan = curriculumc.load(configs / "exp.yaml")
    # the spec's own train.steps wins; batch and seed come from train/short
    assert (plan.train.steps, plan.train.batch, plan.train.seed) == (60, 8, 5)
    assert plan.model.preset == "roberta-tiny" and plan.tokenizer.vocab_size == 1000
    assert plan.pace.fn == "root" and plan.pace.start == pytest.approx(0.2)


def test_composed_plan_equals_the_flat_spec(configs):
    flat = (
        "model: roberta-tiny\n"
        "tokenizer: {kind: bpe, vocab_size: 1000}\n"
        "train: {steps: 60, batch: 8, seed: 5}\n"
        "curriculum: |\n  sort by sentence_length\n  pace root from 20% over 50\n  at 0 mlm\n"
    )
    (configs / "flat.yaml").write_text(flat)
    assert (
        curriculumc.load(configs / "exp.yaml").hash == curriculumc.load(configs / "flat.yaml").hash
    )


def test_group_override_and_compiler_overrides(configs):
    composed, rest = compose.compose(configs / "exp.yaml", ["curriculum=linear", "seed=9"])
    assert ("curriculum", "linear") in composed.choices and rest == ("seed=9",)
    plan = curriculumc.load(configs / "exp.yaml", ["curriculum=linear", "seed=9", "train.steps=80"])
    assert plan.pace.fn == "linear" and plan.pace.over == 40
    assert (plan.train.seed, plan.train.steps) == (9, 80)
    # `model` is a group and a compiler key: no such option file -> the compiler's override
    plan = curriculumc.load(configs / "exp.yaml", ["model=roberta-small"])
    assert plan.model.preset == "roberta-small"


def test_self_first_lets_defaults_win_and_null_drops_a_group(configs):
    write(configs, {
        "self_first.yaml": "defaults:\n  - _self_\n  - train: short\ntrain: {steps: 60}\n",
        "no_curriculum.yaml": "defaults:\n  - curriculum: null\n  - train: short\n",
    })  # fmt: skip
    assert curriculumc.load(configs / "self_first.yaml").train.steps == 100
    assert curriculumc.load(configs / "no_curriculum.yaml").pace.fn == "none"


def test_nested_defaults_resolve_in_the_group_folder(configs):
    write(configs, {
        "curriculum/with_vocab.yaml": "defaults:\n  - parts/vocab\n  - /train/short\n"
                                      "curriculum: |\n  pace linear from 10% over 20\n",
        "curriculum/parts/vocab.yaml": "model: gpt-tiny\n",
        "nested.yaml": "defaults:\n  - curriculum: with_vocab\n",
    })  # fmt: skip
    plan = curriculumc.load(configs / "nested.yaml")
    assert plan.model.preset == "gpt-tiny" and plan.train.batch == 8
    assert plan.pace.fn == "linear"


def test_list_choices_and_override_entries_read_as_hydra_does(configs):
    write(configs, {
        "train/seeded.yaml": "train:\n  seed: 7\n",
        "listed.yaml": "defaults:\n  - train: [short, seeded]\n  - override model: tiny\n",
    })  # fmt: skip
    plan = curriculumc.load(configs / "listed.yaml")
    assert (plan.train.steps, plan.train.seed, plan.model.preset) == (100, 7, "roberta-tiny")


def test_a_config_file_yaml_refuses_points_into_that_file(configs):
    write(configs, {"model/odd.yaml": "model: roberta-tiny\ntokenizer: \x07\n",
                    "odd.yaml": "defaults:\n  - model: odd\n"})  # fmt: skip
    (d,) = error_of(configs / "odd.yaml").diagnostics
    assert d.code == "E171" and "U+0007" in d.message
    assert (d.span.file.endswith("odd.yaml"), d.span.line, d.span.column) == (True, 2, 12)


def error_of(path, overrides=()) -> CurriculumError:
    with pytest.raises(CurriculumError) as info:
        curriculumc.load(path, overrides)
    return info.value


def test_dsl_error_points_into_the_group_file(configs):
    write(configs, {"curriculum/bad.yaml": "curriculum: |\n  sort by sentence_length\n"
                                           "  pace rot from 20% over 50\n"})  # fmt: skip
    error = error_of(configs / "exp.yaml", ["curriculum=bad"])
    diagnostic = next(d for d in error.diagnostics if "rot" in d.message)
    span = diagnostic.span
    assert span.file.endswith("curriculum/bad.yaml")
    assert (span.line, span.column, span.end_column) == (3, 8, 11)
    text = render_diagnostics(error.diagnostics, color=False)
    assert "curriculum/bad.yaml:3:8" in text and "pace rot from 20% over 50" in text


def test_structured_and_schema_errors_point_into_their_files(configs):
    write(configs, {
        "curriculum/bad_fn.yaml": "curriculum:\n  scoring_fn: sentence_length\n"
                                  "  pacing_fn: rooot\n"
                                  "  pacing_fn_kwargs: {start_percent: 0.1, num_steps: 10}\n",
        "train/typo.yaml": "train:\n  steps: 10\n  bacth: 3\n",
        "typo.yaml": "defaults:\n  - train: typo\n",
    })  # fmt: skip
    error = error_of(configs / "exp.yaml", ["curriculum=bad_fn"])
    span = next(d.span for d in error.diagnostics if "rooot" in d.message)
    assert span.file.endswith("curriculum/bad_fn.yaml") and (span.line, span.column) == (3, 14)
    error = error_of(configs / "typo.yaml")
    span = next(d.span for d in error.diagnostics if d.span and "typo" in d.span.file)
    assert span.line == 3


def test_missing_options_are_named_with_positions(configs):
    write(configs, {"missing.yaml": "defaults:\n  - model/tiny\n  - curriculum: rooot\n"})
    error = error_of(configs / "missing.yaml")
    d = error.diagnostics[0]
    assert d.code == "E802" and d.span.file.endswith("missing.yaml") and d.span.line == 3
    assert "linear" in d.hint and "root" in d.hint
    error = error_of(configs / "exp.yaml", ["curriculum=nope"])
    d = error.diagnostics[0]
    assert d.code == "E803" and d.span.file == "<overrides>" and d.span.column == 12


def test_cycles_and_bad_defaults(configs):
    write(configs, {
        "loop/a.yaml": "defaults:\n  - /loop/b\n",
        "loop/b.yaml": "defaults:\n  - /loop/a\n",
        "cycle.yaml": "defaults:\n  - loop/a\n",
        "bad_defaults.yaml": "defaults: model/tiny\n",
    })  # fmt: skip
    assert error_of(configs / "cycle.yaml").diagnostics[0].code == "E804"
    assert error_of(configs / "bad_defaults.yaml").diagnostics[0].code == "E801"


def test_plain_specs_load_unchanged(configs):
    (configs / "plain.cur").write_text("model roberta-tiny\ntrain 10 steps\n")
    assert (
        curriculumc.load(configs / "plain.cur").hash == curriculumc.load(configs / "plain.cur").hash
    )
    assert not compose.has_defaults("model: x\n") and compose.has_defaults("defaults: []\n")


@pytest.mark.parametrize("curriculum", ["root_pos", "linear_ngram", "none"])
def test_repository_configs_compose(curriculum):
    plan = curriculumc.load(REPO / "configs" / "experiment.yaml", [f"curriculum={curriculum}"])
    assert plan.model.preset == "roberta-tiny"
    assert plan.train.steps == 20000 and plan.evals[0].name == "blimp"
    assert plan.data.source.endswith("aochildes/train.jsonl")
    assert (plan.pace.fn, plan.sort is None) == {
        "root_pos": ("root", False), "linear_ngram": ("linear", False), "none": ("none", True)
    }[curriculum]  # fmt: skip
