"""Slow, obvious versions of what the product does fast, for tests and benchmarks to
compare against."""

from __future__ import annotations

from curriculumc.runtime.train.objectives import IGNORE


def full_projection_loss_sum(head, hidden, labels):
    """The summed cross-entropy the usual way: ``head`` applied at *every* position of
    ``hidden`` ``[B, L, H]``, then the positions without a label (-100) ignored -- what
    :func:`~curriculumc.runtime.train.objectives.mlm.projected_loss_sum` computes from the
    labelled rows only."""
    import torch.nn.functional as F

    logits = head(hidden)
    return F.cross_entropy(
        logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE, reduction="sum"
    )
