"""Training objectives: a registry by name, each with its own targets and (optional) head.

An objective is built from a plan :class:`~curriculumc.plan.Unit` by a factory
``factory(unit, context) -> Objective`` found by the unit's ``objective`` name: the
built-ins (``mlm``, ``clm``, ``pos``) or a plugin registered under the entry-point group
``curriculumc.objectives`` (the same group the compiler reads for names), e.g.::

    [project.entry-points."curriculumc.objectives"]
    span = "my_package.span:build"

An :class:`Objective` does two things:

1. :meth:`Objective.targets` picks, from the *global* batch and a generator seeded by
   ``(seed, step, unit name)``, the positions it wants hidden from the model (``corrupt``;
   None: it reads the clean batch) and the labels it will be scored on (``labels``, -100
   elsewhere). The trainer then gives every corrupting objective its OWN corrupted copy of
   the batch (:func:`corrupt`, with the objective's ``random``/``keep`` split and a
   generator of its own), so each trains at exactly its written rates: ``mlm + pos`` is
   MLM at 15% and POS at its 40%/15%, never their union. One backbone forward runs per
   distinct input -- the clean batch is shared by every objective that reads it, and
   corruptions that come out identical share too (``registry.forwards_per_step``).
2. :meth:`Objective.loss_sum` maps the backbone's hidden states of its own input at its
   labelled positions to logits (its own head, or the model's LM head) and returns the
   *summed* loss; the trainer divides by the global number of labels, so that any split
   of the global batch over ranks and accumulation steps gives the same loss.

The vocabulary curriculum (:mod:`curriculumc.runtime.train.vocabulary`) maps hidden tokens
to ``<unk>`` in every input and, by default, in token targets (``Targets.shift`` says
which batch position a label's token comes from).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from curriculumc.errors import CurriculumError
from curriculumc.registry import DEFAULT_CORRUPTION, OBJECTIVE_GROUP

if TYPE_CHECKING:
    import torch

    from curriculumc.plan import Plan, Unit
    from curriculumc.runtime.data.tokenized import TokenizedCorpus
    from curriculumc.runtime.train.models import SpecialIds

IGNORE = -100  # label value with no loss (PyTorch's cross-entropy default)


@dataclass(frozen=True)
class TokenBatch:
    """A batch of examples as tensors: ``<s> tokens </s>`` then ``<pad>`` to the longest.

    ``ids``/``attention_mask``/``special`` are ``[B, L]``; ``pos`` holds tag indices of
    :data:`curriculumc.pos_tags.UNIVERSAL_TAGS` (255 where none, and at special tokens), or
    None when the corpus has no tags. ``words`` is the number of words of each example.
    """

    ids: torch.Tensor
    attention_mask: torch.Tensor
    special: torch.Tensor
    pos: torch.Tensor | None
    words: np.ndarray


@dataclass(frozen=True)
class Targets:
    """What one objective wants from a batch: ``labels`` ``[B, L]`` (-100 = no loss) and the
    positions to hide from the model (``corrupt``, ``[B, L]`` bool, or None: the objective
    reads the clean batch). ``shift``: a token label at position i is the batch's token at
    i + shift (0 for mlm, 1 for clm's next token) -- what the vocabulary curriculum reads
    to find the target token's own POS tag."""

    labels: torch.Tensor
    corrupt: torch.Tensor | None = None
    shift: int = 0


@dataclass(frozen=True)
class ObjectiveContext:
    """What a factory may use to build an objective and its head."""

    family: str  # "masked" | "causal"
    vocab_size: int
    hidden_size: int
    specials: SpecialIds
    config: Any  # the model's transformers config


class Objective(Protocol):
    """A training objective; see the module docstring. A corrupting objective may also
    carry ``random`` and ``keep`` (its corruption split, :func:`split_of`)."""

    name: str  # the unit's name (``pos_nv``), used in logs and checkpoints
    head: torch.nn.Module | None  # its own trainable parameters, or None

    def targets(self, batch: TokenBatch, generator: torch.Generator) -> Targets: ...

    def loss_sum(self, model, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor: ...


Factory = Callable[["Unit", ObjectiveContext], Objective]


def _builtin() -> dict[str, Factory]:
    from curriculumc.runtime.train.objectives import clm, mlm, pos

    return {"mlm": mlm.build, "clm": clm.build, "pos": pos.build}


@cache
def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=OBJECTIVE_GROUP)}


def factory(name: str) -> Factory:
    """The factory of objective ``name`` (built-ins first, then entry points).

    Raises CurriculumError E410 when no objective has that name.
    """
    builtin = _builtin()
    if name in builtin:
        return builtin[name]
    plugin = _plugins().get(name)
    if plugin is None:
        known = ", ".join(sorted({*builtin, *_plugins()}))
        raise CurriculumError.single(
            "E410", f"no objective called {name!r} is installed", hint=f"available: {known}"
        )
    return plugin.load()


def build_objectives(units: tuple[Unit, ...], context: ObjectiveContext) -> dict[str, Objective]:
    """One objective per unit (every head is created here, up front, so that a returning
    objective resumes its head). Keyed by unit name, in the units' order."""
    return {unit.name: factory(unit.objective)(unit, context) for unit in units}


def needs_pos(plan: Plan) -> bool:
    """Whether any unit's objective, or the vocabulary curriculum's order, reads POS tags
    (the data layer then provides them)."""
    from curriculumc.runtime.train.vocabulary import needs_tags

    return needs_tags(plan) or any(
        getattr(factory(u.objective), "needs_pos", False) for u in plan.units
    )


def step_generator(seed: int, step: int, salt: str) -> torch.Generator:
    """A CPU generator that is a pure function of ``(seed, step, salt)``.

    Masking draws from these over the *global* batch, so every rank makes the same choice
    and a resumed run repeats exactly what an uninterrupted one would have drawn.
    """
    import torch

    digest = hashlib.sha256(f"{seed}:{step}:{salt}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def collate(corpus: TokenizedCorpus, indices: np.ndarray, *, seq: int, specials: SpecialIds):
    """The :class:`TokenBatch` of examples ``indices``, each cut to ``seq - 2`` tokens and
    wrapped in ``<s> ... </s>``, padded to the longest row (not to ``seq``: short
    child-directed utterances would otherwise cost mostly padding)."""
    import torch

    from curriculumc.runtime.data.tokenized import NO_TAG

    pieces = [corpus.example(int(i))[: seq - 2] for i in indices]
    width = max(len(p) for p in pieces) + 2
    ids = np.full((len(pieces), width), specials.pad, dtype=np.int64)
    mask = np.zeros((len(pieces), width), dtype=np.int64)
    pos = None if corpus.pos is None else np.full((len(pieces), width), NO_TAG, dtype=np.int64)
    for row, (i, piece) in enumerate(zip(indices, pieces)):
        n = len(piece)
        ids[row, 0] = specials.bos
        ids[row, 1 : n + 1] = piece
        ids[row, n + 1] = specials.eos
        mask[row, : n + 2] = 1
        if pos is not None:
            start = int(corpus.offsets[int(i)])
            pos[row, 1 : n + 1] = corpus.pos[start : start + n]
    ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask)
    special = torch.isin(ids_t, torch.tensor(specials.all, dtype=torch.int64)) | (mask_t == 0)
    return TokenBatch(
        ids=ids_t,
        attention_mask=mask_t,
        special=special,
        pos=None if pos is None else torch.from_numpy(pos),
        words=np.asarray(corpus.words[np.asarray(indices)], dtype=np.int64),
    )


def corrupt(
    ids: torch.Tensor,
    positions: torch.Tensor,
    generator: torch.Generator,
    *,
    mask_id: int,
    vocab_size: int,
    random: float = DEFAULT_CORRUPTION["random"],
    keep: float = DEFAULT_CORRUPTION["keep"],
) -> torch.Tensor:
    """Corrupt the chosen ``positions`` of ``ids``: a share ``random`` of them become a
    random token (uniform over the vocabulary), ``keep`` stay as they are, the rest
    (``1 - random - keep``) become ``<mask>`` -- BERT's 80/10/10 by default. Returns new
    ids; one uniform draw per position decides (``< 1 - random - keep``: mask, then
    random, then keep), so the split is exact in expectation."""
    import torch

    draw = torch.rand(ids.shape, generator=generator)
    random_ids = torch.randint(vocab_size, ids.shape, generator=generator)
    out = ids.clone()
    masked_below = 1.0 - random - keep
    to_mask = positions & (draw < masked_below)
    to_random = positions & (draw >= masked_below) & (draw < masked_below + random)
    out[to_mask] = mask_id
    out[to_random] = random_ids[to_random]
    return out


def split_of(objective) -> tuple[float, float]:
    """``(random, keep)`` an objective corrupts its chosen tokens with (its ``random`` /
    ``keep`` attributes; BERT's 10% / 10% for one that has none, e.g. a plugin)."""
    return (
        float(getattr(objective, "random", DEFAULT_CORRUPTION["random"])),
        float(getattr(objective, "keep", DEFAULT_CORRUPTION["keep"])),
    )


def corruption_split(unit: Unit) -> tuple[float, float]:
    """``(random, keep)`` of ``unit`` (``mlm(random=10%, keep=0%)``), defaults
    :data:`curriculumc.registry.DEFAULT_CORRUPTION`; each a share in [0, 1] and together
    at most 1. Raises CurriculumError E411 otherwise."""
    values = {}
    for key, default in DEFAULT_CORRUPTION.items():
        value = dict(unit.kwargs).get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise CurriculumError.single(
                "E411",
                f"unit {unit.name}: {key}={value!r} must be a share in [0, 1] of the chosen tokens",
                hint=f"e.g. {unit.objective}({key}=10%)",
            )
        values[key] = float(value)
    if values["random"] + values["keep"] > 1 + 1e-12:
        raise CurriculumError.single(
            "E411",
            f"unit {unit.name}: random={values['random']:g} + keep={values['keep']:g} is "
            "more than all of the chosen tokens",
            hint="random + keep <= 1; the rest of the chosen tokens become <mask>",
        )
    return values["random"], values["keep"]


def fraction_kwarg(unit: Unit, key: str, default: float) -> float:
    """A probability keyword of ``unit`` (e.g. ``mask=15%``), checked to lie in (0, 1].

    Raises CurriculumError E411 otherwise.
    """
    value = dict(unit.kwargs).get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise CurriculumError.single(
            "E411",
            f"unit {unit.name}: {key}={value!r} must be a fraction in (0, 1]",
            hint=f"e.g. {unit.objective}({key}=15%)",
        )
    return float(value)


def check_kwargs(unit: Unit, allowed: tuple[str, ...]) -> None:
    """Raise CurriculumError E412 when ``unit`` has keywords its objective does not take."""
    unknown = sorted(set(dict(unit.kwargs)) - set(allowed))
    if unknown:
        raise CurriculumError.single(
            "E412",
            f"unit {unit.name}: {unit.objective} takes no {', '.join(unknown)}",
            hint=f"it takes: {', '.join(allowed) or 'no keywords'}",
        )


def require_family(unit: Unit, context: ObjectiveContext, family: str) -> None:
    """Raise CurriculumError E413 when ``unit`` cannot train a model of ``context.family``."""
    if context.family != family:
        raise CurriculumError.single(
            "E413",
            f"unit {unit.name}: {unit.objective} needs a {family} model, "
            f"this model is {context.family}",
        )
