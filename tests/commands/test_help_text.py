"""Help text as a user reads it: every command's --help (description and options)."""

from __future__ import annotations

import argparse

import pytest

from curriculumc.cli import COMMANDS, build_parser


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_shows_no_doubled_percent_sign(name):
    parsers = subcommand_parsers()
    if name not in parsers:
        pytest.skip(f"{name} is not offered here")
    text = parsers[name].format_help()
    # argparse %-formats option help but prints a description as written: '%%' in a
    # description reaches the user as '%%'
    assert "%%" not in text


def test_compare_help_says_95_percent():
    text = " ".join(subcommand_parsers()["compare"].format_help().split())
    assert "bootstrap 95% interval" in text
