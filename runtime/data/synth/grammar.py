"""A probabilistic grammar of child-directed English and a sentence generator over it.

The grammar is written as code, one method per phrase type, each choice drawn with the
probabilities in :data:`SOURCE_WEIGHTS` and the ``P_*`` constants below. Every word comes
out with its gold universal POS tag, so the corpus carries exact tags, exact clause depth
and exact construction type.

Constructions (the ``source`` label of a sentence is the construction it was built as):

=============== ============================================================================
declarative     ``the dog likes the ball``, ``mommy was happy``, ``i can see the bird``
question_yn     ``does the cat want some milk``, ``is the baby sleeping``, ``did you ever see a cow``
question_wh     ``what did the boy eat``, ``who wants a cookie``, ``where is the ball``
imperative      ``give the dog a bone``, ``do not touch the cup``, ``wash yourself``
prepositional   ``the cat is under the bed``, ``the dog near the door sleeps``
relative        ``the dog that chased the cat is hungry``, ``i like the ball that you found``
complement      ``mommy thinks that the baby is tired``, ``i know what the dog wants``
coordination    ``the dog runs and the cat sleeps``, ``the boy and the girl are happy``
negation        ``the baby does not want any milk``, ``the cat did not ever bite me``
=============== ============================================================================

Well-formedness: subjects agree with verbs and auxiliaries in person and number,
determiners with nouns (``a``/``an`` by the next word's first letter), reflexives with
their clause's subject; verbs get exactly the arguments one of their frames allows
(with a gap where a ``what``/``who``/relative ``that`` filler binds the object); NPIs
(``ever``, ``any``) appear only after ``not`` or in a yes/no question; subjects and
objects respect the verbs' selection (people read books, dogs do not).

Depth is the *clause embedding depth*: 1 for a sentence with no embedded clause, plus one
for every relative or complement clause on the deepest path (``i think that the dog
that barked is hungry`` has depth 3). Coordinated clauses sit at the same depth.
Embedding is bounded by :data:`MAX_DEPTH`.

Text is lower case with single spaces and no punctuation, questions included, like
the AO-CHILDES transcripts (their ``?`` is dropped too), so there is never a ``.`` tag.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator, Sequence

from curriculumc.runtime.data.synth import lexicon as lx

MAX_DEPTH = 3

SOURCE_WEIGHTS: dict[str, float] = {
    "declarative": 0.22,
    "question_yn": 0.12,
    "question_wh": 0.12,
    "imperative": 0.10,
    "prepositional": 0.09,
    "relative": 0.09,
    "complement": 0.08,
    "coordination": 0.08,
    "negation": 0.10,
}
SOURCES: tuple[str, ...] = tuple(SOURCE_WEIGHTS)

# how a subject is realised, and how a declarative's verb group is built
P_PRONOUN_SUBJECT = 0.35
P_NAME = 0.3  # of the non-pronoun people
P_PLURAL = 0.35
P_ADJECTIVE = 0.15
P_COPULA = 0.2
P_REFLEXIVE = 0.12
P_VP_PP = 0.15
P_NESTED = 0.3  # a further embedded clause where the depth bound allows it
VERB_GROUPS = (("simple", 0.55), ("prog", 0.15), ("modal", 0.17), ("perf", 0.13))

Token = tuple[str, str]  # (word, universal tag)


def _index(items, key) -> dict[str, tuple]:
    out: dict[str, list] = {}
    for item in items:
        for k in key(item):
            out.setdefault(k, []).append(item)
    return {k: tuple(v) for k, v in out.items()}


_NOUNS_BY_KIND = _index(lx.NOUNS, lambda n: (n.kind,))
_VERBS_BY_SUBJECT = _index(lx.VERBS, lambda v: v.subject_kinds)
_ADJS_BY_KIND = _index(lx.ADJECTIVES, lambda a: a.kinds)
_PRONOUN = {p.subject: p for p in lx.PRONOUNS}
# a 1st/2nd-person subject, told by its reflexive: its object may not be a pronoun of the
# same person (``we like us`` needs ``ourselves``)
_SPEAKER_PERSON = {("myself",): 1, ("ourselves",): 1, ("yourself",): 2}
_CLAUSE_FRAMES = frozenset("cw")


@functools.cache
def _verbs_for(subject_kind: str, frames: str | None, object_kind: str | None) -> tuple:
    return tuple(
        v
        for v in _VERBS_BY_SUBJECT.get(subject_kind, ())
        if (frames is None or v.frames & set(frames))
        and (object_kind is None or ("t" in v.frames and object_kind in v.object_kinds))
    )


_SUBJECT_KINDS = (("person", 0.55), ("animal", 0.35), ("toy", 0.04), ("food", 0.03), ("book", 0.03))
_PERSON_PRONOUNS = ("i", "you", "he", "she", "we", "they")
_DET_SG = (
    ("the", 0.5),
    ("a", 0.25),
    ("this", 0.05),
    ("that", 0.05),
    ("every", 0.03),
    ("poss", 0.12),
)
_DET_PL = (("the", 0.5), ("these", 0.07), ("those", 0.07), ("some", 0.12), ("two", 0.05),
           ("three", 0.04), ("poss", 0.15))  # fmt: skip
_DET_MASS = (("the", 0.5), ("some", 0.25), ("this", 0.05), ("that", 0.05), ("poss", 0.15))


def agreement(person: int, number: str) -> str:
    """The agreement class of a subject: ``1sg``, ``2`` (you), ``3sg`` or ``pl``."""
    if number == "pl":
        return "pl"
    return {1: "1sg", 2: "2", 3: "3sg"}[person]


def _aux_for(table, agr: str, tense: str) -> str:
    for word, (t, agrs) in table.items():
        if t == tense and agr in agrs:
            return word
    raise KeyError((agr, tense))


_BE = {(a, t): _aux_for(lx.BE, a, t) for a in ("1sg", "2", "3sg", "pl") for t in ("pres", "past")}
_HAVE = {
    (a, t): _aux_for(lx.HAVE, a, t) for a in ("1sg", "2", "3sg", "pl") for t in ("pres", "past")
}
_DO = {(a, t): _aux_for(lx.DO, a, t) for a in ("1sg", "2", "3sg", "pl") for t in ("pres", "past")}


class NP:
    """A generated noun phrase: its tokens and the features agreement and binding need."""

    __slots__ = ("tokens", "agr", "kind", "reflexives", "depth")

    def __init__(self, tokens, agr, kind, reflexives, depth=0):
        self.tokens: list[Token] = tokens
        self.agr: str = agr
        self.kind: str = kind
        self.reflexives: tuple[str, ...] = reflexives  # the reflexives it can antecede
        self.depth: int = depth  # deepest clause level inside it (0: none)


class Generator:
    """Draws sentences from the grammar with a ``random.Random``.

    Methods return lists of (word, tag) tokens; clause methods also return the deepest
    clause level they reached.
    """

    def __init__(self, rng: random.Random):
        self.rng = rng

    # ------------------------------------------------------------------ helpers
    def pick(self, weighted: Sequence[tuple[str, float]]) -> str:
        x = self.rng.random() * sum(w for _, w in weighted)
        for item, w in weighted:
            x -= w
            if x < 0:
                return item
        return weighted[-1][0]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def verb_for(self, subject_kind: str, frames: str | None = None, object_kind=None):
        """A verb this subject kind can do (with one of ``frames``; taking ``object_kind``).

        Returns None when no verb fits.
        """
        verbs = _verbs_for(subject_kind, frames, object_kind)
        return self.rng.choice(verbs) if verbs else None

    # ------------------------------------------------------------------ noun phrases
    def determiner(self, number: str, noun: lx.Noun, npi: bool = False) -> str:
        if npi and number != "sg":
            return "any"
        table = _DET_MASS if noun.is_mass else (_DET_SG if number == "sg" else _DET_PL)
        det = self.pick(table)
        if det == "poss":
            det = self.rng.choice(lx.POSSESSIVES)
        return det

    def noun_phrase(
        self,
        kind: str,
        *,
        role: str = "subj",
        level: int = 1,
        pronoun_p: float = 0.0,
        pp_p: float = 0.0,
        rc_p: float = 0.0,
        number: str | None = None,
        npi: bool = False,
        avoid_person: int = 0,
    ) -> NP:
        """An NP of semantic ``kind``; ``role`` ``obj`` puts pronouns in object case.

        ``avoid_person`` keeps a 1st/2nd-person object pronoun away from a subject of the
        same person (``i like me`` is out: it needs a reflexive).
        """
        rng = self.rng
        if pronoun_p and rng.random() < pronoun_p:
            if kind == "person":
                word = rng.choice(_PERSON_PRONOUNS)
            else:
                word = "it" if rng.random() < 0.7 else "they"
            pron = _PRONOUN[word]
            if pron.person != avoid_person or pron.person == 3:
                form = pron.subject if role == "subj" else pron.object
                refl = (pron.reflexive,)
                return NP([(form, "PRON")], agreement(pron.person, pron.number), kind, refl)
        if kind == "person" and number != "pl" and rng.random() < P_NAME:
            name = rng.choice(lx.NAMES)
            return NP([(name.word, "NOUN")], "3sg", kind, lx.REFLEXIVE_3RD[("sg", name.gender)])
        noun = rng.choice(_NOUNS_BY_KIND[kind])
        if number is None:
            number = "pl" if rng.random() < P_PLURAL else "sg"
        if noun.is_mass:
            number = "sg"
        if npi and number == "sg" and not noun.is_mass:
            number = "pl"
        det = self.determiner(number, noun, npi)
        tokens: list[Token] = []
        words = []
        if rng.random() < P_ADJECTIVE:
            words.append((rng.choice(_ADJS_BY_KIND[kind]).word, "ADJ"))
        words.append((noun.form(number), "NOUN"))
        if det == "a" and words[0][0][0] in lx.VOWELS:
            det = "an"
        tokens.append(
            (det, "NUM" if det in lx.NUMERALS else ("PRON" if det in lx.POSSESSIVES else "DET"))
        )
        tokens.extend(words)
        np = NP(tokens, "pl" if number == "pl" else "3sg", kind,
                lx.REFLEXIVE_3RD[(number, noun.gender)])  # fmt: skip
        if rc_p and level < MAX_DEPTH and rng.random() < rc_p:
            rc, depth = self.relative_clause(np, level + 1)
            tokens.extend(rc)
            np.depth = depth
        elif pp_p and rng.random() < pp_p:
            tokens.extend(self.prepositional_phrase(level=level))
        return np

    def prepositional_phrase(self, *, level: int = 1, number: str | None = None) -> list[Token]:
        """``in the box``, ``with the dog``: a preposition and a plain NP."""
        prep = self.rng.choice(lx.PREPOSITIONS)
        if prep == "with":
            kind = self.rng.choice(("person", "animal", "toy"))
        else:
            kind = self.rng.choice(("furniture", "furniture", "place"))
        obj = self.noun_phrase(kind, role="obj", level=level, number=number, pronoun_p=0.05)
        return [(prep, "ADP"), *obj.tokens]

    def coordinated_np(self, kind: str) -> NP:
        """``the dog and the cat``: plural, antecedent of ``themselves``."""
        a = self.noun_phrase(kind)
        b = self.noun_phrase(kind)
        return NP([*a.tokens, ("and", "CONJ"), *b.tokens], "pl", kind, ("themselves",))

    def subject(self, kind: str | None = None, *, level: int = 1, rc_p: float = 0.0,
                pp_p: float = 0.0) -> NP:  # fmt: skip
        kind = kind or self.pick(_SUBJECT_KINDS)
        return self.noun_phrase(
            kind, level=level, pronoun_p=P_PRONOUN_SUBJECT, rc_p=rc_p, pp_p=pp_p
        )

    # ------------------------------------------------------------------ verbs
    def verb_group(self, agr: str, *, mode: str | None = None, inverted: bool = False):
        """Choose how the verb is inflected: returns (auxiliary or None, verb form name).

        ``inverted`` (questions) turns the simple tenses into do-support.
        """
        mode = mode or self.pick(VERB_GROUPS)
        tense = "past" if self.rng.random() < 0.45 else "pres"
        if mode == "simple":
            if inverted:
                return _DO[(agr, tense)], "base"
            if tense == "past":
                return None, "past"
            return None, ("s3" if agr == "3sg" else "base")
        if mode == "prog":
            return _BE[(agr, tense)], "ing"
        if mode == "modal":
            return self.rng.choice(lx.MODALS), "base"
        if mode == "perf":
            return _HAVE[(agr, tense)], "participle"
        if mode == "do":
            return _DO[(agr, tense)], "base"
        raise ValueError(mode)

    def complements(
        self,
        verb: lx.Verb,
        subj: NP,
        level: int,
        *,
        gap: bool = False,
        npi: bool = False,
        rc_p: float = 0.0,
        frames: str | None = None,
    ) -> tuple[list[Token], int]:
        """The verb's arguments under one of its frames, then maybe a PP.

        With ``gap`` the verb is used transitively and its object is left out (bound by
        a wh-word or relativizer elsewhere). Returns tokens and the deepest clause level.
        """
        rng = self.rng
        depth = level
        if gap:
            frame = "t"
        else:
            allowed = [f for f in (frames or "itdcw") if f in verb.frames]
            if level >= MAX_DEPTH:  # the depth bound: no further clause
                allowed = [f for f in allowed if f not in _CLAUSE_FRAMES]
            frame = rng.choice(allowed)
        out: list[Token] = []
        avoid = _SPEAKER_PERSON.get(subj.reflexives, 0)
        if frame == "t" and not gap:
            if verb.reflexive and subj.kind in lx.ANIMATE and rng.random() < P_REFLEXIVE:
                out.append((rng.choice(subj.reflexives), "PRON"))
            else:
                kind = rng.choice(sorted(verb.object_kinds))
                obj = self.noun_phrase(kind, role="obj", level=level, pronoun_p=0.12,
                                       rc_p=rc_p, npi=npi and rng.random() < 0.6,
                                       avoid_person=avoid)  # fmt: skip
                out.extend(obj.tokens)
                depth = max(depth, obj.depth)
        elif frame == "d":
            kind = rng.choice(sorted(verb.object_kinds))
            theme = self.noun_phrase(kind, role="obj", level=level, npi=npi and rng.random() < 0.5)
            recipient = self.noun_phrase(rng.choice(("person", "animal")), role="obj",
                                         level=level, pronoun_p=0.3, avoid_person=avoid)  # fmt: skip
            if rng.random() < 0.6:
                out.extend(recipient.tokens)
                out.extend(theme.tokens)
            else:
                out.extend(theme.tokens)
                out.append(("to", "PRT"))
                out.extend(recipient.tokens)
        elif frame == "c":
            if rng.random() < 0.6:
                out.append(("that", "ADP"))
            clause, d = self.declarative(level + 1, rc_p=P_NESTED)
            out.extend(clause)
            depth = max(depth, d)
        elif frame == "w":
            clause, d = self.wh_clause(level + 1)
            out.extend(clause)
            depth = max(depth, d)
        if frame in "it" and rng.random() < P_VP_PP:
            out.extend(self.prepositional_phrase(level=level))
        return out, depth

    def predicate(self, subj: NP, level: int, *, mode: str | None = None, rc_p: float = 0.0,
                  frames: str | None = None) -> tuple[list[Token], int]:  # fmt: skip
        """A finite verb phrase agreeing with ``subj``: copular or verbal."""
        rng = self.rng
        if mode is None and rng.random() < P_COPULA:
            be = _BE[(subj.agr, "past" if rng.random() < 0.4 else "pres")]
            return [(be, "VERB"), *self.copular_complement(subj)], level
        if frames is None and level >= MAX_DEPTH:
            frames = "itd"
        verb = self.verb_for(subj.kind, frames)
        aux, form = self.verb_group(subj.agr, mode=mode)
        out: list[Token] = [(aux, "VERB")] if aux else []
        out.append((getattr(verb, form), "VERB"))
        comps, depth = self.complements(verb, subj, level, rc_p=rc_p, frames=frames)
        out.extend(comps)
        return out, depth

    def copular_complement(self, subj: NP, *, locative: bool = False) -> list[Token]:
        """What follows ``is``: an adjective or a locative PP."""
        rng = self.rng
        if not locative and rng.random() < 0.75:
            return [(rng.choice(_ADJS_BY_KIND[subj.kind]).word, "ADJ")]
        prep = rng.choice(lx.LOCATIVE_PREPOSITIONS)
        place = self.noun_phrase(rng.choice(("furniture", "place")), role="obj")
        return [(prep, "ADP"), *place.tokens]

    # ------------------------------------------------------------------ clauses
    def declarative(self, level: int = 1, *, rc_p: float = 0.0) -> tuple[list[Token], int]:
        subj = self.subject(level=level, rc_p=rc_p)
        pred, depth = self.predicate(subj, level, rc_p=rc_p)
        return [*subj.tokens, *pred], max(depth, subj.depth)

    def relative_clause(self, head: NP, level: int) -> tuple[list[Token], int]:
        """``that chased the cat`` (subject gap) or ``that the cat chased`` (object gap)."""
        rng = self.rng
        rel = ("who", "PRON") if head.kind == "person" and rng.random() < 0.4 else ("that", "DET")
        nested = P_NESTED if level < MAX_DEPTH else 0.0
        subj_kind = rng.choice(("person", "person", "animal"))
        verb = self.verb_for(subj_kind, "t", object_kind=head.kind)
        if verb is None or (rng.random() < 0.5 and _verbs_for(head.kind, "itd", None)):
            # subject gap: the head is the relative clause's subject
            verb = self.verb_for(head.kind, "itd")
            aux, form = self.verb_group(head.agr)
            out = [rel] + ([(aux, "VERB")] if aux else []) + [(getattr(verb, form), "VERB")]
            comps, depth = self.complements(verb, head, level, rc_p=nested, frames="itd")
            return out + comps, depth
        subj = self.noun_phrase(subj_kind, level=level, pronoun_p=0.4)
        aux, form = self.verb_group(subj.agr)
        out = (
            [rel, *subj.tokens] + ([(aux, "VERB")] if aux else []) + [(getattr(verb, form), "VERB")]
        )
        return out, level

    def wh_clause(self, level: int) -> tuple[list[Token], int]:
        """An embedded question with an object gap: ``what the dog wants``."""
        rng = self.rng
        subj = self.noun_phrase(rng.choice(("person", "animal")), level=level, pronoun_p=0.4)
        verb = self.verb_for(subj.kind, "t")
        kind = rng.choice(sorted(verb.object_kinds))
        wh = "who" if kind in lx.ANIMATE else "what"
        aux, form = self.verb_group(subj.agr)
        out = [(wh, "PRON"), *subj.tokens] + ([(aux, "VERB")] if aux else [])
        out.append((getattr(verb, form), "VERB"))
        return out, level

    # ------------------------------------------------------------------ constructions
    def build(self, source: str) -> tuple[list[Token], int]:
        """One sentence of construction ``source``: (tokens, clause depth)."""
        return getattr(self, "s_" + source)()

    def s_declarative(self):
        return self.declarative(1)

    def s_question_yn(self):
        rng = self.rng
        subj = self.noun_phrase(self.pick(_SUBJECT_KINDS), pronoun_p=0.45)
        if rng.random() < 0.2:  # is the ball red
            be = _BE[(subj.agr, "past" if rng.random() < 0.3 else "pres")]
            return [(be, "VERB"), *subj.tokens, *self.copular_complement(subj)], 1
        verb = self.verb_for(subj.kind)
        mode = self.pick((("simple", 0.5), ("prog", 0.2), ("modal", 0.2), ("perf", 0.1)))
        aux, form = self.verb_group(subj.agr, mode=mode, inverted=True)
        out = [(aux, "VERB"), *subj.tokens]
        if form in ("base", "participle") and rng.random() < 0.15:
            out.append(("ever", "ADV"))  # licensed by the question
        out.append((getattr(verb, form), "VERB"))
        comps, depth = self.complements(verb, subj, 1, npi=True)
        return out + comps, depth

    def s_question_wh(self):
        rng = self.rng
        x = rng.random()
        if x < 0.5:  # object question: what did the dog eat
            subj = self.noun_phrase(rng.choice(("person", "person", "animal")), pronoun_p=0.45)
            verb = self.verb_for(subj.kind, "t")
            kind = rng.choice(sorted(verb.object_kinds))
            wh = "who" if kind in lx.ANIMATE else "what"
            mode = self.pick((("simple", 0.6), ("prog", 0.2), ("modal", 0.2)))
            aux, form = self.verb_group(subj.agr, mode=mode, inverted=True)
            out = [(wh, "PRON"), (aux, "VERB"), *subj.tokens, (getattr(verb, form), "VERB")]
            if rng.random() < P_VP_PP:
                out.extend(self.prepositional_phrase())
            return out, 1
        if x < 0.75:  # subject question: who wants a cookie
            subj = NP([("who", "PRON")], "3sg", "person", ("himself", "herself"))
            pred, depth = self.predicate(subj, 1)
            return [("who", "PRON"), *pred], depth
        subj = self.noun_phrase(self.pick(_SUBJECT_KINDS), pronoun_p=0.3)
        if subj.kind in lx.ANIMATE and rng.random() < 0.4:  # where did the cat go
            aux, form = self.verb_group(subj.agr, mode="simple", inverted=True)
            verb = rng.choice(("go", "sleep", "run", "sit", "swim", "play", "hop"))
            verb = next(v for v in lx.VERBS if v.base == verb)
            return [("where", "ADV"), (aux, "VERB"), *subj.tokens, (getattr(verb, form), "VERB")], 1
        be = _BE[(subj.agr, "past" if rng.random() < 0.3 else "pres")]
        return [("where", "ADV"), (be, "VERB"), *subj.tokens], 1

    def s_imperative(self):
        rng = self.rng
        you = NP([], "2", "person", ("yourself",))
        verb = self.verb_for("person")
        out: list[Token] = []
        npi = False
        if rng.random() < 0.2:
            out += [("do", "VERB"), ("not", "ADV")]
            npi = True
        out.append((verb.base, "VERB"))
        comps, depth = self.complements(verb, you, 1, npi=npi)
        return out + comps, depth

    def s_prepositional(self):
        rng = self.rng
        x = rng.random()
        if x < 0.35:  # the cat is under the bed
            subj = self.subject()
            be = _BE[(subj.agr, "past" if rng.random() < 0.4 else "pres")]
            return [*subj.tokens, (be, "VERB"), *self.copular_complement(subj, locative=True)], 1
        if x < 0.7:  # the dog near the door sleeps
            subj = self.subject(rng.choice(("person", "animal")), pp_p=1.0)
            if len(subj.tokens) == 1:  # a pronoun or a name takes no PP: put one on the verb
                pred, depth = self.predicate(subj, 1, frames="i")
                return [*subj.tokens, *pred, *self.prepositional_phrase()], depth
            pred, depth = self.predicate(subj, 1)
            return [*subj.tokens, *pred], depth
        subj = self.subject(rng.choice(("person", "animal")))  # the cat sleeps on the bed
        pred, depth = self.predicate(subj, 1, mode="simple", frames="i")
        return [*subj.tokens, *pred, *self.prepositional_phrase()], depth

    def s_relative(self):
        rng = self.rng
        if rng.random() < 0.5:  # on the subject
            kind = rng.choice(("person", "animal"))
            subj = self.noun_phrase(kind, rc_p=1.0, level=1)
            if subj.depth == 0:  # a name got drawn; names take no relative clause here
                subj = self.noun_phrase(kind, rc_p=1.0, level=1, number="pl")
            pred, depth = self.predicate(subj, 1)
            return [*subj.tokens, *pred], max(depth, subj.depth)
        subj = self.subject(rng.choice(("person", "animal")))
        verb = rng.choice(
            [v for v in _verbs_for(subj.kind, "t", None) if v.object_kinds & lx.CONCRETE]
        )
        aux, form = self.verb_group(subj.agr)
        kinds = sorted(verb.object_kinds & lx.CONCRETE)
        obj = self.noun_phrase(rng.choice(kinds), role="obj", rc_p=1.0, number="pl")
        out = [*subj.tokens] + ([(aux, "VERB")] if aux else []) + [(getattr(verb, form), "VERB")]
        return out + obj.tokens, max(1, obj.depth)

    def s_complement(self):
        subj = self.subject("person")
        pred, depth = self.predicate(subj, 1, mode=self.pick(VERB_GROUPS), frames="cw")
        return [*subj.tokens, *pred], depth

    def s_coordination(self):
        rng = self.rng
        x = rng.random()
        if x < 0.5:  # two clauses
            a, da = self.declarative(1)
            b, db = self.declarative(1)
            conj = rng.choice(lx.CONJUNCTIONS)
            return [*a, (conj, "CONJ"), *b], max(da, db)
        if x < 0.75:  # the dog and the cat are hungry
            subj = self.coordinated_np(rng.choice(("person", "animal")))
            pred, depth = self.predicate(subj, 1)
            return [*subj.tokens, *pred], depth
        subj = self.subject(rng.choice(("person", "animal")))  # the dog runs and jumps
        tense = "past" if rng.random() < 0.5 else ("s3" if subj.agr == "3sg" else "base")
        out = list(subj.tokens)
        for i in range(2):
            verb = self.verb_for(subj.kind, "it")
            if i:
                out.append(("and", "CONJ"))
            out.append((getattr(verb, tense), "VERB"))
            comps, _ = self.complements(verb, subj, MAX_DEPTH, frames="it")
            out.extend(comps)
        return out, 1

    def s_negation(self):
        rng = self.rng
        subj = self.subject()
        if rng.random() < 0.2:  # the dog is not hungry
            be = _BE[(subj.agr, "past" if rng.random() < 0.4 else "pres")]
            return [*subj.tokens, (be, "VERB"), ("not", "ADV"), *self.copular_complement(subj)], 1
        verb = self.verb_for(subj.kind)
        mode = self.pick((("do", 0.55), ("prog", 0.15), ("modal", 0.2), ("perf", 0.1)))
        aux, form = self.verb_group(subj.agr, mode=mode)
        out = [*subj.tokens, (aux, "VERB"), ("not", "ADV")]
        if form in ("base", "participle") and rng.random() < 0.25:
            out.append(("ever", "ADV"))
        out.append((getattr(verb, form), "VERB"))
        comps, depth = self.complements(verb, subj, 1, npi=True)
        return out + comps, depth


# ---------------------------------------------------------------------- the corpus stream


def stream_rng(seed: int, stream: str) -> random.Random:
    """An independent, platform-stable random stream per (seed, purpose).

    Seeding ``random.Random`` with a string hashes it with SHA-512, so the stream does
    not depend on ``PYTHONHASHSEED`` or on the machine.
    """
    return random.Random(f"curriculumc-synth:{stream}:{seed}")


def sentence_stream(seed: int, stream: str, sentences: int | None, words: int | None):
    """Yield corpus rows from stream ``stream`` until the size bound is met (see
    :func:`generate_sentences`)."""
    if (sentences is None) == (words is None):
        raise ValueError("give exactly one of sentences= or words=")
    limit = sentences if sentences is not None else words
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError(f"the corpus size must be a non-negative integer, not {limit!r}")
    rng = stream_rng(seed, stream)
    gen = Generator(rng)
    sources, weights = SOURCES, tuple(SOURCE_WEIGHTS.values())
    cumulative = [sum(weights[: i + 1]) for i in range(len(weights))]
    total = cumulative[-1]
    count = 0
    random_ = rng.random
    while count < limit:
        x = random_() * total
        source = sources[-1]
        for name, edge in zip(sources, cumulative):
            if x < edge:
                source = name
                break
        tokens, depth = gen.build(source)
        text = " ".join([w for w, _ in tokens])
        yield {
            "text": text,
            "source": source,
            "pos": " ".join([t for _, t in tokens]),
            "depth": depth,
            "length": len(tokens),
        }
        count += 1 if sentences is not None else len(tokens)


def generate_sentences(
    *, seed: int = 0, sentences: int | None = None, words: int | None = None
) -> Iterator[dict]:
    """Generate the default corpus: one dict per sentence.

    Takes exactly one of ``sentences`` (that many sentences) or ``words`` (sentences until
    their words add up to at least that many; the last sentence is kept whole). Rows are
    ``{"text", "source", "pos", "depth", "length"}``: lower-case text with single spaces
    and no punctuation; the construction type; the universal POS tags, one per word;
    the clause embedding depth (1 = no embedded clause); the number of words.
    The same seed gives the same rows on every machine. Raises ValueError when both or
    neither size is given or the size is negative.
    """
    return sentence_stream(seed, "train", sentences, words)
