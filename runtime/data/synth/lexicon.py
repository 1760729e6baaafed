"""The lexicon of the generated child-directed English: words with their features.

A few hundred words of the kind parents say to toddlers. Every entry carries what the
grammar (:mod:`.grammar`), the minimal-pair builder (:mod:`.pairs`) and the independent
checker (``tests/support/synth_check.py``) need to know about it:

- nouns: singular and plural form (irregular plurals listed), a semantic *kind* (person,
  animal, food ...) used for selection, a gender for reflexives (``m``, ``f``, ``n`` for
  animals and things, ``any`` for people of unknown sex), and whether they are mass nouns;
- verbs: base, 3rd-person-singular present, past, past participle and ``-ing`` forms
  (irregular ones listed), the argument *frames* they take -- ``i`` intransitive, ``t``
  transitive, ``d`` ditransitive (``give the dog a bone`` / ``give a bone to the dog``),
  ``c`` that-clause complement, ``w`` wh-clause complement -- and the kinds their subject
  and object may be;
- adjectives with the kinds they describe; names with gender; determiners with number;
  pronouns with case, person, number and gender; auxiliaries; prepositions; NPIs.

Gold POS tags follow the universal tag set (Petrov, Das & McDonald 2012) through the
usual Penn-to-universal mapping: auxiliaries and modals are VERB, possessive determiners
(``my``, ``her``) PRON, ``not``/``ever``/``where`` ADV, ``to`` PRT, the complementizer
``that`` ADP, the relative ``that`` and demonstratives DET, ``who``/``what`` PRON, names
NOUN, ``two``/``three`` NUM. :func:`allowed_tags` gives every tag a word may receive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

VOWELS = frozenset("aeiou")


# --------------------------------------------------------------------------- spelling


def plural_of(singular: str) -> str:
    """The regular plural spelling (``box`` -> ``boxes``, ``puppy`` -> ``puppies``)."""
    if singular.endswith(("s", "sh", "ch", "x", "z")):
        return singular + "es"
    if singular.endswith("y") and singular[-2] not in VOWELS:
        return singular[:-1] + "ies"
    return singular + "s"


def third_singular_of(base: str) -> str:
    """The regular 3rd-person-singular present (``wash`` -> ``washes``, ``cry`` -> ``cries``)."""
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        return base + "es"
    if base.endswith("y") and base[-2] not in VOWELS:
        return base[:-1] + "ies"
    return base + "s"


def regular_past_of(base: str, double: bool = False) -> str:
    """The regular past spelling (``hug`` -> ``hugged`` when ``double``, ``smile`` -> ``smiled``).

    Applied to an irregular verb it gives the over-regularized form a toddler says
    (``eat`` -> ``eated``); :mod:`.pairs` uses that for the irregular-past paradigm.
    """
    if double:
        return base + base[-1] + "ed"
    if base.endswith("e"):
        return base + "d"
    if base.endswith("y") and base[-2] not in VOWELS:
        return base[:-1] + "ied"
    return base + "ed"


def ing_of(base: str, double: bool = False) -> str:
    """The ``-ing`` form (``run`` -> ``running`` when ``double``, ``make`` -> ``making``)."""
    if double:
        return base + base[-1] + "ing"
    if base.endswith("e") and not base.endswith("ee"):
        return base[:-1] + "ing"
    return base + "ing"


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class Noun:
    """A common noun; ``plural`` is None for mass nouns (``milk``)."""

    singular: str
    plural: str | None
    kind: str
    gender: str  # m / f / n / any

    @property
    def is_mass(self) -> bool:
        return self.plural is None

    def form(self, number: str) -> str:
        """The form for ``number`` (``sg`` or ``pl``); mass nouns only have ``sg``."""
        return self.singular if number == "sg" else self.plural  # type: ignore[return-value]


@dataclass(frozen=True)
class Verb:
    """A lexical verb with its five forms, frames and selection restrictions."""

    base: str
    s3: str
    past: str
    participle: str
    ing: str
    frames: frozenset[str]
    subject_kinds: frozenset[str]
    object_kinds: frozenset[str]
    reflexive: bool  # may take a reflexive object (``hurt himself``)
    irregular_past: bool  # past form is not the regular -ed spelling
    double: bool  # final consonant doubles before -ed / -ing (hug, run)


@dataclass(frozen=True)
class Adjective:
    word: str
    kinds: frozenset[str]


@dataclass(frozen=True)
class Name:
    word: str
    gender: str  # m / f


@dataclass(frozen=True)
class Pronoun:
    """A personal pronoun in subject and object case plus its reflexive."""

    subject: str
    object: str
    reflexive: str
    person: int
    number: str
    gender: str  # m / f / n / any


ANIMATE = frozenset({"person", "animal"})
PEOPLE = frozenset({"person"})
OBJECTS = frozenset({"food", "drink", "toy", "clothes", "book", "furniture"})
CONCRETE = OBJECTS | ANIMATE
# nouns a locative preposition (``in``, ``under`` ...) can take
LOCATIONS = frozenset({"furniture", "place"})


def _noun(singular: str, kind: str, gender: str = "n", plural: str | None = "") -> Noun:
    return Noun(singular, plural_of(singular) if plural == "" else plural, kind, gender)


NOUNS: tuple[Noun, ...] = (
    # people
    _noun("boy", "person", "m"),
    _noun("girl", "person", "f"),
    _noun("man", "person", "m", "men"),
    _noun("woman", "person", "f", "women"),
    _noun("child", "person", "any", "children"),
    _noun("person", "person", "any", "people"),
    _noun("baby", "person", "any"),
    _noun("friend", "person", "any"),
    _noun("teacher", "person", "any"),
    _noun("doctor", "person", "any"),
    _noun("farmer", "person", "any"),
    _noun("brother", "person", "m"),
    _noun("sister", "person", "f"),
    _noun("king", "person", "m"),
    _noun("queen", "person", "f"),
    _noun("lady", "person", "f"),
    _noun("prince", "person", "m"),
    _noun("princess", "person", "f"),
    # animals
    _noun("dog", "animal"),
    _noun("cat", "animal"),
    _noun("bird", "animal"),
    _noun("cow", "animal"),
    _noun("duck", "animal"),
    _noun("frog", "animal"),
    _noun("bear", "animal"),
    _noun("bunny", "animal"),
    _noun("horse", "animal"),
    _noun("pig", "animal"),
    _noun("monkey", "animal"),
    _noun("lion", "animal"),
    _noun("puppy", "animal"),
    _noun("kitty", "animal"),
    _noun("elephant", "animal"),
    _noun("owl", "animal"),
    _noun("mouse", "animal", plural="mice"),
    _noun("goose", "animal", plural="geese"),
    _noun("sheep", "animal", plural="sheep"),
    _noun("fish", "animal", plural="fish"),
    _noun("wolf", "animal", plural="wolves"),
    # food and drink
    _noun("cookie", "food"),
    _noun("apple", "food"),
    _noun("banana", "food"),
    _noun("cake", "food"),
    _noun("sandwich", "food"),
    _noun("egg", "food"),
    _noun("cracker", "food"),
    _noun("carrot", "food"),
    _noun("grape", "food"),
    _noun("strawberry", "food"),
    _noun("potato", "food", plural="potatoes"),
    _noun("cheese", "food", plural=None),
    _noun("milk", "drink", plural=None),
    _noun("juice", "drink", plural=None),
    _noun("water", "drink", plural=None),
    _noun("soup", "food", plural=None),
    # toys and things
    _noun("ball", "toy"),
    _noun("block", "toy"),
    _noun("doll", "toy"),
    _noun("truck", "toy"),
    _noun("car", "toy"),
    _noun("puzzle", "toy"),
    _noun("balloon", "toy"),
    _noun("kite", "toy"),
    _noun("train", "toy"),
    _noun("crayon", "toy"),
    _noun("airplane", "toy"),
    _noun("drum", "toy"),
    _noun("spoon", "toy"),
    _noun("cup", "toy"),
    _noun("umbrella", "toy"),
    _noun("book", "book"),
    _noun("story", "book"),
    _noun("song", "song"),
    # clothes
    _noun("hat", "clothes"),
    _noun("shoe", "clothes"),
    _noun("sock", "clothes"),
    _noun("coat", "clothes"),
    _noun("boot", "clothes"),
    _noun("shirt", "clothes"),
    _noun("mitten", "clothes"),
    # furniture and containers (also places for in/on/under)
    _noun("box", "furniture"),
    _noun("bed", "furniture"),
    _noun("table", "furniture"),
    _noun("chair", "furniture"),
    _noun("couch", "furniture"),
    _noun("basket", "furniture"),
    _noun("blanket", "furniture"),
    _noun("door", "furniture"),
    _noun("window", "furniture"),
    _noun("bathtub", "furniture"),
    # places
    _noun("house", "place"),
    _noun("tree", "place"),
    _noun("garden", "place"),
    _noun("kitchen", "place"),
    _noun("park", "place"),
    _noun("room", "place"),
)

NAMES: tuple[Name, ...] = tuple(
    Name(w, g)
    for w, g in (
        ("mommy", "f"),
        ("daddy", "m"),
        ("grandma", "f"),
        ("grandpa", "m"),
        ("emma", "f"),
        ("lily", "f"),
        ("sarah", "f"),
        ("anna", "f"),
        ("mia", "f"),
        ("eve", "f"),
        ("max", "m"),
        ("jack", "m"),
        ("ben", "m"),
        ("tom", "m"),
        ("adam", "m"),
        ("peter", "m"),
    )
)

PRONOUNS: tuple[Pronoun, ...] = (
    Pronoun("i", "me", "myself", 1, "sg", "any"),
    Pronoun("you", "you", "yourself", 2, "sg", "any"),
    Pronoun("he", "him", "himself", 3, "sg", "m"),
    Pronoun("she", "her", "herself", 3, "sg", "f"),
    Pronoun("it", "it", "itself", 3, "sg", "n"),
    Pronoun("we", "us", "ourselves", 1, "pl", "any"),
    Pronoun("they", "them", "themselves", 3, "pl", "any"),
)

#: the reflexive that a 3rd-person antecedent of this (number, gender) takes
REFLEXIVE_3RD: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("sg", "m"): ("himself",),
    ("sg", "f"): ("herself",),
    ("sg", "n"): ("itself",),
    ("sg", "any"): ("himself", "herself"),
    ("pl", "m"): ("themselves",),
    ("pl", "f"): ("themselves",),
    ("pl", "n"): ("themselves",),
    ("pl", "any"): ("themselves",),
}

_ANIMATE_ADJ = ("happy", "sad", "hungry", "tired", "sleepy", "silly", "funny", "grumpy", "brave")
_THING_ADJ = ("red", "blue", "green", "yellow", "pink", "purple", "new", "old", "round", "heavy")
_ANY_ADJ = ("wet", "dirty", "clean", "soft")
_PLACES_TOO = CONCRETE | {"place"}

ADJECTIVES: tuple[Adjective, ...] = (
    *(Adjective(w, ANIMATE) for w in _ANIMATE_ADJ),
    *(Adjective(w, OBJECTS) for w in _THING_ADJ),
    *(Adjective(w, CONCRETE) for w in _ANY_ADJ),
    Adjective("big", _PLACES_TOO),
    Adjective("little", _PLACES_TOO),
    Adjective("nice", _PLACES_TOO | {"song"}),
    Adjective("good", CONCRETE | {"song"}),
    Adjective("new", frozenset({"song"})),
    Adjective("silly", frozenset({"song"})),
    Adjective("yummy", frozenset({"food", "drink"})),
    Adjective("hot", frozenset({"food", "drink"})),
    Adjective("cold", frozenset({"food", "drink", "person", "animal"})),
    Adjective("empty", frozenset({"furniture", "toy"})),
    Adjective("cute", ANIMATE),
)


def _verb(
    base: str,
    frames: str,
    subject: frozenset[str],
    objects: frozenset[str] = frozenset(),
    *,
    past: str = "",
    participle: str = "",
    double: bool = False,
    reflexive: bool = False,
    s3: str = "",
) -> Verb:
    regular = regular_past_of(base, double)
    past = past or regular
    return Verb(
        base=base,
        s3=s3 or third_singular_of(base),
        past=past,
        participle=participle or past,
        ing=ing_of(base, double),
        frames=frozenset(frames),
        subject_kinds=subject,
        object_kinds=objects,
        reflexive=reflexive,
        irregular_past=past != regular,
        double=double,
    )


_THINGS = OBJECTS - {"furniture"}
_FALLERS = ANIMATE | frozenset({"toy", "food", "book", "clothes"})

VERBS: tuple[Verb, ...] = (
    # intransitive only
    _verb("sleep", "i", ANIMATE, past="slept"),
    _verb("cry", "i", ANIMATE),
    _verb("laugh", "i", ANIMATE),
    _verb("smile", "i", ANIMATE),
    _verb("fall", "i", _FALLERS, past="fell", participle="fallen"),
    _verb("sit", "i", ANIMATE, past="sat", double=True),
    _verb("jump", "i", ANIMATE),
    _verb("swim", "i", ANIMATE, past="swam", participle="swum", double=True),
    _verb("run", "i", ANIMATE, past="ran", participle="run", double=True),
    _verb("walk", "i", ANIMATE),
    _verb("dance", "i", ANIMATE),
    _verb("sneeze", "i", ANIMATE),
    _verb("giggle", "i", ANIMATE),
    _verb("nap", "i", ANIMATE, double=True),
    _verb("go", "i", ANIMATE, past="went", participle="gone"),
    _verb("come", "i", ANIMATE, past="came", participle="come"),
    _verb("hop", "i", ANIMATE, double=True),
    _verb("yawn", "i", ANIMATE),
    _verb("play", "i", ANIMATE),
    # transitive only
    _verb("like", "t", ANIMATE, CONCRETE, reflexive=True),
    _verb("want", "t", ANIMATE, CONCRETE - PEOPLE),
    _verb("need", "t", ANIMATE, CONCRETE - PEOPLE),
    _verb("find", "t", ANIMATE, CONCRETE, past="found"),
    _verb("hug", "t", ANIMATE, ANIMATE | {"toy"}, double=True, reflexive=True),
    _verb("kiss", "t", PEOPLE, ANIMATE),
    _verb("hold", "t", PEOPLE, CONCRETE - PEOPLE, past="held"),
    _verb("fix", "t", PEOPLE, frozenset({"toy", "furniture"})),
    _verb("take", "t", ANIMATE, _THINGS, past="took", participle="taken"),
    _verb("love", "t", ANIMATE, CONCRETE, reflexive=True),
    _verb("catch", "t", ANIMATE, ANIMATE | {"toy"}, past="caught"),
    _verb("get", "t", ANIMATE, _THINGS, past="got", participle="gotten", double=True),
    _verb("make", "t", PEOPLE, frozenset({"food", "toy"}), past="made"),
    _verb("hit", "t", ANIMATE, frozenset({"toy"}), past="hit", double=True),
    _verb("touch", "t", ANIMATE, CONCRETE),
    _verb("chase", "t", ANIMATE, ANIMATE | {"toy"}),
    _verb("tickle", "t", PEOPLE, ANIMATE, reflexive=True),
    _verb("bite", "t", ANIMATE, CONCRETE - {"drink"}, past="bit", participle="bitten"),
    _verb("break", "t", ANIMATE, frozenset({"toy"}), past="broke", participle="broken"),
    _verb("wear", "t", PEOPLE, frozenset({"clothes"}), past="wore", participle="worn"),
    _verb("feed", "t", PEOPLE, ANIMATE, past="fed", reflexive=True),
    _verb("hurt", "t", ANIMATE, ANIMATE, past="hurt", reflexive=True),
    _verb("open", "t", PEOPLE, frozenset({"furniture", "book"})),
    _verb("carry", "t", ANIMATE, _THINGS | ANIMATE),
    _verb("scratch", "t", ANIMATE, ANIMATE, reflexive=True),
    _verb("forget", "tcw", PEOPLE, _THINGS, past="forgot", participle="forgotten", double=True),
    # transitive or intransitive
    _verb("eat", "it", ANIMATE, frozenset({"food"}), past="ate", participle="eaten"),
    _verb("drink", "it", ANIMATE, frozenset({"drink"}), past="drank", participle="drunk"),
    _verb("draw", "it", PEOPLE, ANIMATE | {"toy"}, past="drew", participle="drawn"),
    _verb("sing", "it", PEOPLE, frozenset({"song"}), past="sang", participle="sung"),
    _verb("kick", "it", ANIMATE, frozenset({"toy"})),
    _verb("push", "it", ANIMATE, frozenset({"toy", "furniture"})),
    _verb("wash", "it", PEOPLE, ANIMATE | {"clothes", "toy"}, reflexive=True),
    _verb("clean", "it", PEOPLE, frozenset({"furniture", "toy", "clothes"})),
    _verb("help", "it", ANIMATE, ANIMATE, reflexive=True),
    _verb("see", "it", ANIMATE, CONCRETE, past="saw", participle="seen", reflexive=True),
    _verb("hear", "it", ANIMATE, ANIMATE | {"song"}, past="heard"),
    _verb("watch", "it", ANIMATE, ANIMATE),
    _verb("climb", "it", ANIMATE, frozenset({"furniture"})),
    _verb("cook", "it", PEOPLE, frozenset({"food"})),
    _verb("paint", "it", PEOPLE, frozenset({"toy", "furniture"})),
    # ditransitive (and transitive)
    _verb("give", "td", PEOPLE, _THINGS, past="gave", participle="given"),
    _verb("show", "td", PEOPLE, _THINGS | {"animal"}, participle="shown"),
    _verb("bring", "td", ANIMATE, _THINGS, past="brought"),
    _verb("throw", "td", PEOPLE, frozenset({"toy"}), past="threw", participle="thrown"),
    _verb("send", "td", PEOPLE, frozenset({"book", "toy"}), past="sent"),
    _verb("read", "itd", PEOPLE, frozenset({"book"}), past="read"),
    _verb("buy", "td", PEOPLE, _THINGS, past="bought"),
    # clause-taking
    _verb("think", "c", PEOPLE, past="thought"),
    _verb("say", "c", PEOPLE, past="said"),
    _verb("hope", "c", PEOPLE),
    _verb("guess", "cw", PEOPLE),
    _verb("wonder", "w", PEOPLE),
    _verb("know", "tcw", PEOPLE, CONCRETE - {"food", "drink"}, past="knew", participle="known"),
    _verb("remember", "itcw", PEOPLE, CONCRETE),
)

# determiners: word -> the noun numbers it combines with (``mass`` = mass noun)
DETERMINERS: Mapping[str, frozenset[str]] = {
    "the": frozenset({"sg", "pl", "mass"}),
    "a": frozenset({"sg"}),
    "an": frozenset({"sg"}),
    "this": frozenset({"sg", "mass"}),
    "that": frozenset({"sg", "mass"}),
    "these": frozenset({"pl"}),
    "those": frozenset({"pl"}),
    "every": frozenset({"sg"}),
    "some": frozenset({"pl", "mass"}),
    "any": frozenset({"pl", "mass"}),  # an NPI: only under negation or in a question
}
NUMERALS: Mapping[str, frozenset[str]] = {"two": frozenset({"pl"}), "three": frozenset({"pl"})}
POSSESSIVES: tuple[str, ...] = ("my", "your", "his", "her", "our", "their")
DEMONSTRATIVES: tuple[str, ...] = ("this", "that", "these", "those")

MODALS: tuple[str, ...] = ("can", "will", "should", "could", "would")
#: be / have / do: word -> (tense, agreement classes it goes with). Agreement classes:
#: 1sg, 2 (you), 3sg, pl -- the subject's person and number.
BE: Mapping[str, tuple[str, frozenset[str]]] = {
    "am": ("pres", frozenset({"1sg"})),
    "is": ("pres", frozenset({"3sg"})),
    "are": ("pres", frozenset({"2", "pl"})),
    "was": ("past", frozenset({"1sg", "3sg"})),
    "were": ("past", frozenset({"2", "pl"})),
}
HAVE: Mapping[str, tuple[str, frozenset[str]]] = {
    "has": ("pres", frozenset({"3sg"})),
    "have": ("pres", frozenset({"1sg", "2", "pl"})),
    "had": ("past", frozenset({"1sg", "2", "3sg", "pl"})),
}
DO: Mapping[str, tuple[str, frozenset[str]]] = {
    "does": ("pres", frozenset({"3sg"})),
    "do": ("pres", frozenset({"1sg", "2", "pl"})),
    "did": ("past", frozenset({"1sg", "2", "3sg", "pl"})),
}

PREPOSITIONS: tuple[str, ...] = ("in", "on", "under", "near", "behind", "with")
LOCATIVE_PREPOSITIONS: tuple[str, ...] = ("in", "on", "under", "near", "behind")
CONJUNCTIONS: tuple[str, ...] = ("and", "but", "or")
WH_WORDS: tuple[str, ...] = ("what", "who", "where")
NEGATION = "not"
NPI_ADVERB = "ever"


# --------------------------------------------------------------------------- POS tags


def _build_tags() -> dict[str, frozenset[str]]:
    tags: dict[str, set[str]] = {}

    def add(word: str, tag: str) -> None:
        tags.setdefault(word, set()).add(tag)

    for noun in NOUNS:
        add(noun.singular, "NOUN")
        if noun.plural:
            add(noun.plural, "NOUN")
    for name in NAMES:
        add(name.word, "NOUN")
    for pron in PRONOUNS:
        for word in (pron.subject, pron.object, pron.reflexive):
            add(word, "PRON")
    for adj in ADJECTIVES:
        add(adj.word, "ADJ")
    for verb in VERBS:
        for word in (verb.base, verb.s3, verb.past, verb.participle, verb.ing):
            add(word, "VERB")
    for word in (*MODALS, *BE, *HAVE, *DO):
        add(word, "VERB")
    for word in DETERMINERS:
        add(word, "DET")
    for word in NUMERALS:
        add(word, "NUM")
    for word in POSSESSIVES:
        add(word, "PRON")
    for word in PREPOSITIONS:
        add(word, "ADP")
    add("to", "PRT")  # Penn TO -> PRT, also before a recipient (give a ball to the dog)
    add("that", "ADP")  # complementizer (Penn IN); the relative `that` is DET (WDT)
    for word in CONJUNCTIONS:
        add(word, "CONJ")
    add("what", "PRON")
    add("who", "PRON")
    add("where", "ADV")
    add(NEGATION, "ADV")
    add(NPI_ADVERB, "ADV")
    return {w: frozenset(t) for w, t in tags.items()}


#: word -> every universal tag the word may receive in the generated language
WORD_TAGS: Mapping[str, frozenset[str]] = _build_tags()
#: every word the generator can produce
VOCABULARY: frozenset[str] = frozenset(WORD_TAGS)


def allowed_tags(word: str) -> frozenset[str]:
    """The universal tags ``word`` may carry; empty for a word not in the lexicon."""
    return WORD_TAGS.get(word, frozenset())
