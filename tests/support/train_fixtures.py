"""Small real inputs for the trainer's tests: AO-CHILDES lines and the product's tokenizer.

Imported by tests/test_models.py, test_objectives.py, test_trainer.py, test_resume.py and
test_ddp.py. Nothing is downloaded: the tokenizer is trained here on the shared data, the
corpus is built in memory. POS tags are a fixed function of the token id (the trainer only needs
*some* tags aligned with tokens to test the pos objective's mechanics).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from support.data_inputs import aochildes_texts
from support.tokenizer import product_tokenizer


@cache
def tokenizer(vocab_size: int = 1000):
    """The product's tokenizer (:mod:`support.tokenizer`) trained on the first 2000
    AO-CHILDES utterances (those of :func:`corpus`)."""
    return product_tokenizer(aochildes_texts(2000), vocab_size, seq=64)


def fake_tag(ids: np.ndarray) -> np.ndarray:
    """A deterministic 'tag' per token id (id mod 12); every 7th id has none (255)."""
    tags = (ids % 12).astype(np.uint8)
    tags[ids % 7 == 0] = 255
    return tags


@cache
def corpus(n: int = 2000, with_pos: bool = True):
    """A :class:`TokenizedCorpus` of the first ``n`` utterances."""
    from curriculumc.runtime.data.tokenized import TokenizedCorpus

    tok = tokenizer()
    lines = aochildes_texts(n)
    encoded = [tok(line, add_special_tokens=False)["input_ids"] for line in lines]
    ids = np.concatenate([np.asarray(e, dtype=np.uint16) for e in encoded])
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    return TokenizedCorpus(
        ids=ids,
        offsets=offsets,
        words=np.asarray([len(line.split()) for line in lines], dtype=np.int32),
        source=np.zeros(len(lines), dtype=np.int32),
        source_names=("aochildes",),
        vocab_size=len(tok),
        content_hash=f"test-{n}",
        pos=fake_tag(ids) if with_pos else None,
    )


@dataclass(frozen=True)
class Prepared:
    """Stands in for ``runtime.data.PreparedData`` (same attribute names)."""

    corpus: object
    tokenizer: object
    tokenizer_dir: Path | None = None
    summary: dict = field(default_factory=dict)


def prepared(n: int = 2000, with_pos: bool = True) -> Prepared:
    data = corpus(n, with_pos)
    return Prepared(corpus=data, tokenizer=tokenizer(), summary={"examples": len(data)})


def tiny_plan(**changes):
    """A roberta-tiny plan: 2 layers, 30 steps of 16, mlm only, no curriculum."""
    from dataclasses import replace

    from curriculumc.plan import OutputSpec, Phase, Plan, TrainSpec, Unit

    train = dict(steps=30, batch=16, seq=64, lr=1e-3, warmup=5, seed=7)
    train.update(changes.pop("train", {}))
    plan = Plan(
        train=TrainSpec(**train),
        units=(Unit("mlm", "mlm"),),
        phases=(Phase(0, (("mlm", 1.0),)),),
        output=OutputSpec(log_every=1),
    )
    plan = replace(plan, model=replace(plan.model, preset="roberta-tiny"))
    return replace(plan, **changes)


def no_dropout_preset(folder: Path, preset: str = "roberta-tiny", family: str = "masked") -> str:
    """Write ``preset``'s config with every dropout at 0 to ``folder``; returns its path
    (a plan's ``model.preset`` may be a config.json path)."""
    from curriculumc.runtime.train.models import SpecialIds, model_config

    config = model_config(
        preset,
        family=family,
        vocab_size=len(tokenizer()),
        seq=64,
        specials=SpecialIds.from_tokenizer(tokenizer()),
        dropout=0.0,
    )
    folder.mkdir(parents=True, exist_ok=True)
    config.to_json_file(folder / "config.json")
    return str(folder / "config.json")


def run_trainer(plan, run_dir: Path, data=None, order=None, world=None, **options):
    """Set up, train and clean up a Trainer in this process; returns (trainer, summary)."""
    from curriculumc.runtime.train.distributed import World
    from curriculumc.runtime.train.trainer import RunOptions, Trainer

    data = data or prepared()
    order = np.arange(len(data.corpus)) if order is None else order
    options = RunOptions(run_dir=run_dir, quiet=True, **options)
    trainer = Trainer(plan, data, order, options, world or World())
    try:
        trainer.setup()
        summary = trainer.train()
    finally:
        trainer.cleanup()
    return trainer, summary


def losses(run_dir: Path, key: str = "loss") -> dict[int, float]:
    """``{step: value}`` of a run's metrics.jsonl training lines."""
    records = [json.loads(x) for x in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r[key] for r in records if key in r and "event" not in r}


@pytest.fixture(scope="module")
def single_thread():
    """One torch thread for the module's tests: on a small shared machine two threads
    spinning against other processes make a tiny model up to 20x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
