"""``mlm``: masked language modelling (BERT/RoBERTa).

``mask`` (default 15%) of the non-special tokens are chosen; the trainer corrupts them in
MLM's own copy of the batch -- ``random`` (default 10%) of them become a random token,
``keep`` (default 10%) stay, the rest become ``<mask>`` (BERT's 80/10/10;
``mlm(random=10%, keep=0%)`` is the seed system's 90/10/0 with ``unmask_probability`` 0,
see :func:`~curriculumc.runtime.train.objectives.corrupt`) -- and runs a backbone forward on
that copy alone; the model predicts the original token at the chosen positions. Another
objective's corruption never reaches MLM's input.

The output projection -- the LM head, whose decoder is ``hidden x vocab`` -- is applied
only to the hidden states at the chosen positions (about 15% of the tokens) instead of to
every position: same loss, a fraction of the largest matrix product of a small model.
"""

from __future__ import annotations

from dataclasses import dataclass

from curriculumc.registry import MLM_MASK
from curriculumc.runtime.train.models import lm_head
from curriculumc.runtime.train.objectives import (
    IGNORE,
    ObjectiveContext,
    Targets,
    TokenBatch,
    check_kwargs,
    corruption_split,
    fraction_kwarg,
    require_family,
)


@dataclass
class MaskedLM:
    """The ``mlm`` objective of one unit; it uses the model's own LM head."""

    name: str
    mask: float = 0.15
    random: float = 0.1  # share of the chosen tokens replaced by a random token
    keep: float = 0.1  # share of the chosen tokens left as they are
    head: None = None

    def targets(self, batch: TokenBatch, generator) -> Targets:
        import torch

        chosen = (torch.rand(batch.ids.shape, generator=generator) < self.mask) & ~batch.special
        labels = torch.where(chosen, batch.ids, torch.full_like(batch.ids, IGNORE))
        return Targets(labels=labels, corrupt=chosen)

    def loss_sum(self, model, hidden, labels):
        return projected_loss_sum(lm_head(model), hidden, labels)


def projected_loss_sum(head, hidden, labels):
    """Summed cross-entropy of ``head`` applied only at the labelled rows of ``hidden``.

    ``hidden`` is ``[B, L, H]``, ``labels`` ``[B, L]`` with -100 where there is no loss.
    With no labels the head still runs (on zero rows) so that its parameters take part in
    the backward pass on every rank, as DistributedDataParallel requires.
    """
    import torch.nn.functional as F

    where = labels != IGNORE
    logits = head(hidden[where])
    return F.cross_entropy(logits.float(), labels[where], reduction="sum")


def build(unit, context: ObjectiveContext) -> MaskedLM:
    """``mlm`` / ``mlm(mask=20%, random=10%, keep=0%)``; raises CurriculumError E411-E414
    for bad settings."""
    check_kwargs(unit, ("mask", "random", "keep"))
    require_family(unit, context, "masked")
    if context.specials.mask is None:
        from curriculumc.errors import CurriculumError

        raise CurriculumError.single("E414", "mlm needs a tokenizer with a <mask> token")
    random, keep = corruption_split(unit)
    return MaskedLM(
        name=unit.name, mask=fraction_kwarg(unit, "mask", MLM_MASK), random=random, keep=keep
    )
