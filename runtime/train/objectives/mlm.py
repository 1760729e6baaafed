"""``mlm``: masked language modelling (BERT/RoBERTa).

``mask`` (default 15%) of the non-special tokens are chosen; the trainer hides them
80/10/10 (``<mask>`` / random token / unchanged, :func:`~curriculumc.runtime.train.objectives.corrupt`)
and the model predicts the original token there.

The output projection -- the LM head, whose decoder is ``hidden x vocab`` -- is applied
only to the hidden states at the chosen positions (about 15% of the tokens) instead of to
every position: same loss, a fraction of the largest matrix product of a small model.
"""

from __future__ import annotations

from dataclasses import dataclass

from curriculumc.runtime.train.models import lm_head
from curriculumc.runtime.train.objectives import (
    IGNORE,
    ObjectiveContext,
    Targets,
    TokenBatch,
    check_kwargs,
    fraction_kwarg,
    require_family,
)


@dataclass
class MaskedLM:
    """The ``mlm`` objective of one unit; it uses the model's own LM head."""

    name: str
    mask: float = 0.15
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
    """``mlm`` / ``mlm(mask=20%)``; raises CurriculumError E411-E413 for bad settings."""
    check_kwargs(unit, ("mask",))
    require_family(unit, context, "masked")
    if context.specials.mask is None:
        from curriculumc.errors import CurriculumError

        raise CurriculumError.single("E414", "mlm needs a tokenizer with a <mask> token")
    return MaskedLM(name=unit.name, mask=fraction_kwarg(unit, "mask", 0.15))
