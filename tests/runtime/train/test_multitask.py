"""Several objectives in one step (issue 12): each reads its own corruption at its written
rates and split, one backbone forward per distinct input, per-unit head learning rates
(and a resumed run that continues them exactly)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from support.train_fixtures import (
    prepared,
    run_trainer,
    single_thread,  # noqa: F401 (fixture)
    tiny_plan,
)

from curriculumc import registry
from curriculumc.plan import Phase, Unit
from curriculumc.pos_tags import TAG_INDEX
from curriculumc.runtime.train.objectives import IGNORE, collate
from curriculumc.runtime.train.trainer import RunOptions, Trainer, lr_at

pytestmark = pytest.mark.usefixtures("single_thread")


def set_up(plan, folder, data=None):
    data = data or prepared()
    trainer = Trainer(
        plan, data, np.arange(len(data.corpus)), RunOptions(run_dir=folder, quiet=True)
    )
    trainer.setup()
    return trainer


def mlm_pos_plan(mlm_kwargs=(), steps=60, batch=256):
    units = (
        Unit("mlm", "mlm", kwargs=mlm_kwargs),
        Unit("pos_nv", "pos", args=("noun", "verb"), kwargs=(("mask", 0.4),)),
    )
    return tiny_plan(
        train=dict(steps=steps, batch=batch, warmup=1),
        units=units,
        phases=(Phase(0, (("mlm", 1.0), ("pos_nv", 1.0))),),
    )


@pytest.mark.parametrize(
    "mlm_kwargs, split",
    [((), (0.8, 0.1, 0.1)), ((("random", 0.1), ("keep", 0.0)), (0.9, 0.1, 0.0))],
    ids=["bert-80-10-10", "seed-90-10-0"],
)
def test_mlm_input_is_corrupted_at_its_own_rate_beside_pos(
    tmp_path, tagged_aochildes, mlm_kwargs, split
):
    """mlm + pos(noun, verb, mask=40%) on 60 global batches of 256 real AO-CHILDES
    utterances with their MOR tags (~60k text tokens): MLM's forward input has 15% +- 0.5
    points of its non-special positions chosen and corrupted -- exactly its own labels'
    positions, nothing of pos's -- split <mask>/random/kept as written; pos's own input has
    40% of NOUN/VERB tokens and 15% of the others. Measured: 14.94% chosen, 80.5/9.4/10.1
    and 89.9/10.1/0.0; pos 40.4% / 15.0%. (Plan v2 fed MLM the union: 35.9% here.)"""
    trainer = set_up(mlm_pos_plan(mlm_kwargs), tmp_path, tagged_aochildes)
    weights = trainer.objective_weights(0)
    totals = dict.fromkeys(
        (
            "text",
            "mlm",
            "mlm_changed_elsewhere",
            "masked",
            "random",
            "kept",
            "in_set",
            "in_set_chosen",
            "other",
            "other_chosen",
            "pos_changed_elsewhere",
        ),
        0,
    )
    union = 0
    try:
        for step in range(60):
            batch = collate(
                trainer.corpus, trainer.sampler.indices(step), seq=64, specials=trainer.specials
            )
            inputs, labels = trainer.step_inputs(step, batch, weights)
            text = ~batch.special
            chosen = labels["mlm"] != IGNORE
            fed = inputs["mlm"]
            changed = fed != batch.ids
            totals["text"] += int(text.sum())
            totals["mlm"] += int(chosen.sum())
            totals["mlm_changed_elsewhere"] += int((changed & ~chosen).sum())
            totals["masked"] += int((fed[chosen] == trainer.specials.mask).sum())
            totals["kept"] += int((fed[chosen] == batch.ids[chosen]).sum())
            totals["random"] += int(
                (changed[chosen] & (fed[chosen] != trainer.specials.mask)).sum()
            )
            pos_chosen = labels["pos_nv"] != IGNORE
            in_set = (batch.pos == TAG_INDEX["NOUN"]) | (batch.pos == TAG_INDEX["VERB"])
            totals["in_set"] += int((in_set & text).sum())
            totals["in_set_chosen"] += int((pos_chosen & in_set).sum())
            totals["other"] += int((~in_set & text).sum())
            totals["other_chosen"] += int((pos_chosen & ~in_set).sum())
            totals["pos_changed_elsewhere"] += int(
                ((inputs["pos_nv"] != batch.ids) & ~pos_chosen).sum()
            )
            union += int((chosen | pos_chosen).sum())
    finally:
        trainer.cleanup()
    assert totals["text"] > 50_000, totals
    share = totals["mlm"] / totals["text"]
    assert share == pytest.approx(0.15, abs=0.005), share
    assert totals["mlm_changed_elsewhere"] == 0  # nothing but its own positions
    assert totals["pos_changed_elsewhere"] == 0
    n = totals["mlm"]
    masked, random, kept = (totals[k] / n for k in ("masked", "random", "kept"))
    # a random draw of the original id counts as kept (1 in 1,000)
    assert masked == pytest.approx(split[0], abs=0.015), masked
    assert random == pytest.approx(split[1], abs=0.012), random
    assert kept == pytest.approx(split[2], abs=0.012), kept
    in_set = totals["in_set_chosen"] / totals["in_set"]
    other = totals["other_chosen"] / totals["other"]
    assert in_set == pytest.approx(0.40, abs=0.015), in_set
    assert other == pytest.approx(0.15, abs=0.008), other
    assert union / totals["text"] > 0.33  # what plan v2 fed to MLM


def forwards_per_step(plan, data=None, folder=None) -> list[int]:
    from curriculumc.runtime.train.models import backbone

    trainer = set_up(plan, folder, data)
    calls: list[int] = []
    hook = backbone(trainer.model).register_forward_hook(lambda *a: calls.append(trainer.step))
    try:
        trainer.train()
    finally:
        hook.remove()
        trainer.cleanup()
    return [calls.count(step) for step in range(plan.train.steps)]


def test_one_backbone_forward_per_distinct_input(tmp_path):
    """Forwards per step, counted on the backbone: mlm 1, mlm + pos 2, clm 1 -- what
    registry.forwards_per_step says (what explain shows) -- and two clm units, which
    read the same clean batch, share 1."""
    causal = tiny_plan(train=dict(steps=2, warmup=1), units=(), phases=())
    causal = replace(causal, model=replace(causal.model, preset="gpt-tiny", family="causal"))
    two_clm = replace(
        causal,
        units=(Unit("clm", "clm"), Unit("clm2", "clm")),
        phases=(Phase(0, (("clm", 1.0), ("clm2", 0.5))),),
    )
    cases = {
        "mlm": (tiny_plan(train=dict(steps=2, warmup=1)), ["mlm"]),
        "mlm+pos": (mlm_pos_plan(steps=2, batch=16), ["mlm", "pos"]),
        "clm": (causal, ["clm"]),
        "clm+clm": (two_clm, ["clm", "clm"]),
    }
    for name, (plan, objectives) in cases.items():
        counted = forwards_per_step(plan, folder=tmp_path / name)
        expected = registry.forwards_per_step(objectives)
        assert counted == [expected] * plan.train.steps, name
    assert [registry.forwards_per_step(o) for _, o in cases.values()] == [1, 2, 1, 1]


# --- per-unit head learning rates --------------------------------------------------------


def head_lr_plan(steps=10, **changes):
    return tiny_plan(
        train=dict(steps=steps, warmup=2, lr=1e-3),
        units=(
            Unit("mlm", "mlm", lr=5e-4, warmup=0.25),
            Unit("pos", "pos", args=("noun", "verb"), lr=2e-3),
        ),
        phases=(Phase(0, (("mlm", 1.0),)), Phase(4, (("mlm", 1.0), ("pos", 0.5)))),
        **changes,
    )


def test_each_units_head_has_its_own_learning_rate(tmp_path):
    """Units with lr: the optimizer holds the backbone's two groups plus, per unit, its
    head's (mlm: the LM head's dense, layer norm and bias -- not the tied embedding
    matrix, which trains with the backbone); at every step each group's lr is
    plan.head_lr(unit, step) or lr_at(step). At step 0 a head is at warm-up 0: its weights
    do not move while the backbone's do."""
    plan = head_lr_plan()
    trainer = set_up(plan, tmp_path / "groups")
    model = trainer.model
    try:
        groups = trainer.optimizer.param_groups
        by_unit: dict = {}
        for group in groups:
            by_unit.setdefault(group.get("unit"), []).extend(id(p) for p in group["params"])
        head = model.lm_head
        assert set(by_unit["mlm"]) == {
            id(p)
            for p in (
                head.dense.weight,
                head.dense.bias,
                head.layer_norm.weight,
                head.layer_norm.bias,
                head.bias,
            )
        }
        embedding = model.get_input_embeddings().weight
        assert head.decoder.weight is embedding and id(embedding) in by_unit[None]
        assert set(by_unit["pos"]) == {id(p) for p in trainer.heads["pos"].parameters()}
        every = [id(p) for g in groups for p in g["params"]]
        assert len(every) == len(set(every)) == len(list(trainer.module.parameters()))
        decay = {g.get("unit"): g["weight_decay"] for g in groups if g["weight_decay"]}
        assert decay == {None: 0.01, "mlm": 0.01, "pos": 0.01}

        dense = head.dense.weight.detach().clone()
        attention = model.roberta.encoder.layer[0].attention.self.query.weight.detach().clone()
        trainer.train_step(0, trainer.objective_weights(0))
        assert plan.head_lr("mlm", 0) == 0.0 and torch.equal(head.dense.weight, dense)
        assert not torch.equal(
            model.roberta.encoder.layer[0].attention.self.query.weight, attention
        )
    finally:
        trainer.cleanup()

    trainer = set_up(plan, tmp_path / "run")
    seen: list[list] = []
    step = trainer.optimizer.step

    def spy(*args, **kwargs):
        seen.append([(g.get("unit"), g["lr"]) for g in trainer.optimizer.param_groups])
        return step(*args, **kwargs)

    trainer.optimizer.step = spy
    try:
        trainer.train()
    finally:
        trainer.cleanup()
    assert len(seen) == 10
    for t, groups in enumerate(seen):
        for unit, lr in groups:
            expected = lr_at(t, plan.train) if unit is None else plan.head_lr(unit, t)
            assert lr == pytest.approx(expected, abs=1e-15), (t, unit)
    # mlm: 10 active steps, warm-up floor(0.25 x 10) = 2; pos: active 4..9, 6 steps,
    # warm-up floor(10% x 6) = 0 (idle before step 4: its head gets no gradient there)
    assert [plan.head_lr("mlm", t) for t in (0, 1, 2, 9)] == pytest.approx(
        [0.0, 2.5e-4, 5e-4, 5e-4 / 8]
    )
    assert [plan.head_lr("pos", t) for t in (0, 4, 5, 9)] == pytest.approx(
        [2e-3, 2e-3, 2e-3 * 5 / 6, 2e-3 / 6]
    )
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    logged = {r["step"]: r for r in records if "loss" in r}
    assert logged[3]["lr/mlm"] == pytest.approx(plan.head_lr("mlm", 2))
    assert logged[6]["lr/pos"] == pytest.approx(plan.head_lr("pos", 5))


def test_resumed_run_continues_the_head_schedules_exactly(tmp_path):
    """mlm + pos with their own head lrs, 8 steps with a checkpoint at 4: resumed from it,
    the run ends with the same weights, heads and optimizer learning rates, and logs the
    same losses and head lrs."""
    plan = head_lr_plan(steps=8, output=replace(tiny_plan().output, checkpoint_every=4))
    straight, _ = run_trainer(plan, tmp_path / "straight")
    resumed, _ = run_trainer(
        plan, tmp_path / "resumed", resume_from=tmp_path / "straight" / "checkpoints" / "step-4"
    )
    for a, b in zip(straight.module.state_dict().values(), resumed.module.state_dict().values()):
        assert torch.equal(a, b)
    assert [g["lr"] for g in straight.optimizer.param_groups] == [
        g["lr"] for g in resumed.optimizer.param_groups
    ]
    assert len(resumed.optimizer.param_groups) == 6

    def lines(folder):
        records = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines()]
        keep = ("loss", "loss/mlm", "loss/pos", "lr", "lr/mlm", "lr/pos")
        return {
            r["step"]: {k: r.get(k) for k in keep} for r in records if "loss" in r and r["step"] > 4
        }

    assert lines(tmp_path / "straight") == lines(tmp_path / "resumed")
