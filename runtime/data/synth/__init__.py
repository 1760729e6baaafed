"""The embedded default corpus: a generated child-directed English with gold annotations.

curriculumc must run its demo offline, so it *generates* its default data: sentences
from a probabilistic grammar over a few hundred child-directed words, each with gold
universal POS tags, clause depth, length and construction type, plus BLiMP-style
minimal pairs from the same grammar. See ``docs/synth.md``.

- :func:`generate_sentences` -- the corpus rows, lazily, deterministic for a seed;
- :func:`generate_pairs` -- minimal pairs per paradigm, BLiMP format;
- :func:`materialize` -- both written to a cache folder, reused on the next call;
- the independent checker of its well-formedness is a test oracle: ``tests/support/synth_check.py``.
"""

from curriculumc.runtime.data.synth.files import GENERATOR_VERSION, SynthPaths, materialize
from curriculumc.runtime.data.synth.grammar import MAX_DEPTH, SOURCES, generate_sentences
from curriculumc.runtime.data.synth.pairs import PARADIGMS, generate_pairs

__all__ = [
    "GENERATOR_VERSION",
    "MAX_DEPTH",
    "PARADIGMS",
    "SOURCES",
    "SynthPaths",
    "generate_pairs",
    "generate_sentences",
    "materialize",
]
