"""The universal part-of-speech tag set (Petrov, Das & McDonald, 2012).

The 12 coarse tags every POS source is mapped to (CHILDES MOR codes, the perceptron
tagger's Penn tags, the generated corpus's gold tags). In a spec they are written in
lower case (``pos(noun, verb)``); ``.`` is written ``punct``.
"""

from __future__ import annotations

UNIVERSAL_TAGS: tuple[str, ...] = (
    "ADJ",
    "ADP",
    "ADV",
    "CONJ",
    "DET",
    "NOUN",
    "NUM",
    "PRT",
    "PRON",
    "VERB",
    ".",
    "X",
)

#: spec spelling -> tag (``pos(noun, verb)``; ``punct`` stands for ``.``)
SPEC_NAMES: dict[str, str] = {
    **{t.lower(): t for t in UNIVERSAL_TAGS if t != "."},
    "punct": ".",
}

TAG_INDEX: dict[str, int] = {t: i for i, t in enumerate(UNIVERSAL_TAGS)}


#: the order in which ``vocab ... by pos_tags`` releases tags (the seed system's tag ids,
#: NOUN = 0 to X = 11): a token of tag rank r is visible at fraction f when r <= f * 11
VOCAB_TAG_ORDER: tuple[str, ...] = (
    "NOUN",
    "VERB",
    "ADJ",
    "ADV",
    "PRON",
    "DET",
    "ADP",
    "NUM",
    "CONJ",
    "PRT",
    ".",
    "X",
)
#: the rank of an untagged token (special tokens, tokens the tagger left without a tag): X
UNTAGGED_RANK = VOCAB_TAG_ORDER.index("X")


def visible_tags(fraction: float) -> tuple[str, ...]:
    """The tags whose tokens ``vocab ... by pos_tags`` shows at ``fraction``."""
    top = fraction * (len(VOCAB_TAG_ORDER) - 1)
    return tuple(t for r, t in enumerate(VOCAB_TAG_ORDER) if r <= top)
