"""Fuzzing: mutated example specs never crash; every failure is located diagnostics."""

from __future__ import annotations

import random

from support.paths import REPO

import curriculumc
from curriculumc.errors import CurriculumError
from curriculumc.lang.render import render_diagnostics

SEEDS = sorted([*REPO.glob("specs/*.cur"), *REPO.glob("specs/*.yaml")])
TOKENS = ["at", "pace", "sort", "by", "from", "over", "release", "(", ")", ",", ";", "+", "=",
          "%", "10%", "0", "-1", "1e999", "k", '"', "\n", "unit", "none", "mlm", "pos", "{", ":",
          "- ", "  ", "#", "|", "\t", "1.5k", "steps", "to", "after", "eval", "every", "ties",
          "include", "tokens", "sample", "with", "replacement", "batch"]  # fmt: skip
MUTATIONS = 3000


def _mutate(text: str, rng: random.Random) -> str | bytes:
    kind = rng.randrange(6)
    pos = rng.randrange(len(text) + 1)
    if kind == 0:  # insert a character
        return text[:pos] + rng.choice(text + "\x00\u00e9\u2028") + text[pos:]
    if kind == 1:  # delete a span
        return text[:pos] + text[pos + rng.randrange(1, 8) :]
    if kind == 2:  # replace a character
        return text[:pos] + chr(rng.randrange(0, 0x3000)) + text[pos + 1 :]
    if kind == 3:  # swap two words
        words = text.split(" ")
        i, j = rng.randrange(len(words)), rng.randrange(len(words))
        words[i], words[j] = words[j], words[i]
        return " ".join(words)
    if kind == 4:  # insert a token of the language
        return text[:pos] + rng.choice(TOKENS) + text[pos:]
    data = bytearray(text.encode("utf-8"))  # random bytes, often not UTF-8
    for _ in range(rng.randrange(1, 4)):
        data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
    return bytes(data)


def test_mutated_specs_fail_only_with_located_diagnostics():
    rng = random.Random(20240601)
    sources = [(p.name, p.read_text(encoding="utf-8")) for p in SEEDS]
    outcomes = {"compiled": 0, "rejected": 0}
    for _ in range(MUTATIONS):
        name, text = rng.choice(sources)
        mutated = _mutate(text, rng)
        if rng.random() < 0.3:  # mutate again: worse input
            mutated = _mutate(mutated.decode("utf-8", "replace") if isinstance(mutated, bytes)
                              else mutated, rng)  # fmt: skip
        try:
            curriculumc.loads(mutated, name, base_dir=str(REPO / "specs"))
            outcomes["compiled"] += 1
        except CurriculumError as exc:
            outcomes["rejected"] += 1
            assert exc.diagnostics, mutated
            for diagnostic in exc.diagnostics:
                span = diagnostic.span
                assert span is not None, (mutated, diagnostic)
                assert span.line >= 1 and span.column >= 1, (mutated, diagnostic)
                assert span.end_line >= span.line, (mutated, diagnostic)
                if span.source is not None:
                    assert span.line <= span.source.count("\n") + 1, (mutated, diagnostic)
            assert render_diagnostics(exc.diagnostics)  # renders without raising
    # the mutations explore both sides
    assert outcomes["compiled"] > 100 and outcomes["rejected"] > 1000, outcomes


def test_api_fuzz_20000_inputs_no_crash_slow_unlocated_or_outside():
    """Issue 13: 20,000 seeded mutations of specs, overrides and plans (see
    tests/support/fuzzing.py; longer runs: ``.venv/bin/python bench/fuzz.py``)."""
    from support.fuzzing import fuzz

    outcome = fuzz(20_000, seed=13, slow_s=10.0)
    assert outcome.inputs == 20_000
    assert dict(outcome.failures) == {}, list(outcome.examples.items())[:5]
    assert outcome.compiled > 500 and outcome.rejected > 10_000, outcome
