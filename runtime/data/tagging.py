"""Part-of-speech tags for the ``pos`` objective: from the data, or from an offline tagger.

Every source of tags ends up in the 12 universal tags of :mod:`curriculumc.pos_tags`:

- a ``pos`` column of universal tags (the generated ``synth`` corpus), taken as is;
- CHILDES MOR codes (a ``mor`` column, one code per word of the stem form), through
  :data:`MOR_TO_UNIVERSAL`;
- otherwise the averaged-perceptron tagger (Honnibal's, as shipped with NLTK / TextBlob),
  whose weights come from the MIT-licensed ``textblob-aptagger`` package. Its Penn
  Treebank tags go through :data:`PENN_TO_UNIVERSAL`.

Word tags are then aligned to subword tokens with :func:`align_word_tags`.

Mapping choices (where the two sources could disagree, both follow Petrov et al. 2012):

======================  ==========  ============================================
MOR code                universal   why
======================  ==========  ============================================
``n``, ``n:*``          NOUN        nouns, proper nouns, letters, gerunds
``v``, ``cop``, ``aux``  VERB        the universal set has no AUX: auxiliaries,
``mod``, ``mod:aux``,               modals, copulas and participles are VERB
``part``                            (Penn MD/VB* -> VERB)
``pro:*``               PRON        except ``pro:exist`` ("there's") -> DET, as
                                    Penn EX -> DET
``det:*``, ``qn``       DET         ``det:num`` -> NUM; quantifiers are Penn DT
``adj``                 ADJ
``adv``, ``adv:*``,     ADV         ``neg`` is "not" (Penn RB); ``post`` is
``neg``, ``post``                   "else", "too" (Penn RB)
``prep``                ADP
``conj``, ``coord``     CONJ        the tagger gives subordinators (Penn IN) ADP
``inf``                 PRT         "to" (Penn TO -> PRT)
``co``, ``on``, ``int``  X           communicators ("yeah"), onomatopoeia,
``L2``, ``chi``, ...                interjections, foreign and child words
======================  ==========  ============================================

Penn ``PRP$`` ("my", "your") is mapped to DET rather than Petrov's PRON, so that it agrees
with MOR's ``det:poss``: both sources are mixed in one corpus and must label alike.
"""

from __future__ import annotations

import importlib.util
import pickle
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from curriculumc.errors import CurriculumError
from curriculumc.pos_tags import SPEC_NAMES, TAG_INDEX, UNIVERSAL_TAGS
from curriculumc.runtime.data.tokenized import NO_TAG

#: CHILDES MOR code -> universal tag; every code that occurs in AO-CHILDES is listed
MOR_TO_UNIVERSAL: dict[str, str] = {
    # nouns
    "n": "NOUN",
    "n:prop": "NOUN",
    "n:let": "NOUN",
    "n:gerund": "NOUN",
    "n:pt": "NOUN",
    "n:adj": "NOUN",
    # verbs, auxiliaries, modals, copulas, participles
    "v": "VERB",
    "cop": "VERB",
    "aux": "VERB",
    "mod": "VERB",
    "mod:aux": "VERB",
    "part": "VERB",
    # pronouns
    "pro:per": "PRON",
    "pro:sub": "PRON",
    "pro:obj": "PRON",
    "pro:dem": "PRON",
    "pro:int": "PRON",
    "pro:indef": "PRON",
    "pro:rel": "PRON",
    "pro:poss": "PRON",
    "pro:refl": "PRON",
    "pro:exist": "DET",
    # determiners, quantifiers, numerals
    "det:art": "DET",
    "det:poss": "DET",
    "det:dem": "DET",
    "det:int": "DET",
    "qn": "DET",
    "det:num": "NUM",
    "num": "NUM",
    # modifiers
    "adj": "ADJ",
    "adv": "ADV",
    "adv:int": "ADV",
    "adv:tem": "ADV",
    "adv:loc": "ADV",
    "neg": "ADV",
    "post": "ADV",
    # function words
    "prep": "ADP",
    "conj": "CONJ",
    "coord": "CONJ",
    "inf": "PRT",
    # communicators, onomatopoeia, non-English and special-form words
    "co": "X",
    "on": "X",
    "int": "X",
    "L2": "X",
    "chi": "X",
    "bab": "X",
    "fam": "X",
    "neo": "X",
    "sing": "X",
    "wplay": "X",
    "meta": "X",
    "test": "X",
    "uni": "X",
}

#: fallback by the part before ``:`` for codes not listed above (e.g. ``adv:wh``); counted
MOR_PREFIX_TO_UNIVERSAL: dict[str, str] = {
    "n": "NOUN",
    "v": "VERB",
    "pro": "PRON",
    "det": "DET",
    "adj": "ADJ",
    "adv": "ADV",
    "prep": "ADP",
    "conj": "CONJ",
    "mod": "VERB",
    "aux": "VERB",
    "cop": "VERB",
    "num": "NUM",
}

#: Penn Treebank tag -> universal tag (Petrov et al. 2012, except ``PRP$``, see above)
PENN_TO_UNIVERSAL: dict[str, str] = {
    **dict.fromkeys(("!", "#", "$", "''", "(", ")", ",", "-LRB-", "-RRB-", ".", ":", "?"), "."),
    "``": ".",
    "CC": "CONJ",
    "CD": "NUM",
    "DT": "DET",
    "EX": "DET",
    "PDT": "DET",
    "WDT": "DET",
    "PRP$": "DET",
    "FW": "X",
    "LS": "X",
    "SYM": "X",
    "UH": "X",
    "IN": "ADP",
    "JJ": "ADJ",
    "JJR": "ADJ",
    "JJS": "ADJ",
    "MD": "VERB",
    "VB": "VERB",
    "VBD": "VERB",
    "VBG": "VERB",
    "VBN": "VERB",
    "VBP": "VERB",
    "VBZ": "VERB",
    "NN": "NOUN",
    "NNS": "NOUN",
    "NNP": "NOUN",
    "NNPS": "NOUN",
    "POS": "PRT",
    "RP": "PRT",
    "TO": "PRT",
    "PRP": "PRON",
    "WP": "PRON",
    "WP$": "PRON",
    "RB": "ADV",
    "RBR": "ADV",
    "RBS": "ADV",
    "WRB": "ADV",
}

#: how word tags reach subword tokens: every token of a word, or only its first
ALIGN_MODES = ("all", "first")

#: words of spoken English the newswire-trained tagger mistakes (it saw few interjections
#: and no colloquial contractions); looked up before the model, as Penn tags
CONVERSATIONAL_PENN: dict[str, str] = {
    **dict.fromkeys(
        (
            "oh ok okay alright yeah yeh yes yep yup nope huh uhhuh uhuh uh-huh hm hmm mhm mm "
            "um uh ah aha ahhah aw ooh oo oop oops whoops uhoh whoa wow yay hey hi hello bye "
            "byebye goodbye please thanks ow ouch whee haha"
        ).split(),
        "UH",
    ),
    **dict.fromkeys("gonna wanna gotta hafta".split(), "MD"),
}
#: Penn tags demonstratives as DT (or IN/WDT for "that") whether they modify a noun or
#: stand alone; the universal set calls the standalone ones PRON, as MOR does
_DEMONSTRATIVES = frozenset({"this", "that", "these", "those"})
_DEMONSTRATIVE_PENN = frozenset({"DT", "IN", "WDT"})
_NOMINAL_PENN = frozenset({"NN", "NNS", "NNP", "NNPS", "JJ", "JJR", "JJS", "CD"})

_WORD = re.compile(r"\S+")
# PTB tokenisation splits clitics off ("what's" -> "what 's", "can't" -> "ca n't"); the
# tagger was trained on that, so words are split the same way before tagging.
_CLITIC = re.compile(r"^(.+?)(n't|'s|'re|'ll|'ve|'d|'m)$", re.IGNORECASE)
_PUNCT_ONLY = re.compile(r"^\W+$")


# --- MOR and universal columns -----------------------------------------------------------


def mor_code_tag(code: str) -> tuple[str, bool]:
    """The universal tag of one MOR code and whether it was listed in :data:`MOR_TO_UNIVERSAL`.

    Codes not listed fall back on their prefix (``adv:wh`` -> ADV), then on ``X``.
    """
    tag = MOR_TO_UNIVERSAL.get(code)
    if tag is not None:
        return tag, True
    return MOR_PREFIX_TO_UNIVERSAL.get(code.split(":", 1)[0], "X"), False


def mor_to_indices(codes: Sequence[str], unlisted: dict[str, int] | None = None) -> bytes:
    """Tag indices (one byte each) for MOR ``codes``; unlisted codes are counted in ``unlisted``."""
    out = bytearray()
    for code in codes:
        tag, listed = mor_code_tag(code)
        if not listed and unlisted is not None:
            unlisted[code] = unlisted.get(code, 0) + 1
        out.append(TAG_INDEX[tag])
    return bytes(out)


def universal_to_indices(tags: Sequence[str]) -> bytes:
    """Tag indices for universal tags (``NOUN``, also spec spellings ``noun``/``punct``).

    Raises ``KeyError`` (with the tag) for anything else.
    """
    out = bytearray()
    for tag in tags:
        index = TAG_INDEX.get(tag)
        if index is None:
            index = TAG_INDEX[SPEC_NAMES[tag.lower()]] if tag.lower() in SPEC_NAMES else None
        if index is None:
            raise KeyError(tag)
        out.append(index)
    return bytes(out)


# --- the perceptron tagger ----------------------------------------------------------------

# Only plain containers, strings and numbers may come out of the weights pickle. Python 2
# pickles name the builtins module ``__builtin__``.
_SAFE_GLOBALS: dict[tuple[str, str], type] = {
    (module, t.__name__): t
    for module in ("builtins", "__builtin__")
    for t in (dict, list, tuple, set, frozenset, str, bytes, int, float, bool, complex)
}
_SAFE_GLOBALS[("collections", "defaultdict")] = defaultdict
_SAFE_GLOBALS[("collections", "OrderedDict")] = dict


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle referenced something other than a plain container, string or number."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, tuples, sets, strings and numbers.

    Anything else -- a function such as ``os.system``, a class -- raises
    :class:`UnsafePickleError` before it is looked up, so loading cannot run code.
    """

    def find_class(self, module: str, name: str):  # noqa: D102 (documented on the class)
        safe = _SAFE_GLOBALS.get((module, name))
        if safe is None:
            raise UnsafePickleError(f"refusing to load {module}.{name} from a pickle")
        return safe


#: how reports name the offline tagger (:class:`PerceptronTagger`)
TAGGER_NAME = "averaged-perceptron tagger (textblob-aptagger weights, Penn tags -> universal)"


def perceptron_weights_path() -> Path:
    """Where the installed ``textblob-aptagger`` package keeps its weights.

    Raises :class:`CurriculumError` (E330) when the package is not installed.
    """
    spec = importlib.util.find_spec("textblob_aptagger")
    if spec is None or not spec.submodule_search_locations:
        raise CurriculumError.single(
            "E330",
            "the POS tagger's weights are not installed",
            hint="pip install textblob-aptagger (an offline tagger is needed for the pos "
            "objective on text without POS tags)",
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    candidates = sorted(folder.glob("*.pickle"))
    if not candidates:
        raise CurriculumError.single("E330", f"no tagger weights (*.pickle) in {folder}")
    return candidates[0]


@dataclass(frozen=True, eq=False)
class PerceptronTagger:
    """Honnibal's greedy averaged-perceptron tagger over loaded weights (Penn tags).

    ``weights``: feature -> {tag: weight}; ``tagdict``: unambiguous frequent words -> tag;
    ``classes``: the tags, sorted (ties are broken by tag name, as in the original).
    """

    weights: dict[str, dict[str, float]]
    tagdict: dict[str, str]
    classes: tuple[str, ...]
    _universal_index: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path | None = None) -> PerceptronTagger:
        """Load weights from ``path`` (default: :func:`perceptron_weights_path`).

        Raises :class:`CurriculumError` (E330) when the file is missing, refused by the
        restricted unpickler, or not shaped like ``(weights, tagdict, classes)``.
        """
        path = path or perceptron_weights_path()
        try:
            with open(path, "rb") as handle:
                loaded = RestrictedUnpickler(handle, encoding="utf-8").load()
        except (OSError, pickle.UnpicklingError, EOFError, UnicodeDecodeError) as exc:
            raise CurriculumError.single(
                "E330", f"cannot load tagger weights {path}: {exc}"
            ) from None
        if not (isinstance(loaded, tuple) and len(loaded) == 3):
            raise CurriculumError.single("E330", f"{path}: not a (weights, tagdict, classes) tuple")
        weights, tagdict, classes = loaded
        if not (isinstance(weights, dict) and isinstance(tagdict, dict)):
            raise CurriculumError.single(
                "E330", f"{path}: weights and tag dictionary must be dicts"
            )
        index = {penn: TAG_INDEX[PENN_TO_UNIVERSAL.get(penn, "X")] for penn in classes}
        return cls(weights, tagdict, tuple(sorted(classes)), index)

    def tag_tokens(self, tokens: Sequence[str]) -> list[str]:
        """Penn tags for PTB-style ``tokens`` of one sentence."""
        context = ["-START-", "-START2-", *(_normalize(t) for t in tokens), "-END-", "-END2-"]
        prev, prev2 = "-START-", "-START2-"
        tags: list[str] = []
        for i, token in enumerate(tokens):
            tag = CONVERSATIONAL_PENN.get(token) or self.tagdict.get(token)
            if not tag:
                tag = self._predict(_features(i + 2, token, context, prev, prev2))
            tags.append(tag)
            prev2, prev = prev, tag
        return tags

    def tag_words(self, words: Sequence[str]) -> bytes:
        """Universal tag indices (one byte per word) for whitespace-separated ``words``.

        Clitics are split off before tagging; a word gets the tag of its first piece
        (the host: "what's" -> "what"), as MOR codes the stem of a word. A demonstrative
        not followed by a noun, adjective or number is a pronoun (see
        :data:`CONVERSATIONAL_PENN` and the module notes).
        """
        tokens: list[str] = []
        first_piece: list[int] = []
        for word in words:
            first_piece.append(len(tokens))
            match = _CLITIC.match(word)
            if match and not _PUNCT_ONLY.match(match.group(1)):
                tokens.extend(match.groups())
            else:
                tokens.append(word)
        penn = self.tag_tokens(tokens)
        index = self._universal_index
        out = bytearray(index.get(penn[i], TAG_INDEX["X"]) for i in first_piece)
        for w, i in enumerate(first_piece):
            if tokens[i].lower() in _DEMONSTRATIVES and penn[i] in _DEMONSTRATIVE_PENN:
                following = penn[i + 1] if i + 1 < len(penn) else None
                if following not in _NOMINAL_PENN:
                    out[w] = TAG_INDEX["PRON"]
        return bytes(out)

    def _predict(self, features: Iterable[str]) -> str:
        scores: dict[str, float] = defaultdict(float)
        for feature in features:
            weights = self.weights.get(feature)
            if weights:
                for tag, weight in weights.items():
                    scores[tag] += weight
        return max(self.classes, key=lambda tag: (scores.get(tag, 0.0), tag))


def _normalize(word: str) -> str:
    # as in the model's training: the features must be computed exactly the same way
    if "-" in word and word[0] != "-":
        return "!HYPHEN"
    if word.isdigit() and len(word) == 4:
        return "!YEAR"
    if word[:1].isdigit():
        return "!DIGITS"
    return word.lower()


def _features(i: int, word: str, context: list[str], prev: str, prev2: str) -> tuple[str, ...]:
    # The feature set the weights were trained with (Honnibal 2013); each occurs once.
    return (
        "bias",
        "i suffix " + word[-3:],
        "i pref1 " + word[:1],
        "i-1 tag " + prev,
        "i-2 tag " + prev2,
        f"i tag+i-2 tag {prev} {prev2}",
        "i word " + context[i],
        f"i-1 tag+i word {prev} {context[i]}",
        "i-1 word " + context[i - 1],
        "i-1 suffix " + context[i - 1][-3:],
        "i-2 word " + context[i - 2],
        "i+1 word " + context[i + 1],
        "i+1 suffix " + context[i + 1][-3:],
        "i+2 word " + context[i + 2],
    )


# --- alignment to subword tokens ----------------------------------------------------------


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the whitespace-separated words of ``text`` (as ``str.split``)."""
    return [m.span() for m in _WORD.finditer(text)]


def align_word_tags(
    spans: Sequence[tuple[int, int]],
    word_tags: bytes,
    token_offsets: Sequence[tuple[int, int]],
    *,
    mode: str = "all",
) -> np.ndarray:
    """Tag index per token (uint8) from tags per word.

    ``spans``: character spans of the words (:func:`word_spans`); ``word_tags``: one tag
    index per word; ``token_offsets``: the tokenizer's character offsets per token (into
    the same text). A token belongs to the word holding its last character. A token with
    no characters is a space marker: when the next token starts where it does, the marker
    was split off that word (a small vocabulary has ``Ġ`` + ``ke`` + ``nt``) and belongs
    to it; otherwise it is extra white space. Such spaces, and tokens outside every word,
    get :data:`NO_TAG`. ``mode="all"`` tags
    every token of a word, ``"first"`` only the word's first token (the rest NO_TAG).

    Raises ``ValueError`` when ``spans`` and ``word_tags`` differ in length or the mode is
    unknown.
    """
    if len(spans) != len(word_tags):
        raise ValueError(f"{len(spans)} words but {len(word_tags)} tags")
    if mode not in ALIGN_MODES:
        raise ValueError(f"unknown alignment mode {mode!r}; expected one of {ALIGN_MODES}")
    out = np.full(len(token_offsets), NO_TAG, dtype=np.uint8)
    word = 0
    last_word = -1
    for t, (start, end) in enumerate(token_offsets):
        if end > start:
            last_char = end - 1
        elif (
            t + 1 < len(token_offsets)
            and token_offsets[t + 1][0] == start < token_offsets[t + 1][1]
        ):
            last_char = start
        else:
            continue
        while word < len(spans) and spans[word][1] <= last_char:
            word += 1
        if word == len(spans) or spans[word][0] > last_char:
            continue
        if mode == "first" and word == last_word:
            continue
        out[t] = word_tags[word]
        last_word = word
    return out


def tag_names(indices: Iterable[int]) -> list[str]:
    """Universal tag names for tag indices (``NO_TAG`` -> ``None``), for display and tests."""
    return [UNIVERSAL_TAGS[i] if i != NO_TAG else None for i in indices]
