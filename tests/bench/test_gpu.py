"""bench/gpu.py, the GPU check, run on the CPU with a tiny model so that it cannot be
broken before a GPU runs it: one launch, its table's columns, its JSON's keys, and every
figure a positive number."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

from support.paths import REPO, shared_data

#: the figures a GPU run reports (the JSON's keys; bench/README.md "gpu")
NUMBERS = ("batch", "steps", "rounds", "step_ms", "host_ms_per_step", "blimp_pairs",
           "blimp_pairs_per_s", "wall_s", "ours_vs_hf_trainer")  # fmt: skip
WORDS = ("device", "card", "model", "dtype", "host_method")
ROWS = ("curriculumc run loop", "HF Trainer", "ours vs HF Trainer", "host share of step time",
        "host time on the critical path", "BLiMP (masked PLL)")  # fmt: skip


def test_the_gpu_check_runs_on_cpu_with_a_tiny_model(tmp_path):
    shared_data("aochildes", "train.jsonl")
    blimp = shared_data("blimp")
    out = tmp_path / "gpu.json"
    argv = ["--device", "cpu", "--model", "roberta-tiny", "--steps", "3", "--rounds", "1",
            "--profile-steps", "3", "--lines", "1500", "--vocab", "400", "--pairs", "1",
            "--threads", "2", "--json", str(out)]  # fmt: skip
    env = {**os.environ, "CURRICULUMC_BLIMP": str(blimp), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu.py"), *argv],
        capture_output=True, text=True, timeout=240, env=env, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("measure"))
    assert lines[header].split() == ["measure", "value", "unit"]
    assert set(lines[header + 1].replace(" ", "")) == {"-"}
    shown = {line[: lines[header + 1].index(" ")].strip() for line in lines[header + 2 :]}
    assert set(ROWS) <= shown, shown

    figures = json.loads(out.read_text())
    assert set(NUMBERS) | set(WORDS) | {"tokens_per_s", "host_share"} <= set(figures)
    rates = figures["tokens_per_s"]
    assert set(rates) == {"curriculumc", "hf_trainer"}
    for value in [*rates.values(), *(figures[k] for k in NUMBERS)]:
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, figures
    assert 0 < figures["host_share"] <= 1
    assert figures["device"] == "cpu" and figures["model"] == "roberta-tiny"
    assert figures["blimp_pairs"] == 67  # one pair of each paradigm
    assert all(isinstance(figures[k], str) and figures[k] for k in WORDS)
