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
