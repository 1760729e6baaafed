"""Composing a YAML spec from config files, Hydra style, with every position kept.

A YAML spec may pull in others::

    # configs/experiment.yaml
    defaults:
      - model/roberta-tiny          # configs/model/roberta-tiny.yaml
      - data/aochildes
      - curriculum: root_pos        # the mapping form works too
    train: {steps: 2000}

Each entry names a file ``<config dir>/<group>/<option>.yaml`` (the config dir is the
spec's folder unless given); ``group: [a, b]`` names several, ``group: null`` none, and
``override group: option`` is read as the choice. Every config file is a piece of a spec
at the top level (like Hydra's ``# @package _global_``) and may have ``defaults`` of its
own (resolved in its group's folder; a leading ``/`` means the config dir). Files are
deep-merged in order -- mappings merge key by key, anything else is replaced by the later
file -- and the spec's own keys come last unless ``_self_`` is listed earlier.

The same resolution, with each file under its group's key (:class:`DefaultsRules`), reads
the seed system's Hydra configs (:mod:`curriculumc.importers.climb`): :func:`compose_nodes`.
Files are read by :mod:`curriculumc.lang.yaml_nodes`.

Overrides: ``group=option`` (``curriculum=linear_ngram``) replaces that group's choice;
every other ``key=value`` is left for the compiler's overrides
(:mod:`curriculumc.lang.overrides`), which apply to the composed spec as to any other. A
``key=value`` whose key is a group but whose option file does not exist is passed on to
the compiler when it is a compiler key (``model=gpt-tiny`` still sets the preset).

How positions survive: :func:`compose` writes the merged document as YAML text, copying
every entry's lines from its file (re-indented), and records for each line the file, line
and column it came from. :func:`parse_composed` parses that text with the ordinary
:func:`curriculumc.lang.yaml_form.parse_yaml` and moves every span of the syntax tree (and of
any diagnostic) back to the file and position where the value was written -- so errors
point into ``configs/curriculum/root_pos.yaml:3``, not into the merged text.

Relative paths inside any config file are relative to the *spec's* folder (the base of
the composed spec). Error codes E801-E805 (and E003/E004/E171 for files that cannot be
read).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from curriculumc.errors import CurriculumError, Diagnostic, Span
from curriculumc.lang.yaml_nodes import Source, compose_yaml, key_text, node_span, read_yaml_file

E_DEFAULTS = "E801"
E_MISSING = "E802"
E_OPTION = "E803"
E_CYCLE = "E804"
E_SHAPE = "E805"
OVERRIDES_SOURCE = "<overrides>"
SELF = "_self_"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Origin:
    """Where one line of the composed text came from: ``column = composed column + shift``."""

    source: Source
    line: int  # 1-based line in ``source``
    shift: int


@dataclass(frozen=True)
class Composed:
    """A composed spec: merged YAML ``text`` and the origin of each of its lines.

    ``filename``: the spec file (the composed text's name in spans that have no origin).
    ``choices``: ``(group, option)`` in merge order; ``files``: every file merged.
    """

    text: str
    filename: str
    origins: tuple[Origin | None, ...]
    choices: tuple[tuple[str, str], ...]
    files: tuple[str, ...]

    def original(self, span: Span) -> Span:
        """``span`` (in the composed text) moved to the file and position it came from."""
        if span.file != self.filename or not 1 <= span.line <= len(self.origins):
            return span
        start = self.origins[span.line - 1]
        if start is None:
            return span
        column = max(1, span.column + start.shift)
        end_line, end_column = start.line, column + 1
        if 1 <= span.end_line <= len(self.origins):
            end = self.origins[span.end_line - 1]
            if end is not None and end.source is start.source and end.line >= start.line:
                end_line, end_column = end.line, max(1, span.end_column + end.shift)
        if (end_line, end_column) <= (start.line, column):
            end_line, end_column = start.line, column + 1
        return Span(start.source.path, start.line, column, end_line, end_column, start.source.text)


def has_defaults(text: str | bytes) -> bool:
    """Whether YAML text is a mapping with a top-level ``defaults`` key (cheap test)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        node = compose_yaml(text, "<config>")
    except CurriculumError:
        return False
    return isinstance(node, yaml.MappingNode) and any(
        isinstance(k, yaml.ScalarNode) and k.value == "defaults" for k, _ in node.value
    )


# ------------------------------------------------------------------------------ rules


@dataclass(frozen=True)
class DefaultsRules:
    """How a ``defaults`` list is resolved: where a chosen file's keys land, and the codes.

    ``package``: ``"_global_"`` -- a chosen file is a piece of the whole config at the top
    level (a spec's config files, as Hydra's ``# @package _global_``); ``"_group_"`` -- it
    lands under its group's key, Hydra's default, and each file of a list choice
    (``units: [mlm, pos]``) under ``group.option`` (the seed system's configs). The codes
    are those of: a malformed ``defaults``, a missing option, a file that includes itself,
    a file that is no mapping (reading a file is the same everywhere: E003/E004/E171).
    ``schemas``: bare ``defaults`` names that are Hydra ConfigStore schemas registered in
    Python, not files (the seed's ``base_config``, which only types the keys): skipped.
    """

    package: str
    defaults: str
    missing: str
    cycle: str
    shape: str
    schemas: frozenset[str] = frozenset()


#: the rules of a spec's own config files
SPEC_RULES = DefaultsRules("_global_", E_DEFAULTS, E_MISSING, E_CYCLE, E_SHAPE)


# ------------------------------------------------------------------------------ defaults


@dataclass(frozen=True)
class _Entry:
    group: str | None  # None: the file itself (_self_)
    options: tuple[str, ...] | None  # None: ``group: null``
    listed: bool  # chosen as a list (``group: [a, b]``)
    span: Span | None


_SELF_ENTRY = _Entry(None, None, False, None)


def _entries(node: yaml.Node | None, rules: DefaultsRules) -> list[_Entry]:
    """The ``defaults`` list of a file, with ``_self_`` where its own keys merge."""
    if node is None:
        return [_SELF_ENTRY]
    if not isinstance(node, yaml.SequenceNode):
        raise CurriculumError.single(
            rules.defaults, "'defaults' must be a list", node_span(node),
            hint="defaults: [model/roberta-tiny, curriculum/root_pos]",
        )  # fmt: skip
    out: list[_Entry] = []
    for item in node.value:
        if isinstance(item, yaml.ScalarNode):
            text = str(item.value).strip()
            if text == SELF:
                out.append(_Entry(None, None, False, node_span(item)))
                continue
            if text in rules.schemas:
                continue
            group, sep, option = text.rpartition("/")
            if not sep or not group.strip("/") or not option:
                raise CurriculumError.single(
                    rules.defaults, f"a defaults entry is group/option, not '{text}'",
                    node_span(item), hint="e.g. curriculum/root_pos",
                )  # fmt: skip
            out.append(_Entry(group, (option,), False, node_span(item)))
        elif isinstance(item, yaml.MappingNode) and len(item.value) == 1:
            key, value = item.value[0]
            # Hydra's `override group: option` in a primary config: read as the choice
            group = key_text(key).removeprefix("override ").strip()
            out.append(_Entry(group, *_options(value, rules), node_span(value)))
        else:
            raise CurriculumError.single(
                rules.defaults, "a defaults entry is group/option or {group: option}",
                node_span(item),
            )  # fmt: skip
    if not any(e.group is None for e in out):
        out.append(_SELF_ENTRY)  # Hydra >= 1.1: the file's own keys come last
    return out


def _options(value: yaml.Node, rules: DefaultsRules) -> tuple[tuple[str, ...] | None, bool]:
    """``(options, listed)`` of a ``{group: choice}`` entry: one, a list of them, or null."""
    if isinstance(value, yaml.ScalarNode):
        return (None if value.tag.endswith(":null") else (str(value.value),)), False
    if isinstance(value, yaml.SequenceNode) and all(
        isinstance(v, yaml.ScalarNode) for v in value.value
    ):
        return tuple(str(v.value) for v in value.value), True
    raise CurriculumError.single(
        rules.defaults, "a defaults choice names one option or a list of them", node_span(value)
    )


def _split_defaults(
    node: yaml.Node | None, path: Path, rules: DefaultsRules
) -> tuple[yaml.Node | None, list[_Entry]]:
    """The file's mapping without ``defaults``, and its entries."""
    if node is None:
        return None, [_SELF_ENTRY]
    if not isinstance(node, yaml.MappingNode):
        raise CurriculumError.single(
            rules.shape, f"a config file holds a mapping of keys; '{path}' does not",
            node_span(node),
        )  # fmt: skip
    rest = [(k, v) for k, v in node.value if key_text(k) != "defaults"]
    found = [v for k, v in node.value if key_text(k) == "defaults"]
    entries = _entries(found[0], rules) if found else [_SELF_ENTRY]
    own = yaml.MappingNode(node.tag, rest, node.start_mark, node.end_mark, node.flow_style)
    own.source = node.source
    return own, entries


# ------------------------------------------------------------------------------ merging


def _merge(base: yaml.Node | None, over: yaml.Node | None) -> yaml.Node | None:
    """Deep merge: mappings key by key (the later key node wins), anything else replaced."""
    if base is None:
        return over
    if over is None:
        return base
    if not (isinstance(base, yaml.MappingNode) and isinstance(over, yaml.MappingNode)):
        return over
    pairs = list(base.value)
    index = {key_text(k): i for i, (k, _) in enumerate(pairs)}
    for key, value in over.value:
        name = key_text(key)
        if name in index:
            i = index[name]
            pairs[i] = (key, _merge(pairs[i][1], value))
        else:
            index[name] = len(pairs)
            pairs.append((key, value))
    merged = yaml.MappingNode("tag:yaml.org,2002:map", pairs, base.start_mark, over.end_mark)
    merged.source = None  # made here: emitted key by key
    return merged


def _placed(node: yaml.Node | None, keys: Sequence[str]) -> yaml.Node:
    """``node`` under the key path ``keys`` (a group's package). The made-up keys have no
    source: only the seed's configs are placed so, and they are read, never emitted."""
    if node is None:
        node = yaml.MappingNode("tag:yaml.org,2002:map", [])  # an empty file: an empty group
        node.source = None
    for name in reversed(keys):
        key = yaml.ScalarNode("tag:yaml.org,2002:str", name)
        key.source = None
        node = yaml.MappingNode("tag:yaml.org,2002:map", [(key, node)])
        node.source = None
    return node


@dataclass
class _Resolution:
    """The state of one composition: the rules, the folders, and what was chosen."""

    rules: DefaultsRules
    config_dir: Path
    choices: dict[str, str]
    record: list[tuple[str, str]]
    files: list[str]


def _compose_file(
    path: Path, node: yaml.Node | None, group_dir: Path, run: _Resolution, stack: tuple[str, ...]
) -> yaml.Node | None:
    own, entries = _split_defaults(node, path, run.rules)
    result: yaml.Node | None = None
    for entry in entries:
        if entry.group is None:
            result = _merge(result, own)
            continue
        group = entry.group
        name = group.strip("/")
        chosen = run.choices.get(name)
        options = (chosen,) if chosen is not None else entry.options
        if options is None:
            continue  # `group: null` leaves the group out
        folder = run.config_dir / group.lstrip("/") if group.startswith("/") else group_dir / group
        for option in options:
            file = _option_file(folder, option)
            if file is None:
                found = _option_names(folder)
                raise CurriculumError.single(
                    run.rules.missing, f"config group '{name}' has no option '{option}'",
                    entry.span, hint=f"options: {', '.join(found)}" if found else
                    f"no folder {folder}",
                )  # fmt: skip
            key = str(file.resolve())
            if key in stack:
                raise CurriculumError.single(
                    run.rules.cycle, f"'{file}' includes itself", entry.span
                )
            run.record.append((name, option))
            run.files.append(str(file))
            _, child = read_yaml_file(file, entry.span)
            content = _compose_file(file, child, file.parent, run, (*stack, key))
            if run.rules.package == "_group_":
                listed = (option,) if entry.listed and chosen is None else ()
                content = _placed(content, (*name.split("/"), *listed))
            result = _merge(result, content)
    return result


def _option_file(folder: Path, option: str) -> Path | None:
    for suffix in YAML_SUFFIXES:
        candidate = folder / f"{option}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _option_names(folder: Path) -> list[str]:
    """The options of a group folder, for a hint (none when there is no such folder)."""
    return sorted(p.stem for p in folder.glob("*.y*ml")) if folder.is_dir() else []


def compose_nodes(
    path: str | os.PathLike,
    rules: DefaultsRules = SPEC_RULES,
    *,
    config_dir: str | os.PathLike | None = None,
    choices: dict[str, str] | None = None,
    node: yaml.Node | None = None,
) -> tuple[yaml.Node | None, tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Resolve the ``defaults`` of the config file at ``path``, Hydra style, by ``rules``.

    ``config_dir``: where groups live (default: the file's folder; a group's own
    ``defaults`` resolve in its folder, a leading ``/`` in ``config_dir``); ``choices``:
    ``group -> option`` replacing what the files choose; ``node``: the file's node tree
    when already read. Returns ``(merged node tree, (group, option) in merge order, every
    file merged)``; every node keeps the file it came from (``node.source``), except the
    mappings made by merging. Raises :class:`CurriculumError` with ``rules``' codes at the
    position of the bad entry.
    """
    path = Path(path)
    folder = Path(config_dir) if config_dir is not None else path.parent
    if node is None:
        _, node = read_yaml_file(path)
    run = _Resolution(rules, folder, dict(choices or {}), [], [str(path)])
    root = _compose_file(path, node, folder, run, (str(path.resolve()),))
    return root, tuple(run.record), tuple(run.files)


# ------------------------------------------------------------------------------ emitting


def _last_line(node: yaml.Node) -> int:
    """0-based last line that holds ``node``'s text."""
    end = node.end_mark
    lines = node.source.lines
    if end.line >= len(lines):
        return len(lines) - 1
    if end.line > node.start_mark.line and not lines[end.line][: end.column].strip():
        return end.line - 1
    return end.line


def _shifted(line: str, delta: int) -> str:
    if delta >= 0:
        return " " * delta + line
    cut = min(-delta, len(line) - len(line.lstrip(" ")))
    return line[cut:]


def _emit(mapping: yaml.MappingNode, indent: int, out: list[str], origins: list) -> None:
    for key, value in mapping.value:
        source: Source = key.source
        line, column = key.start_mark.line, key.start_mark.column
        delta = indent - column
        if isinstance(value, yaml.MappingNode) and value.source is None:
            # a merged mapping: its key line, then its entries (from several files)
            out.append(" " * indent + source.lines[line][column : key.end_mark.column] + ":")
            origins.append(Origin(source, line + 1, -delta))
            _emit(value, indent + 2, out, origins)
            continue
        last = max(line, _last_line(value))
        for number in range(line, last + 1):
            text = source.lines[number]
            out.append(" " * indent + text[column:] if number == line else _shifted(text, delta))
            origins.append(Origin(source, number + 1, -delta))


def _to_text(root: yaml.Node | None) -> tuple[str, list[Origin | None]]:
    out: list[str] = []
    origins: list[Origin | None] = []
    if isinstance(root, yaml.MappingNode):
        if root.source is not None:  # a single file's mapping: emit it key by key all the same
            root = _merge(yaml.MappingNode("tag:yaml.org,2002:map", []), root)
            root.source = None
        _emit(root, 0, out, origins)
    return "\n".join(out) + "\n", origins


# ------------------------------------------------------------------------------ public


def split_overrides(
    overrides: Sequence[str], groups: Sequence[str], config_dir: Path
) -> tuple[dict[str, str], tuple[str, ...]]:
    """``(group choices, the other overrides)``; see the module docstring for the rule.

    Raises :class:`CurriculumError` (E803, pointing into ``<overrides>``) for a group
    choice with no option file when the key is no compiler override either.
    """
    from curriculumc.lang.overrides import KEYS

    source = "\n".join(overrides)
    choices: dict[str, str] = {}
    rest: list[str] = []
    problems: list[Diagnostic] = []
    for number, item in enumerate(overrides, start=1):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in groups:
            rest.append(item)
            continue
        if _option_file(config_dir / key, value) is not None:
            choices[key] = value
        elif key in KEYS:
            rest.append(item)
        else:
            options = _option_names(config_dir / key)
            start = item.index("=") + 2
            span = Span(OVERRIDES_SOURCE, number, start, number, start + max(len(value), 1),
                        source)  # fmt: skip
            problems.append(Diagnostic(
                E_OPTION, f"config group '{key}' has no option '{value}'", span,
                f"options: {', '.join(options)}" if options else None,
            ))  # fmt: skip
    if problems:
        raise CurriculumError(problems)
    return choices, tuple(rest)


def _groups(node: yaml.Node | None, path: Path) -> list[str]:
    _, entries = _split_defaults(node, path, SPEC_RULES)
    return [e.group.strip("/") for e in entries if e.group]


def compose(
    path: str | os.PathLike,
    overrides: Sequence[str] = (),
    *,
    config_dir: str | os.PathLike | None = None,
) -> tuple[Composed, tuple[str, ...]]:
    """Compose the spec at ``path`` with its ``defaults``; returns the composed document and
    the overrides left for the compiler (group choices are consumed here).

    ``config_dir``: where groups live (default: the spec's folder). Raises
    :class:`CurriculumError` (E801-E805, E003/E004/E171) with the position of the bad entry.
    """
    path = Path(path)
    folder = Path(config_dir) if config_dir is not None else path.parent
    _, node = read_yaml_file(path)
    choices, rest = split_overrides(overrides, _groups(node, path), folder)
    root, record, files = compose_nodes(path, config_dir=folder, choices=choices, node=node)
    text, origins = _to_text(root)
    return Composed(text, str(path), tuple(origins), record, files), rest


def parse_composed(
    path: str | os.PathLike,
    overrides: Sequence[str] = (),
    *,
    config_dir: str | os.PathLike | None = None,
):
    """Compose and parse: ``(ast.Spec, remaining overrides)``, every span in the file
    that wrote it. Raises :class:`CurriculumError` (parse diagnostics moved likewise)."""
    from curriculumc.lang import ast
    from curriculumc.lang.yaml_form import parse_yaml

    composed, rest = compose(path, overrides, config_dir=config_dir)
    base_dir = os.path.dirname(os.path.abspath(os.fspath(path)))
    try:
        spec = parse_yaml(composed.text, composed.filename, base_dir=base_dir)
    except CurriculumError as exc:
        moved = ast.map_spans(tuple(exc.diagnostics), composed.original)
        raise CurriculumError(moved) from None
    return ast.map_spans(spec, composed.original), rest


def is_composed_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a YAML spec with a top-level ``defaults`` list (to be composed).

    The hook for :func:`curriculumc.load_with_warnings`: when true, use
    :func:`parse_composed` and compile with the overrides it leaves.
    """
    if Path(path).suffix.lower() not in YAML_SUFFIXES:
        return False
    try:
        return has_defaults(Path(path).read_bytes())
    except OSError:
        return False
