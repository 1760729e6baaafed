"""import climb: seed-system (CLIMB) Hydra configs → .cur specs that mean the same."""

from __future__ import annotations

import math

import pytest
import yaml
from support.paths import TESTS

import curriculumc
from curriculumc.cli import main
from curriculumc.errors import CurriculumError
from curriculumc.importers.climb import import_climb
from curriculumc.plan import Pace

FIXTURES = TESTS / "fixtures" / "climb"
#: a whole CLIMB conf/ tree, written for these tests in the seed's formats
CONF = FIXTURES / "conf"


# --- the seed's semantics, written out independently of curriculumc.pacing --------------


def seed_g(fn: str, x: float) -> float:
    if fn == "linear":
        return x
    if fn == "quad":
        return x**2
    if fn == "root":
        return x**0.5
    if fn == "step":
        return 0.0 if x < 1 else 1.0
    if fn == "exp":
        return (math.exp(10 * x) - 1) / (math.exp(10) - 1)
    if fn == "log":
        return min(1.0, max(0.0, 1 + math.log(x + math.exp(-10)) / 10))
    raise AssertionError(fn)


def seed_fraction(step: int, total: int, fn: str, kwargs: dict) -> float:
    """The pool of the seed: starting_difficulty until start_percent of training, then up
    to max_difficulty at end_percent, and max_difficulty from then on."""
    low, high = kwargs.get("starting_difficulty", 0.2), kwargs.get("max_difficulty", 1.0)
    begin, end = kwargs.get("start_percent", 0.0) * total, kwargs["end_percent"] * total
    if step < begin:
        return low
    if step >= end:
        return high
    return low + (high - low) * seed_g(fn, (step - begin) / (end - begin))


def seed_config(folder: str, group: str, option: str) -> dict:
    return yaml.safe_load((FIXTURES / folder / group / f"{option}.yaml").read_text())


def steps_grid(total: int, marks=()) -> list[int]:
    grid = set(range(0, total + 1, max(1, total // 250)))
    for mark in marks:
        grid.update(s for s in (mark - 1, mark, mark + 1) if 0 <= s <= total)
    return sorted(grid)


def compiled(folder: str, **kwargs):
    result = import_climb(FIXTURES / folder, **kwargs)
    return result, curriculumc.loads(result.text, f"{folder}.cur", str(FIXTURES))


PACED = [
    ("ngram_root", "data_curriculum", "ngram_root", "data_fraction", 400000),
    ("self_ppl_linear", "data_curriculum", "self_ppl_linear", "data_fraction", 20000),
    ("self_ppl_linear", "vocabulary_curriculum", "token_ids_linear", "vocab_fraction", 20000),
    ("data_split", "data_curriculum", "spoken_first", "data_fraction", 10000),
    ("overlap", "data_curriculum", "ngram_quad_capped", "data_fraction", 20000),
]  # fmt: skip


@pytest.mark.parametrize(("folder", "group", "option", "schedule", "total"), PACED)
def test_pacing_equals_the_seed_formula(folder, group, option, schedule, total):
    config = seed_config(folder, group, option)
    _, plan = compiled(folder)
    kwargs = config["pacing_fn_kwargs"]
    marks = [round(kwargs.get("start_percent", 0) * total), round(kwargs["end_percent"] * total)]
    fraction = getattr(plan, schedule)
    for step in steps_grid(total, marks):
        expected = seed_fraction(step, total, config["pacing_fn_name"], kwargs)
        assert fraction(step) == pytest.approx(expected, abs=1e-9), step


@pytest.mark.parametrize("folder", ["ngram_root", "self_ppl_linear", "data_split", "overlap"])
def test_the_seeds_percentile_pool_is_ties_include(folder):
    """The seed keeps every example at or below np.percentile(scores, 100 p): ties included
    (base_difficulty_scorer.remove_scores_above_max_difficulty), for every scorer."""
    result, plan = compiled(folder)
    assert plan.pace.fn != "none" and plan.pace.ties == "include"
    (line,) = [x for x in result.text.splitlines() if x.startswith("pace ")]
    assert line.endswith(" ties include")
    assert "ties" not in "".join(x for x in result.text.splitlines() if x.startswith("vocab"))


def test_no_pacing_carries_no_tie_rule():
    result, plan = compiled("old_steps")  # data_curriculum: null
    assert plan.pace == Pace() and "ties" not in result.text


def active_units(steps: dict, step: int, total: int) -> dict[str, float]:
    """The seed's ObjectiveCurriculum.__getitem__: start <= step / total <= end."""
    return {
        ("climb_mlm" if u == "mlm" else u): 1.0
        for u, (a, b) in steps.items()
        if a <= step / total <= b
    }


def test_overlapping_ranges_become_during_statements():
    result, plan = compiled("overlap")
    steps = seed_config("overlap", "objective_curriculum", "mlm_pos_overlap")["steps"]
    assert "during 0%..100% climb_mlm\nduring 0%..50% pos_noun_verb" in result.text
    assert "unit pos_noun_verb = pos(noun, verb, mask=40%, mask_other=15%)" in result.text
    for step in steps_grid(19999, [10000]):  # training steps are 0 .. steps - 1
        assert plan.objectives(step) == active_units(steps, step, 20000), step
    # both ends included: step 10000 (t/T = 0.5) still trains pos_noun_verb
    assert plan.objectives(10000) == {"climb_mlm": 1.0, "pos_noun_verb": 1.0}
    assert plan.objectives(10001) == {"climb_mlm": 1.0}
    assert plan.unit("pos_noun_verb").kwargs == (("mask", 0.4), ("mask_other", 0.15))


def test_gaps_the_seed_refuses_are_refused():
    """The seed's _is_valid_curriculum refuses ranges that leave steps without an
    objective (and a config without a unit named mlm): so does the import."""
    with pytest.raises(CurriculumError) as info:
        import_climb(FIXTURES / "overlap" / "gaps.yaml")
    (d,) = info.value.diagnostics
    assert d.code == "E871" and "_is_valid_curriculum" in d.message
    assert d.span is not None and d.span.file.endswith("pos_then_mlm_gap.yaml")


def test_old_integer_steps_map_one_to_one():
    result, plan = compiled("old_steps")
    assert "at 0 climb_mlm, at 10000 pos_noun_verb, at 15000 climb_mlm + pos_noun_verb" in (
        result.text
    )
    assert plan.objectives(9999) == {"climb_mlm": 1.0}
    assert plan.objectives(10000) == {"pos_noun_verb": 1.0}
    assert plan.objectives(20000) == {"climb_mlm": 1.0, "pos_noun_verb": 1.0}
    assert plan.data_fraction(0) == 1.0 and plan.pace.fn == "none"  # data_curriculum: null


def test_scorers_and_settings_map():
    result, plan = compiled("ngram_root")
    assert plan.sort.terms[0].name == "ngram_ppl" and plan.sort.terms[0].kwargs == (("n", 3),)
    assert (plan.train.steps, plan.train.batch, plan.train.lr) == (400000, 32 * 4, 0.001)
    assert (plan.train.warmup, plan.train.seq, plan.train.seed) == (10000, 128, 42)
    assert plan.train.weight_decay == 0.0  # the HF Trainer's and the heads' AdamW
    assert plan.model.preset == "roberta-small" and plan.data.kind == "hub"
    assert plan.data.unit == "packed" and plan.evals[0].name == "blimp"
    assert "pace root from 20% after 10% over 40% ties include" in result.text
    result, plan = compiled("self_ppl_linear")
    assert plan.sort.terms[0].name == "model_ppl"
    # the seed scores with the model first at step `update`, all data uniformly before
    assert plan.sort.terms[0].kwargs == (("every", 5000), ("first", 5000))
    assert "sort by model_ppl(every=5000, first=5000)" in result.text
    _, plan = compiled("data_split")
    assert plan.sort.terms[0].name == "source"
    assert plan.sort.terms[0].args[:2] == ("aochildes", "bnc_spoken")
    _, plan = compiled("data_split", sources=["childes", "wiki"], data="train.jsonl")
    assert plan.sort.terms[0].args == ("childes", "wiki") and plan.data.kind == "path"


def test_what_is_not_carried_over_is_listed_in_the_spec():
    result = import_climb(FIXTURES / "overlap")
    carried = "\n".join(result.not_carried)
    assert "separate RobertaPreLayerNormLMHead" in carried
    assert "steps the units active at step t + 1" in carried
    assert "# not carried over:" in result.text
    for item in result.not_carried:
        assert f"#   - {item}" in result.text
    assert "optimizer_params" not in carried  # lr is carried: `lr`
    pos_vocab = import_climb(FIXTURES / "data_split")
    assert "by pos_tags" in pos_vocab.text
    both = import_climb(
        CONF, ["objective_curriculum=pos_nv_mlm", "vocabulary_curriculum=linear_pos_tags"]
    )
    assert any("rewrites POS class labels" in n for n in both.not_carried)
    assert any("spoken first" in a for a in pos_vocab.assumptions)
    notes = "\n".join(import_climb(FIXTURES / "self_ppl_linear").not_carried)
    assert "self_perplexity's initial 2-gram scoring: until step 5000 the seed" in notes
    assert "model_ppl draws from all data, uniformly, until step 5000" in notes


def test_errors_point_into_the_seed_files(tmp_path):
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(FIXTURES / "ngram_root", conf)
    text = (conf / "config.yaml").read_text().replace("  max_training_steps: 400000\n", "")
    assert "max_training_steps" not in text
    (conf / "config.yaml").write_text(text)
    scorer = conf / "data_curriculum" / "ngram_root.yaml"
    scorer.write_text(scorer.read_text().replace("ngram_perplexity", "bigram_magic"))
    with pytest.raises(CurriculumError) as info:
        import_climb(conf)
    codes = {d.code: d for d in info.value.diagnostics}
    assert codes["E863"].span.file.endswith("config.yaml")
    with_steps = text.replace("  lr: 0.001\n", "  lr: 0.001\n  max_training_steps: 1000\n")
    (conf / "config.yaml").write_text(with_steps)
    with pytest.raises(CurriculumError) as info:
        import_climb(conf)
    d = info.value.diagnostics[0]
    assert d.code == "E866" and d.span.file.endswith("ngram_root.yaml") and d.span.line == 1
    (conf / "config.yaml").write_text(
        text.replace("data_curriculum: ngram_root", "data_curriculum: nah")
    )
    with pytest.raises(CurriculumError) as info:
        import_climb(conf)
    d = info.value.diagnostics[0]
    assert d.code == "E862" and "ngram_root" in d.hint and d.span.line == 6


def test_yaml_and_defaults_problems_are_positioned_errors(tmp_path):
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(FIXTURES / "ngram_root", conf)
    model = conf / "model" / "roberta_pre_layer_norm.yaml"
    model.write_text("name: !!python/object:os.system x\n")
    with pytest.raises(CurriculumError) as info:
        import_climb(conf)
    (d,) = info.value.diagnostics
    assert d.code == "E171" and d.span.file == str(model) and d.span.line == 1
    model.write_text("defaults:\n  - /model: roberta_pre_layer_norm\n")  # includes itself
    with pytest.raises(CurriculumError) as info:
        import_climb(conf)
    (d,) = info.value.diagnostics
    assert d.code == "E861" and "includes itself" in d.message and d.span.line == 2


def test_the_spec_is_written_by_the_printer(tmp_path):
    result = import_climb(FIXTURES / "data_split", data='odd "name".jsonl')
    assert 'data "odd \\"name\\".jsonl" packed' in result.text
    spec = curriculumc.parse(result.text)
    printed = curriculumc.format_spec(spec).splitlines()
    assert printed[1] == 'data "odd \\"name\\".jsonl" packed'

    # every statement the importer writes prints back as written
    def statements(lines):  # the train line is written number first (`10000 steps`)
        return [x for x in lines if x and not x.startswith(("#", "train "))]

    assert statements(printed) == statements(result.text.splitlines())


def test_cli_writes_a_spec_that_validates(tmp_path, capsys):
    out = tmp_path / "overlap.cur"
    code = main(["import", "climb", str(FIXTURES / "overlap"), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert "not carried over:" in captured.err and "RobertaPreLayerNormLMHead" in captured.err
    plan = curriculumc.load(out)
    assert plan.phases[1].start == 10001  # pos_noun_verb [0, 0.5] includes step 10000
    assert main(["import", "climb", str(FIXTURES / "old_steps")]) == 0
    assert "at 0 climb_mlm, at 10000 pos_noun_verb" in capsys.readouterr().out


@pytest.mark.parametrize("folder", ["ngram_root", "self_ppl_linear", "data_split", "overlap"])
def test_the_seeds_curriculum_sampler_draws_with_replacement(folder):
    """The seed's CurriculumSampler draws each batch afresh (torch.multinomial per batch):
    with replacement across steps; without a data curriculum it uses the HF Trainer's
    shuffled epochs, curriculumc's default."""
    _, plan = compiled(folder)
    assert plan.train.sampling == "replacement"
    _, plain = compiled("old_steps")  # data_curriculum: null
    assert plain.train.sampling == "epochs"


def test_uniform_sampling_true_is_carried_and_false_is_reported():
    result, _ = compiled("self_ppl_linear")  # uniform_sampling: true, as the seed ships
    assert "uniform_sampling" not in result.text
    result, _ = compiled("ngram_root")  # not given: the seed weights draws by score
    (note,) = [n for n in result.not_carried if "uniform_sampling" in n]
    assert "proportional to its score" in note


# --- issue 12: the seed's own layout ---------------------------------------------------

#: the seed's data_split difficulty of each BabyLM source (lower is earlier), written out
#: from its ``difficulty_scorer/data_split.py`` tables, in the order the seed lists them
SEED_SPOKEN_FIRST = {
    "aochildes": 1, "bnc_spoken": 2, "switchboard": 2, "open_subtitles": 3, "qed": 3,
    "cbt": 4, "children_stories": 4, "simple_wikipedia": 5, "wikipedia": 6, "gutenberg": 6,
}  # fmt: skip
SEED_GRAMMATICAL_FIRST = {
    "cbt": 1, "children_stories": 1, "simple_wikipedia": 2, "wikipedia": 3, "gutenberg": 3,
    "open_subtitles": 4, "bnc_spoken": 5, "switchboard": 5, "qed": 6, "aochildes": 6,
}  # fmt: skip


def test_nested_unit_files_import_each_units_own_settings():
    """A seed unit file puts its settings under the unit's name; multitask_pos_nv_all_mlm
    lists mlm, pos_noun_verb and pos_all, each with its own tags and masking shares."""
    result, plan = compiled("multitask")
    units = {u.name: u for u in plan.units}
    assert set(units) == {"climb_mlm", "pos_noun_verb", "pos_all"}
    nv, every = units["pos_noun_verb"], units["pos_all"]
    assert nv.objective == "pos" and nv.args == ("NOUN", "VERB")
    assert dict(nv.kwargs) == {"mask": 0.4, "mask_other": 0.15}
    assert every.objective == "pos"
    assert set(every.args) == {
        "NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", "."
    }  # fmt: skip
    assert dict(every.kwargs) == {"mask": 0.3, "mask_other": 0.1}
    mlm = units["climb_mlm"]
    assert mlm.objective == "mlm"
    assert dict(mlm.kwargs) == {"mask": 0.15, "random": 0.1, "keep": 0.0}
    assert "unit pos_noun_verb = pos(noun, verb, mask=40%, mask_other=15%) lr" in result.text
    assert plan.objectives(0) == {"pos_noun_verb": 1.0}
    assert plan.objectives(1000) == {"pos_noun_verb": 1.0, "pos_all": 1.0}  # both ends in
    assert plan.objectives(1001) == {"pos_all": 1.0}
    assert plan.objectives(2000) == {"pos_all": 1.0, "climb_mlm": 1.0}
    # optimizer_params.lr (1e-3 read as a number, as OmegaConf reads it) -> the head's lr
    assert (mlm.lr, nv.lr, every.lr) == (0.001, 0.001, 0.0005)
    assert {u.head_warmup for u in units.values()} == {0.1}


def test_a_unit_file_without_the_units_name_is_refused(tmp_path):
    """The seed's unit files always had the unit's name on top; settings on top (a layout
    the seed never had) are refused, pointing at the file."""
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(FIXTURES / "multitask", conf)
    (conf / "objective_curriculum" / "units" / "pos_all.yaml").write_text(
        "optional_kwargs:\n  pos_tags: [NOUN]\n"
    )
    with pytest.raises(CurriculumError) as caught:
        import_climb(conf)
    (d,) = [d for d in caught.value.diagnostics if d.code == "E861"]
    assert "under the unit's name" in d.message
    assert d.span is not None and d.span.file.endswith("pos_all.yaml")


@pytest.mark.parametrize(
    "config, table",
    [("config.yaml", SEED_GRAMMATICAL_FIRST), ("spoken_first.yaml", SEED_SPOKEN_FIRST)],
)
def test_data_split_orders_the_sources_as_the_seeds_tables(config, table):
    result = import_climb(FIXTURES / "multitask" / config)
    plan = curriculumc.loads(result.text, "split.cur", str(FIXTURES))
    order = plan.sort.terms[0].args
    assert sorted(order) == sorted(table)
    # easiest first, equal difficulties in the seed's listed order
    assert list(order) == sorted(table, key=table.get)
    # the seed's equal difficulties cannot be written: said aloud
    (note,) = [n for n in result.not_carried if "equal difficulties" in n]
    assert "bnc_spoken = switchboard" in note and "wikipedia = gutenberg" in note


def test_batch_size_is_per_device(tmp_path, capsys):
    """The seed's trainer.batch_size is per device (32 across 4 GPUs: 128)."""
    result, plan = compiled("multitask")  # batch_size: 16
    assert plan.train.batch == 16 * 4
    (note,) = [a for a in result.assumptions if "per device" in a]
    assert "4 devices" in note and "--devices" in note
    assert f"#   - {note}" in result.text
    result, plan = compiled("multitask", devices=2)
    assert plan.train.batch == 32
    out = tmp_path / "one.cur"
    assert (
        main(["import", "climb", str(FIXTURES / "multitask"), "--devices", "1", "-o", str(out)])
        == 0
    )
    assert curriculumc.loads(out.read_text(), "one.cur", str(FIXTURES)).train.batch == 16
    with pytest.raises(CurriculumError):
        import_climb(FIXTURES / "multitask", devices=0)


def test_the_seeds_base_config_schema_entry_is_skipped():
    """The seed's config.yaml starts its defaults with `- base_config`, a Hydra
    ConfigStore schema registered in train.py (not a file): it imports."""
    text = (FIXTURES / "multitask" / "config.yaml").read_text()
    assert "  - base_config\n" in text
    result, plan = compiled("multitask")
    assert plan.train.steps > 0 and "base_config" not in result.text
