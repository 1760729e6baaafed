"""Composing a YAML spec from config files, Hydra style, with every position kept.

A YAML spec may pull in others::

    # configs/experiment.yaml
    defaults:
      - model/roberta-tiny          # configs/model/roberta-tiny.yaml
      - data/aochildes
      - curriculum: root_pos        # the mapping form works too
    train: {steps: 2000}

Each entry names a file ``<config dir>/<group>/<option>.yaml`` (the config dir is the
spec's folder unless given). Every config file is a piece of a spec at the top level
(like Hydra's ``# @package _global_``) and may have ``defaults`` of its own (resolved in
its group's folder; a leading ``/`` means the config dir). Files are deep-merged in
order -- mappings merge key by key, anything else is replaced by the later file -- and
the spec's own keys come last unless ``_self_`` is listed earlier.

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
the composed spec). Error codes E800-E809.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from curriculumc.errors import CurriculumError, Diagnostic, Span

E_READ = "E800"
E_DEFAULTS = "E801"
E_MISSING = "E802"
E_OPTION = "E803"
E_CYCLE = "E804"
E_SHAPE = "E805"
OVERRIDES_SOURCE = "<overrides>"
SELF = "_self_"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class _Source:
    path: str
    text: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Origin:
    """Where one line of the composed text came from: ``column = composed column + shift``."""

    source: _Source
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


# ------------------------------------------------------------------------------ reading


def _read(path: Path, cited: Span | None = None) -> tuple[_Source, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CurriculumError.single(E_READ, f"cannot read '{path}': {exc}", cited) from None
    source = _Source(str(path), text, tuple(text.split("\n")))
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span.point(str(path), mark.line + 1, mark.column + 1, text) if mark else None
        message = exc.problem or exc.context or "not valid YAML"
        raise CurriculumError.single(E_READ, f"not valid YAML: {message}", span) from None
    except yaml.YAMLError as exc:
        raise CurriculumError.single(E_READ, f"not valid YAML: {exc}", cited) from None
    finally:
        loader.dispose()
    if node is not None:
        _tag(node, source)
    return source, node


def _tag(node: yaml.Node, source: _Source) -> None:
    """Remember each node's file (yaml nodes are plain objects)."""
    node.source = source
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _tag(key, source)
            _tag(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _tag(item, source)


def _node_span(node: yaml.Node) -> Span:
    source: _Source = node.source
    start, end = node.start_mark, node.end_mark
    end_line, end_column = end.line + 1, end.column + 1
    if (end_line, end_column) <= (start.line + 1, start.column + 1):
        end_line, end_column = start.line + 1, start.column + 2
    return Span(source.path, start.line + 1, start.column + 1, end_line, end_column, source.text)


def _key(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else repr(node.start_mark)


def has_defaults(text: str | bytes) -> bool:
    """Whether YAML text is a mapping with a top-level ``defaults`` key (cheap test)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return False
    return isinstance(node, yaml.MappingNode) and any(
        isinstance(k, yaml.ScalarNode) and k.value == "defaults" for k, _ in node.value
    )


# ------------------------------------------------------------------------------ defaults


@dataclass(frozen=True)
class _Entry:
    group: str | None  # None: the file itself (_self_)
    option: str | None
    span: Span | None


def _entries(node: yaml.Node | None) -> list[_Entry]:
    """The ``defaults`` list of a file, with ``_self_`` where its own keys merge."""
    if node is None:
        return [_Entry(None, None, None)]
    if not isinstance(node, yaml.SequenceNode):
        raise CurriculumError.single(
            E_DEFAULTS, "'defaults' must be a list", _node_span(node),
            hint="defaults: [model/roberta-tiny, curriculum/root_pos]",
        )  # fmt: skip
    out: list[_Entry] = []
    for item in node.value:
        if isinstance(item, yaml.ScalarNode):
            text = str(item.value).strip()
            if text == SELF:
                out.append(_Entry(None, None, _node_span(item)))
                continue
            group, sep, option = text.rpartition("/")
            if not sep or not group.strip("/") or not option:
                raise CurriculumError.single(
                    E_DEFAULTS, f"a defaults entry is group/option, not '{text}'",
                    _node_span(item), hint="e.g. curriculum/root_pos",
                )  # fmt: skip
            out.append(_Entry(group, option, _node_span(item)))
        elif isinstance(item, yaml.MappingNode) and len(item.value) == 1:
            key, value = item.value[0]
            if not isinstance(value, yaml.ScalarNode):
                raise CurriculumError.single(
                    E_DEFAULTS, "a defaults choice names one option", _node_span(value)
                )
            option = None if value.tag.endswith(":null") else str(value.value)
            out.append(_Entry(_key(key), option, _node_span(value)))
        else:
            raise CurriculumError.single(
                E_DEFAULTS, "a defaults entry is group/option or {group: option}",
                _node_span(item),
            )  # fmt: skip
    if not any(e.group is None for e in out):
        out.append(_Entry(None, None, None))  # Hydra >= 1.1: the file's own keys come last
    return out


def _split_defaults(node: yaml.Node | None, path: Path) -> tuple[yaml.Node | None, list[_Entry]]:
    """The file's mapping without ``defaults``, and its entries."""
    if node is None:
        return None, [_Entry(None, None, None)]
    if not isinstance(node, yaml.MappingNode):
        raise CurriculumError.single(
            E_SHAPE, f"a config file holds a mapping of spec keys; '{path}' does not",
            _node_span(node),
        )  # fmt: skip
    rest = [(k, v) for k, v in node.value if _key(k) != "defaults"]
    found = [v for k, v in node.value if _key(k) == "defaults"]
    entries = _entries(found[0]) if found else [_Entry(None, None, None)]
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
    index = {_key(k): i for i, (k, _) in enumerate(pairs)}
    for key, value in over.value:
        name = _key(key)
        if name in index:
            i = index[name]
            pairs[i] = (key, _merge(pairs[i][1], value))
        else:
            index[name] = len(pairs)
            pairs.append((key, value))
    merged = yaml.MappingNode("tag:yaml.org,2002:map", pairs, base.start_mark, over.end_mark)
    merged.source = None  # made here: emitted key by key
    return merged


def _compose_file(
    path: Path,
    node: yaml.Node | None,
    config_dir: Path,
    group_dir: Path,
    choices: dict[str, str],
    record: list[tuple[str, str]],
    files: list[str],
    stack: tuple[str, ...],
) -> yaml.Node | None:
    own, entries = _split_defaults(node, path)
    result: yaml.Node | None = None
    for entry in entries:
        if entry.group is None:
            result = _merge(result, own)
            continue
        group = entry.group
        option = choices.get(group.strip("/"), entry.option)
        if option is None:
            continue  # `group: null` leaves the group out
        folder = config_dir / group.lstrip("/") if group.startswith("/") else group_dir / group
        file = _option_file(folder, option)
        if file is None:
            options = sorted(p.stem for p in folder.glob("*.y*ml")) if folder.is_dir() else []
            raise CurriculumError.single(
                E_MISSING, f"config group '{group.strip('/')}' has no option '{option}'",
                entry.span, hint=f"options: {', '.join(options)}" if options else
                f"no folder {folder}",
            )  # fmt: skip
        key = str(file.resolve())
        if key in stack:
            raise CurriculumError.single(E_CYCLE, f"'{file}' includes itself", entry.span)
        record.append((group.strip("/"), option))
        files.append(str(file))
        _, child = _read(file, entry.span)
        content = _compose_file(
            file, child, config_dir, file.parent, choices, record, files, (*stack, key)
        )
        result = _merge(result, content)
    return result


def _option_file(folder: Path, option: str) -> Path | None:
    for suffix in YAML_SUFFIXES:
        candidate = folder / f"{option}{suffix}"
        if candidate.is_file():
            return candidate
    return None


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
        source: _Source = key.source
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
            folder = config_dir / key
            options = sorted(p.stem for p in folder.glob("*.y*ml")) if folder.is_dir() else []
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
    _, entries = _split_defaults(node, path)
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
    :class:`CurriculumError` (E800-E805) with the position of the bad entry.
    """
    path = Path(path)
    folder = Path(config_dir) if config_dir is not None else path.parent
    _, node = _read(path)
    choices, rest = split_overrides(overrides, _groups(node, path), folder)
    record: list[tuple[str, str]] = []
    files = [str(path)]
    root = _compose_file(path, node, folder, folder, choices, record, files, (str(path.resolve()),))
    text, origins = _to_text(root)
    return Composed(text, str(path), tuple(origins), tuple(record), tuple(files)), rest


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
