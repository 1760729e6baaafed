"""curriculumc: a compiler and trainer for training curricula of small language models.

The stages, each a plain function (imports are lazy so that ``import curriculumc`` stays
instant and never pulls in torch)::

    spec = curriculumc.parse(text, "spec.cur")     # text -> AST (curriculumc.lang.ast)
    problems = curriculumc.check(spec)              # -> [Diagnostic], never raises
    plan = curriculumc.compile(spec)                # -> Plan, raises CurriculumError
    plan = curriculumc.load("specs/root_pos.cur", overrides=["train.steps=200"])
    plan = curriculumc.load_plan("runs/x/plan.json")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from curriculumc.errors import CurriculumError, Diagnostic, Span

if TYPE_CHECKING:
    from curriculumc.lang.ast import Spec
    from curriculumc.plan import Plan

__version__ = "0.1.0"
__all__ = [
    "CurriculumError",
    "Diagnostic",
    "Span",
    "apply_overrides",
    "check",
    "compile",
    "format_spec",
    "load",
    "load_plan",
    "load_spec",
    "load_with_warnings",
    "loads",
    "loads_with_warnings",
    "make_control",
    "parse",
]

E_READ = "E004"
YAML_SUFFIXES = (".yaml", ".yml")


def parse(text: str | bytes, filename: str = "<spec>", *, base_dir: str | None = None) -> Spec:
    """Parse DSL text into an :class:`curriculumc.lang.ast.Spec`; raises CurriculumError."""
    from curriculumc.lang.parser import parse as parse_text

    return parse_text(text, filename, base_dir=base_dir)


def check(spec: Spec) -> list[Diagnostic]:
    """Every problem of a parsed spec, errors and warnings, in file order; never raises."""
    from curriculumc.lang.compiler import check_spec

    return check_spec(spec)


def compile(spec: Spec, *, overrides: Sequence[str] = ()) -> Plan:  # noqa: A001
    """Check and compile a parsed spec (after ``key=value`` overrides) into a Plan.

    Raises :class:`CurriculumError` holding every diagnostic when any is an error.
    """
    return compile_with_warnings(spec, overrides=overrides)[0]


def compile_with_warnings(
    spec: Spec, *, overrides: Sequence[str] = (), data_sources: Sequence[str] | None = None
) -> tuple[Plan, list[Diagnostic]]:
    """Like :func:`compile`, also returning the warnings. ``data_sources``: the data's
    source names, read by the caller (a mix's sources are then checked: E080)."""
    from curriculumc.lang.compiler import compile_spec

    known = None if data_sources is None else tuple(data_sources)
    return compile_spec(apply_overrides(spec, overrides), known)


def apply_overrides(spec: Spec, overrides: Sequence[str]) -> Spec:
    """``spec`` with ``key=value`` overrides applied (see :mod:`curriculumc.lang.overrides`)."""
    if not overrides:
        return spec
    from curriculumc.lang.overrides import apply_overrides as apply

    return apply(spec, overrides)


def format_spec(spec: Spec) -> str:
    """The spec as DSL text (one statement a line) that parses back to the same plan."""
    from curriculumc.lang.printer import format_spec as fmt

    return fmt(spec)


def _parse_any(text: str | bytes, filename: str, base_dir: str | None) -> Spec:
    if filename.lower().endswith(YAML_SUFFIXES):
        from curriculumc.lang.yaml_form import parse_yaml

        return parse_yaml(text, filename, base_dir=base_dir)
    return parse(text, filename, base_dir=base_dir)


def load_spec(path: str | os.PathLike) -> Spec:
    """Read and parse a ``.cur`` or ``.yaml`` spec file (relative paths in it are relative
    to its folder). Raises CurriculumError, also for a file that cannot be read."""
    filename = os.fspath(path)
    from curriculumc.files import MAX_CONFIG_BYTES, read_limited

    try:  # a regular file of a spec's size (never /dev/zero to the end, nor a FIFO)
        data = read_limited(filename, MAX_CONFIG_BYTES)
    except OSError as exc:
        raise CurriculumError.single(
            E_READ, f"cannot read '{filename[:300]}': {exc.strerror or exc}"
        ) from None
    return _parse_any(data, filename, os.path.dirname(os.path.abspath(filename)))


def load_with_warnings(
    path: str | os.PathLike,
    overrides: Sequence[str] = (),
    *,
    config_dir: str | os.PathLike | None = None,
    data_sources: Sequence[str] | None = None,
) -> tuple[Plan, list[Diagnostic]]:
    """Parse, check and compile a spec file: returns (plan, warnings); raises
    CurriculumError with every diagnostic when any is an error. ``data_sources``: see
    :func:`compile_with_warnings`.

    A YAML spec with a ``defaults:`` list is composed first, Hydra style, from the config
    groups in ``config_dir`` (default: the spec's folder); ``group=option`` overrides pick
    another member (see :mod:`curriculumc.lang.compose`).
    """
    if os.fspath(path).lower().endswith(YAML_SUFFIXES):
        from curriculumc.lang.compose import is_composed_file, parse_composed

        if is_composed_file(path):
            spec, rest = parse_composed(path, overrides, config_dir=config_dir)
            return compile_with_warnings(spec, overrides=rest, data_sources=data_sources)
    return compile_with_warnings(load_spec(path), overrides=overrides, data_sources=data_sources)


def load(
    path: str | os.PathLike,
    overrides: Sequence[str] = (),
    *,
    config_dir: str | os.PathLike | None = None,
) -> Plan:
    """Parse, check and compile a ``.cur`` or ``.yaml`` spec file into a Plan."""
    return load_with_warnings(path, overrides, config_dir=config_dir)[0]


def loads_with_warnings(
    text: str | bytes,
    filename: str = "<spec>",
    base_dir: str | None = None,
    overrides: Sequence[str] = (),
) -> tuple[Plan, list[Diagnostic]]:
    """Like :func:`loads`, also returning the warnings."""
    return compile_with_warnings(_parse_any(text, filename, base_dir), overrides=overrides)


def loads(
    text: str | bytes,
    filename: str = "<spec>",
    base_dir: str | None = None,
    overrides: Sequence[str] = (),
) -> Plan:
    """Compile spec text (YAML when ``filename`` ends in .yaml/.yml); relative paths are
    relative to ``base_dir`` (default: the current directory)."""
    return loads_with_warnings(text, filename, base_dir, overrides)[0]


def load_plan(path: str | os.PathLike) -> Plan:
    """Read a plan.json, validated against the plan schema and then by the same semantic
    checks as a compiled spec (:mod:`curriculumc.lang.plan_checks`); raises
    CurriculumError naming the JSON path of each problem."""
    from curriculumc.lang.schemas import read_plan

    return read_plan(os.fspath(path))


def make_control(plan: Plan, scorer: str = "random") -> Plan:
    """The matched control: the same plan with its sort terms replaced by ``scorer``."""
    from curriculumc.lang.compiler import make_control as control

    return control(plan, scorer)
