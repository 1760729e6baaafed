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

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curriculumc.errors import CurriculumError, Span

E_NOT_UTF8 = "E003"
E_READ = "E004"
E_YAML = "E171"


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
    with yaml_errors(text, filename, cited):
        loader = yaml.SafeLoader(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()


def read_yaml_file(path: Path, cited: Span | None = None):
    """``(Source, node tree)`` of a YAML file; every node gets a ``source`` attribute.

    Raises :class:`CurriculumError` when the file cannot be read (E004, pointing at
    ``cited``), is not UTF-8 (E003) or is not YAML (E171).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CurriculumError.single(
            E_NOT_UTF8, f"'{path}' is not UTF-8 text ({exc.reason} at byte {exc.start})", cited
        ) from None
    except OSError as exc:
        raise CurriculumError.single(
            E_READ, f"cannot read '{path}': {exc.strerror or exc}", cited
        ) from None
    source = Source(str(path), text, tuple(text.split("\n")))
    node = compose_yaml(text, str(path), cited)
    if node is not None:
        _tag(node, source)
    return source, node


def _tag(node: yaml.Node, source: Source) -> None:
    # yaml nodes are plain objects: remember each node's file on it (a composed tree mixes
    # nodes of several files)
    node.source = source
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _tag(key, source)
            _tag(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _tag(item, source)


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
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


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
