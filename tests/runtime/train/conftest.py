"""Real tagged text for the trainer's tests: AO-CHILDES with its CHILDES MOR tags."""

from __future__ import annotations

import pytest
from support.data_inputs import aochildes_slice
from support.train_fixtures import Prepared


@pytest.fixture(scope="session")
def tagged_aochildes(tmp_path_factory):
    """The first 3,000 AO-CHILDES utterances through the data layer (``prepare_data``,
    BPE 1000, seq 64, ``need_pos``): each token carries its word's universal tag, from
    the corpus's MOR codes (2,872 lines; the offline tagger the other 128). A
    :class:`support.train_fixtures.Prepared`."""
    from curriculumc.plan import DataSpec, Plan, TokenizerSpec, TrainSpec
    from curriculumc.runtime.data.prepare import prepare_data

    folder = tmp_path_factory.mktemp("tagged")
    path = aochildes_slice(folder, 3000)
    plan = Plan(
        data=DataSpec(source=str(path), kind="path"),
        tokenizer=TokenizerSpec(vocab_size=1000),
        train=TrainSpec(seq=64),
    )
    data = prepare_data(plan, cache_dir=folder / "cache", need_pos=True)
    assert data.corpus.pos is not None and data.summary["pos"]["lines"]["from_mor"] > 2800
    return Prepared(corpus=data.corpus, tokenizer=data.tokenizer, summary=data.summary)
