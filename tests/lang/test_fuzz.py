"""Fuzzing: mutated specs, overrides and plans never crash; every failure is a located
diagnostic inside the shown source (the mutations and the oracle: tests/support/fuzzing.py)."""

from __future__ import annotations


def test_api_fuzz_20000_inputs_no_crash_slow_unlocated_or_outside():
    """Issue 13: 20,000 seeded mutations of specs, overrides and plans (see
    tests/support/fuzzing.py; longer runs: ``.venv/bin/python bench/fuzz.py``)."""
    from support.fuzzing import fuzz

    outcome = fuzz(20_000, seed=13, slow_s=10.0)
    assert outcome.inputs == 20_000
    assert dict(outcome.failures) == {}, list(outcome.examples.items())[:5]
    assert outcome.compiled > 500 and outcome.rejected > 10_000, outcome
