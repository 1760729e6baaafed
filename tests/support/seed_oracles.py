"""The seed system's (CLIMB's) schedule semantics, re-derived from its source
(src/data_curriculum/pacing_fn.py) for the tests to compare plans with: an oracle that must
stay independent of the package."""

from __future__ import annotations

import math


def seed_pacing_fn(name, total_steps, start_percent, end_percent, starting_difficulty=0.2,
                   max_difficulty=1.0):  # fmt: skip
    """CLIMB's get_pacing_fn: a function of the step."""
    step_start = start_percent * total_steps
    step_end = end_percent * total_steps
    num_steps = int(step_end - step_start)
    low, high = starting_difficulty, max_difficulty

    def shape(step):
        if name == "step":
            return low if step < step_end else high
        if step < step_start:
            return low
        d = step - step_start
        if name == "linear":
            return min((high - low) / num_steps * d + low, high)
        if name == "quad":
            return min((high - low) / num_steps**2 * d**2 + low, high)
        if name == "root":
            return min((high - low) / num_steps**0.5 * d**0.5 + low, high)
        if name == "exp":
            rate = (high - low) / (math.exp(10) - 1)
            return min(rate * (math.exp(d * 10 / num_steps) - 1) + low, high)
        if name == "log":
            return min(
                (high - low) * (1 + math.log(d / num_steps + math.exp(-10)) / 10) + low, high
            )
        return 1.0

    if name not in ("linear", "quad", "root", "step", "exp", "log"):
        return lambda step: 1.0
    return shape
