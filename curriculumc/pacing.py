"""Pacing functions: how fast a curriculum releases data (or vocabulary).

Pure functions of the step, shared by the trainer, ``plot``, ``explain`` and
``simulate`` -- there is no second copy anywhere.

``g(x)`` maps progress ``x`` in [0, 1] to a share of the way from the start fraction to the
end fraction. The shapes are the seed system's (Cambridge BabyLM 2023)::

    linear  x
    quad    x**2
    root    sqrt(x)
    step    0 for x < 1, 1 at x >= 1
    exp     (e**(10x) - 1) / (e**10 - 1)
    log     max(0, 1 + ln(x + e**-10) / 10), capped at 1
"""

from __future__ import annotations

import math
from collections.abc import Callable

_E10 = math.exp(10.0)
_EM10 = math.exp(-10.0)


def _linear(x: float) -> float:
    return x


def _quad(x: float) -> float:
    return x * x


def _root(x: float) -> float:
    return math.sqrt(x)


def _step(x: float) -> float:
    return 1.0 if x >= 1.0 else 0.0


def _exp(x: float) -> float:
    return (math.exp(10.0 * x) - 1.0) / (_E10 - 1.0)


def _log(x: float) -> float:
    return min(1.0, max(0.0, 1.0 + math.log(x + _EM10) / 10.0))


PACING_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "linear": _linear,
    "quad": _quad,
    "root": _root,
    "step": _step,
    "exp": _exp,
    "log": _log,
}


def progress(step: float, after: float, over: float, *, whole: bool = True) -> float:
    """Progress x in [0, 1] of a pace that holds until ``after`` and then runs ``over`` steps.

    ``after`` and ``over`` may be fractional (a share of training resolved exactly, e.g.
    6.25% of 300 steps = 18.75): the ramp's length is then the whole steps of ``over``,
    ``x = (step - after) / floor(over)`` -- the seed system's ``num_steps = int(step_end -
    step_start)`` -- which for whole ``after``/``over`` is the plain ``(step - after) / over``.
    ``whole=False`` (a pace counted in words, tokens or epochs drawn): no cut, ``x = (step -
    after) / over``.
    """
    length = math.floor(over) if whole else over
    if length <= 0:
        return 1.0 if step >= after + over else 0.0
    return min(1.0, max(0.0, (step - after) / length))


def paced_fraction(
    fn: str,
    step: int,
    *,
    start: float,
    over: float,
    end: float = 1.0,
    after: float = 0,
    release: float | None = None,
    whole: bool = True,
) -> float:
    """The released fraction at optimizer ``step``.

    ``start + (end - start) * g(x)`` with ``x = clip((step - after) / over, 0, 1)``, and 1.0
    from the release step ``after + release * over`` on (``release`` is a share of ``over``).
    With no release the pool follows the curve and then stays at ``end`` -- the seed
    system's ``max_difficulty`` cap; with ``end == 1`` both readings agree, since every
    g(1) is 1. ``fn == "none"`` is always 1.0.

    ``step`` jumps at ``after + over`` itself (the seed's ``step >= step_end``), not at the
    whole-step ramp length that the other shapes divide by (:func:`progress`).

    Raises ``KeyError`` for an unknown ``fn`` (the checker reports those before this runs).
    """
    if fn == "none":
        return 1.0
    g = PACING_FUNCTIONS[fn]
    if release is not None and step >= after + release * over:
        return 1.0
    if fn == "step":
        return end if step >= after + over else start
    return start + (end - start) * g(progress(step, after, over, whole=whole))
