"""``pos``: predict the universal part-of-speech tag of masked tokens (the seed system's
POS objective).

``pos(noun, verb)`` restricts the classes to those tags; every other token is one class,
``other`` (class 0). Tokens whose tag is in the set are chosen with probability ``mask``
(default 40% when the set is restricted, 15% otherwise), all other non-special tokens with
``mask_other`` (default 15%). The chosen tokens are corrupted in POS's own copy of the
batch, ``random`` / ``keep`` of them (default 10% / 10%: the seed's 80/10/10) replaced by a
random token / kept, the rest ``<mask>``; the trainer runs a backbone forward on that copy
(never on another objective's corruption), and a small head -- dense, GELU, layer norm,
projection to the classes, the shape of RoBERTa's LM head -- reads its hidden states at
the chosen positions. POS class targets are not tokens: a vocabulary curriculum hides
tokens from POS's input but leaves its targets.

Tags come from the data layer, one per token (:attr:`TokenizedCorpus.pos`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curriculumc.errors import CurriculumError
from curriculumc.pos_tags import SPEC_NAMES, TAG_INDEX, UNIVERSAL_TAGS
from curriculumc.registry import POS_MASK_OTHER, POS_MASK_RESTRICTED
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
from curriculumc.runtime.train.objectives.mlm import projected_loss_sum

OTHER = "other"


@dataclass
class PosTagging:
    """The ``pos`` objective of one unit, with its own head."""

    name: str
    tags: tuple[str, ...]  # class i + 1 is tags[i]; class 0 is "other"
    mask: float
    mask_other: float
    random: float = 0.1  # share of the chosen tokens replaced by a random token
    keep: float = 0.1  # share of the chosen tokens left as they are
    head: object = field(default=None, repr=False)
    needs_pos = True

    @property
    def classes(self) -> tuple[str, ...]:
        return (OTHER, *self.tags)

    def class_of_tag(self):
        """A lookup table tag index (0..254, 255 = none) -> class."""
        import torch

        table = torch.zeros(256, dtype=torch.int64)
        for i, tag in enumerate(self.tags):
            table[TAG_INDEX[tag]] = i + 1
        return table

    def targets(self, batch: TokenBatch, generator) -> Targets:
        import torch

        if batch.pos is None:
            raise CurriculumError.single(
                "E415",
                f"unit {self.name}: pos needs part-of-speech tags and the data has none",
                hint="tags come from the data's pos column or the tagger (data option pos_format)",
            )
        classes = self.class_of_tag()[batch.pos]
        probability = torch.where(classes > 0, self.mask, self.mask_other)
        chosen = (torch.rand(batch.ids.shape, generator=generator) < probability) & ~batch.special
        labels = torch.where(chosen, classes, torch.full_like(classes, IGNORE))
        return Targets(labels=labels, corrupt=chosen)

    def loss_sum(self, model, hidden, labels):
        return projected_loss_sum(self.head, hidden, labels)


def make_head(hidden: int, classes: int):
    """Dense -> GELU -> LayerNorm -> Linear(classes), initialised like the backbone's."""
    import torch
    from torch import nn

    head = nn.Sequential(
        nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden), nn.Linear(hidden, classes)
    )
    for module in head:
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, std=0.02)
            torch.nn.init.zeros_(module.bias)
    return head


def parse_tags(unit) -> tuple[str, ...]:
    """The universal tags named by ``unit``'s arguments (``noun``, ``VERB``, ``punct``), or
    all tags when there are none. Raises CurriculumError E416 for an unknown tag."""
    if not unit.args:
        return UNIVERSAL_TAGS
    tags = []
    for arg in unit.args:
        name = str(arg)
        tag = SPEC_NAMES.get(name.lower()) or (name if name in TAG_INDEX else None)
        if tag is None:
            raise CurriculumError.single(
                "E416",
                f"unit {unit.name}: {name!r} is not a universal POS tag",
                hint=f"tags: {', '.join(SPEC_NAMES)}",
            )
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def build(unit, context: ObjectiveContext) -> PosTagging:
    """``pos`` / ``pos(noun, verb, mask=40%, mask_other=15%, random=10%, keep=10%)``.

    Raises CurriculumError E411-E416 for bad settings or a causal model.
    """
    check_kwargs(unit, ("mask", "mask_other", "random", "keep"))
    require_family(unit, context, "masked")
    tags = parse_tags(unit)
    restricted = len(tags) < len(UNIVERSAL_TAGS)
    objective = PosTagging(
        name=unit.name,
        tags=tags,
        mask=fraction_kwarg(unit, "mask", POS_MASK_RESTRICTED if restricted else POS_MASK_OTHER),
        mask_other=fraction_kwarg(unit, "mask_other", POS_MASK_OTHER),
    )
    objective.random, objective.keep = corruption_split(unit)
    # drawn from the global generator, which the trainer seeds before building anything
    objective.head = make_head(context.hidden_size, len(objective.classes))
    return objective


build.needs_pos = True
