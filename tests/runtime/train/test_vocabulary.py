"""The vocabulary curriculum (runtime/train/vocabulary.py) against an oracle written here
from the seed system's three vocabulary maps, on real AO-CHILDES text with its MOR tags:
what is hidden, that no input and no token target shows a hidden token, that ``hides:
inputs`` leaves the targets, clm's next-token targets, and the missing-tags refusal."""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import torch
from support.train_fixtures import prepared, single_thread, tiny_plan  # noqa: F401

from curriculumc.errors import CurriculumError
from curriculumc.plan import VOCAB_ORDERS, Pace, Phase, Unit, VocabRule
from curriculumc.runtime.train import vocabulary
from curriculumc.runtime.train.objectives import IGNORE, collate, needs_pos
from curriculumc.runtime.train.trainer import RunOptions, Trainer

pytestmark = pytest.mark.usefixtures("single_thread")

# --- the oracle: the seed's rule, restated (src/vocabulary_curriculum/vocabulary_map/) ----

#: the seed's POS_TAG_MAP (src/utils/data.py): NOUN 0 ... X 11
SEED_TAG_IDS = {
    "NOUN": 0, "VERB": 1, "ADJ": 2, "ADV": 3, "PRON": 4, "DET": 5,
    "ADP": 6, "NUM": 7, "CONJ": 8, "PRT": 9, ".": 10, "X": 11,
}  # fmt: skip
#: the tag index a batch holds (curriculumc's UNIVERSAL_TAGS order), written out again
BATCH_TAGS = ("ADJ", "ADP", "ADV", "CONJ", "DET", "NOUN", "NUM", "PRT", "PRON", "VERB", ".", "X")
SPECIALS = 5  # <s> <pad> </s> <unk> <mask> are ids 0..4 of a curriculumc tokenizer


def oracle_hidden(ids: np.ndarray, tags: np.ndarray, order: str, f: float, V: int) -> np.ndarray:
    """Hidden iff the seed's value exceeds its threshold -- in exact arithmetic (f read as
    the decimal it is written as: 12% x 11 x 1000 is 1320, not float64's 1319.99...);
    never a special id; a token without a tag (255) is X."""
    seed_tag = np.array(
        [SEED_TAG_IDS[BATCH_TAGS[t]] if t < len(BATCH_TAGS) else 11 for t in range(256)]
    )[tags]
    f = Fraction(repr(f))
    if order == "token_ids":
        value, threshold = ids, f * V
    elif order == "pos_tags":
        value, threshold = seed_tag, f * 11
    else:
        value, threshold = ids + seed_tag * V, f * 11 * V
    # value > threshold for whole values <=> value > floor(threshold), exactly
    hidden = value > math.floor(threshold)
    return hidden & (ids >= SPECIALS)


def test_hidden_equals_the_seed_rule_on_real_text(tagged_aochildes):
    """Every position of 3,000 tagged utterances, each order, f in {0, 12%, 50%, 1}."""
    corpus, tok = tagged_aochildes.corpus, tagged_aochildes.tokenizer
    V = len(tok)
    assert V == 1000 and tok.unk_token_id == 3 and tok.mask_token_id == 4
    ids, tags = np.asarray(corpus.ids, dtype=np.int64), np.asarray(corpus.pos, dtype=np.int64)
    ids = np.concatenate([ids, np.arange(5)])  # the specials too
    tags = np.concatenate([tags, np.full(5, 255)])
    for order in VOCAB_ORDERS:
        for f in (0.0, 0.12, 0.5, 1.0):
            ours = vocabulary.hidden(
                torch.from_numpy(ids),
                torch.from_numpy(tags),
                order=order,
                fraction=f,
                vocab_size=V,
                special_ids=range(5),
            ).numpy()
            assert np.array_equal(ours, oracle_hidden(ids, tags, order, f, V)), (order, f)
    # what 12% hides of this text: ids > 120 (a byte-level BPE's first 256 ids are its
    # byte alphabet, so nearly every word piece), all but NOUN and VERB (ranks <= 1.32),
    # all but NOUNs and VERBs with id <= 320 (id + 1000 r <= 1320)
    at12 = {o: oracle_hidden(ids, tags, o, 0.12, V)[:-5].mean() for o in VOCAB_ORDERS}
    assert at12 == pytest.approx(
        {"token_ids": 0.964, "pos_tags": 0.621, "pos_tags_and_token_ids": 0.769}, abs=0.001
    )
    # the seed's quirk, kept: at f = 1 'both' still hides every X-tagged token
    x_tagged = tags[:-5] == BATCH_TAGS.index("X")
    assert oracle_hidden(ids, tags, "pos_tags_and_token_ids", 1.0, V)[:-5][x_tagged].all()


def vocab_plan(order: str, hides: str, **changes):
    units = (Unit("mlm", "mlm"), Unit("pos", "pos", args=("noun", "verb")))
    plan = tiny_plan(
        train=dict(steps=20, batch=128, warmup=1),
        units=units,
        phases=(Phase(0, (("mlm", 1.0), ("pos", 1.0))),),
        vocab=Pace(fn="linear", start=0.12, end=0.12, over=1000),  # 12% throughout
        vocab_rule=VocabRule(order=order, hides=hides),
    )
    return replace(plan, **changes)


def step_inputs(plan, data, folder, steps=10):
    trainer = Trainer(
        plan, data, np.arange(len(data.corpus)), RunOptions(run_dir=folder, quiet=True)
    )
    trainer.setup()
    try:
        weights = trainer.objective_weights(0)
        for step in range(steps):
            batch = collate(
                trainer.corpus, trainer.sampler.indices(step), seq=64, specials=trainer.specials
            )
            yield batch, *trainer.step_inputs(step, batch, weights), trainer
    finally:
        trainer.cleanup()


@pytest.mark.parametrize("order", VOCAB_ORDERS)
def test_at_12_percent_no_input_or_target_shows_a_hidden_token(tmp_path, tagged_aochildes, order):
    """mlm + pos at a 12% vocabulary, inputs_and_labels (the seed's rule), 10 batches of
    128: no input of either forward holds a hidden token (random replacements included);
    every MLM target is IGNORE, <unk> or visible, and <unk> exactly where the original
    target is hidden; pos's class targets are untouched. With ``hides: inputs`` the MLM
    targets are the objective's own (hidden ones still asked for)."""
    V = len(tagged_aochildes.tokenizer)
    unk = tagged_aochildes.tokenizer.unk_token_id
    mapped_targets = hidden_targets_seen = 0
    for batch, inputs, labels, _ in step_inputs(
        vocab_plan(order, "inputs_and_labels"), tagged_aochildes, tmp_path / "both"
    ):
        tags = batch.pos.numpy()
        for name, ids in inputs.items():
            assert not oracle_hidden(ids.numpy(), tags, order, 0.12, V).any(), name
        mlm = labels["mlm"].numpy()
        original = torch.where(labels["mlm"] != IGNORE, batch.ids, IGNORE).numpy()
        labelled = original != IGNORE
        hidden = oracle_hidden(np.where(labelled, original, 0), tags, order, 0.12, V) & labelled
        assert np.array_equal(mlm, np.where(hidden, unk, original))
        ok = (
            (mlm == IGNORE)
            | (mlm == unk)
            | ~oracle_hidden(np.where(labelled, mlm, 0), tags, order, 0.12, V)
        )
        assert ok.all()
        # pos's class targets (other, NOUN, VERB) are not tokens: never <unk>
        pos_labels = labels["pos"][labels["pos"] != IGNORE]
        assert pos_labels.numel() and (pos_labels < 3).all()
        mapped_targets += int(hidden.sum())
        hidden_targets_seen += int(labelled.sum())
    assert mapped_targets > 0.05 * hidden_targets_seen  # the rule had targets to map

    asked_hidden = 0
    for batch, inputs, labels, _ in step_inputs(
        vocab_plan(order, "inputs"), tagged_aochildes, tmp_path / "inputs"
    ):
        tags = batch.pos.numpy()
        for ids in inputs.values():
            assert not oracle_hidden(ids.numpy(), tags, order, 0.12, V).any()
        original = torch.where(labels["mlm"] != IGNORE, batch.ids, IGNORE)
        assert torch.equal(labels["mlm"], original)  # the targets are untouched
        labelled = (original != IGNORE).numpy()
        asked_hidden += int(
            (oracle_hidden(original.numpy(), tags, order, 0.12, V) & labelled).sum()
        )
    assert asked_hidden > 0


def test_clm_targets_are_judged_by_the_next_tokens_own_tag(tmp_path, tagged_aochildes):
    """A causal model, vocabulary by pos_tags at 12%: the clm label at i is the token at
    i + 1, so it becomes <unk> exactly where THAT token (with its own tag) is hidden."""
    plan = tiny_plan(
        train=dict(steps=3, batch=128, warmup=1),
        units=(),
        phases=(),
        vocab=Pace(fn="linear", start=0.12, end=0.12, over=1000),
        vocab_rule=VocabRule(order="pos_tags"),
    )
    plan = replace(plan, model=replace(plan.model, preset="gpt-tiny", family="causal"))
    V = len(tagged_aochildes.tokenizer)
    unk = tagged_aochildes.tokenizer.unk_token_id
    for batch, inputs, labels, _ in step_inputs(plan, tagged_aochildes, tmp_path, steps=3):
        ids, tags = batch.ids.numpy(), batch.pos.numpy()
        assert not oracle_hidden(inputs["clm"].numpy(), tags, "pos_tags", 0.12, V).any()
        following = np.full_like(ids, IGNORE)
        following[:, :-1] = np.where(batch.attention_mask[:, 1:].numpy() == 1, ids[:, 1:], IGNORE)
        next_tags = np.full_like(tags, 255)
        next_tags[:, :-1] = tags[:, 1:]
        labelled = following != IGNORE
        hidden = oracle_hidden(np.where(labelled, following, 0), next_tags, "pos_tags", 0.12, V)
        assert np.array_equal(labels["clm"].numpy(), np.where(hidden & labelled, unk, following))
        assert (hidden & labelled).any() and (~hidden & labelled & (following >= 5)).any()


def test_a_tag_order_without_tags_fails_before_training(tmp_path):
    plan = vocab_plan(
        "pos_tags",
        "inputs_and_labels",
        units=(Unit("mlm", "mlm"),),
        phases=(Phase(0, (("mlm", 1.0),)),),
    )
    assert needs_pos(plan) and not needs_pos(replace(plan, vocab_rule=VocabRule()))
    data = prepared(with_pos=False)
    trainer = Trainer(
        plan, data, np.arange(len(data.corpus)), RunOptions(run_dir=tmp_path, quiet=True)
    )
    with pytest.raises(CurriculumError) as err:
        trainer.setup()
    diagnostic = err.value.diagnostics[0]
    assert diagnostic.code == "E415" and "pos_tags" in diagnostic.message


def test_token_ids_keeps_specials_and_leaves_the_input_alone():
    """(The sampler's old limit_vocab tests, on the new function.) Ids above f x V become
    <unk>, specials never; the input tensor is not modified."""
    ids = torch.tensor([[0, 1, 5, 9, 3], [2, 8, 4, 7, 6]])
    before = ids.clone()
    out = vocabulary.hide_inputs(
        ids,
        None,
        order="token_ids",
        fraction=0.5,
        vocab_size=10,
        special_ids=(0, 1, 2, 3, 4),
        unk_id=3,
    )
    assert out.tolist() == [[0, 1, 5, 3, 3], [2, 3, 4, 3, 3]]  # visible: id <= 5
    assert torch.equal(ids, before)
    same = vocabulary.hide_inputs(
        ids, None, order="token_ids", fraction=1.0, vocab_size=10, special_ids=(), unk_id=3
    )
    assert torch.equal(same, ids)
