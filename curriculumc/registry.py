"""Names the compiler knows: difficulty scorers and training objectives.

Built-ins are listed here as plain data (argument shapes, no code) so that ``validate``
can check a spec without importing the runtime. Further scorers and objectives plug in
by registration through Python entry points -- groups ``curriculumc.scorers`` and
``curriculumc.objectives`` -- never by editing the compiler. The runtime loads the
actual implementations from the same groups (``curriculumc.runtime.ordering.scorers`` and
``curriculumc.runtime.train.objectives``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points

SCORER_GROUP = "curriculumc.scorers"
OBJECTIVE_GROUP = "curriculumc.objectives"


@dataclass(frozen=True)
class Signature:
    """What arguments a scorer or objective takes.

    ``positional``: ``None`` (no positional arguments), ``"names"`` (any number of bare
    names, e.g. ``source(aochildes, bnc)``, ``pos(noun, verb)``) or ``"name"`` (exactly one).
    ``keywords``: allowed keyword arguments and their types (``int``, ``float``, ``fraction``
    -- a percentage or a number in (0, 1] --, ``share`` -- the same in [0, 1] --, ``str``,
    ``bool``).
    ``ranges``: ``(keyword, lowest, highest)`` -- the whole numbers an ``int`` keyword may
    take, both ends included (``highest`` None: no upper bound); an ``int`` keyword not
    listed takes any number >= 0. The compiler refuses other values at their position and
    the runtime's implementation accepts exactly these, so that a plan that validates runs.
    """

    positional: str | None = None
    keywords: tuple[tuple[str, str], ...] = ()
    doc: str = ""
    ranges: tuple[tuple[str, int, int | None], ...] = ()
    #: objectives: whether the model reads a corrupted copy of the batch (its own: one
    #: backbone forward each) or the clean batch (one forward shared by all such), and
    #: whether its targets are token ids (``<unk>``-mapped by a vocabulary curriculum)
    inputs: str = "corrupted"  # "corrupted" | "clean"
    token_targets: bool = True
    #: keywords that must be given, and ``str`` keywords that name a file or folder
    #: (resolved against the spec's folder, like data paths, and checked to exist)
    required: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    def range_of(self, keyword: str) -> tuple[int, int | None]:
        """``(lowest, highest)`` an ``int`` keyword may take (``highest`` None: unbounded)."""
        for name, lowest, highest in self.ranges:
            if name == keyword:
                return lowest, highest
        return 0, None


BUILTIN_SCORERS: dict[str, Signature] = {
    "sentence_length": Signature(doc="number of tokens"),
    "unigram_ppl": Signature(doc="perplexity under a unigram model of the training data"),
    "ngram_ppl": Signature(
        keywords=(("n", "int"), ("folds", "int")),
        doc="perplexity under an interpolated Kneser-Ney n-gram model (n=3 by default); "
        "folds=K scores each example with a model trained on the other K-1 folds",
        # the orders runtime/ordering/scorers takes; folds=1 is in-sample (the seed's rule)
        ranges=(("n", 1, 8), ("folds", 1, 100)),
    ),
    "source": Signature(positional="names", doc="the given order of the corpus's sources"),
    "column": Signature(positional="name", doc="a numeric column of the corpus"),
    "age": Signature(doc="age of the child the utterance was addressed to"),
    "random": Signature(keywords=(("seed", "int"),), doc="random order (the control)"),
    "model_ppl": Signature(
        keywords=(("every", "int"), ("first", "int"), ("batch", "int")),
        doc="self-paced: perplexity under the current model, scored first at step 'first' "
        "(all data, uniformly, until then) and again every 'every' steps",
        # steps between re-scorings; the first scoring step; examples scored at once
        ranges=(("every", 1, None), ("first", 0, None), ("batch", 1, None)),
    ),
    "reference_ppl": Signature(
        keywords=(("model", "str"),),
        doc="mean negative log-likelihood per token under a saved reference model "
        '(model="folder": a Hugging Face model folder with its tokenizer, masked or '
        "causal), scored once before training; the reference's own tokenizer reads the text",
        required=("model",),
        paths=("model",),
    ),
}

#: how a corrupting objective hides its chosen tokens: ``random`` of them become a random
#: token, ``keep`` stay as they are, the rest become ``<mask>`` (BERT's 80/10/10 by default)
CORRUPTION = (("random", "share"), ("keep", "share"))
DEFAULT_CORRUPTION = {"random": 0.1, "keep": 0.1}
#: the chosen shares when a unit gives none: mlm 15%; pos 40% of its tags' tokens when it
#: names tags (15% when it trains all of them) and 15% of the other tokens -- the seed's
MLM_MASK = 0.15
POS_MASK_RESTRICTED = 0.4
POS_MASK_OTHER = 0.15

BUILTIN_OBJECTIVES: dict[str, Signature] = {
    "mlm": Signature(
        keywords=(("mask", "fraction"), *CORRUPTION),
        doc="masked language modelling; mask= tokens chosen, random=/keep= of them "
        "replaced by a random token / kept (the rest become <mask>)",
    ),
    "clm": Signature(doc="causal (next-token) language modelling", inputs="clean"),
    "pos": Signature(
        positional="names",
        keywords=(("mask", "fraction"), ("mask_other", "fraction"), *CORRUPTION),
        doc="predict the universal POS tag of masked words; pos(noun, verb) restricts the tags",
        token_targets=False,
    ),
}


def forwards_per_step(objective_names) -> int:
    """Backbone forwards one step costs with these objectives active: one per corrupting
    objective (each reads its own corruption), plus one shared by all that read the clean
    batch. (The trainer also shares a forward between corruptions that come out equal.)"""
    signatures = objectives()
    known = [signatures.get(n, Signature()) for n in objective_names]
    corrupted = sum(1 for s in known if s.inputs == "corrupted")
    return corrupted + (1 if any(s.inputs == "clean" for s in known) else 0)


#: objectives that need a causal / a masked model
CAUSAL_ONLY = frozenset({"clm"})
MASKED_ONLY = frozenset({"mlm", "pos"})


@cache
def _plugins(group: str) -> dict[str, Signature]:
    # Entry points may declare no signature; they accept any arguments and the runtime
    # implementation validates them.
    return {
        ep.name: Signature(positional="names", doc=ep.value) for ep in entry_points(group=group)
    }


def scorers() -> dict[str, Signature]:
    """Every scorer name the compiler accepts: built-ins, then registered plugins."""
    return {**_plugins(SCORER_GROUP), **BUILTIN_SCORERS}


def objectives() -> dict[str, Signature]:
    """Every objective name the compiler accepts: built-ins, then registered plugins."""
    return {**_plugins(OBJECTIVE_GROUP), **BUILTIN_OBJECTIVES}


#: settings a ``data`` statement may carry, e.g. ``data "cds.jsonl"(text_field=utterance)``,
#: with their types; the data layer (``curriculumc.runtime.data.readers``) interprets them.
DATA_OPTIONS: dict[str, str] = {
    "text_field": "str",  # JSON Lines / datasets column with the text (default "text")
    "source_field": "str",  # column naming the example's source (default "source")
    "pos_field": "str",  # column with POS tags, one per word (default "pos")
    "pos_format": "str",  # "universal" (12 tags) | "mor" (CHILDES MOR codes) | "tagger"
    "columns": "str",  # comma-separated numeric columns to keep as features
    "split": "str",  # hub / datasets split (default "train")
    "words": "int",  # synth: size in words
    "sentences": "int",  # synth: size in sentences
    "seed": "int",  # synth: generator seed
    "max_chars": "int",  # lines longer than this are refused (default 20000)
    "bad_lines": "str",  # "refuse" (> 1% bad lines in a file), "allow", or a share "5%"
}

#: registered corpus names for ``data NAME`` (anything else that is not a path is a hub id)
REGISTERED_CORPORA: dict[str, str] = {
    "synth": "the generated child-directed language shipped with curriculumc",
}

#: how a minimal pair whose two sentences score the same counts: ``strict`` (wrong) or
#: ``babylm`` (right -- the official BabyLM pipeline takes the first of equal scores, the
#: good sentence)
TIE_RULES = ("strict", "babylm")
#: a masked model's pseudo-log-likelihood: ``pll`` (Salazar et al., 2020: each token masked
#: alone) or ``pll-word-l2r`` (Kauf & Ivanova, 2023: also the later tokens of its word)
PLL_VARIANTS = ("pll", "pll-word-l2r")

#: evaluation presets for ``eval NAME``; a quoted path names a folder or file of pairs
EVAL_PRESETS: dict[str, str] = {
    "blimp": "BLiMP (67 paradigms); local folder from $CURRICULUMC_BLIMP, else hub nyu-mll/blimp",
    "synth": "the generated minimal pairs of the synth corpus",
    "ppl": "held-out (pseudo-)perplexity on the corpus's dev split",
}

#: the built-in pair sets as shipped, (paradigms, pairs per paradigm): BLiMP is 67 x 1,000
#: (Warstadt et al., 2020); ``synth``'s generator writes 16 x 200
#: (``runtime/data/synth``: ``PARADIGMS``, ``per_phenomenon``; tests check both)
PAIR_SETS: dict[str, tuple[int, int]] = {"blimp": (67, 1000), "synth": (16, 200)}
#: the held-out texts ``eval ppl`` reads when it has no ``limit`` (the run loads at most
#: this many of the dev split)
PPL_TEXTS = 1000


@dataclass(frozen=True)
class EvalItems:
    """What one run of an evaluation scores, as far as the plan (and a folder's listing)
    tells -- no pair is read.

    ``unit``: ``"pairs"`` or ``"texts"`` (``ppl``); ``at_most``: the most items a run
    scores (None: only the data knows); ``paradigms`` and ``per_paradigm``: where the bound
    comes from (``per_paradigm`` is ``limit``, or the set's own size per paradigm);
    ``files``: for a folder of pairs, its ``*.jsonl`` files (BLiMP's layout has one
    paradigm a file: the bound assumes so); ``exact``: the bound is the count (a built-in
    set as shipped). A pair is two sentences scored (more with several wrong candidates);
    a masked model scores a sentence of n tokens with n forwards (pseudo-log-likelihood:
    one a masked token), a causal model with one.
    """

    unit: str
    at_most: int | None = None
    paradigms: int | None = None
    per_paradigm: int | None = None
    files: bool = False
    exact: bool = False

    @property
    def sentences(self) -> int | None:
        """Sentences scored in a run at most: 2 a pair, 1 a text (None: unknown)."""
        if self.at_most is None:
            return None
        return self.at_most * (2 if self.unit == "pairs" else 1)

    def short(self) -> str:
        """The items of a run in a few words: ``67,000 pairs``, ``up to 3,350 pairs``,
        ``up to 1,000 texts``, ``limit 50 a paradigm``, ``every pair``."""
        if self.at_most is not None:
            bound = "" if self.exact else "up to "
            return f"{bound}{self.at_most:,} {self.unit}"
        if self.per_paradigm is not None:
            return f"limit {self.per_paradigm:,} a paradigm"
        return "every pair"

    def text(self) -> str:
        """``67 paradigms × limit 50 = up to 3,350 pairs``, ``16 paradigms × 200 = 3,200
        pairs``, ``up to 1,000 texts``, ``limit 50 pairs per paradigm``, ``every pair``."""
        if self.unit == "texts":
            return f"up to {self.at_most:,} texts"
        if self.at_most is None:
            if self.per_paradigm is None and self.files:
                return f"every pair of {self.paradigms:,} pair files"
            if self.per_paradigm is None:
                return "every pair of the data"
            return f"limit {self.per_paradigm:,} pairs per paradigm"
        what = "pair files" if self.files else "paradigms"
        kept = f"{self.per_paradigm:,}" if self.exact else f"limit {self.per_paradigm:,}"
        bound = "" if self.exact else "up to "
        text = f"{self.paradigms:,} {what} × {kept} = {bound}{self.at_most:,} pairs"
        return text + (" (a paradigm a file)" if self.files else "")


def eval_items(spec) -> EvalItems:
    """What one run of evaluation ``spec`` (a :class:`curriculumc.plan.EvalSpec`) scores:
    ``ppl`` reads ``limit`` dev texts (else :data:`PPL_TEXTS`); ``blimp`` and ``synth``
    are :data:`PAIR_SETS` (``limit`` keeps that many of each paradigm); a folder of pairs
    is counted by its ``*.jsonl`` files (a listing, nothing read; a paradigm a file); a
    file's paradigms are only known by reading it. ``$CURRICULUMC_BLIMP`` may name another
    copy of BLiMP: the figures are the official set's. Used by ``explain``, ``simulate``
    and ``run``'s cost estimate."""
    import os

    limit = spec.limit
    if spec.name == "ppl" and not spec.path:
        return EvalItems("texts", limit or PPL_TEXTS, per_paradigm=limit)
    if not spec.path and spec.name in PAIR_SETS:
        paradigms, size = PAIR_SETS[spec.name]
        kept = size if limit is None else min(limit, size)
        return EvalItems("pairs", paradigms * kept, paradigms, kept, exact=limit is None)
    path = spec.path or ""
    try:
        files = sum(1 for entry in os.scandir(path) if entry.name.endswith(".jsonl"))
    except OSError:  # a file, or not here: its paradigms are in the data
        files = 0
    if not files or limit is None:
        return EvalItems("pairs", None, files or None, limit, files=bool(files))
    return EvalItems("pairs", files * limit, files, limit, files=True)
