"""Issue 12, the language side: exact shares of training for pacing, the corruption split
(``random=``/``keep=``), a unit's head ``lr``/``warmup``, the vocabulary's order and rule
(``by ORDER``, ``inputs only``), the seed system's objective ranges (``during S%..E%``),
and the printer, YAML form and overrides for each."""

from __future__ import annotations

import random

import pytest

from curriculumc.errors import CurriculumError
from curriculumc.lang.compiler import compile_spec
from curriculumc.lang.overrides import apply_overrides
from curriculumc.lang.parser import parse
from curriculumc.lang.printer import format_spec
from curriculumc.lang.yaml_form import parse_yaml
from curriculumc.plan import Plan, VocabRule


def compiled(text: str, overrides=()) -> Plan:
    return compile_spec(apply_overrides(parse(text), list(overrides)))[0]


def warnings(text: str) -> list:
    return compile_spec(parse(text))[1]


def errors(text: str) -> list:
    with pytest.raises(CurriculumError) as exc:
        compile_spec(parse(text))
    return [d for d in exc.value.diagnostics if d.is_error]


def where(diagnostic) -> tuple:
    span = diagnostic.span
    return (
        diagnostic.code,
        span.line,
        span.column,
        span.source.split("\n")[span.line - 1][span.column - 1 : span.end_column - 1],
    )


# --- 1. exact shares of training for pacing ----------------------------------------------

SEED_PACE = "sort by random\npace log from 10% after 6.25% over 81.25%\n"


def test_pacing_shares_resolve_exactly_and_whole_results_stay_integers():
    plan = compiled("train 300 steps\n" + SEED_PACE)
    assert (plan.pace.after, plan.pace.over) == (18.75, 243.75)
    # the seed's step_end = e * T and num_steps = int(step_end - step_start)
    assert plan.pace.after + plan.pace.over == 0.875 * 300
    whole = compiled("train 400000 steps\n" + SEED_PACE).pace
    assert (whole.after, whole.over) == (25000, 325000)
    assert type(whole.after) is int and type(whole.over) is int
    # only 'over' a share: o * T
    assert (
        compiled("train 300 steps\nsort by random\npace log from 10% over 6.25%").pace.over == 18.75
    )
    # the same plan as written in steps (whole results hash alike)
    steps = compiled(
        "train 400000 steps\nsort by random\npace log from 10% after 25000 over 325000"
    )
    assert compiled("train 400000 steps\n" + SEED_PACE).hash == steps.hash


def test_phases_and_warmup_stay_whole_steps():
    plan = compiled("train 2005 steps, warmup 10%\nat 0 mlm, at 50% pos")
    assert plan.train.warmup == 200  # 200.5, half to even
    assert [p.start for p in plan.phases] == [0, 1002]  # 1002.5, half to even


def test_train_steps_override_rescales_an_exact_share_pace():
    plan = compiled("train 400000 steps\n" + SEED_PACE, ["train.steps=300"])
    assert (plan.pace.after, plan.pace.over) == (18.75, 243.75)
    vocab = compiled("train 20000 steps\nvocab linear from 10% after 6.25% over 81.25%",
                     ["train.steps=300"]).vocab  # fmt: skip
    assert (vocab.after, vocab.over) == (18.75, 243.75)


def test_a_share_too_small_for_a_step_is_an_error_at_its_token():
    (d,) = errors("train 10 steps\nsort by random\npace log from 10% over 5%")
    assert where(d) == ("E033", 3, 24, "5%")


# --- 2. the corruption split -------------------------------------------------------------


def test_random_and_keep_are_shares_and_zero_is_allowed():
    plan = compiled("at 0 mlm(mask=15%, random=10%, keep=0%) + pos(noun, verb, mask=40%, "
                    "random=10%, keep=10%)")  # fmt: skip
    kwargs = {u.objective: dict(u.kwargs) for u in plan.units}
    assert kwargs["mlm"] == {"mask": 0.15, "random": 0.1, "keep": 0.0}
    assert kwargs["pos"] == {"mask": 0.4, "random": 0.1, "keep": 0.1}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("at 0 mlm(random=60%, keep=50%)", ("E073", 1, 22, "keep=50%")),
        ("at 0 mlm(keep=50%, random=60%)", ("E073", 1, 20, "random=60%")),
        # a keyword left out counts its default (10%)
        ("unit u = pos(noun, random=95%)\nat 0 u", ("E073", 1, 20, "random=95%")),
        ("at 0 mlm(random=110%)", ("E031", 1, 17, "110%")),
        ("at 0 mlm(keep=-1%)", ("E031", 1, 15, "-1%")),
    ],
)
def test_a_split_over_100_percent_is_an_error_at_the_keyword(text, found):
    assert [where(d) for d in errors(text)] == [found]


# --- 3. a unit's head learning rate --------------------------------------------------------


def test_unit_lr_and_warmup_in_either_order():
    plan = compiled("unit a = pos(noun, verb, mask=40%) lr 1e-3 warmup 10%\n"
                    "unit b = mlm warmup 5% lr 2e-4\nunit c = mlm(mask=20%) lr 1e-4\n"
                    "at 0 a + b + c")  # fmt: skip
    heads = {u.name: (u.lr, u.warmup, u.head_warmup) for u in plan.units}
    assert heads == {"a": (1e-3, 0.1, 0.1), "b": (2e-4, 0.05, 0.05), "c": (1e-4, None, 0.1)}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("unit a = mlm warmup 10%\nat 0 a", ("E072", 1, 21, "10%")),
        ("unit a = mlm lr 0\nat 0 a", ("E033", 1, 17, "0")),
        ("unit a = mlm lr 1e-3 warmup 110%\nat 0 a", ("E031", 1, 29, "110%")),
    ],
)
def test_bad_head_settings_are_errors_at_the_token(text, found):
    assert [where(d) for d in errors(text)] == [found]


def test_a_repeated_head_setting_is_a_syntax_error():
    with pytest.raises(CurriculumError) as exc:
        parse("unit a = mlm lr 1e-3 lr 2e-3")
    assert exc.value.diagnostics[0].code == "E001"


# --- 4. the vocabulary's order and rule -------------------------------------------------


def test_vocab_order_and_inputs_only():
    base = "vocab linear from 10% after 6.25% over 81.25%"
    assert compiled(base).vocab_rule == VocabRule("token_ids", "inputs_and_labels")
    assert compiled(base + " by pos_tags").vocab_rule == VocabRule("pos_tags")
    rule = compiled(base + " by pos_tags_and_token_ids inputs only").vocab_rule
    assert rule == VocabRule("pos_tags_and_token_ids", "inputs")
    assert compiled(base + " inputs only").vocab_rule == VocabRule("token_ids", "inputs")


def test_bad_vocab_orders_are_errors_at_the_token():
    (d,) = errors("vocab linear from 10% over 100 by pos")
    assert where(d) == ("E022", 1, 35, "pos")
    assert "pos_tags" in d.hint
    (d,) = errors("vocab none by pos_tags")
    assert where(d) == ("E074", 1, 15, "pos_tags")
    (d,) = errors("vocab none inputs only")
    assert where(d) == ("E074", 1, 12, "inputs only")


def test_w004_says_what_the_code_does():
    w = warnings("vocab linear from 10% over 100\nat 0 mlm + pos")
    assert [d.code for d in w] == ["W004"]
    assert "keeps its POS tag" in w[0].message
    # the default rule hides tokens from MLM targets too: MLM alone is not warned
    assert warnings("vocab linear from 10% over 100\nat 0 mlm") == []
    w = warnings("vocab linear from 10% over 100 inputs only\nat 0 mlm")
    assert [where(d) for d in w] == [("W004", 1, 32, "inputs only")]
    assert "'mlm' still predicts it" in w[0].message
    assert [d.code for d in warnings("vocab linear from 10% over 100 inputs only\nat 0 mlm + pos")
            ] == ["W004", "W004"]  # fmt: skip


# --- 5. the seed system's objective ranges -----------------------------------------------

SEED_RANGES = """\
unit pos_nv = pos(noun, verb, mask=40%)
unit pos_all = pos
during 0%..6.25% pos_nv
during 6.25%..100% pos_all
during 12.5%..100% mlm
"""


def test_during_resolves_into_phases_at_every_change():
    plan = compiled("train 400000 steps\n" + SEED_RANGES)
    assert [(p.start, dict(p.objectives)) for p in plan.phases] == [
        (0, {"pos_nv": 1.0}),
        (25000, {"pos_nv": 1.0, "pos_all": 1.0}),
        (25001, {"pos_all": 1.0}),
        (50000, {"pos_all": 1.0, "mlm": 1.0}),
    ]
    assert [u.name for u in plan.units] == ["mlm", "pos_all", "pos_nv"]


def _oracle(ranges, steps: int, t: int) -> dict:
    """The seed's rule, evaluated directly: active while start <= t / T <= end."""
    return {name: w for lo, hi, name, w in ranges if lo <= t / steps <= hi}


def _percent(share: float) -> str:
    from curriculumc.lang.printer import percent_text

    return percent_text(share)


def test_during_matches_a_direct_oracle_at_every_step_of_small_runs():
    rng = random.Random(12)
    cuts = [0, 0.05, 0.0625, 0.1, 0.125, 1 / 3, 0.5, 0.7, 0.875, 1.0]
    checked = 0
    for _ in range(300):
        steps = rng.randint(1, 60)
        ranges = [(0.0, rng.choice(cuts[1:]), "a", 1.0)]  # something from step 0
        for name in ("b", "c"):
            lo, hi = sorted(rng.sample(cuts, 2))
            ranges.append((lo, hi, name, rng.choice([1.0, 0.5])))
        ranges.append((ranges[0][1], 1.0, "d", 1.0))  # the rest of training
        names = {"a": "mlm", "b": "pos(noun)", "c": "pos(verb)", "d": "pos"}
        text = f"train {steps} steps\n" + "".join(
            f"during {_percent(lo)}..{_percent(hi)} {'' if w == 1 else f'{w:g} '}{names[n]}\n"
            for lo, hi, n, w in ranges
        )
        try:
            plan = compiled(text)
        except CurriculumError as exc:  # a range with no step of its own at a tiny T
            assert {d.code for d in exc.diagnostics if d.is_error} <= {"E069"}, text
            continue
        for t in range(steps):
            expected = {names[n]: w for n, w in _oracle(ranges, steps, t).items()}
            assert plan.objectives(t) == expected, (text, t)
            checked += 1
    assert checked > 3000


def test_during_matches_the_oracle_at_400k_steps():
    plan = compiled("train 400000 steps\n" + SEED_RANGES)
    ranges = [(0.0, 0.0625, "pos_nv", 1.0), (0.0625, 1.0, "pos_all", 1.0),
              (0.125, 1.0, "mlm", 1.0)]  # fmt: skip
    probes = set(range(0, 400000, 1000))
    for edge in (25000, 50000):
        probes.update(range(edge - 3, edge + 4))
    probes.add(399999)
    for t in sorted(probes):
        assert plan.objectives(t) == _oracle(ranges, 400000, t), t


def test_during_with_a_weight_and_an_override_of_the_steps():
    plan = compiled("during 0%..50% mlm\nduring 50%..100% 0.5 pos", ["train.steps=300"])
    assert [(p.start, p.objectives) for p in plan.phases] == [
        (0, (("mlm", 1.0),)), (150, (("mlm", 1.0), ("pos", 0.5))), (151, (("pos", 0.5),)),
    ]  # fmt: skip


def test_a_one_step_phase_is_explained_as_one_step():
    from curriculumc.views.explain import explain

    text = explain(compiled("train 400000 steps\n" + SEED_RANGES))
    assert "steps 25,000–25,001 (1 step, 32 examples)" in text


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("at 0 mlm\nduring 0%..100% pos", ("E068", 2, 1, "during")),
        ("during 0%..100% pos\nat 0 mlm", ("E068", 2, 1, "at")),
        ("during 0%..40% mlm\nduring 50%..100% pos", ("E070", 1, 12, "40%")),
        ("during 10%..100% mlm", ("E070", 1, 8, "10%")),
        ("during 0%..100% mlm\nduring 50%..100% mlm", ("E071", 2, 18, "mlm")),
        ("during 60%..20% mlm", ("E069", 1, 13, "20%")),
        ("during 0%..100% mlm\nduring 100%..100% pos", ("E069", 2, 8, "100%")),
        ("during 0%..2000 mlm", ("E030", 1, 12, "2000")),
        ("during 0%..120% mlm", ("E031", 1, 12, "120%")),
        ("during 0%..100% nope", ("E013", 1, 17, "nope")),
    ],
)
def test_bad_during_is_an_error_at_the_token(text, found):
    assert [where(d) for d in errors(text)][:1] == [found]


def test_during_in_steps_is_a_syntax_error_with_the_form():
    with pytest.raises(CurriculumError) as exc:
        parse("during 0..5% mlm")
    (d,) = exc.value.diagnostics
    assert d.code == "E001" and "during 0%..50% OBJ" in d.message


# --- 7. printing, YAML ------------------------------------------------------------------

EVERYTHING = """\
train 300 steps
sort by ngram_ppl
pace log from 10% after 6.25% over 81.25% ties include
vocab linear from 10% after 6.25% over 81.25% by pos_tags inputs only
unit pos_nv = pos(noun, verb, mask=40%, mask_other=15%, random=10%, keep=0%) lr 1e-3
unit pos_all = pos(random=10%, keep=0%) warmup 10% lr 1e-3
unit lm = mlm(mask=15%, random=10%, keep=0%) lr 1e-4 warmup 5%
during 0%..6.25% pos_nv
during 6.25%..100% pos_all
during 12.5%..100% 0.5 lm
"""


def test_print_parse_compile_keeps_the_plan_hash():
    spec = parse(EVERYTHING)
    printed = format_spec(spec)
    assert "vocab linear from 10% after 6.25% over 81.25% by pos_tags inputs only" in printed
    assert "unit pos_all = pos(random=10%, keep=0%) lr 1e-3 warmup 10%" in printed
    assert "during 12.5%..100% 0.5 lm" in printed
    assert compile_spec(parse(printed))[0].hash == compile_spec(spec)[0].hash


def test_yaml_unit_head_settings_and_vocab_rule_match_the_dsl():
    yaml_text = """\
train: {steps: 300}
curriculum:
  units:
    pos_nv: {objective: pos, tags: [noun, verb], mask: 40%, lr: 1e-3, warmup: 10%}
  steps: {0: pos_nv}
  vocab:
    pacing_fn: linear
    pacing_fn_kwargs: {start_percent: 10%, num_steps: 81.25%, after_steps: 6.25%}
    order: pos_tags
    hides: inputs
"""
    dsl = """\
train 300 steps
unit pos_nv = pos(noun, verb, mask=40%) lr 1e-3 warmup 10%
at 0 pos_nv
vocab linear from 10% after 6.25% over 81.25% by pos_tags inputs only
"""
    from_yaml = compile_spec(parse_yaml(yaml_text))[0]
    assert from_yaml.hash == compiled(dsl).hash
    assert from_yaml.vocab_rule == VocabRule("pos_tags", "inputs")
    assert printed_hash(parse_yaml(yaml_text)) == from_yaml.hash


def printed_hash(spec) -> str:
    return compile_spec(parse(format_spec(spec)))[0].hash


def test_yaml_bad_vocab_order_is_a_schema_error_at_its_line():
    with pytest.raises(CurriculumError) as exc:
        parse_yaml("curriculum:\n  vocab: {pacing_fn: linear, order: pos}\n")
    (d,) = exc.value.diagnostics
    assert d.code == "E170" and d.span.line == 2


def test_an_exact_share_ramp_ends_at_the_seeds_step_end_on_whole_steps():
    """The seed: step_start = a * T, step_end = e * T, num_steps = int(step_end -
    step_start), a step shape jumping at step >= step_end. The plan's after + over must
    put every whole step on the same side, and floor(over) must be num_steps."""
    import math
    from decimal import Decimal

    rng = random.Random(5)
    for _ in range(400):
        a = Decimal(rng.randint(0, 9999)) / 100
        o = Decimal(rng.randint(1, 10000 - int(a * 100))) / 100
        steps = rng.choice([300, 1000, 400000, rng.randint(1, 10**6)])
        text = f"train {steps} steps\nsort by random\npace step from 10% after {a}% over {o}%"
        try:
            pace = compiled(text).pace
        except CurriculumError:  # a ramp shorter than one step
            continue
        start, end = float(a / 100) * steps, float((a + o) / 100) * steps
        assert pace.after == start
        assert math.floor(pace.over) == int(end - start)
        assert math.ceil(pace.after + pace.over) == math.ceil(end)
        for t in (math.floor(end) - 1, math.floor(end), math.ceil(end)):
            assert (pace.fraction(t) == 1.0) == (t >= end), (text, t)
