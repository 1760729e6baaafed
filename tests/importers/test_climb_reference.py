"""import climb against a re-implementation of the seed's schedules (issue 12).

The reference below is written from CLIMB's source (codebyzeb/CLIMB), independently of
curriculumc's pacing and plan code: ``get_pacing_fn`` in its own step units
(``src/data_curriculum/pacing_fn.py``: float ``step_start = start_percent * T``,
``num_steps = int(step_end - step_start)``, 'step' at ``step_end``), objective activity
(``ObjectiveCurriculum.__getitem__``: ``start <= t / T <= end``), and the vocabulary maps'
thresholds (``vocabulary_map/token_id_map.py``, ``pos_map.py``: ``id <= f * V``,
``tag <= f * 11``, ``id + tag * V <= f * 11 * V``). The fixture tree ``conf/`` is read here
with plain ``yaml`` -- not the importer's reader -- for the expected values.
"""

from __future__ import annotations

import itertools
import re
import time

import pytest
import yaml
from support.paths import TESTS
from support.seed_oracles import seed_pacing_fn

import curriculumc
from curriculumc.errors import CurriculumError
from curriculumc.importers.climb import import_climb
from curriculumc.pos_tags import visible_tags
from curriculumc.views.explain import explain

CONF = TESTS / "fixtures" / "climb" / "conf"
#: the seed's src/utils/data.py POS_TAG_MAP, written out
SEED_POS_TAG_MAP = {
    "NOUN": 0, "VERB": 1, "ADJ": 2, "ADV": 3, "PRON": 4, "DET": 5, "ADP": 6, "NUM": 7,
    "CONJ": 8, "PRT": 9, ".": 10, "X": 11,
}  # fmt: skip
MAX_POS_TAG = max(SEED_POS_TAG_MAP.values())


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def read(group: str, option: str) -> dict:
    """A fixture file as the seed's OmegaConf reads it (1e-3 is a float there)."""
    text = (CONF / group / f"{option}.yaml").read_text()
    data = yaml.safe_load(text)

    def numbers(value):
        if isinstance(value, dict):
            return {k: numbers(v) for k, v in value.items()}
        if isinstance(value, list):
            return [numbers(v) for v in value]
        if isinstance(value, str) and re.fullmatch(r"[-+]?\d+[eE][-+]?\d+", value):
            return float(value)
        return value

    return numbers(data)


# --- the seed's schedules ----------------------------------------------------------------


def seed_active_units(steps: dict, step: int, max_steps: int) -> set[str]:
    share = step / max_steps
    return {u for u, (a, b) in steps.items() if a <= share <= b}


def seed_units(option: str) -> dict[str, dict]:
    """The units an objective option lists, from the nested unit files."""
    config = read("objective_curriculum", option)
    listed = config["defaults"][0]["units"]
    return {u: read("objective_curriculum/units", u)[u] for u in listed}


def ours(unit: str) -> str:
    return "climb_mlm" if unit == "mlm" else unit


def pacing_of(group: str, option: str, total: int):
    config = read(group, option)
    return seed_pacing_fn(config["pacing_fn_name"], total, **config["pacing_fn_kwargs"])


def plan_of(*overrides: str, devices=None):
    result = import_climb(CONF, list(overrides), devices=devices)
    return result, curriculumc.loads(result.text, "climb.cur", str(CONF))


def grid(total: int) -> range:
    return range(0, total + 1, 1000) if total >= 100_000 else range(0, total + 1)


# --- (a) schedules at every 1,000th step of 400k, and at every step of 300 -------------


@pytest.mark.parametrize("total", [400_000, 300])
@pytest.mark.parametrize("option", options("data_curriculum"))
def test_data_pool_equals_the_seeds_pacing(option, total):
    overrides = [f"data_curriculum={option}"]
    if total != 400_000:
        overrides.append(f"trainer.max_training_steps={total}")
    _, plan = plan_of(*overrides)
    seed = pacing_of("data_curriculum", option, total)
    worst = max(abs(plan.data_fraction(t) - seed(t)) for t in grid(total))
    assert worst < 1e-9
    assert plan.pace.ties == "include" and plan.train.sampling == "replacement"


@pytest.mark.parametrize("total", [400_000, 300])
@pytest.mark.parametrize("option", options("vocabulary_curriculum"))
def test_vocabulary_thresholds_equal_the_seeds_maps(option, total):
    overrides = [f"vocabulary_curriculum={option}"]
    if total != 400_000:
        overrides.append(f"trainer.max_training_steps={total}")
    _, plan = plan_of(*overrides)
    config = read("vocabulary_curriculum", option)
    name = config["vocabulary_curriculum_name"]
    seed = pacing_of("vocabulary_curriculum", option, total)
    vocab = plan.tokenizer.vocab_size
    assert vocab == 8192
    assert plan.vocab_rule.order == name and plan.vocab_rule.hides == "inputs_and_labels"
    for t in grid(total):
        f_seed, f_plan = seed(t), plan.vocab_fraction(t)
        assert abs(f_plan - f_seed) < 1e-9, t
        if name == "token_ids":  # visible: id <= f * V
            threshold_seed, threshold_plan = f_seed * vocab, f_plan * vocab
        elif name == "pos_tags":  # visible: tag <= f * 11
            threshold_seed, threshold_plan = f_seed * MAX_POS_TAG, f_plan * MAX_POS_TAG
            seed_tags = tuple(t for t, r in SEED_POS_TAG_MAP.items() if r <= threshold_seed)
            assert visible_tags(f_plan) == seed_tags, t
        else:  # visible: id + tag * V <= f * 11 * V
            threshold_seed = f_seed * MAX_POS_TAG * vocab
            threshold_plan = f_plan * MAX_POS_TAG * vocab
        assert abs(threshold_plan - threshold_seed) < 1e-9 * max(1.0, threshold_seed), t


@pytest.mark.parametrize("total", [400_000, 300])
@pytest.mark.parametrize("option", options("objective_curriculum"))
def test_objectives_equal_the_seeds_ranges(option, total):
    overrides = [f"objective_curriculum={option}"]
    if total != 400_000:
        overrides.append(f"trainer.max_training_steps={total}")
    _, plan = plan_of(*overrides)
    steps = read("objective_curriculum", option)["steps"]
    for t in range(total) if total < 100_000 else range(0, total, 1000):
        expected = {ours(u): 1.0 for u in seed_active_units(steps, t, total)}
        assert plan.objectives(t) == expected, t
    # every range boundary, on both sides, at the full length
    if total == 400_000:
        for a, b in steps.values():
            for t in {round(a * total) - 1, round(a * total), round(b * total),
                      round(b * total) + 1} & set(range(total)):  # fmt: skip
                expected = {ours(u): 1.0 for u in seed_active_units(steps, t, total)}
                assert plan.objectives(t) == expected, t


def test_overrides_rescale_shares_and_the_issues_case():
    """log at 300 steps: 0.385 at step 19 (the seed's 18.75-step start), not 0.100."""
    _, plan = plan_of("+data_curriculum=log_ngram", "trainer.max_training_steps=300")
    assert plan.train.steps == 300
    assert plan.data_fraction(19) == pytest.approx(0.38474, abs=1e-5)
    assert plan.pace.after == 18.75 and plan.pace.after + plan.pace.over == 262.5


# --- (b) every combination of data x objective x vocabulary -----------------------------


def test_every_combination_imports_validates_and_explains():
    data = [None, *options("data_curriculum")]
    objectives = options("objective_curriculum")
    vocabularies = [None, *options("vocabulary_curriculum")]
    began = time.perf_counter()
    count = 0
    for d, o, v in itertools.product(data, objectives, vocabularies):
        overrides = [f"objective_curriculum={o}"]
        overrides += [f"data_curriculum={d}"] if d else []
        overrides += [f"vocabulary_curriculum={v}"] if v else []
        result = import_climb(CONF, overrides)
        plan, warnings = curriculumc.loads_with_warnings(result.text, "c.cur", str(CONF))
        assert not [w for w in warnings if w.is_error], (d, o, v)
        assert explain(plan).strip(), (d, o, v)
        count += 1
    elapsed = time.perf_counter() - began
    assert count == len(data) * len(objectives) * len(vocabularies) == 15 * 9 * 7
    print(f"{count} combinations in {elapsed:.1f} s")


# --- (c) units, tags, masking, pool and vocabulary equal the seed's ---------------------


@pytest.mark.parametrize("option", options("objective_curriculum"))
def test_units_tags_and_masking_equal_the_seeds(option):
    _, plan = plan_of(f"objective_curriculum={option}")
    expected = seed_units(option)
    assert {u.name for u in plan.units} == {ours(u) for u in expected}
    for name, settings in expected.items():
        unit = plan.unit(ours(name))
        optional = settings["optional_kwargs"]
        assert unit.lr == settings["optimizer_params"]["lr"]
        assert unit.head_warmup == 0.1  # task_num_steps // 10
        kwargs = dict(unit.kwargs)
        if "pos" in name:  # the seed's POS collator: 80% <mask>, 10% random, 10% kept
            assert unit.objective == "pos"
            # the same tags (the compiler keeps them in universal order: the classes are
            # numbered differently, which changes nothing the head learns)
            assert sorted(unit.args) == sorted(optional["pos_tags"])
            assert kwargs["mask"] == optional["mask_probability_pos"]
            assert kwargs["mask_other"] == optional["mask_probability_other"]
            assert kwargs.get("random", 0.1) == 0.1 and kwargs.get("keep", 0.1) == 0.1
        else:  # 0.9 - u <mask>, 10% random, u kept (units/mlm.py)
            u = optional["unmask_probability"]
            assert unit.objective == "mlm" and kwargs["mask"] == optional["mask_probability"]
            assert kwargs["random"] == 0.1 and kwargs["keep"] == u
            assert 1 - kwargs["random"] - kwargs["keep"] == pytest.approx(0.9 - u)


@pytest.mark.parametrize("option", options("data_curriculum"))
def test_pool_settings_equal_the_seeds(option):
    _, plan = plan_of(f"data_curriculum={option}")
    config = read("data_curriculum", option)
    kwargs = config["difficulty_scorer_kwargs"]
    (term,) = plan.sort.terms
    name = config["difficulty_scorer_name"]
    if name == "ngram_perplexity":
        assert term.name == "ngram_ppl" and dict(term.kwargs) == {"n": kwargs["n_gram"]}
    elif name == "self_perplexity":
        update = kwargs["update"]
        assert term.name == "model_ppl"
        assert dict(term.kwargs) == {"every": update, "first": update}
    else:
        table = (
            ["aochildes", "bnc_spoken", "switchboard", "open_subtitles", "qed", "cbt",
             "children_stories", "simple_wikipedia", "wikipedia", "gutenberg"]
            if kwargs["spoken_first"]
            else ["cbt", "children_stories", "simple_wikipedia", "wikipedia", "gutenberg",
                  "open_subtitles", "bnc_spoken", "switchboard", "qed", "aochildes"]
        )  # fmt: skip
        assert term.name == "source" and list(term.args) == table
    pacing = {"starting_difficulty": 0.2, "max_difficulty": 1.0, **config["pacing_fn_kwargs"]}
    assert plan.pace.fn == config["pacing_fn_name"]
    assert (plan.pace.start, plan.pace.end) == (
        pacing["starting_difficulty"],
        pacing["max_difficulty"],
    )


# --- the configuration around the curriculum ---------------------------------------------


def test_the_default_config_maps_as_the_seed_trains():
    result, plan = plan_of()
    assert plan.model.preset == "roberta-small"
    assert (plan.train.steps, plan.train.batch, plan.train.warmup) == (400_000, 128, 100_000)
    assert (plan.train.lr, plan.train.seq, plan.train.seed) == (1e-3, 128, 42)
    assert plan.data.unit == "packed" and plan.data.source == "cambridge-climb/BabyLM"
    assert plan.tokenizer.vocab_size == 8192
    evals = {e.name: e.every for e in plan.evals}
    assert evals == {"blimp": 50_000, "ppl": 50_000}  # max_training_steps // 8
    assert plan.output.checkpoint_every == 50_000 and plan.output.log_every == 400
    assert plan.objectives(0) == {"climb_mlm": 1.0} and plan.sort is None


def test_models_map_to_presets_or_say_which_is_used():
    _, plan = plan_of("model=roberta_pln_small")
    assert plan.model.preset == "roberta-small"
    for option in ("roberta_pln_medium", "roberta_pln_large"):
        result, plan = plan_of(f"model={option}")
        (note,) = [n for n in result.not_carried if "no preset" in n]
        assert plan.model.preset in note and "not comparable" in note
    with pytest.raises(CurriculumError) as info:  # its vocab_size 50265 vs cbt_8192
        plan_of("model=roberta_babylm-baseline")
    assert "tokenizer.vocab_size == model.config.vocab_size" in info.value.diagnostics[0].message
    result, plan = plan_of(
        "model=roberta_babylm-baseline", "tokenizer=roberta_babylm-baseline_50265"
    )
    assert plan.tokenizer.vocab_size == 50265
    assert any("post-layer-norm" in n for n in result.not_carried)


def test_tokenizers_need_the_models_vocabulary_size_as_in_the_seed():
    with pytest.raises(CurriculumError):
        plan_of("tokenizer=cbt_16384")
    _, plan = plan_of("tokenizer=cbt_16384", "model.model_kwargs.vocab_size=16384")
    assert plan.tokenizer.vocab_size == 16384


def test_override_errors_point_into_the_overrides():
    with pytest.raises(CurriculumError) as info:
        import_climb(CONF, ["data_curriculum=nah"])
    (d,) = info.value.diagnostics
    assert d.code == "E862" and d.span.file == "<overrides>" and "log_ngram" in d.hint
    with pytest.raises(CurriculumError) as info:
        import_climb(CONF, ["trainer.max_trainig_steps=3"])
    (d,) = info.value.diagnostics
    assert d.code == "E861" and "max_training_steps" in d.hint
    result = import_climb(CONF, ["+trainer.new_key=1"])
    assert any("trainer.new_key" in n for n in result.not_carried)
    with pytest.raises(CurriculumError):
        import_climb(CONF, ["novalue"])


def test_group_null_and_dry_run():
    multitask = TESTS / "fixtures" / "climb" / "multitask"  # lists a data_curriculum
    result = import_climb(multitask, ["data_curriculum=null"])
    plan = curriculumc.loads(result.text, "c.cur", str(multitask))
    assert plan.sort is None and plan.pace.fn == "none" and plan.train.sampling == "epochs"
    result, plan = plan_of("+experiment.dry_run=true", "data_curriculum=log_perplexity")
    assert (plan.train.steps, plan.train.warmup) == (100, 10)
    assert dict(plan.sort.terms[0].kwargs) == {"every": 75, "first": 75}
    assert any("subsampling" in n for n in result.not_carried)


def test_pacing_without_start_percent_stops_as_the_seed_does(tmp_path):
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    file = conf / "data_curriculum" / "root_ngram.yaml"
    file.write_text(file.read_text().replace("start_percent: 0, ", ""))
    with pytest.raises(CurriculumError) as info:
        import_climb(conf, ["data_curriculum=root_ngram"])
    (d,) = info.value.diagnostics
    assert d.code == "E864" and "start_percent is missing" in d.message
    assert d.span.file.endswith("root_ngram.yaml")
