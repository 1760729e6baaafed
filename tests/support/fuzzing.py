"""A seeded mutation fuzzer of the compiler's API (shared by tests/lang/test_fuzz.py and
bench/fuzz.py): mutated specs (``curriculumc.loads``), mutated ``key=value`` overrides
(``curriculumc.loads(..., overrides=...)``) and mutated plans (``curriculumc.load_plan``).

Every input must end in a Plan or in a :class:`CurriculumError` whose diagnostics all have
a position inside the source they show, rendered without raising, and quickly. The
oracle counts four kinds of failure: ``crashes`` (any other exception), ``slow`` (over
``slow_s`` seconds), ``unlocated`` (a diagnostic without a span) and ``outside`` (a span
whose line is not a line of its source by ``str.split("\\n")``, the renderer's rule).
"""

from __future__ import annotations

import copy
import json
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import curriculumc
from curriculumc.errors import CurriculumError
from curriculumc.lang.render import render_diagnostics
from support.paths import REPO

SPEC_SEEDS = sorted(
    [*REPO.glob("specs/*.cur"), *REPO.glob("specs/*.yaml"),
     *(p for p in REPO.glob("tests/golden/bad/*") if not p.name.endswith(".txt"))]
)  # fmt: skip
PLAN_SEEDS = sorted(REPO.glob("tests/golden/plans/*.json"))
TOKENS = ["at", "pace", "sort", "by", "from", "over", "release", "(", ")", ",", ";", "+", "=",
          "%", "10%", "0", "-1", "1e999", "k", '"', "\n", "unit", "none", "mlm", "pos", "{", ":",
          "- ", "  ", "#", "|", "\t", "1.5k", "steps", "to", "after", "eval", "every", "ties",
          "include", "tokens", "sample", "with", "replacement", "batch", "\u2028", "\x85",
          "\r", "\x0c", "\x1c", "&a ", "*a", "!!python/object ", "nan", ".inf", "9" * 5000,
          "[" * 300, "{" * 300, "model", "data", "vocab", '"' + "a" * 300 + '"', "0x1F",
          "1_000", "-0", "1e-400", "tokenizer", "bpe", "checkpoint", "keep", "log", "push",
          "accumulate", "clip", "seq", "lr", "warmup", "seed", "schedule", "descending",
          "mix", "until", "then", "ramp", "words", "epochs"]  # fmt: skip
OVERRIDE_KEYS = ["model", "data", "data.path", "data.hub", "data.packed", "data.words",
                 "tokenizer.vocab_size", "tokenizer.path", "train.steps", "train.batch",
                 "train.seq", "train.lr", "train.warmup", "train.seed", "train.schedule",
                 "train.accumulate", "train.clip", "train.decay", "train.sample", "seed",
                 "steps", "sort", "sort.order", "pace", "pace.start", "pace.end", "pace.after",
                 "pace.over", "pace.release", "pace.ties", "vocab", "vocab.start", "vocab.over",
                 "eval.every", "eval.limit", "log.every", "log.wandb_project",
                 "checkpoint.every", "checkpoint.keep", "push", "foo", "", "train",
                 "mix", "ramp", "seq", "seq.start", "vocab.order", "vocab.hides"]  # fmt: skip
OVERRIDE_VALUES = ["0", "-1", "200", "10%", "1e-3", "x", "", "none", "root", "linear",
                   "mlm", "ngram_ppl(n=3) + 0.5 random", "with replacement", "4096 tokens",
                   "true", "nan", "1e999", "9" * 5000, "a" * 300, "(", ")", "\u2028", "\x85",
                   "include", "descending", "/dev/zero", "~/x", '"q"', "10k", "1.5",
                   "0.5 A + 0.5 B until 30%, then B", "A until 2M words, then 0.1 B + C",
                   "from 8 over 10%", "from 4 to 32 by 4 over 2 epochs", "pos_tags",
                   "inputs", "inputs_and_labels"]  # fmt: skip
PLAN_VALUES = [-1, 0, 1, 5, 0.5, 1e308, 10**30, float("nan"), float("inf"), "x", "", None,
               True, [], {}, [1], {"a": 1}, "bytes", "a" * 300, -(10**20)]  # fmt: skip


def _mutate_text(text: str, rng: random.Random) -> str | bytes:
    kind = rng.randrange(6)
    pos = rng.randrange(len(text) + 1)
    if kind == 0:  # insert a character
        return text[:pos] + rng.choice(text + "\x00\u00e9\u2028\x85\r") + text[pos:]
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


def mutate_spec(text: str, rng: random.Random) -> str | bytes:
    mutated = _mutate_text(text, rng)
    for _ in range(rng.randrange(3)):  # mutate again: worse input
        if isinstance(mutated, bytes):
            mutated = mutated.decode("utf-8", "replace")
        mutated = _mutate_text(mutated, rng)
    return mutated


def mutate_overrides(rng: random.Random) -> list[str]:
    items = []
    for _ in range(rng.randrange(1, 4)):
        item = f"{rng.choice(OVERRIDE_KEYS)}={rng.choice(OVERRIDE_VALUES)}"
        if rng.random() < 0.3:
            item = _mutate_text(item, rng)
            item = item.decode("utf-8", "replace") if isinstance(item, bytes) else item
        items.append(item)
    return items


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _paths(value, (*prefix, i))


def mutate_plan(data: dict, rng: random.Random) -> str | bytes:
    """A plan.json text: a value replaced, a key dropped or added, or the text mutated."""
    data = json.loads(json.dumps(data))
    for _ in range(rng.randrange(1, 3)):
        paths = [p for p in _paths(data) if p]
        where = rng.choice(paths)
        parent = data
        for part in where[:-1]:
            parent = parent[part]
        kind = rng.randrange(4)
        if kind == 0 and isinstance(parent, dict):
            del parent[where[-1]]
        elif kind == 1 and isinstance(parent, dict):
            key = rng.choice(["extra", "steps", "fn", "name"])
            parent[key] = copy.deepcopy(rng.choice(PLAN_VALUES))
        else:
            # a copy: the same list or object placed twice could end up inside itself
            parent[where[-1]] = copy.deepcopy(rng.choice(PLAN_VALUES))
    text = json.dumps(data, indent=2)  # NaN and Infinity as Python writes them
    if rng.random() < 0.15:
        return _mutate_text(text, rng)
    return text


@dataclass
class Outcome:
    inputs: int = 0
    compiled: int = 0
    rejected: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    failures: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)  # failure kind -> (mode, input, detail)

    def fail(self, kind: str, mode: str, given, detail: str) -> None:
        self.failures[kind] += 1
        self.examples.setdefault(f"{kind}: {detail[:120]}", (mode, given))


def _check(outcome: Outcome, mode: str, given, call, slow_s: float) -> None:
    start = time.perf_counter()
    try:
        call()
        outcome.compiled += 1
    except CurriculumError as exc:
        outcome.rejected += 1
        if not exc.diagnostics:
            outcome.fail("unlocated", mode, given, "no diagnostics")
        for diagnostic in exc.diagnostics:
            span = diagnostic.span
            if span is None:
                outcome.fail("unlocated", mode, given, f"{diagnostic.code} {diagnostic.message}")
                continue
            lines = span.source.split("\n") if span.source is not None else None
            if span.line < 1 or span.column < 1 or (span.end_line, span.end_column) < (
                span.line, span.column
            ) or (lines is not None and span.line > len(lines)):  # fmt: skip
                outcome.fail("outside", mode, given, f"{diagnostic.code} {span}")
        try:
            render_diagnostics(exc.diagnostics)
        except Exception as error:  # noqa: BLE001 - the oracle counts it
            outcome.fail("crashes", mode, given, f"render: {type(error).__name__}: {error}")
    except Exception as error:  # noqa: BLE001 - the oracle counts it
        outcome.fail("crashes", mode, given, f"{type(error).__name__}: {str(error)[:80]}")
    except RecursionError as error:  # pragma: no cover - a subclass of Exception anyway
        outcome.fail("crashes", mode, given, f"RecursionError: {error}")
    took = time.perf_counter() - start
    outcome.slowest = max(outcome.slowest, took)
    if took > slow_s:
        outcome.fail("slow", mode, given, f"{took:.1f}s")


def fuzz(inputs: int, seed: int = 20240601, *, slow_s: float = 10.0) -> Outcome:
    """Run ``inputs`` fuzzed inputs (about 60% specs, 20% overrides, 20% plans)."""
    rng = random.Random(seed)
    specs = [(p.name, p.read_bytes().decode("utf-8", "replace")) for p in SPEC_SEEDS]
    plans = [json.loads(p.read_text("utf-8")) for p in PLAN_SEEDS]
    demo = (REPO / "specs" / "demo.cur").read_text("utf-8")
    base = str(REPO / "specs")
    outcome = Outcome()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        plan_file = Path(folder) / "plan.json"
        for _ in range(inputs):
            outcome.inputs += 1
            mode = rng.random()
            if mode < 0.6:
                name, text = rng.choice(specs)
                mutated = mutate_spec(text, rng)
                _check(outcome, "loads", (name, mutated),
                       lambda m=mutated, n=name: curriculumc.loads(m, n, base_dir=base),
                       slow_s)  # fmt: skip
            elif mode < 0.8:
                items = mutate_overrides(rng)
                _check(outcome, "overrides", items,
                       lambda i=items: curriculumc.loads(demo, "demo.cur", base, i),
                       slow_s)  # fmt: skip
            else:
                text = mutate_plan(rng.choice(plans), rng)
                if isinstance(text, bytes):
                    plan_file.write_bytes(text)
                else:
                    plan_file.write_text(text, encoding="utf-8")
                _check(outcome, "load_plan", text, lambda: curriculumc.load_plan(plan_file),
                       slow_s)  # fmt: skip
    outcome.seconds = time.perf_counter() - began
    return outcome
