"""Fuzz the compiler's API for a long time: mutated specs (``curriculumc.loads``),
``key=value`` overrides and plans (``curriculumc.load_plan``), by the oracle of
tests/support/fuzzing.py (no exception but CurriculumError, nothing over 10 s, every
diagnostic located inside the source it shows).

    .venv/bin/python bench/fuzz.py                     # 200,000 inputs, seed 1
    .venv/bin/python bench/fuzz.py --inputs 50000 --seed 7

Prints the counts of each failure kind and one example of each (the suite runs 20,000:
tests/lang/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.fuzzing import fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slow", type=float, default=10.0, help="seconds that count as slow")
    args = parser.parse_args()
    outcome = fuzz(args.inputs, args.seed, slow_s=args.slow)
    print(f"inputs {outcome.inputs}: compiled {outcome.compiled}, rejected {outcome.rejected}, "
          f"{outcome.seconds:.1f} s, slowest {outcome.slowest:.2f} s")  # fmt: skip
    for kind in ("crashes", "slow", "unlocated", "outside"):
        print(f"{kind:10s} {outcome.failures.get(kind, 0)}")
    for detail, (mode, given) in outcome.examples.items():
        print(f"- {detail} | {mode} | {given!r:.200}")
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
