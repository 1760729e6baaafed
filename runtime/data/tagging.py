"""Part-of-speech tags for the ``pos`` objective: from the data, or from an offline tagger.

Every source of tags ends up in the 12 universal tags of :mod:`curriculumc.pos_tags`:

- a ``pos`` column of universal tags (the generated ``synth`` corpus), taken as is;
- CHILDES MOR codes (a ``mor`` column, one code per word of the stem form), through
  :data:`MOR_TO_UNIVERSAL`;
- otherwise the averaged-perceptron tagger (Honnibal's, as shipped with NLTK / TextBlob),
  whose weights come from the MIT-licensed ``textblob-aptagger`` package. Its Penn
  Treebank tags go through :data:`PENN_TO_UNIVERSAL`. :class:`PerceptronTagger` is the
  reference, one sentence at a time in pure Python; :class:`BatchTagger` gives the same
  tags for many lines at once (~30x faster), and :func:`tag_batches` spreads batches over
  processes for large corpora.

Word tags are then aligned to subword tokens with :func:`align_word_tags` (one text) or
:func:`align_batch` (a batch, the same tags).

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

import functools
import importlib.util
import itertools
import os
import pickle
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from curriculumc.errors import CurriculumError
from curriculumc.pos_tags import SPEC_NAMES, TAG_INDEX, UNIVERSAL_TAGS
from curriculumc.runtime.data.tokenized import NO_TAG

_B = TypeVar("_B")

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


_MOR_INDEX = {code: TAG_INDEX[tag] for code, tag in MOR_TO_UNIVERSAL.items()}


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
    try:  # every code listed: one look-up a code
        return bytes([_MOR_INDEX[code] for code in codes])
    except KeyError:
        pass
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
        """Universal tag indices (one byte per word) for whitespace-separated ``words``
        (the reference; :meth:`BatchTagger.tag_texts` gives the same for many texts).

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


# --- the same tagger, many lines at a time --------------------------------------------------

#: below this many lines still being tagged at a position, the rest of them are finished
#: one token at a time (a few long lines would otherwise pay a whole vector step a token)
_SCALAR_BELOW = 5
#: lines tagged per vector pass (bounds the pass's arrays: ~200 bytes a token)
_CHUNK_LINES = 4096


class BatchTagger:
    """:class:`PerceptronTagger` over many lines at once, with the same tags.

    :meth:`tag_texts` gives exactly what ``reference.tag_words(text.split())`` gives for
    each text (a test compares them on AO-CHILDES). How it gets there faster:

    - the weights are multiples of 0.001, so they are stored as integers (``W``: one row
      of class scores a feature): sums are exact, whatever their order;
    - a token's features split into a part fixed by the text (the word, its neighbours,
      their suffixes: gathered for all tokens of a pass at once) and a part that depends
      on the two previous tags (a table over tag pairs and the ``i-1 tag+i word`` rows);
    - greedy decoding runs position by position over all lines of a pass together
      (lines sorted by length, so the lines still going are a prefix);
    - words, tokens and normalised words are registered once, with their feature rows;
    - the maximum over classes keeps the original's tie-break (the largest tag name among
      equal scores): classes are stored in descending name order and ``argmax`` takes the
      first; when two integer scores tie, the token is scored again by the original
      float code, in the original order, so even a float rounding tie goes the same way.

    Raises nothing of its own; weights that are not multiples of 0.001 (another model)
    make it fall back on the reference, line by line.
    """

    def __init__(self, reference: PerceptronTagger):
        self.reference = reference
        #: where the weights came from (set by :func:`batch_tagger`; worker processes
        #: load them from there)
        self.path: Path | None = None
        classes = sorted(reference.classes, reverse=True)
        col = {tag: i for i, tag in enumerate(classes)}
        n_cls = len(classes)
        extra = sorted(
            {*reference.tagdict.values(), *CONVERSATIONAL_PENN.values()} - set(classes) - {""}
        )
        self._tags: list[str] = [*classes, *extra, "-START-", "-START2-"]
        self._tag_id = {tag: i for i, tag in enumerate(self._tags)}
        n_tags = len(self._tags)
        self._n_tags = n_tags
        self._start, self._start2 = n_tags - 2, n_tags - 1

        weights = reference.weights
        self.exact = True
        self._fid: dict[str, int] = {}
        matrix = np.zeros((len(weights) + 1, n_cls), dtype=np.int32)  # last row: absent
        for row, (feature, by_tag) in enumerate(weights.items()):
            self._fid[feature] = row
            for tag, weight in by_tag.items():
                scaled = round(weight * 1000)
                if tag not in col or abs(weight * 1000 - scaled) > 1e-6:
                    self.exact = False
                    continue
                matrix[row, col[tag]] = scaled
        self._zero = len(weights)
        self._W = matrix
        self._bias = matrix[self._fid.get("bias", self._zero)].copy()

        # the part of the score fixed by the previous two tags
        table = np.zeros((n_tags, n_tags, n_cls), dtype=np.int32)
        for p, prev in enumerate(self._tags):
            one = matrix[self._row("i-1 tag " + prev)]
            for q, prev2 in enumerate(self._tags):
                table[p, q] = (
                    one
                    + matrix[self._row("i-2 tag " + prev2)]
                    + matrix[self._row(f"i tag+i-2 tag {prev} {prev2}")]
                )
        self._pair = table

        # "i-1 tag+i word": the words that have such features come first among the
        # normalised words, so that a dense table [word, previous tag] -> row holds them
        self._norm_id: dict[str, int] = {}
        self._norm_rows = _Growing(6)
        self._norm_str: list[str] = []
        with_tag_word: dict[str, list[tuple[int, int]]] = defaultdict(list)
        prefix = "i-1 tag+i word "
        for feature, row in self._fid.items():
            if feature.startswith(prefix):
                prev, _, word = feature[len(prefix) :].partition(" ")
                if prev in self._tag_id:
                    with_tag_word[word].append((self._tag_id[prev], row))
        tag_word = np.full((len(with_tag_word) + 1, n_tags), self._zero, dtype=np.int32)
        for word in sorted(with_tag_word):
            for tag, row in with_tag_word[word]:
                tag_word[self._norm(word), tag] = row
        self._tag_word = tag_word
        self._n_tag_words = len(with_tag_word)
        self._markers = [self._norm(m) for m in ("-START-", "-START2-", "-END-", "-END2-")]

        self._tok_id: dict[str, int] = {}
        self._tok_str: list[str] = []
        self._tok_rows = _Growing(3)  # suffix, first letter, word
        self._tok_norm = _Growing(1)
        self._tok_fixed = _Growing(1)  # tag id from the dictionaries, or -1
        self._tok_demonstrative = _Growing(1)
        self._word_tokens: dict[str, tuple[int, ...]] = {}

        universal = reference._universal_index
        self._universal = np.array(
            [universal.get(tag, TAG_INDEX["X"]) for tag in self._tags], dtype=np.uint8
        )
        self._demonstrative_penn = np.array([t in _DEMONSTRATIVE_PENN for t in self._tags])
        self._nominal_penn = np.array([t in _NOMINAL_PENN for t in self._tags])

    # registries ------------------------------------------------------------------------

    def _row(self, feature: str) -> int:
        return self._fid.get(feature, self._zero)

    def _norm(self, word: str) -> int:
        index = self._norm_id.get(word)
        if index is None:
            index = self._norm_id[word] = len(self._norm_str)
            self._norm_str.append(word)
            row, suffix = self._row, word[-3:]
            self._norm_rows.append(
                (
                    row("i-2 word " + word),
                    row("i-1 word " + word),
                    row("i-1 suffix " + suffix),
                    row("i+1 word " + word),
                    row("i+1 suffix " + suffix),
                    row("i+2 word " + word),
                )
            )
        return index

    def _token(self, token: str) -> int:
        index = self._tok_id.get(token)
        if index is None:
            index = self._tok_id[token] = len(self._tok_str)
            self._tok_str.append(token)
            norm = _normalize(token)
            fixed = CONVERSATIONAL_PENN.get(token) or self.reference.tagdict.get(token)
            self._tok_fixed.append((self._tag_id[fixed] if fixed else -1,))
            self._tok_norm.append((self._norm(norm),))
            self._tok_rows.append(
                (
                    self._row("i suffix " + token[-3:]),
                    self._row("i pref1 " + token[:1]),
                    self._row("i word " + norm),
                )
            )
            self._tok_demonstrative.append((int(token.lower() in _DEMONSTRATIVES),))
        return index

    def _word(self, word: str) -> tuple[int, ...]:
        match = _CLITIC.match(word)
        if match and not _PUNCT_ONLY.match(match.group(1)):
            pieces = match.groups()
        else:
            pieces = (word,)
        tokens = self._word_tokens[word] = tuple(self._token(p) for p in pieces)
        return tokens

    # tagging -------------------------------------------------------------------------------

    def tag_texts(self, texts: Sequence[str]) -> list[bytes]:
        """Universal tag indices per text, one byte a whitespace-separated word: for each
        text what :meth:`PerceptronTagger.tag_words` gives for ``text.split()``."""
        if not self.exact:
            return [self.reference.tag_words(text.split()) for text in texts]
        out: list[bytes] = []
        for start in range(0, len(texts), _CHUNK_LINES):
            out.extend(self._tag_chunk(texts[start : start + _CHUNK_LINES]))
        return out

    def _tag_chunk(self, texts: Sequence[str]) -> list[bytes]:
        tokens: list[int] = []
        firsts: list[int] = []  # each word's first token
        n_tokens: list[int] = []
        n_words: list[int] = []
        cache = self._word_tokens
        for text in texts:
            words = text.split()
            before = len(tokens)
            for word in words:
                pieces = cache.get(word) or self._word(word)
                firsts.append(len(tokens))
                tokens.extend(pieces)
            n_tokens.append(len(tokens) - before)
            n_words.append(len(words))
        if not firsts:
            return [b""] * len(texts)
        tok = np.array(tokens, dtype=np.int64)
        lengths = np.array(n_tokens, dtype=np.int64)
        penn = self._decode(tok, lengths)

        first = np.array(firsts, dtype=np.int64)
        tags = self._universal[penn[first]]
        # a demonstrative not followed (in its line) by a noun, adjective or number
        ends = np.cumsum(lengths)
        nominal_next = np.zeros(len(tok), dtype=bool)
        nominal_next[:-1] = self._nominal_penn[penn[1:]]
        nominal_next[ends[lengths > 0] - 1] = False
        pronoun = (
            self._tok_demonstrative.view()[tok[first], 0].astype(bool)
            & self._demonstrative_penn[penn[first]]
            & ~nominal_next[first]
        )
        tags[pronoun] = TAG_INDEX["PRON"]
        flat = tags.tobytes()
        out, at = [], 0
        for count in n_words:
            out.append(flat[at : at + count])
            at += count
        return out

    def _decode(self, tok: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Penn tag ids of the tokens ``tok`` of lines of ``lengths`` tokens (greedy, left
        to right, as the original)."""
        n = len(tok)
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        line_of = np.repeat(np.arange(len(lengths)), lengths)
        position = np.arange(n) - starts[line_of]
        length = lengths[line_of]
        norm = self._tok_norm.view()[tok, 0]
        start_, start2, end, end2 = self._markers
        back1 = np.where(position >= 1, np.roll(norm, 1), start2)
        back2 = np.where(position >= 2, np.roll(norm, 2), np.where(position == 1, start2, start_))
        ahead1 = np.where(position + 1 < length, np.roll(norm, -1), end)
        ahead2 = np.where(
            position + 2 < length, np.roll(norm, -2), np.where(position + 1 < length, end, end2)
        )

        fixed = self._tok_fixed.view()[tok, 0]
        predict = np.flatnonzero(fixed < 0)
        W = self._W
        static = np.empty((len(predict), W.shape[1]), dtype=np.int32)
        if len(predict):
            rows = self._tok_rows.view()[tok[predict]]
            ctx = self._norm_rows.view()
            static[:] = self._bias
            static += W[rows[:, 0]]
            static += W[rows[:, 1]]
            static += W[rows[:, 2]]
            static += W[ctx[back2[predict], 0]]
            static += W[ctx[back1[predict], 1]]
            static += W[ctx[back1[predict], 2]]
            static += W[ctx[ahead1[predict], 3]]
            static += W[ctx[ahead1[predict], 4]]
            static += W[ctx[ahead2[predict], 5]]
        static_row = np.full(n, -1, dtype=np.int64)
        static_row[predict] = np.arange(len(predict))

        penn = fixed.astype(np.int64)  # predicted ones are filled in below
        order = np.argsort(-lengths, kind="stable")
        sorted_starts = starts[order]
        sorted_lengths = lengths[order]
        # active[j]: the lines longer than j (a prefix of the sorted lines)
        active = np.searchsorted(-sorted_lengths, -np.arange(int(lengths.max())), side="left")
        prev = np.full(len(order), self._start, dtype=np.int64)
        prev2 = np.full(len(order), self._start2, dtype=np.int64)
        tag_word, n_tag_words = self._tag_word, self._n_tag_words
        for j in range(int(lengths.max())):
            k = int(active[j])
            if k < _SCALAR_BELOW:
                for s in range(k):
                    self._decode_line(
                        int(sorted_starts[s]),
                        j,
                        int(sorted_lengths[s]),
                        int(prev[s]),
                        int(prev2[s]),
                        tok,
                        norm,
                        fixed,
                        static,
                        static_row,
                        penn,
                    )
                break
            at = sorted_starts[:k] + j
            need = np.flatnonzero(fixed[at] < 0)
            if len(need):
                where = at[need]
                p, q = prev[need], prev2[need]
                words = norm[where]
                rows = tag_word[np.minimum(words, n_tag_words), p]
                scores = static[static_row[where]] + self._pair[p, q] + W[rows]
                best = scores.argmax(axis=1)
                top = scores[np.arange(len(need)), best]
                tied = np.flatnonzero((scores == top[:, None]).sum(axis=1) > 1)
                for t in tied.tolist():
                    line = order[need[t]]
                    best[t] = self._exact(
                        int(starts[line]),
                        int(lengths[line]),
                        int(where[t]),
                        tok,
                        int(p[t]),
                        int(q[t]),
                    )
                penn[where] = best
            prev2[:k] = prev[:k]
            prev[:k] = penn[at]
        return penn

    def _decode_line(self, start, j, length, p, q, tok, norm, fixed, static, static_row, penn):
        """Positions ``j...`` of one line, one token at a time (the tail of long lines)."""
        W, pair, tag_word, n_tag_words = self._W, self._pair, self._tag_word, self._n_tag_words
        for at in range(start + j, start + length):
            tag = int(fixed[at])
            if tag < 0:
                word = int(norm[at])
                scores = (
                    static[static_row[at]] + pair[p, q] + W[tag_word[min(word, n_tag_words), p]]
                )
                tag = int(scores.argmax())
                if (scores == scores[tag]).sum() > 1:
                    tag = self._exact(start, length, at, tok, p, q)
                penn[at] = tag
            q, p = p, tag

    def _exact(self, start: int, length: int, at: int, tok: np.ndarray, p: int, q: int) -> int:
        """The original float scoring of token ``at`` of the line ``start:start+length``
        (used where two integer scores tie at the top)."""
        tokens = [self._tok_str[t] for t in tok[start : start + length].tolist()]
        context = ["-START-", "-START2-", *(_normalize(t) for t in tokens), "-END-", "-END2-"]
        i = at - start
        features = _features(i + 2, tokens[i], context, self._tags[p], self._tags[q])
        return self._tag_id[self.reference._predict(features)]


class _Growing:
    """A table of int32 rows that grows by doubling (registries of words and tokens)."""

    def __init__(self, width: int):
        self._data = np.zeros((1024, width), dtype=np.int32)
        self._n = 0

    def append(self, row: tuple[int, ...]) -> None:
        if self._n == len(self._data):
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self._n] = row
        self._n += 1

    def view(self) -> np.ndarray:
        return self._data[: self._n]


def batch_tagger(path: Path | None = None) -> BatchTagger:
    """The :class:`BatchTagger` of the weights at ``path`` (default: the installed ones),
    built once per process and path (its registries only grow; tags never change).

    Raises :class:`CurriculumError` (E330) as :meth:`PerceptronTagger.load`.
    """
    return _batch_tagger(Path(path or perceptron_weights_path()))


@functools.lru_cache(maxsize=2)
def _batch_tagger(path: Path) -> BatchTagger:
    tagger = BatchTagger(PerceptronTagger.load(path))
    tagger.path = path
    return tagger


def default_workers() -> int:
    """Processes for tagging: the CPUs this process may use (at most 8)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(8, cpus or 1))


def tag_batches(
    tagger: BatchTagger,
    batches: Iterable[_B],
    texts_of: Callable[[_B], Sequence[str]],
    *,
    workers: int | None = None,
    parallel_after: int = 2_000_000,
) -> Iterator[tuple[_B, list[bytes]]]:
    """``(batch, tags)`` for every batch, in order: ``tags`` are
    ``tagger.tag_texts(texts_of(batch))``.

    The first ``parallel_after`` words are tagged in this process; when more come and
    ``workers`` (default :func:`default_workers`) is above 1, the rest go to a pool of
    that many processes (each loads the weights once), at most ``2 * workers`` batches
    ahead of the consumer, so memory stays bounded by a few batches. Every text is tagged
    on its own, so the tags do not depend on ``workers``.
    """
    workers = default_workers() if workers is None else workers
    words = 0
    iterator = iter(batches)
    for batch in iterator:
        texts = texts_of(batch)
        yield batch, tagger.tag_texts(texts)
        words += sum(len(t.split()) for t in texts)
        if workers > 1 and words >= parallel_after and tagger.path is not None:
            break
    else:
        return
    import multiprocessing

    global _worker_tagger
    # fork where there is one: the workers share the loaded tables, and nothing of the
    # caller's __main__ is run again (spawn would re-import an unguarded script)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    _worker_tagger = tagger
    with context.Pool(workers, initializer=_init_worker, initargs=(str(tagger.path),)) as pool:
        pending: deque = deque()
        for batch in iterator:
            pending.append((batch, pool.apply_async(_tag_in_worker, (list(texts_of(batch)),))))
            if len(pending) >= 2 * workers:
                done, result = pending.popleft()
                yield done, result.get()
        while pending:
            done, result = pending.popleft()
            yield done, result.get()


_worker_tagger: BatchTagger | None = None


def _init_worker(path: str) -> None:
    global _worker_tagger
    if _worker_tagger is None or str(_worker_tagger.path) != path:  # spawned, not forked
        _worker_tagger = batch_tagger(Path(path))


def _tag_in_worker(texts: list[str]) -> list[bytes]:
    assert _worker_tagger is not None, "the pool's initializer loads the tagger"
    return _worker_tagger.tag_texts(texts)


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


def align_batch(
    texts: Sequence[str],
    word_tags: Sequence[bytes],
    token_offsets: Sequence[Sequence[tuple[int, int]]],
    *,
    mode: str = "all",
) -> np.ndarray:
    """:func:`align_word_tags` of many texts at once, concatenated (the same tags: a
    test compares them): the texts are laid end to end with a gap, so one sorted search
    finds every token's word; the original's forward-only word pointer is the running
    maximum of the tokens' last characters.

    Raises ``ValueError`` as :func:`align_word_tags` (words and tags differ in number, an
    unknown mode).
    """
    token_counts = np.fromiter((len(o) for o in token_offsets), dtype=np.int64, count=len(texts))
    total = int(token_counts.sum())
    flat = np.fromiter(
        itertools.chain.from_iterable(itertools.chain.from_iterable(token_offsets)),
        dtype=np.int64,
        count=2 * total,
    ).reshape(total, 2)
    return align_flat(texts, word_tags, token_counts, flat, mode=mode)


def align_flat(
    texts: Sequence[str],
    word_tags: Sequence[bytes],
    token_counts: np.ndarray,
    flat_offsets: np.ndarray,
    *,
    mode: str = "all",
) -> np.ndarray:
    """:func:`align_batch` with the token offsets given flat: ``token_counts`` (int64, one
    per text) and ``flat_offsets`` (int64, shape (tokens, 2): each token's character span
    in its own text, texts in order) -- what tokenizing has without a list per text."""
    if mode not in ALIGN_MODES:
        raise ValueError(f"unknown alignment mode {mode!r}; expected one of {ALIGN_MODES}")
    token_counts = np.asarray(token_counts, dtype=np.int64)
    sizes = np.fromiter((len(text) + 1 for text in texts), dtype=np.int64, count=len(texts))
    bases = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(sizes[:-1], out=bases[1:])
    # the words (as str.split / \S+: Unicode white space between them) of the texts joined
    # by a line break, found on the code points at once
    codes = np.frombuffer("\n".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    word = ~np.isin(codes, _WHITE_SPACE)
    edges = np.flatnonzero(np.diff(word.astype(np.int8), prepend=0, append=0))
    w_starts, w_ends = edges[0::2], edges[1::2]
    per_text = np.diff(
        np.searchsorted(w_starts, np.append(bases, bases[-1] + sizes[-1] if len(texts) else 0))
    )
    counts = np.fromiter((len(tags) for tags in word_tags), dtype=np.int64, count=len(texts))
    if len(texts) and not np.array_equal(per_text, counts):
        k = int(np.flatnonzero(per_text != counts)[0])
        raise ValueError(f"{per_text[k]} words but {counts[k]} tags")
    total = int(token_counts.sum())
    out = np.full(total, NO_TAG, dtype=np.uint8)
    if total == 0 or not len(w_starts):
        return out
    flat = flat_offsets
    shift = np.repeat(bases, token_counts)
    starts, ends = flat[:, 0] + shift, flat[:, 1] + shift
    last_in_text = np.zeros(total, dtype=bool)
    last_in_text[np.cumsum(token_counts)[token_counts > 0] - 1] = True
    # an empty token belongs to the next token's word when that one starts where it does
    next_start = np.roll(starts, -1)
    next_end = np.roll(ends, -1)
    marker = (ends <= starts) & ~last_in_text & (next_start == starts) & (starts < next_end)
    counted = (ends > starts) | marker
    last_char = np.where(ends > starts, ends - 1, starts)[counted]
    reach = np.maximum.accumulate(last_char)
    word = np.searchsorted(w_ends, reach, side="right")
    inside = word < len(w_starts)
    inside[inside] = w_starts[word[inside]] <= last_char[inside]
    tokens = np.flatnonzero(counted)[inside]
    word = word[inside]
    if mode == "first" and len(word):
        keep = np.ones(len(word), dtype=bool)
        keep[1:] = word[1:] != word[:-1]
        tokens, word = tokens[keep], word[keep]
    tags = np.frombuffer(b"".join(word_tags), dtype=np.uint8)
    out[tokens] = tags[word]
    return out


#: the code points ``str.split`` (and ``\\s``) take for white space (a test recomputes them)
WHITE_SPACE = (
    *range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
)  # fmt: skip
_WHITE_SPACE = np.array(WHITE_SPACE, dtype=np.uint32)


def tag_names(indices: Iterable[int]) -> list[str]:
    """Universal tag names for tag indices (``NO_TAG`` -> ``None``), for display and tests."""
    return [UNIVERSAL_TAGS[i] if i != NO_TAG else None for i in indices]
