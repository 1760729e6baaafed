"""Objectives: masking statistics and determinism, the corruption split, the masked-only
projection, the pos head, one forward per distinct input, the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.references import full_projection_loss_sum
from support.train_fixtures import corpus, tokenizer

from curriculumc.errors import CurriculumError
from curriculumc.plan import Unit
from curriculumc.pos_tags import TAG_INDEX
from curriculumc.runtime.train import objectives as obj
from curriculumc.runtime.train.models import (
    SpecialIds,
    backbone,
    build_model,
    lm_head,
    model_config,
)
from curriculumc.runtime.train.objectives.mlm import projected_loss_sum


@pytest.fixture(scope="module")
def specials():
    return SpecialIds.from_tokenizer(tokenizer())


@pytest.fixture(scope="module")
def big_batch(specials):
    data = corpus()
    return obj.collate(data, np.arange(1500), seq=64, specials=specials)


@pytest.fixture(scope="module")
def tiny_model(specials):
    torch.manual_seed(0)
    config = model_config(
        "roberta-tiny", family="masked", vocab_size=len(tokenizer()), seq=64, specials=specials
    )
    return build_model(config, "masked").eval(), config


def context(specials, config, family="masked"):
    return obj.ObjectiveContext(
        family=family,
        vocab_size=len(tokenizer()),
        hidden_size=128,
        specials=specials,
        config=config,
    )


def test_collate_wraps_and_pads(specials):
    data = corpus()
    batch = obj.collate(data, np.array([0, 1, 2]), seq=64, specials=specials)
    lengths = [len(data.example(i)) for i in range(3)]
    assert batch.ids.shape == (3, max(lengths) + 2)
    for row, n in enumerate(lengths):
        assert batch.ids[row, 0] == specials.bos
        assert batch.ids[row, n + 1] == specials.eos
        assert batch.ids[row, 1 : n + 1].tolist() == data.example(row).tolist()
        assert (batch.ids[row, n + 2 :] == specials.pad).all()
        assert batch.attention_mask[row].sum() == n + 2
    assert batch.special[:, 0].all() and not batch.special[0, 1]
    assert batch.pos[0, 0] == 255 and batch.pos[0, 1] == data.pos[0]


def test_collate_truncates_to_seq(specials):
    data = corpus()
    longest = int(np.argmax(data.lengths()))
    batch = obj.collate(data, np.array([longest]), seq=6, specials=specials)
    assert batch.ids.shape == (1, 6) and batch.ids[0, -1] == specials.eos


def test_mlm_masking_statistics(big_batch, specials, tiny_model):
    mlm = obj.factory("mlm")(Unit("mlm", "mlm"), context(specials, tiny_model[1]))
    targets = mlm.targets(big_batch, obj.step_generator(1, 5, "objective:mlm"))
    chosen = targets.corrupt
    candidates = ~big_batch.special
    assert not (chosen & big_batch.special).any()  # specials (and padding) never chosen
    share = chosen.sum().item() / candidates.sum().item()
    assert 0.14 < share < 0.16, share
    assert torch.equal(targets.labels[chosen], big_batch.ids[chosen])
    assert (targets.labels[~chosen] == obj.IGNORE).all()

    inputs = obj.corrupt(
        big_batch.ids,
        chosen,
        obj.step_generator(1, 5, "corrupt"),
        mask_id=specials.mask,
        vocab_size=len(tokenizer()),
    )
    assert torch.equal(inputs[~chosen], big_batch.ids[~chosen])
    n = chosen.sum().item()
    masked = (inputs[chosen] == specials.mask).sum().item() / n
    unchanged = (inputs[chosen] == big_batch.ids[chosen]).sum().item() / n
    assert 0.77 < masked < 0.83, masked
    assert 0.07 < unchanged < 0.13, unchanged  # 10% kept (+ random draws of the same id)
    assert 0.07 < 1 - masked - unchanged < 0.13


def test_mlm_masking_is_a_pure_function_of_seed_and_step(big_batch, specials, tiny_model):
    mlm = obj.factory("mlm")(
        Unit("mlm", "mlm", kwargs=(("mask", 0.3),)), context(specials, tiny_model[1])
    )
    first = mlm.targets(big_batch, obj.step_generator(1, 5, "objective:mlm")).corrupt
    again = mlm.targets(big_batch, obj.step_generator(1, 5, "objective:mlm")).corrupt
    other_step = mlm.targets(big_batch, obj.step_generator(1, 6, "objective:mlm")).corrupt
    other_seed = mlm.targets(big_batch, obj.step_generator(2, 5, "objective:mlm")).corrupt
    assert torch.equal(first, again)
    assert not torch.equal(first, other_step) and not torch.equal(first, other_seed)
    assert 0.28 < first.sum().item() / (~big_batch.special).sum().item() < 0.32


def test_masked_only_projection_equals_full_projection(big_batch, specials, tiny_model):
    model, config = tiny_model
    rows = obj.collate(corpus(), np.arange(64), seq=64, specials=specials)
    mlm = obj.factory("mlm")(Unit("mlm", "mlm"), context(specials, config))
    labels = mlm.targets(rows, obj.step_generator(0, 0, "m")).labels
    with torch.no_grad():
        hidden = backbone(model)(input_ids=rows.ids, attention_mask=rows.attention_mask)[0]
        fast = projected_loss_sum(lm_head(model), hidden, labels)
        full = full_projection_loss_sum(lm_head(model), hidden, labels)
        reference = model(input_ids=rows.ids, attention_mask=rows.attention_mask, labels=labels)
    n = (labels != obj.IGNORE).sum()
    assert torch.allclose(fast, full, rtol=1e-5, atol=1e-5)
    assert torch.allclose(fast / n, reference.loss, rtol=1e-5, atol=1e-5)


def test_clm_targets_are_the_next_tokens(specials):
    from curriculumc.runtime.train.models import build_model

    config = model_config("gpt-tiny", family="causal", vocab_size=1000, seq=64, specials=specials)
    clm = obj.factory("clm")(Unit("clm", "clm"), context(specials, config, "causal"))
    batch = obj.collate(corpus(), np.array([0, 1]), seq=64, specials=specials)
    labels = clm.targets(batch, obj.step_generator(0, 0, "c")).labels
    n = int(batch.attention_mask[0].sum())
    assert labels[0, : n - 1].tolist() == batch.ids[0, 1:n].tolist()
    assert (labels[0, n - 1 :] == obj.IGNORE).all()
    torch.manual_seed(0)
    model = build_model(config, "causal").eval()
    with torch.no_grad():
        hidden = backbone(model)(input_ids=batch.ids, attention_mask=batch.attention_mask)[0]
        ours = clm.loss_sum(model, hidden, labels) / (labels != obj.IGNORE).sum()
        hf_labels = torch.where(batch.attention_mask.bool(), batch.ids, obj.IGNORE)
        theirs = model(input_ids=batch.ids, attention_mask=batch.attention_mask, labels=hf_labels)
    assert torch.allclose(ours, theirs.loss, atol=1e-5)


def test_pos_restricted_tags(big_batch, specials, tiny_model):
    unit = Unit("pos_nv", "pos", args=("noun", "VERB"), kwargs=(("mask_other", 0.1),))
    pos = obj.factory("pos")(unit, context(specials, tiny_model[1]))
    assert pos.classes == ("other", "NOUN", "VERB")
    assert pos.mask == 0.4 and pos.mask_other == 0.1
    assert pos.head[-1].out_features == 3
    targets = pos.targets(big_batch, obj.step_generator(3, 1, "objective:pos_nv"))
    chosen = targets.corrupt
    assert not (chosen & big_batch.special).any()
    in_set = (big_batch.pos == TAG_INDEX["NOUN"]) | (big_batch.pos == TAG_INDEX["VERB"])
    candidates = ~big_batch.special
    share_in = (chosen & in_set).sum().item() / (in_set & candidates).sum().item()
    share_out = (chosen & ~in_set).sum().item() / (~in_set & candidates).sum().item()
    assert 0.36 < share_in < 0.44, share_in
    assert 0.085 < share_out < 0.115, share_out
    labels = targets.labels
    assert (labels[chosen & (big_batch.pos == TAG_INDEX["NOUN"])] == 1).all()
    assert (labels[chosen & (big_batch.pos == TAG_INDEX["VERB"])] == 2).all()
    assert (labels[chosen & ~in_set] == 0).all()
    assert (labels[~chosen] == obj.IGNORE).all()


def test_pos_rejects_unknown_tags_and_causal_models(specials, tiny_model):
    with pytest.raises(CurriculumError) as err:
        obj.factory("pos")(Unit("p", "pos", args=("nouns",)), context(specials, tiny_model[1]))
    assert err.value.diagnostics[0].code == "E416"
    with pytest.raises(CurriculumError) as err:
        obj.factory("pos")(Unit("p", "pos"), context(specials, tiny_model[1], "causal"))
    assert err.value.diagnostics[0].code == "E413"
    with pytest.raises(CurriculumError) as err:
        obj.factory("mlm")(
            Unit("m", "mlm", kwargs=(("mask", 1.5),)), context(specials, tiny_model[1])
        )
    assert err.value.diagnostics[0].code == "E411"


def test_each_distinct_input_gets_its_own_forward(specials, tiny_model):
    """mlm + 0.5 pos, each on its own corruption: two backbone forwards in one module
    call, each loss what its head gives on ITS input's states; total = the weighted sum.
    Two objectives with identical inputs share one forward."""
    from curriculumc.runtime.train.trainer import _curriculum_model, input_groups

    model, config = tiny_model
    units = (Unit("mlm", "mlm"), Unit("pos", "pos", args=("noun", "verb")))
    objectives = obj.build_objectives(units, context(specials, config))
    module = _curriculum_model(model, objectives)
    batch = obj.collate(corpus(), np.arange(32), seq=64, specials=specials)
    targets = {n: o.targets(batch, obj.step_generator(0, 0, n)) for n, o in objectives.items()}
    inputs = {
        n: obj.corrupt(
            batch.ids,
            t.corrupt,
            obj.step_generator(0, 0, f"corrupt:{n}"),
            mask_id=specials.mask,
            vocab_size=1000,
        )
        for n, t in targets.items()
    }
    assert not torch.equal(inputs["mlm"], inputs["pos"])
    labels = {n: t.labels for n, t in targets.items()}
    calls = []
    hook = backbone(model).register_forward_hook(lambda *a: calls.append(1))
    try:
        groups = input_groups(inputs)
        total, sums = module(
            groups=groups,
            attention_mask=batch.attention_mask,
            labels=labels,
            scales={"mlm": 1.0, "pos": 0.5},
        )
        assert len(groups) == len(calls) == 2
        shared = input_groups({"mlm": inputs["mlm"], "pos": inputs["mlm"].clone()})
        assert [names for _, names in shared] == [("mlm", "pos")]
        calls.clear()
        module(
            groups=shared,
            attention_mask=batch.attention_mask,
            labels=labels,
            scales={"mlm": 1.0, "pos": 0.5},
        )
        assert len(calls) == 1
    finally:
        hook.remove()
    assert torch.allclose(total, sums["mlm"] + 0.5 * sums["pos"])
    with torch.no_grad():  # each loss is its own head on its own input's forward
        for name, head in (("mlm", lm_head(model)), ("pos", objectives["pos"].head)):
            hidden = backbone(model)(input_ids=inputs[name], attention_mask=batch.attention_mask)
            alone = projected_loss_sum(head, hidden[0], labels[name])
            assert torch.allclose(sums[name], alone, atol=1e-4), name
    total.backward()
    assert objectives["pos"].head[0].weight.grad is not None
    model.zero_grad(set_to_none=True)


def test_corruption_split_is_as_written_and_checked(big_batch, specials, tiny_model):
    """corrupt(random=r, keep=k): of the chosen tokens 1-r-k become <mask>, r a random
    token, k stay (measured on 1,500 utterances); the factories take random=/keep= and
    refuse shares outside [0, 1] or summing over 1 (E411)."""
    chosen = ~big_batch.special  # every text token of 1,500 utterances
    n = chosen.sum().item()
    assert n > 5000, n
    tol = 4 * (0.25 / n) ** 0.5  # 4 binomial standard deviations at most
    for random, keep in ((0.1, 0.0), (0.1, 0.1), (0.0, 0.3), (0.5, 0.5)):
        out = obj.corrupt(
            big_batch.ids,
            chosen,
            obj.step_generator(0, 1, "c"),
            mask_id=specials.mask,
            vocab_size=1000,
            random=random,
            keep=keep,
        )
        assert torch.equal(out[~chosen], big_batch.ids[~chosen])
        masked = (out[chosen] == specials.mask).sum().item() / n
        same = (out[chosen] == big_batch.ids[chosen]).sum().item() / n
        other = 1 - masked - same  # random draws of the same id count as kept (1/1000)
        assert masked == pytest.approx(1 - random - keep, abs=tol), (random, keep)
        assert other == pytest.approx(random, abs=tol) and same == pytest.approx(keep, abs=tol)
    ctx = context(specials, tiny_model[1])
    mlm = obj.factory("mlm")(Unit("m", "mlm", kwargs=(("random", 0.1), ("keep", 0.0))), ctx)
    assert (mlm.random, mlm.keep) == (0.1, 0.0)
    pos = obj.factory("pos")(Unit("p", "pos", kwargs=(("keep", 0.2),)), ctx)
    assert (pos.random, pos.keep) == (0.1, 0.2)
    assert obj.split_of(obj.factory("mlm")(Unit("m", "mlm"), ctx)) == (0.1, 0.1)
    for kwargs, words in (
        ((("random", 1.5),), "random=1.5 must be a share in [0, 1]"),
        ((("keep", -0.1),), "keep=-0.1 must be a share in [0, 1]"),
        ((("random", 0.6), ("keep", 0.5)), "random=0.6 + keep=0.5 is more than all"),
    ):
        for objective in ("mlm", "pos"):
            with pytest.raises(CurriculumError) as err:
                obj.factory(objective)(Unit("u", objective, kwargs=kwargs), ctx)
            assert err.value.diagnostics[0].code == "E411"
            assert words in err.value.diagnostics[0].message


def test_registry_finds_plugins_and_names_unknown_ones(monkeypatch, specials, tiny_model):
    class FakeEntryPoint:
        def load(self):
            def build(unit, ctx):
                return obj.factory("mlm")(Unit(unit.name, "mlm"), ctx)

            return build

    monkeypatch.setattr(obj, "_plugins", lambda: {"span": FakeEntryPoint()})
    built = obj.build_objectives((Unit("span", "span"),), context(specials, tiny_model[1]))
    assert built["span"].name == "span"
    with pytest.raises(CurriculumError) as err:
        obj.factory("spam")
    assert err.value.diagnostics[0].code == "E410" and "span" in err.value.diagnostics[0].hint
