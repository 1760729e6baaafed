"""Reading YAML with positions: the one loader behind every YAML file curriculumc reads.

A YAML spec (:mod:`curriculumc.lang.yaml_form`), the config files a spec is composed of
(:mod:`curriculumc.lang.compose`) and the seed system's Hydra configs
(:mod:`curriculumc.importers.climb`) are read here alike: safely (``yaml.SafeLoader``:
plain data, never arbitrary objects), as a tree of nodes that keep their line and column,
and with YAML's own errors turned into a :class:`~curriculumc.errors.CurriculumError` at
the position of the problem -- with the same codes for every kind of file: E003 not
UTF-8, E004 cannot be read, E171 not valid YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curriculumc.errors import CurriculumError, Span
from curriculumc.files import read_limited

E_NOT_UTF8 = "E003"
E_READ = "E004"
E_YAML = "E171"
E_DUPLICATE_KEY = "E173"

#: the most a YAML file may hold: characters, nesting levels, and values once its aliases
#: are expanded (a "billion laughs" file is a few hundred bytes that expand to 10⁹ values)
MAX_YAML_CHARS = 1_000_000
MAX_YAML_DEPTH = 64
MAX_YAML_VALUES = 100_000
#: the line breaks YAML counts besides "\n": our positions count "\n" only, so they are
#: read as "\n" (one character for one: columns do not move)
_OTHER_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


def yaml_text(text: str) -> str:
    """``text`` with YAML's other line breaks (a lone CR, NEL, U+2028, U+2029) read as
    ``"\\n"``, so that YAML's line numbers are the lines of ``text.split("\\n")``: the
    positions every diagnostic shows. Same length: columns are unchanged."""
    return _OTHER_BREAKS.sub("\n", text)


class _Loader(yaml.SafeLoader):
    """The safe loader, bounded: nesting depth, duplicate keys (refused, with both
    positions), and the values a tree of aliases expands to."""

    def __init__(self, text: str, filename: str):
        super().__init__(text)
        self.filename, self.text, self.depth = filename, text, 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_YAML_DEPTH} levels deep",
                    self.peek_event().start_mark,
                )  # fmt: skip
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        seen: dict[str, yaml.Node] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            first = seen.setdefault(str(key.value), key)
            if first is not key:
                where, other = _mark_span(self.filename, self.text, key), first.start_mark
                raise CurriculumError.single(
                    E_DUPLICATE_KEY,
                    f"key '{key.value}' is given twice (first on line {other.line + 1}, "
                    f"column {other.column + 1})",
                    where, hint="keep one of them: YAML would silently use the last",
                )  # fmt: skip
        return node


def _mark_span(filename: str, text: str, node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    end_column = end.column + 1 if end.line == start.line else start.column + 2
    return Span(filename, start.line + 1, start.column + 1, start.line + 1,
                max(end_column, start.column + 2), text)  # fmt: skip


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` is once every alias is copied out (memoized: aliases share
    nodes, so this is linear in the file)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = MAX_YAML_VALUES + 1  # a node inside itself (a recursive alias)
    size = 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            size += _expanded_size(key, sizes) + _expanded_size(value, sizes)
            if size > MAX_YAML_VALUES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            size += _expanded_size(item, sizes)
            if size > MAX_YAML_VALUES:
                break
    sizes[id(node)] = size
    return size


@dataclass(frozen=True)
class Source:
    """A YAML file's name and text; :func:`read_yaml_file` hangs it on every node."""

    path: str
    text: str
    lines: tuple[str, ...]


@contextmanager
def yaml_errors(text: str, filename: str, cited: Span | None = None) -> Iterator[None]:
    """Turn a YAML error raised in the block (reading, composing or constructing ``text``)
    into a :class:`CurriculumError` (E171) at the problem's position.

    ``cited``: where to point when YAML gives no position (the entry that named the file).
    """
    try:
        yield
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span.point(filename, mark.line + 1, mark.column + 1, text) if mark else None
        message = exc.problem or exc.context or "not valid YAML"
        raise CurriculumError.single(E_YAML, f"not valid YAML: {message}", span) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise CurriculumError.single(E_YAML, f"not valid YAML: character U+{exc.character:04X} is not allowed",
            Span.point(filename, line, column, text),
        ) from None  # fmt: skip
    except yaml.YAMLError as exc:
        raise CurriculumError.single(E_YAML, f"not valid YAML: {exc}", cited) from None


def compose_yaml(text: str, filename: str, cited: Span | None = None):
    """The node tree of the one YAML document in ``text`` (None when it is empty).

    Raises :class:`CurriculumError` (E171) for text that is not YAML, or holds several
    documents, at the position of the problem.
    """
    if len(text) > MAX_YAML_CHARS:
        raise CurriculumError.single(
            E_YAML, f"'{filename}' is too large for a YAML spec or config "
            f"({len(text):,} characters; at most {MAX_YAML_CHARS:,})", cited,
        )  # fmt: skip
    text = yaml_text(text)
    with yaml_errors(text, filename, cited):
        loader = _Loader(text, filename)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    if node is not None and _expanded_size(node, {}) > MAX_YAML_VALUES:
        raise CurriculumError.single(
            E_YAML, f"not valid YAML here: its aliases expand to more than "
            f"{MAX_YAML_VALUES:,} values", Span.point(filename, 1, 1, text),
            hint="write the values out, or use fewer nested aliases (*name)",
        )  # fmt: skip
    return node


def read_yaml_file(path: Path, cited: Span | None = None):
    """``(Source, node tree)`` of a YAML file; every node gets a ``source`` attribute.

    Raises :class:`CurriculumError` when the file cannot be read (E004, pointing at
    ``cited``), is not UTF-8 (E003) or is not YAML (E171).
    """
    try:
        text = read_limited(path, MAX_YAML_CHARS).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CurriculumError.single(
            E_NOT_UTF8, f"'{path}' is not UTF-8 text ({exc.reason} at byte {exc.start})", cited
        ) from None
    except OSError as exc:
        raise CurriculumError.single(
            E_READ, f"cannot read '{path}': {exc.strerror or exc}", cited
        ) from None
    text = yaml_text(text)
    source = Source(str(path), text, tuple(text.split("\n")))
    node = compose_yaml(text, str(path), cited)
    if node is not None:
        tag_source(node, source)
    return source, node


def tag_source(node: yaml.Node, source: Source) -> None:
    """Remember ``source`` on ``node`` and every node below it (yaml nodes are plain
    objects; a composed tree mixes nodes of several files)."""
    node.source = source
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            tag_source(key, source)
            tag_source(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            tag_source(item, source)


def node_span(node: yaml.Node) -> Span:
    """The span of a node read by :func:`read_yaml_file`: all of it, at least one character."""
    source: Source = node.source
    start, end = node.start_mark, node.end_mark
    end_line, end_column = end.line + 1, end.column + 1
    if (end_line, end_column) <= (start.line + 1, start.column + 1):
        end_line, end_column = start.line + 1, start.column + 2
    return Span(source.path, start.line + 1, start.column + 1, end_line, end_column, source.text)


def key_text(node: yaml.Node) -> str:
    """A mapping key as written (``0:`` and ``"0":`` are the same key); a key that is itself
    a mapping or a list is named by its position."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else str(node.start_mark)


def construct(node: yaml.Node) -> Any:
    """The Python value of a node by the safe loader's rules (raises ``yaml.YAMLError`` for a
    tag it does not know: run it inside :func:`yaml_errors`)."""
    try:
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:  # int() of 5,000 digits, a date out of range
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"cannot read the value {str(node.value)[:40]!r}: {str(exc)[:80]}",
            node.start_mark,
        ) from None


def plain_data(
    node: yaml.Node,
    *,
    key: Callable[[yaml.Node], Any] = key_text,
    scalar: Callable[[yaml.Node], Any] = construct,
    visit: Callable[[tuple, yaml.Node | None, yaml.Node], None] | None = None,
    path: tuple = (),
) -> Any:
    """Dicts, lists and scalars of a node tree, telling ``visit(path, key node, node)`` where
    each value was written (the key node is None for list items and the root).

    ``key`` turns a key node into the dict key (default: the text as written); ``scalar``
    a scalar node into its value (default: :func:`construct`). Mappings and lists are built
    here whatever their tag: ``visit`` may refuse tags it does not want.
    """
    return _plain(node, None, path, key, scalar, visit)


def _plain(node, key_node, path, key, scalar, visit):
    if visit is not None:
        visit(path, key_node, node)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k, v in node.value:
            name = key(k)
            out[name] = _plain(v, k, (*path, name), key, scalar, visit)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v, None, (*path, i), key, scalar, visit) for i, v in enumerate(node.value)]
    return scalar(node)
