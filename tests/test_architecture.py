"""The import rules of docs/ARCHITECTURE.md, read from the source with ``ast``.

1. The runtime (``runtime/**``) imports of ``curriculumc`` only the contract modules and
   itself; the experiments room (``runtime/experiments``) may also call the compiler
   through the facade (``from curriculumc import load``), never its internals.
2. The commands that must stay instant -- validate, compile, explain, plot, simulate --
   never reach torch, transformers or datasets through module-level imports, from the
   command module and from the modules its functions import.
3. Every package folder is listed in pyproject.toml (or it would be missing from a wheel).
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from pathlib import Path

import pytest
from support.paths import REPO

#: the package's folders: curriculumc/ is itself, grammar/ and runtime/ ship inside it
ROOTS = {"curriculumc": REPO / "curriculumc", "curriculumc.grammar": REPO / "grammar",
         "curriculumc.runtime": REPO / "runtime"}  # fmt: skip
CONTRACT = {"plan", "pacing", "registry", "presets", "pos_tags", "errors", "codes", "files"}
HEAVY = {"torch", "transformers", "datasets"}
INSTANT_COMMANDS = ("validate", "compile", "explain", "plot", "simulate")


def module_path(name: str) -> Path | None:
    """The file of module ``name`` of this package (None: not ours, or not there)."""
    for prefix, root in sorted(ROOTS.items(), key=lambda kv: -len(kv[0])):
        if name == prefix or name.startswith(prefix + "."):
            rest = name[len(prefix) :].lstrip(".")
            base = root.joinpath(*rest.split(".")) if rest else root
            candidates = ([base.with_suffix(".py")] if rest else []) + [base / "__init__.py"]
            return next((c for c in candidates if c.is_file()), None)
    return None


def all_modules() -> dict[str, Path]:
    """Every module of the package: name -> file."""
    found = {}
    for prefix, root in ROOTS.items():
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join((prefix, *parts[: -1 if parts[-1] == "__init__" else None]))] = path
    return found


class _Imports(ast.NodeVisitor):
    """Collects ``(module, at_module_level)``; imports under ``if TYPE_CHECKING`` never run."""

    def __init__(self):
        self.found: list[tuple[str, bool]] = []
        self.depth = 0

    def visit_If(self, node):
        if "TYPE_CHECKING" not in ast.unparse(node.test):
            self.generic_visit(node)

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node):
        self.found.extend((alias.name, self.depth == 0) for alias in node.names)

    def visit_ImportFrom(self, node):
        if node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                self.found.append((sub if module_path(sub) else node.module, self.depth == 0))


@cache
def imports_of(path: Path) -> tuple[tuple[str, bool], ...]:
    """``(module, at_module_level)`` for every import in ``path``; ``from a import b`` gives
    ``a.b`` when that is a module of ours, else ``a``."""
    visitor = _Imports()
    visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
    return tuple(visitor.found)


def test_the_module_finder_sees_the_whole_package():
    modules = all_modules()
    assert "curriculumc.plan" in modules and "curriculumc.runtime.train.trainer" in modules
    assert module_path("curriculumc.runtime.train.trainer") == REPO / "runtime/train/trainer.py"
    assert module_path("curriculumc.lang") == REPO / "curriculumc/lang/__init__.py"
    assert module_path("torch") is None


def test_the_runtime_imports_only_the_contract_of_the_compiler_side():
    problems = []
    for name, path in all_modules().items():
        if not name.startswith("curriculumc.runtime"):
            continue
        experiments = name.startswith("curriculumc.runtime.experiments")
        for imported, _ in imports_of(path):
            if not imported.startswith("curriculumc") or imported.startswith("curriculumc.runtime"):
                continue
            first = imported.split(".")[1] if "." in imported else None
            if first in CONTRACT or (experiments and imported == "curriculumc"):
                continue
            problems.append(f"{name} ({path.name}) imports {imported}")
    assert problems == [], "\n".join(problems)


def test_the_rule_catches_a_runtime_module_that_imports_the_parser(tmp_path, monkeypatch):
    # the test above must be able to fail: plant a runtime module that imports lang
    fake = tmp_path / "runtime"
    (fake / "data").mkdir(parents=True)
    (fake / "data" / "bad.py").write_text("def f():\n    from curriculumc.lang import parser\n")
    monkeypatch.setitem(ROOTS, "curriculumc.runtime", fake)
    imports_of.cache_clear()
    with pytest.raises(
        AssertionError, match=r"runtime.data.bad \(bad.py\) imports curriculumc.lang.parser"
    ):
        test_the_runtime_imports_only_the_contract_of_the_compiler_side()
    imports_of.cache_clear()


def reach(start: list[str]) -> dict[str, str]:
    """Modules reached by module-level imports from ``start``: name -> who imported it."""
    seen: dict[str, str] = {s: "(start)" for s in start}
    todo = list(start)
    while todo:
        name = todo.pop()
        path = module_path(name)
        if path is None:
            continue
        parents = name.split(".")
        for k in range(2, len(parents)):  # importing a.b.c runs a/__init__ and a/b/__init__
            parent = ".".join(parents[:k])
            if parent not in seen:
                seen[parent] = name
                todo.append(parent)
        for imported, at_top in imports_of(path):
            if at_top and imported not in seen:
                seen[imported] = name
                todo.append(imported)
    return seen


@pytest.mark.parametrize("command", INSTANT_COMMANDS)
def test_instant_commands_reach_no_heavy_library(command):
    name = f"curriculumc.commands.{command}"
    # the command module, and what its functions import (the work they do when run)
    start = [name] + [imported for imported, _ in imports_of(module_path(name))]
    reached = reach(start)
    heavy = sorted(
        f"{m} (imported by {by})" for m, by in reached.items() if m.split(".")[0] in HEAVY
    )
    assert heavy == []


def test_the_reach_rule_finds_a_heavy_import_two_modules_away(tmp_path, monkeypatch):
    # the test above must be able to fail: a module-level `import torch` behind a module
    # that a command imports is found
    fake = tmp_path / "runtime"
    (fake / "data").mkdir(parents=True)
    (fake / "data" / "light.py").write_text("from curriculumc.runtime.data import heavy\n")
    (fake / "data" / "heavy.py").write_text("import torch\n\ndef f():\n    import datasets\n")
    monkeypatch.setitem(ROOTS, "curriculumc.runtime", fake)
    imports_of.cache_clear()
    reached = reach(["curriculumc.runtime.data.light"])
    imports_of.cache_clear()
    assert reached["torch"] == "curriculumc.runtime.data.heavy"
    assert "datasets" not in reached  # imported inside a function: not at import time


def test_every_package_folder_ships():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    listed = set(
        re.findall(r'"(curriculumc(?:\.[a-z_]+)*)"', text.split("packages = [")[1].split("]")[0])
    )
    folders = {name for name, path in all_modules().items() if path.name == "__init__.py"}
    assert folders == listed


def test_no_stage_module_shares_a_name_with_a_facade_function():
    # curriculumc.parse / check / compile are functions of the facade; a module of the same
    # name next to them would shadow the function once imported
    import curriculumc

    modules = {p.stem for p in (REPO / "curriculumc").glob("*.py")}
    assert not modules & set(curriculumc.__all__)
    assert sys.modules["curriculumc"].__class__.__name__ == "module"
