"""``clm``: causal (next-token) language modelling (GPT-2).

The label at position t is the token at t + 1 (none after ``</s>`` or at padding:
``Targets.shift`` 1, so that a vocabulary curriculum judges the target by that next
token's own id and tag); the input is the clean batch, never corrupted, and one backbone
forward on it serves every objective that reads it. The LM head is applied only at labelled positions, so padding
costs no projection.
"""

from __future__ import annotations

from dataclasses import dataclass

from curriculumc.runtime.train.objectives import (
    IGNORE,
    ObjectiveContext,
    Targets,
    TokenBatch,
    check_kwargs,
    require_family,
)
from curriculumc.runtime.train.objectives.mlm import projected_loss_sum


@dataclass
class CausalLM:
    """The ``clm`` objective of one unit; it uses the model's own LM head."""

    name: str
    head: None = None

    def targets(self, batch: TokenBatch, generator) -> Targets:
        import torch

        labels = torch.full_like(batch.ids, IGNORE)
        following = batch.attention_mask[:, 1:].bool()
        labels[:, :-1] = torch.where(following, batch.ids[:, 1:], labels[:, :-1])
        return Targets(labels=labels, corrupt=None, shift=1)

    def loss_sum(self, model, hidden, labels):
        from curriculumc.runtime.train.models import lm_head

        return projected_loss_sum(lm_head(model), hidden, labels)


def build(unit, context: ObjectiveContext) -> CausalLM:
    """``clm``; raises CurriculumError E412/E413 for keywords or a masked model."""
    check_kwargs(unit, ())
    require_family(unit, context, "causal")
    return CausalLM(name=unit.name)
