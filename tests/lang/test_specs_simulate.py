"""Every example spec in specs/ simulates on the data it names.

``validate`` checks a spec alone; ``simulate`` also reads the data, so a spec naming a
source or a column its corpus lacks (``source(Brown)`` on AO-CHILDES) fails only here.
The run is shortened (``train.steps``, a smaller generated corpus); the data and score
caches live in pytest's cache folder, so only the first run prepares the corpora.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.paths import REPO

import curriculumc
from curriculumc import cli

SPECS = sorted([*REPO.glob("specs/*.cur"), *REPO.glob("specs/*.yaml")])
SHORT_STEPS = 200


def _overrides(spec: Path) -> list[str]:
    """Overrides that make the simulation quick and keep the spec valid: 200 steps (or
    just past the last 'at', which names an absolute step), a small generated corpus."""
    plan = curriculumc.load(spec)
    if plan.data.kind == "path" and not os.path.exists(plan.data.source):
        pytest.skip(f"{spec.name} names {plan.data.source}, which is not here (shared data)")
    steps = max([SHORT_STEPS] + [phase.start + 1 for phase in plan.phases])
    overrides = [f"train.steps={steps}"]
    if plan.data.kind == "registered" and plan.data.source == "synth":
        overrides.append("data.words=20k")
    return overrides


@pytest.fixture(scope="module")
def cache_dir(request, tmp_path_factory) -> str:
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("spec-simulate") if cache is not None else tmp_path_factory.mktemp("c")
    return str(folder)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_every_example_spec_simulates_on_its_data(spec: Path, cache_dir: str, capsys):
    overrides = _overrides(spec)
    argv = ["simulate", str(spec), *overrides, "--cache-dir", cache_dir, "--width", "100"]
    status = cli.main(argv)
    captured = capsys.readouterr()
    assert status == 0, captured.err[-3000:]
    assert "simulated" in captured.out + captured.err
