"""The specs shown in the README and docs/ are specs that work.

A fenced block is a spec when its info string is ``cur`` (DSL) or ``yaml spec`` (the YAML
form), or when its first line names a file of specs/ (``# specs/root_pos.cur``). A block
that names a file shows that file: its lines, less comment-only lines, are the file's
(so the docs cannot drift from the example they quote). Every spec block compiles without
an error, read from the Markdown, with errors pointing at the Markdown's lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.paths import REPO

import curriculumc
from curriculumc.lang.yaml_form import parse_yaml

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
NAMES_A_SPEC = re.compile(r"^#\s*(specs/[\w.\-]+\.(?:cur|ya?ml))\b")


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # the line of the block's first text line in the Markdown
    info: str
    text: str

    @property
    def named(self) -> str | None:
        first = self.text.split("\n", 1)[0]
        match = NAMES_A_SPEC.match(first)
        return match.group(1) if match else None

    @property
    def is_spec(self) -> bool:
        words = self.info.split()
        return words[:1] == ["cur"] or words == ["yaml", "spec"] or self.named is not None

    @property
    def is_yaml(self) -> bool:
        return self.info.startswith("yaml") or (self.named or "").endswith((".yaml", ".yml"))

    def __str__(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    found, lines, i = [], doc.read_text(encoding="utf-8").split("\n"), 0
    while i < len(lines):
        fence = re.match(r"^(```+)(.*)$", lines[i])
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith(fence.group(1)))
        found.append(Block(doc, i + 2, fence.group(2).strip(), "\n".join(lines[i + 1 : end])))
        i = end + 1
    return found


SPEC_BLOCKS = [b for doc in DOCS for b in blocks(doc) if b.is_spec]


def _statement_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.split("\n")]
    return [line for line in lines if line and not line.lstrip().startswith("#")]


def test_the_docs_show_specs():
    # the README's two examples, language.md's two and its YAML form at least
    assert len(SPEC_BLOCKS) >= 5
    assert {b.named for b in SPEC_BLOCKS} >= {"specs/root_pos.cur"}


@pytest.mark.parametrize("block", [b for b in SPEC_BLOCKS if b.named], ids=str)
def test_a_block_naming_a_spec_file_shows_that_file(block: Block):
    path = REPO / block.named
    assert path.exists(), f"{block} names {block.named}, which does not exist"
    shown = _statement_lines(block.text)
    assert shown == _statement_lines(path.read_text(encoding="utf-8")), f"{block}"


@pytest.mark.parametrize("block", SPEC_BLOCKS, ids=str)
def test_every_spec_in_the_docs_compiles(block: Block):
    # blank lines before the block: a diagnostic's line is the Markdown's line
    text = "\n" * (block.line - 1) + block.text + "\n"
    filename = str(block.doc.relative_to(REPO))
    base_dir = str((REPO / block.named).parent) if block.named else str(REPO / "specs")
    try:
        if block.is_yaml:
            spec = parse_yaml(text, filename + ".yaml", base_dir=base_dir)
        else:
            spec = curriculumc.parse(text, filename, base_dir=base_dir)
        curriculumc.compile(spec)
    except curriculumc.CurriculumError as exc:
        pytest.fail(f"{block}: the spec does not compile\n{exc}")


def test_a_capped_ramp_stays_at_its_cap_as_experiments_md_says():
    # docs/experiments.md: 'to E%' without 'release' rises to E% and stays there (CLIMB's
    # max_difficulty); 'release at' gives every example
    text = (REPO / "docs" / "experiments.md").read_text(encoding="utf-8")
    assert "rises to E% and then stays there" in text
    capped = curriculumc.compile(
        curriculumc.parse("sort by random; pace linear from 10% to 90% over 100")
    )
    assert [capped.data_fraction(t) for t in (100, 150, 19999)] == pytest.approx([0.9] * 3)
    released = curriculumc.compile(
        curriculumc.parse("sort by random; pace linear from 10% to 90% over 100 release at 50%")
    )
    assert released.data_fraction(60) == 1.0
