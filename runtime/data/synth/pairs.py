"""BLiMP-style minimal pairs drawn from the generated language's grammar and lexicon.

Each paradigm is a small template over the lexicon: a good sentence and a bad one that
differ in one word (or, for inversion and NPI-in-question pairs, in where one word
sits). Sentences are lower case with no final punctuation, like the corpus (BLiMP
capitalises and ends with a period; the evaluator's tokenizer lowercases, so the
difference is only cosmetic).

=================================== =============== ============================ ==========================================
paradigm                            field           linguistics_term             good / bad
=================================== =============== ============================ ==========================================
agreement_across_pp                 morphology      subject_verb_agreement       the dog near the cats is / are hungry
agreement_across_relative_clause    morphology      subject_verb_agreement       the dog that the cats chase runs / run
irregular_plural_agreement          morphology      subject_verb_agreement       the children are / is happy
determiner_noun_agreement           morphology      determiner_noun_agreement    mommy found this cookie / cookies
determiner_noun_agreement_irregular morphology      determiner_noun_agreement    the dog saw these mice / mouse
anaphor_gender_agreement            morphology      anaphor_agreement            the boy hurt himself / herself
anaphor_number_agreement            morphology      anaphor_agreement            the girls washed themselves / herself
transitive                          syntax          argument_structure           the dog chased the cat / slept the cat
intransitive                        syntax          argument_structure           the baby slept / found
auxiliary_inversion                 syntax          subject_auxiliary_inversion  is the dog that is sleeping hungry /
                                                                                 is the dog that sleeping is hungry
npi_licensor_negation               semantics       npi_licensing                the cat did not ever bite / did ever bite
npi_licensor_question               semantics       npi_licensing                did the cat ever bite / the cat did ever bite
wh_vs_that_with_gap                 syntax          filler_gap_dependency        i know what the dog wants / that the dog wants
wh_vs_that_no_gap                   syntax          filler_gap_dependency        i know that the dog wants a bone / what ...
irregular_past_tense                morphology      irregular_forms              the boy ate the cake / eated the cake
irregular_past_participle           morphology      irregular_forms              the boy has eaten the cake / has ate ...
=================================== =============== ============================ ==========================================
"""

from __future__ import annotations

import random
from collections.abc import Callable

from curriculumc.errors import CurriculumError
from curriculumc.runtime.data.synth import lexicon as lx
from curriculumc.runtime.data.synth.grammar import stream_rng

Pair = tuple[str, str]

# nouns whose singular and plural differ (``sheep`` cannot show agreement)
_COUNTABLE = tuple(n for n in lx.NOUNS if n.plural and n.plural != n.singular)
_ANIMATE = tuple(n for n in _COUNTABLE if n.kind in lx.ANIMATE)
_IRREGULAR = tuple(n for n in _ANIMATE if n.plural != lx.plural_of(n.singular))
_OBJECT_KINDS = frozenset().union(*(v.object_kinds for v in lx.VERBS if "t" in v.frames))
_REGULAR = tuple(
    n for n in _COUNTABLE if n.plural == lx.plural_of(n.singular) and n.kind in _OBJECT_KINDS
)
_GENDERED = tuple(n for n in _ANIMATE if n.gender in ("m", "f"))
_ANIMATE_ADJ = tuple(a.word for a in lx.ADJECTIVES if lx.ANIMATE <= a.kinds)
_INTRANSITIVE_ONLY = tuple(
    v for v in lx.VERBS if v.frames == {"i"} and lx.ANIMATE <= v.subject_kinds
)
_TRANSITIVE_ONLY = tuple(
    v for v in lx.VERBS if "t" in v.frames and not v.frames & {"i", "c", "w"} and v.object_kinds
)
_CLAUSE_AND_WH = tuple(v for v in lx.VERBS if {"c", "w"} <= v.frames)
_REFLEXIVE_VERBS = tuple(v for v in lx.VERBS if v.reflexive)
_BY_BASE = {v.base: v for v in lx.VERBS}


def _det_np(rng: random.Random, noun: lx.Noun, number: str, dets=("the",)) -> str:
    det = rng.choice(dets)
    word = noun.form(number)
    if det == "a" and word[0] in lx.VOWELS:
        det = "an"
    return f"{det} {word}"


def _present(verb: lx.Verb, number: str) -> str:
    return verb.s3 if number == "sg" else verb.base


def _be(number: str, past: bool) -> str:
    if past:
        return "was" if number == "sg" else "were"
    return "is" if number == "sg" else "are"


def _flip(number: str) -> str:
    return "pl" if number == "sg" else "sg"


def _object_for(rng: random.Random, verb: lx.Verb, subject_kind: str | None = None) -> str:
    """A plain NP the verb takes as object (``the ball``, ``some cookies``)."""
    kinds = sorted(verb.object_kinds)
    kind = rng.choice(kinds)
    noun = rng.choice([n for n in lx.NOUNS if n.kind == kind])
    if noun.is_mass:
        return f"{rng.choice(('the', 'some'))} {noun.singular}"
    if rng.random() < 0.5:
        return _det_np(rng, noun, "sg", ("the", "a", "my"))
    return _det_np(rng, noun, "pl", ("the", "some", "my"))


def _subject(rng: random.Random, kinds=("person", "animal")):
    """(text, number, noun-or-None, gender) of a 3rd-person subject."""
    if "person" in kinds and rng.random() < 0.25:
        name = rng.choice(lx.NAMES)
        return name.word, "sg", None, name.gender
    noun = rng.choice([n for n in _ANIMATE if n.kind in kinds])
    number = rng.choice(("sg", "pl"))
    return _det_np(rng, noun, number, ("the", "my", "your")), number, noun, noun.gender


def _verb_fits(verb: lx.Verb, noun: lx.Noun | None) -> bool:
    kind = noun.kind if noun is not None else "person"
    return kind in verb.subject_kinds


# ---------------------------------------------------------------------- paradigms


def agreement_across_pp(rng: random.Random) -> Pair:
    head = rng.choice(_ANIMATE)
    number = rng.choice(("sg", "pl"))
    prep = rng.choice(lx.PREPOSITIONS)
    pool = _ANIMATE if prep == "with" else tuple(n for n in _COUNTABLE if n.kind == "furniture")
    attractor = _det_np(rng, rng.choice(pool), _flip(number))
    subject = f"{_det_np(rng, head, number)} {prep} {attractor}"
    if rng.random() < 0.5:
        past = rng.random() < 0.4
        adj = rng.choice(_ANIMATE_ADJ)
        good, bad = _be(number, past), _be(_flip(number), past)
        return f"{subject} {good} {adj}", f"{subject} {bad} {adj}"
    verb = rng.choice([v for v in _INTRANSITIVE_ONLY if head.kind in v.subject_kinds])
    return (
        f"{subject} {_present(verb, number)}",
        f"{subject} {_present(verb, _flip(number))}",
    )


def agreement_across_relative_clause(rng: random.Random) -> Pair:
    head = rng.choice(_ANIMATE)
    number = rng.choice(("sg", "pl"))
    other = rng.choice(_ANIMATE)
    verbs = [v for v in _TRANSITIVE_ONLY if v.object_kinds & lx.ANIMATE]
    if rng.random() < 0.5:  # object gap: the dog that the cats chase
        verb = rng.choice(
            [v for v in verbs if other.kind in v.subject_kinds and head.kind in v.object_kinds]
        )
        rc = f"that {_det_np(rng, other, _flip(number))} {_present(verb, _flip(number))}"
    else:  # subject gap: the dog that chases the cats
        verb = rng.choice(
            [v for v in verbs if head.kind in v.subject_kinds and other.kind in v.object_kinds]
        )
        rc = f"that {_present(verb, number)} {_det_np(rng, other, _flip(number))}"
    subject = f"{_det_np(rng, head, number)} {rc}"
    return _agreeing_predicate(rng, subject, number, head.kind)


def irregular_plural_agreement(rng: random.Random) -> Pair:
    noun = rng.choice(_IRREGULAR)
    number = rng.choice(("sg", "pl"))
    subject = _det_np(rng, noun, number, ("the", "my", "your"))
    return _agreeing_predicate(rng, subject, number, noun.kind)


def _agreeing_predicate(rng: random.Random, subject: str, number: str, kind: str) -> Pair:
    """``subject`` + a predicate that agrees with ``number`` (good) or with the other
    number (bad): a form of *be* + adjective, or an intransitive verb its kind can do."""
    if rng.random() < 0.5:
        past = rng.random() < 0.4
        adj = rng.choice(_ANIMATE_ADJ)
        return (
            f"{subject} {_be(number, past)} {adj}",
            f"{subject} {_be(_flip(number), past)} {adj}",
        )
    verb = rng.choice([v for v in _INTRANSITIVE_ONLY if kind in v.subject_kinds])
    return f"{subject} {_present(verb, number)}", f"{subject} {_present(verb, _flip(number))}"


def _determiner_pair(rng: random.Random, nouns: tuple[lx.Noun, ...]) -> Pair:
    noun = rng.choice(nouns)
    verb = rng.choice([v for v in lx.VERBS if "t" in v.frames and noun.kind in v.object_kinds])
    subject, number, subj_noun, _ = _subject(rng)
    while not _verb_fits(verb, subj_noun):
        subject, number, subj_noun, _ = _subject(rng)
    form = verb.past if rng.random() < 0.5 else _present(verb, number)
    obj_number = rng.choice(("sg", "pl"))
    dem = rng.choice(("this", "that") if obj_number == "sg" else ("these", "those"))
    head = f"{subject} {form} {dem}"
    return f"{head} {noun.form(obj_number)}", f"{head} {noun.form(_flip(obj_number))}"


def determiner_noun_agreement(rng: random.Random) -> Pair:
    return _determiner_pair(rng, _REGULAR)


def determiner_noun_agreement_irregular(rng: random.Random) -> Pair:
    return _determiner_pair(rng, _IRREGULAR)


def _reflexive_clause(rng: random.Random, subject: str, number: str, kind: str) -> tuple[str, str]:
    """(subject + verb group, verb) for a reflexive sentence: ``the boy can see``."""
    verb = rng.choice([v for v in _REFLEXIVE_VERBS if kind in v.subject_kinds])
    aux, form = _verb_group(rng, number)
    return f"{subject} {aux}{getattr(verb, form)}", verb.base


def anaphor_gender_agreement(rng: random.Random) -> Pair:
    if rng.random() < 0.4:
        name = rng.choice(lx.NAMES)
        subject, gender, kind = name.word, name.gender, "person"
    else:
        noun = rng.choice(_GENDERED)
        subject, gender, kind = (
            _det_np(rng, noun, "sg", ("the", "my", "your")),
            noun.gender,
            noun.kind,
        )
    clause, _ = _reflexive_clause(rng, subject, "sg", kind)
    good, bad = ("himself", "herself") if gender == "m" else ("herself", "himself")
    return f"{clause} {good}", f"{clause} {bad}"


def anaphor_number_agreement(rng: random.Random) -> Pair:
    noun = rng.choice(_ANIMATE)
    number = rng.choice(("sg", "pl"))
    subject = _det_np(rng, noun, number, ("the", "my", "your"))
    clause, _ = _reflexive_clause(rng, subject, number, noun.kind)
    singular = {
        "m": ("himself",),
        "f": ("herself",),
        "n": ("itself",),
        "any": ("himself", "herself"),
    }
    if number == "pl":
        good, bad = "themselves", rng.choice(singular[noun.gender])
    else:
        good, bad = rng.choice(singular[noun.gender]), "themselves"
    return f"{clause} {good}", f"{clause} {bad}"


def _verb_group(rng: random.Random, number: str) -> tuple[str, str]:
    """(auxiliary words before the verb, the verb form name): past, present, modal, progressive."""
    x = rng.random()
    if x < 0.4:
        return "", "past"
    if x < 0.7:
        return "", "s3" if number == "sg" else "base"
    if x < 0.85:
        return rng.choice(lx.MODALS) + " ", "base"
    return _be(number, rng.random() < 0.4) + " ", "ing"


def transitive(rng: random.Random) -> Pair:
    subject, number, noun, _ = _subject(rng)
    kind = noun.kind if noun else "person"
    verb = rng.choice([v for v in _TRANSITIVE_ONLY if kind in v.subject_kinds])
    swap = rng.choice([v for v in _INTRANSITIVE_ONLY if kind in v.subject_kinds])
    aux, form = _verb_group(rng, number)
    obj = _object_for(rng, verb)
    good, bad = getattr(verb, form), getattr(swap, form)
    return f"{subject} {aux}{good} {obj}", f"{subject} {aux}{bad} {obj}"


def intransitive(rng: random.Random) -> Pair:
    subject, number, noun, _ = _subject(rng)
    kind = noun.kind if noun else "person"
    verb = rng.choice([v for v in _INTRANSITIVE_ONLY if kind in v.subject_kinds])
    swap = rng.choice([v for v in _TRANSITIVE_ONLY if kind in v.subject_kinds])
    aux, form = _verb_group(rng, number)
    return f"{subject} {aux}{getattr(verb, form)}", f"{subject} {aux}{getattr(swap, form)}"


def auxiliary_inversion(rng: random.Random) -> Pair:
    noun = rng.choice(_ANIMATE)
    number = rng.choice(("sg", "pl"))
    past = rng.random() < 0.3
    be = _be(number, past)
    rel = "who" if noun.kind == "person" and rng.random() < 0.4 else "that"
    verb = rng.choice([v for v in _INTRANSITIVE_ONLY if noun.kind in v.subject_kinds])
    adj = rng.choice(_ANIMATE_ADJ)
    head = f"{be} {_det_np(rng, noun, number)} {rel}"
    return f"{head} {be} {verb.ing} {adj}", f"{head} {verb.ing} {be} {adj}"


def _npi_tail(rng: random.Random, verb: lx.Verb) -> str:
    return "" if "i" in verb.frames and rng.random() < 0.5 else " " + _object_for(rng, verb)


def _npi_parts(rng: random.Random):
    """(subject, number, verb, aux, verb form, tail) for an NPI sentence."""
    subject, number, noun, _ = _subject(rng)
    kind = noun.kind if noun else "person"
    verb = rng.choice([v for v in lx.VERBS if kind in v.subject_kinds and v.frames & {"i", "t"}])
    x = rng.random()
    if x < 0.6:
        aux = rng.choice(("did", "does" if number == "sg" else "do"))
        form = verb.base
    elif x < 0.8:
        aux, form = rng.choice(lx.MODALS), verb.base
    else:
        aux = rng.choice(("had", "has" if number == "sg" else "have"))
        form = verb.participle
    if "t" in verb.frames and rng.random() < 0.5:  # any
        kinds = sorted(verb.object_kinds)
        obj = rng.choice([n for n in lx.NOUNS if n.kind in kinds])
        tail = f" any {obj.plural or obj.singular}"
        return subject, aux, form, "", tail
    return subject, aux, form, "ever ", _npi_tail(rng, verb) if "t" in verb.frames else ""


def npi_licensor_negation(rng: random.Random) -> Pair:
    subject, aux, form, ever, tail = _npi_parts(rng)
    return f"{subject} {aux} not {ever}{form}{tail}", f"{subject} {aux} {ever}{form}{tail}"


def npi_licensor_question(rng: random.Random) -> Pair:
    subject, aux, form, ever, tail = _npi_parts(rng)
    return f"{aux} {subject} {ever}{form}{tail}", f"{subject} {aux} {ever}{form}{tail}"


def _wh_parts(rng: random.Random):
    """(matrix, what/who, embedded clause up to its verb, the verb) for filler-gap pairs."""
    subject, number, _, _ = _subject(rng, ("person",))
    matrix_verb = rng.choice(_CLAUSE_AND_WH)
    matrix = f"{subject} {rng.choice((matrix_verb.past, _present(matrix_verb, number)))}"
    inner, inner_number, noun, _ = _subject(rng)
    kind = noun.kind if noun else "person"
    verb = rng.choice([v for v in _TRANSITIVE_ONLY if kind in v.subject_kinds])
    form = rng.choice((verb.past, _present(verb, inner_number)))
    return matrix, f"{inner} {form}", verb


def wh_vs_that_with_gap(rng: random.Random) -> Pair:
    matrix, inner, verb = _wh_parts(rng)
    wh = "who" if rng.choice(sorted(verb.object_kinds)) in lx.ANIMATE else "what"
    return f"{matrix} {wh} {inner}", f"{matrix} that {inner}"


def wh_vs_that_no_gap(rng: random.Random) -> Pair:
    matrix, inner, verb = _wh_parts(rng)
    obj = _object_for(rng, verb)
    wh = rng.choice(("what", "who"))
    return f"{matrix} that {inner} {obj}", f"{matrix} {wh} {inner} {obj}"


def _tail(rng: random.Random, verb: lx.Verb) -> str:
    if "t" in verb.frames and ("i" not in verb.frames or rng.random() < 0.6):
        return " " + _object_for(rng, verb)
    return ""


def irregular_past_tense(rng: random.Random) -> Pair:
    subject, _, noun, _ = _subject(rng)
    kind = noun.kind if noun else "person"
    verbs = [
        v
        for v in lx.VERBS
        if v.irregular_past and kind in v.subject_kinds and v.frames & {"i", "t"}
    ]
    verb = rng.choice(verbs)
    tail = _tail(rng, verb)
    wrong = lx.regular_past_of(verb.base, verb.double)
    return f"{subject} {verb.past}{tail}", f"{subject} {wrong}{tail}"


def irregular_past_participle(rng: random.Random) -> Pair:
    subject, number, noun, _ = _subject(rng)
    kind = noun.kind if noun else "person"
    verbs = [
        v
        for v in lx.VERBS
        if v.participle != v.past and kind in v.subject_kinds and v.frames & {"i", "t"}
    ]
    verb = rng.choice(verbs)
    have = rng.choice(("had", "has" if number == "sg" else "have"))
    tail = _tail(rng, verb)
    return f"{subject} {have} {verb.participle}{tail}", f"{subject} {have} {verb.past}{tail}"


# name -> (builder, field, linguistics_term)
PARADIGMS: dict[str, tuple[Callable[[random.Random], Pair], str, str]] = {
    "agreement_across_pp": (agreement_across_pp, "morphology", "subject_verb_agreement"),
    "agreement_across_relative_clause": (
        agreement_across_relative_clause,
        "morphology",
        "subject_verb_agreement",
    ),
    "irregular_plural_agreement": (
        irregular_plural_agreement,
        "morphology",
        "subject_verb_agreement",
    ),
    "determiner_noun_agreement": (
        determiner_noun_agreement,
        "morphology",
        "determiner_noun_agreement",
    ),
    "determiner_noun_agreement_irregular": (
        determiner_noun_agreement_irregular,
        "morphology",
        "determiner_noun_agreement",
    ),
    "anaphor_gender_agreement": (anaphor_gender_agreement, "morphology", "anaphor_agreement"),
    "anaphor_number_agreement": (anaphor_number_agreement, "morphology", "anaphor_agreement"),
    "transitive": (transitive, "syntax", "argument_structure"),
    "intransitive": (intransitive, "syntax", "argument_structure"),
    "auxiliary_inversion": (auxiliary_inversion, "syntax", "subject_auxiliary_inversion"),
    "npi_licensor_negation": (npi_licensor_negation, "semantics", "npi_licensing"),
    "npi_licensor_question": (npi_licensor_question, "semantics", "npi_licensing"),
    "wh_vs_that_with_gap": (wh_vs_that_with_gap, "syntax", "filler_gap_dependency"),
    "wh_vs_that_no_gap": (wh_vs_that_no_gap, "syntax", "filler_gap_dependency"),
    "irregular_past_tense": (irregular_past_tense, "morphology", "irregular_forms"),
    "irregular_past_participle": (irregular_past_participle, "morphology", "irregular_forms"),
}

# a paradigm counts as exhausted after this many draws in a row gave no new pair
_MAX_MISSES_IN_A_ROW = 2000


def generate_pairs(*, seed: int = 0, per_phenomenon: int = 200) -> dict[str, list[dict]]:
    """Minimal pairs for every paradigm in :data:`PARADIGMS`.

    Returns paradigm name -> ``per_phenomenon`` BLiMP-format rows (``sentence_good``,
    ``sentence_bad``, ``field``, ``linguistics_term``, ``UID`` = paradigm, ``pairID`` as a
    string), no pair twice within a paradigm. Each paradigm draws from its own random
    stream, so adding a paradigm does not change the others. Raises
    :class:`CurriculumError` (E710) when ``per_phenomenon`` is not a positive integer and
    (E711) when a paradigm cannot produce that many distinct pairs.
    """
    if (
        not isinstance(per_phenomenon, int)
        or isinstance(per_phenomenon, bool)
        or per_phenomenon < 1
    ):
        raise CurriculumError.single(
            "E710", f"pairs per phenomenon must be a positive integer, not {per_phenomenon!r}"
        )
    out: dict[str, list[dict]] = {}
    for name, (build, field, term) in PARADIGMS.items():
        rng = stream_rng(seed, f"pairs:{name}")
        seen: set[Pair] = set()
        rows: list[dict] = []
        misses = 0
        while len(rows) < per_phenomenon:
            pair = build(rng)
            if pair in seen:
                misses += 1
                if misses > _MAX_MISSES_IN_A_ROW:
                    raise CurriculumError.single(
                        "E711",
                        f"paradigm {name!r} gave only {len(rows)} distinct pairs,"
                        f" {per_phenomenon} wanted",
                        hint="ask for fewer pairs per phenomenon",
                    )
                continue
            misses = 0
            seen.add(pair)
            rows.append(
                {
                    "sentence_good": pair[0],
                    "sentence_bad": pair[1],
                    "field": field,
                    "linguistics_term": term,
                    "UID": name,
                    "pairID": str(len(rows)),
                }
            )
        out[name] = rows
    return out
