"""An independent well-formedness checker for the generated language: a test oracle.

It shares only the *lexicon* (words and their features) with the generator
(:mod:`curriculumc.runtime.data.synth`): the grammar here is a separate recursive-descent
recognizer, written from the description of the language rather than from the
generator's code, so the tests can use it to judge both the corpus and the minimal
pairs. Nothing in the product uses it, so it lives with the tests.

Instead of failing on the first broken constraint, the recognizer records a
*violation* and carries on, so it can say why a sentence is bad. Every full analysis
of the sentence has a set of violations; :func:`violations` returns the smallest. The
codes:

================== =====================================================================
agreement          subject and finite verb/auxiliary differ in person or number
det_agreement      determiner and noun differ in number (``these cookie``)
article            ``a`` before a vowel or ``an`` before a consonant
anaphor            reflexive object does not match its subject (``the boy hurt herself``)
missing_object     a verb that needs an object has none and no filler binds one
extra_object       an object (or second object) the verb's frames do not allow
frame              a clause complement the verb does not take
filler_without_gap a ``what``/``who``/relative filler with no gap to bind
npi                ``ever``/``any`` with no ``not`` before it and not in a yes/no question
irregular_form     an over-regularized past (``eated``) or a past for a participle
                   (``has ate``)
verb_form          a verb form that the auxiliary before it does not select
aux_missing        an ``-ing`` verb used as a finite verb (its ``is`` is gone)
aux_extra          a second auxiliary after an inverted one (``is ... is hungry``)
unparsable         no analysis at all
================== =====================================================================
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from curriculumc.runtime.data.synth import lexicon as lx

NONE: frozenset[str] = frozenset()
UNPARSABLE: frozenset[str] = frozenset({"unparsable"})
# analyses with more violations than this are dropped early (they never win)
MAX_VIOLATIONS = 3

_FORMS = ("base", "s3", "past", "participle", "ing")
_ALL_AGR = frozenset({"1sg", "2", "3sg", "pl"})


def _agr(person: int, number: str) -> str:
    return "pl" if number == "pl" else {1: "1sg", 2: "2", 3: "3sg"}[person]


def _reflexives(person: int, number: str, gender: str) -> frozenset[str]:
    """The reflexives an antecedent with these features binds."""
    if number == "pl":
        return frozenset({{1: "ourselves", 2: "yourselves", 3: "themselves"}[person]})
    if person == 1:
        return frozenset({"myself"})
    if person == 2:
        return frozenset({"yourself"})
    by_gender = {"m": {"himself"}, "f": {"herself"}, "n": {"itself"}, "any": {"himself", "herself"}}
    return frozenset(by_gender[gender])


def _build_readings() -> dict[str, list[tuple]]:
    """word -> its readings, each a tuple whose first item is the category."""
    r: dict[str, list[tuple]] = defaultdict(list)
    for noun in lx.NOUNS:
        r[noun.singular].append(("N", "mass" if noun.plural is None else "sg", noun.gender))
        if noun.plural is not None:
            r[noun.plural].append(("N", "pl", noun.gender))
    for name in lx.NAMES:
        r[name.word].append(("NAME", name.gender))
    for p in lx.PRONOUNS:
        r[p.subject].append(("PRO", "subj", p.person, p.number, p.gender))
        r[p.object].append(("PRO", "obj", p.person, p.number, p.gender))
        r[p.reflexive].append(("REFL",))
    for adj in lx.ADJECTIVES:
        r[adj.word].append(("ADJ",))
    for verb in lx.VERBS:
        seen = set()
        for form in _FORMS:
            word = getattr(verb, form)
            if (word, form) not in seen:
                seen.add((word, form))
                r[word].append(("V", verb, form))
    for kind, table in (("be", lx.BE), ("have", lx.HAVE), ("do", lx.DO)):
        for word, (_tense, agrs) in table.items():
            r[word].append(("AUX", kind, agrs))
    for word in lx.MODALS:
        r[word].append(("AUX", "modal", _ALL_AGR))
    for word, nums in {**lx.DETERMINERS, **lx.NUMERALS}.items():
        r[word].append(("DET", word, nums))
    for word in lx.POSSESSIVES:
        r[word].append(("DET", word, frozenset({"sg", "pl", "mass"})))
    for word in lx.PREPOSITIONS:
        r[word].append(("P",))
    r["to"].append(("TO",))
    r["that"].append(("THAT",))
    for word in ("what", "who", "where"):
        r[word].append(("WH", word))
    r["not"].append(("NOT",))
    r["ever"].append(("EVER",))
    for word in lx.CONJUNCTIONS:
        r[word].append(("CONJ",))
    return dict(r)


READINGS = _build_readings()
_BASES = {v.base: v for v in lx.VERBS}


def _overregularized(word: str):
    """The irregular verb ``word`` over-regularizes (``eated``, ``runned``), or None."""
    if not word.endswith("ed"):
        return None
    stems = {word[:-2], word[:-1]}
    if len(word) > 4 and word[-3] == word[-4]:
        stems.add(word[:-3])
    if word.endswith("ied"):
        stems.add(word[:-3] + "y")
    for stem in stems:
        verb = _BASES.get(stem)
        if verb is not None and word not in (verb.past, verb.participle):
            return verb
    return None


class NPInfo:
    """What a clause needs to know of a noun phrase."""

    __slots__ = ("agr", "reflexives", "npi", "reflexive")

    def __init__(self, agr, reflexives, npi=False, reflexive=None):
        self.agr = agr
        self.reflexives = reflexives  # the reflexives it binds as a subject
        self.npi = npi  # headed by ``any``
        self.reflexive = reflexive  # the word, when the NP is a reflexive


YOU = NPInfo("2", frozenset({"yourself"}))
WHO = NPInfo("3sg", frozenset({"himself", "herself"}))


def _add(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    return a | b if b else a


class _Recognizer:
    """All analyses of one sentence.

    Every parsing method returns a list of results ``(end, violations, extra, depth)``:
    where the phrase ends, what it broke, a method-specific value (the NP's
    :class:`NPInfo`, or whether a gap was used) and the deepest embedded clause inside it
    (0 when none; a clause counts itself, so a relative clause with nothing inside is 1
    below its host and the host clause reports ``1 + 1``).
    """

    def __init__(self, words: list[str]):
        self.words = words
        self.n = len(words)
        self.readings = [READINGS.get(w, ()) for w in words]
        self.memo: dict = {}

    def cat(self, i: int, category: str) -> list[tuple]:
        if i >= self.n:
            return []
        return [r for r in self.readings[i] if r[0] == category]

    def word(self, i: int) -> str | None:
        return self.words[i] if i < self.n else None

    # ------------------------------------------------------------------ noun phrases
    def np(self, i: int, case: str, modifiers: bool = True) -> list[tuple]:
        key = ("np", i, case, modifiers)
        if key in self.memo:
            return self.memo[key]
        out = self._np_core(i, case, modifiers)
        if modifiers and case == "subj":  # the dog and the cat
            for j, v, _, d in list(out):
                if self.word(j) == "and":
                    for k, v2, _, d2 in self._np_core(j + 1, case, modifiers):
                        both = NPInfo("pl", frozenset({"themselves"}))
                        out.append((k, v | v2, both, max(d, d2)))
        self.memo[key] = out
        return out

    def _np_core(self, i: int, case: str, modifiers: bool) -> list[tuple]:
        out: list[tuple] = []
        for r in self.cat(i, "PRO"):
            if r[1] == case:
                _, _, person, number, gender = r
                info = NPInfo(_agr(person, number), _reflexives(person, number, gender))
                out.append((i + 1, NONE, info, 0))
        if case == "obj" and self.cat(i, "REFL"):
            out.append((i + 1, NONE, NPInfo("3sg", NONE, reflexive=self.words[i]), 0))
        for r in self.cat(i, "NAME"):
            out.append((i + 1, NONE, NPInfo("3sg", _reflexives(3, "sg", r[1])), 0))
        for _, det, nums in self.cat(i, "DET"):
            j = i + 1
            while self.cat(j, "ADJ") and not self.cat(j, "N"):
                j += 1
            for _, num, gender in self.cat(j, "N"):
                v = NONE if num in nums else frozenset({"det_agreement"})
                first = self.words[i + 1]
                if (det == "a" and first[0] in lx.VOWELS) or (
                    det == "an" and first[0] not in lx.VOWELS
                ):
                    v = v | {"article"}
                number = "pl" if num == "pl" else "sg"
                info = NPInfo(
                    "pl" if number == "pl" else "3sg",
                    _reflexives(3, number, gender),
                    npi=det == "any",
                )
                out.append((j + 1, v, info, 0))
                if modifiers:
                    for k, v2, _, d in self.pp(j + 1):
                        out.append((k, v | v2, info, d))
                    for k, v2, _, d in self.relative(j + 1, info):
                        out.append((k, v | v2, info, d))
        return out

    def pp(self, i: int) -> list[tuple]:
        if not self.cat(i, "P"):
            return []
        return [(j, v, None, d) for j, v, _, d in self.np(i + 1, "obj", modifiers=False)]

    def relative(self, i: int, head: NPInfo) -> list[tuple]:
        """``that chased the cat`` / ``who the cat chased``."""
        if not (self.cat(i, "THAT") or self.word(i) == "who"):
            return []
        out = [
            (j, v, None, 1 + d)
            for j, v, _, d in self.predicate(i + 1, head, gap=False, licensed=False)
        ]
        for j, v, subj, d in self.np(i + 1, "subj"):
            for k, v2, used, d2 in self.predicate(j, subj, gap=True, licensed=False):
                out.append((k, _gap(v | v2, used), None, 1 + max(d, d2)))
        return out

    # ------------------------------------------------------------------ verb phrases
    def predicate(self, i: int, subj: NPInfo, gap: bool, licensed: bool) -> list[tuple]:
        """A finite VP, or two joined by ``and``; extra = whether the gap was used."""
        key = ("pred", i, subj.agr, subj.reflexives, gap, licensed)
        if key in self.memo:
            return self.memo[key]
        out = self._predicate1(i, subj, gap, licensed)
        for j, v, used, d in list(out):
            if self.word(j) == "and":
                for k, v2, used2, d2 in self._predicate1(j + 1, subj, gap and not used, licensed):
                    out.append((k, v | v2, used or used2, max(d, d2)))
        self.memo[key] = out
        return out

    def _predicate1(self, i: int, subj: NPInfo, gap: bool, licensed: bool) -> list[tuple]:
        out: list[tuple] = []
        for r in self.cat(i, "V"):
            _, verb, form = r
            if form == "s3":
                v = NONE if subj.agr == "3sg" else frozenset({"agreement"})
            elif form == "base":
                v = NONE if subj.agr != "3sg" else frozenset({"agreement"})
            elif form == "past":
                v = NONE
            elif form == "ing":
                v = frozenset({"aux_missing"})
            else:  # a participle alone: ``the girl eaten``
                if any(x[0] == "V" and x[2] == "past" for x in self.readings[i]):
                    continue  # the same word's past reading covers it
                v = frozenset({"irregular_form"})
            for j, v2, used, d in self.complements(i + 1, verb, subj, gap, licensed):
                out.append((j, v | v2, used, d))
        for _, kind, agrs in self.cat(i, "AUX"):
            v = NONE if subj.agr in agrs else frozenset({"agreement"})
            j, lic = i + 1, licensed
            if self.word(j) == "not":
                j, lic = j + 1, True
            for k, v2, used, d in self.after_aux(j, kind, subj, gap, lic):
                out.append((k, v | v2, used, d))
        return out

    def after_aux(
        self, i: int, kind: str, subj: NPInfo, gap: bool, licensed: bool, inverted: bool = False
    ) -> list[tuple]:
        """What follows an auxiliary (and its ``not``): [ever] and the verb it selects."""
        v0 = NONE
        if self.word(i) == "ever":
            v0 = NONE if licensed else frozenset({"npi"})
            i += 1
        out: list[tuple] = []
        wanted = {"be": "ing", "have": "participle", "do": "base", "modal": "base"}[kind]
        for _, verb, form in self.cat(i, "V"):
            v = v0
            if form != wanted:
                if kind == "have" and form == "past":
                    if any(x[0] == "V" and x[2] == "participle" for x in self.readings[i]):
                        continue
                    v = v | {"irregular_form"}
                else:
                    v = v | {"verb_form"}
            for j, v2, used, d in self.complements(i + 1, verb, subj, gap, licensed):
                out.append((j, v | v2, used, d))
        if kind == "be":
            for j, v in self.copular(i):
                out.append((j, v0 | v, False, 0))
            if inverted and self.cat(i, "AUX"):  # is the dog that sleeping *is* hungry
                for j, v in self.copular(i + 1):
                    out.append((j, v0 | v | {"aux_extra"}, False, 0))
                for _, verb, form in self.cat(i + 1, "V"):
                    if form == "ing":
                        for j, v2, used, d in self.complements(i + 2, verb, subj, gap, licensed):
                            out.append((j, v0 | v2 | {"aux_extra"}, used, d))
        return out

    def copular(self, i: int) -> list[tuple]:
        """After ``is``: an adjective or a PP, then PPs: (end, violations)."""
        starts = []
        if self.cat(i, "ADJ"):
            starts.append((i + 1, NONE))
        starts += [(j, v) for j, v, _, _ in self.pp(i)]
        return [(k, v | v2) for j, v in starts for k, v2 in self.trailing_pps(j)]

    def trailing_pps(self, i: int) -> list[tuple]:
        """Zero, one or two PPs: (end, violations)."""
        out = [(i, NONE)]
        for j, v, _, _ in self.pp(i):
            out.append((j, v))
            for k, v2, _, _ in self.pp(j):
                out.append((k, v | v2))
        return out

    def complements(
        self, i: int, verb: lx.Verb, subj: NPInfo, gap: bool, licensed: bool
    ) -> list[tuple]:
        """The verb's arguments, then PPs; extra = whether the gap was used."""
        frames = verb.frames
        args: list[tuple] = []
        # no argument: fine for intransitives; a transitive needs the gap
        if gap and "t" in frames:
            args.append((i, NONE, True, 0))
        if "i" in frames:
            args.append((i, NONE, False, 0))
        elif not (gap and "t" in frames):
            args.append((i, frozenset({"missing_object"}), False, 0))
        for j, v, obj, d in self.np(i, "obj"):
            v = v if "t" in frames else v | {"extra_object"}
            v = v | self.object_checks(obj, subj, licensed)
            args.append((j, v, False, d))
            if obj.reflexive is None:  # give the dog a bone / give a bone to the dog
                second = self.np(j, "obj")
                if self.word(j) == "to":
                    second = second + self.np(j + 1, "obj")
                for k, v2, obj2, d2 in second:
                    if k == j:
                        continue
                    extra = NONE if "d" in frames else frozenset({"extra_object"})
                    v3 = v | v2 | extra | self.object_checks(obj2, subj, licensed)
                    args.append((k, v3, False, max(d, d2)))
        # clause complements
        starts = (i, i + 1) if self.cat(i, "THAT") else (i,)  # ``that`` may be a determiner
        for k in starts:
            for j, v, _, d in self.clause_decl(k):
                args.append((j, v if "c" in frames else v | {"frame"}, False, d))
        if self.word(i) in ("what", "who"):
            for j, v, s, d in self.np(i + 1, "subj"):
                for k2, v2, used, d2 in self.predicate(j, s, gap=True, licensed=False):
                    v3 = _gap(v | v2, used)
                    v3 = v3 if "w" in frames else v3 | {"frame"}
                    args.append((k2, v3, False, 1 + max(d, d2)))
        out = []
        for j, v, used, d in args:
            if len(v) > MAX_VIOLATIONS:
                continue
            for k, v2 in self.trailing_pps(j):
                out.append((k, v | v2, used, d))
        return out

    @staticmethod
    def object_checks(obj: NPInfo, subj: NPInfo, licensed: bool) -> frozenset[str]:
        v = NONE
        if obj.reflexive is not None and obj.reflexive not in subj.reflexives:
            v = v | {"anaphor"}
        if obj.npi and not licensed:
            v = v | {"npi"}
        return v

    # ------------------------------------------------------------------ clauses
    # clause methods report the clause's own depth (>= 1) as the last item
    def clause_decl(self, i: int) -> list[tuple]:
        key = ("decl", i)
        if key in self.memo:
            return self.memo[key]
        out = []
        for j, v, subj, d in self.np(i, "subj"):
            if subj.npi:
                v = v | {"npi"}
            for k, v2, _, d2 in self.predicate(j, subj, gap=False, licensed=False):
                out.append((k, v | v2, None, 1 + max(d, d2)))
        self.memo[key] = out
        return out

    def clause(self, i: int) -> list[tuple]:
        out = list(self.clause_decl(i))
        out += self.yes_no_question(i)
        out += self.wh_question(i)
        out += self.imperative(i)
        return out

    def yes_no_question(self, i: int) -> list[tuple]:
        out = []
        for _, kind, agrs in self.cat(i, "AUX"):
            for j, v, subj, d in self.np(i + 1, "subj"):
                v = v if subj.agr in agrs else v | {"agreement"}
                for k, v2, _, d2 in self.after_aux(j, kind, subj, False, True, inverted=True):
                    out.append((k, v | v2, None, 1 + max(d, d2)))
        return out

    def wh_question(self, i: int) -> list[tuple]:
        word = self.word(i)
        out = []
        if word in ("what", "who"):
            for _, kind, agrs in self.cat(i + 1, "AUX"):  # what did the dog eat
                for j, v, subj, d in self.np(i + 2, "subj"):
                    v = v if subj.agr in agrs else v | {"agreement"}
                    for k, v2, used, d2 in self.after_aux(
                        j, kind, subj, True, False, inverted=True
                    ):
                        out.append((k, _gap(v | v2, used), None, 1 + max(d, d2)))
            for k, v, _, d in self.predicate(i + 1, WHO, gap=False, licensed=False):  # who ran
                out.append((k, v, None, 1 + d))
        elif word == "where":
            for _, kind, agrs in self.cat(i + 1, "AUX"):
                for j, v, subj, d in self.np(i + 2, "subj"):
                    v = v if subj.agr in agrs else v | {"agreement"}
                    if kind == "be":
                        out.append((j, v, None, 1 + d))  # where is the ball
                    for k, v2, _, d2 in self.after_aux(j, kind, subj, False, False, inverted=True):
                        out.append((k, v | v2, None, 1 + max(d, d2)))
        return out

    def imperative(self, i: int) -> list[tuple]:
        j, licensed = i, False
        if self.word(i) == "do" and self.word(i + 1) == "not":
            j, licensed = i + 2, True
        out = []
        for _, verb, form in self.cat(j, "V"):
            if form == "base":
                for k, v, _, d in self.complements(j + 1, verb, YOU, False, licensed):
                    out.append((k, v, None, 1 + d))
        return out

    def sentence(self) -> list[tuple[frozenset[str], int]]:
        """(violations, depth) of every analysis covering the whole sentence."""
        results = []
        frontier = [(0, NONE, 0)]
        while frontier:
            i, v, depth = frontier.pop()
            for j, v2, _, d in self.clause(i):
                total = v | v2
                if len(total) > MAX_VIOLATIONS:
                    continue
                if j == self.n:
                    results.append((total, max(depth, d)))
                elif self.cat(j, "CONJ"):
                    frontier.append((j + 1, total, max(depth, d)))
        return results


def _gap(v: frozenset[str], used: bool) -> frozenset[str]:
    return v if used else v | {"filler_without_gap"}


@dataclass(frozen=True)
class Analysis:
    """The checker's verdict on one sentence.

    ``violations``: the violation set of the best analysis (fewest violations); empty
    when the sentence is well-formed, ``{"unparsable"}`` when nothing covers it.
    ``depths``: the clause embedding depths of the best analyses (1 = no embedded clause;
    more than one value only if equally good analyses disagree).
    """

    violations: frozenset[str]
    depths: frozenset[int]


def analyze(sentence: str) -> Analysis:
    """Check ``sentence`` (lower case, space-separated words) against the language."""
    words = sentence.split()
    intrinsic: set[str] = set()
    extra: dict[str, list[tuple]] = {}
    for w in words:
        if w not in READINGS:
            verb = _overregularized(w)
            if verb is None:
                return Analysis(UNPARSABLE, frozenset())
            intrinsic.add("irregular_form")
            extra[w] = [("V", verb, "past")]
    if not words:
        return Analysis(UNPARSABLE, frozenset())
    rec = _Recognizer(words)
    if extra:
        rec.readings = [extra.get(w) or READINGS[w] for w in words]
    analyses = rec.sentence()
    if not analyses:
        return Analysis(UNPARSABLE, frozenset())
    best = min((v for v, _ in analyses), key=lambda v: (len(v), sorted(v)))
    depths = frozenset(d for v, d in analyses if v == best)
    return Analysis(best | frozenset(intrinsic), depths)


def violations(sentence: str) -> frozenset[str]:
    """The violations of ``sentence``'s best analysis (see :class:`Analysis`)."""
    return analyze(sentence).violations


def is_well_formed(sentence: str) -> bool:
    """True when ``sentence`` has an analysis with no violation."""
    return not violations(sentence)


def check_all(sentences: Iterable[str]) -> dict[str, frozenset[str]]:
    """The ill-formed ones among ``sentences``: sentence -> its violations."""
    return {s: v for s in sentences if (v := violations(s))}
