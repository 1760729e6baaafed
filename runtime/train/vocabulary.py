"""The vocabulary curriculum: which tokens a vocabulary fraction hides, and where they
become ``<unk>``.

The rule is the plan's (:class:`curriculumc.plan.VocabRule`, the seed system's three
vocabulary maps); this module is its one implementation. With ``V`` the tokenizer's
vocabulary size (``len(tokenizer)``), ``r`` a token's tag rank in
:data:`curriculumc.pos_tags.VOCAB_TAG_ORDER` (NOUN 0 ... X 11; a token without a tag ranks
as X, :data:`~curriculumc.pos_tags.UNTAGGED_RANK`) and ``f`` the fraction of the step, a
token is HIDDEN when (the seed's comparisons, strictly greater):

- ``token_ids``: ``id > f * V``;
- ``pos_tags``: ``r > f * 11``;
- ``pos_tags_and_token_ids``: ``id + r * V > f * 11 * V``;

and never when it is a special token (``<s>``, ``<pad>``, ``</s>``, ``<unk>``, ``<mask>``).
A tag belongs to a token occurrence, not to an id: the rule reads the tag at the token's
own position (for a clm label, the next token's, :attr:`Targets.shift`).

The trainer applies it, while a vocabulary pace is set (``plan.vocab.fn != "none"``), to
every backbone input (after the objective's corruption: a random replacement that is
hidden becomes ``<unk>`` too) and -- ``hides: inputs_and_labels`` -- to the token targets of
objectives whose registry signature has ``token_targets`` (mlm, clm; not pos): a target
token that is hidden becomes the target ``<unk>`` (IGNORE stays IGNORE).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from curriculumc.errors import CurriculumError
from curriculumc.pos_tags import TAG_INDEX, UNTAGGED_RANK, VOCAB_TAG_ORDER

if TYPE_CHECKING:
    import torch

    from curriculumc.plan import Plan

#: the orders that read POS tags
TAG_ORDERS = ("pos_tags", "pos_tags_and_token_ids")
#: the highest tag rank (X): the ``11`` of the rules
TOP_RANK = len(VOCAB_TAG_ORDER) - 1


def active(plan: Plan) -> bool:
    """Whether ``plan`` has a vocabulary curriculum (a vocabulary pace)."""
    return plan.vocab.fn != "none"


def needs_tags(plan: Plan) -> bool:
    """Whether ``plan``'s vocabulary curriculum orders tokens by their POS tags."""
    return active(plan) and plan.vocab_rule.order in TAG_ORDERS


def check_tags(plan: Plan, corpus) -> None:
    """Raise CurriculumError E415 when the vocabulary order needs POS tags that the data
    lacks (before training, not at the first step)."""
    if needs_tags(plan) and getattr(corpus, "pos", None) is None:
        raise CurriculumError.single(
            "E415",
            f"the vocabulary curriculum's order {plan.vocab_rule.order} reads part-of-speech "
            "tags and the data has none",
            hint="tags come from the data's pos column or the tagger (data option "
            "pos_format), or use the order token_ids",
        )


def rank_table():
    """A lookup table tag index (0..254; 255 = none) -> tag rank in VOCAB_TAG_ORDER."""
    import torch

    table = torch.full((256,), UNTAGGED_RANK, dtype=torch.int64)
    for rank, tag in enumerate(VOCAB_TAG_ORDER):
        table[TAG_INDEX[tag]] = rank
    return table


#: float noise a threshold may carry (0.12 x 11 x 1000 is 1319.9999999999998)
_SLACK = 1e-9


def whole_limit(threshold: float) -> int:
    """The largest whole value that is visible under ``threshold`` (``value <= threshold``
    in exact arithmetic: a product such as ``f * 11 * V`` that should be whole counts as
    that whole number). The values compared -- ids, ranks -- are whole numbers, so the
    comparison is then exact integer arithmetic, the same on every device. (The seed
    compares in float32 by torch's type promotion, which rounds such a threshold alike.)"""
    return math.floor(threshold + _SLACK)


def hidden(
    ids: torch.Tensor,
    tags: torch.Tensor | None,
    *,
    order: str,
    fraction: float,
    vocab_size: int,
    special_ids,
) -> torch.Tensor:
    """A bool tensor, True where the token ``ids[i]`` with POS tag ``tags[i]`` (indices of
    :data:`curriculumc.pos_tags.UNIVERSAL_TAGS`, 255 = none; ignored by ``token_ids``) is
    hidden at ``fraction`` under ``order`` (the rules of the module docstring). Special
    ids are never hidden. Raises CurriculumError E415 for a tag order without tags."""
    import torch

    ids = ids.to(torch.int64)
    if order == "token_ids":
        out = ids > whole_limit(fraction * vocab_size)
    elif order in TAG_ORDERS:
        if tags is None:
            raise CurriculumError.single(
                "E415", f"the vocabulary order {order} reads POS tags and the batch has none"
            )
        ranks = rank_table()[tags.to(torch.int64).clamp(0, 255)]
        if order == "pos_tags":
            out = ranks > whole_limit(fraction * TOP_RANK)
        else:
            out = ids + ranks * vocab_size > whole_limit(fraction * TOP_RANK * vocab_size)
    else:
        raise ValueError(f"unknown vocabulary order {order!r}")
    specials = torch.tensor(sorted({int(s) for s in special_ids}), dtype=torch.int64)
    return out & ~torch.isin(ids, specials)


def target_tags(tags: torch.Tensor | None, shift: int) -> torch.Tensor | None:
    """The tags of the tokens labelled at each position when a label at i is the token at
    ``i + shift`` (255 where that runs past the row)."""
    if tags is None or shift == 0:
        return tags
    import torch

    out = torch.full_like(tags, 255)
    out[:, :-shift] = tags[:, shift:]
    return out


def hide_inputs(ids, tags, *, order, fraction, vocab_size, special_ids, unk_id: int):
    """``ids`` with every hidden token replaced by ``unk_id`` (a new tensor)."""
    where = hidden(
        ids, tags, order=order, fraction=fraction, vocab_size=vocab_size, special_ids=special_ids
    )
    return ids.masked_fill(where, unk_id)


def hide_targets(
    labels, tags, *, shift: int, order, fraction, vocab_size, special_ids, unk_id: int, ignore
):
    """Token ``labels`` with every hidden TARGET token replaced by ``unk_id`` (judged by
    the target token's own id and tag: the one at ``i + shift``); ``ignore`` stays."""
    import torch

    labelled = labels != ignore
    probe = torch.where(labelled, labels, torch.full_like(labels, unk_id))
    where = hidden(
        probe,
        target_tags(tags, shift),
        order=order,
        fraction=fraction,
        vocab_size=vocab_size,
        special_ids=special_ids,
    )
    return labels.masked_fill(where & labelled, unk_id)
