"""Issue 23: the README and docs/commands.md list every command `fairsplit --help` has, and
every command they list exists (the command tree is walked, nothing is hard-coded)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from cli import app

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    paths = []

    def walk(command, prefix: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*prefix, name])
        else:
            paths.append(" ".join(prefix))

    walk(typer.main.get_command(app), [])
    return sorted(paths)


def _mentioned(text: str, command: str) -> bool:
    return re.search(r"fairsplit " + re.escape(command) + r"(\s|`|$)", text) is not None


def test_the_tree_is_walked():
    commands = _commands()
    assert len(commands) >= 40 and "dead-letters" in commands and "ledger verify" in commands


def test_the_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text()
    assert [c for c in _commands() if not _mentioned(readme, c)] == []


def test_docs_commands_lists_every_command_and_nothing_else():
    listed = re.findall(r"^\| `fairsplit ([a-z0-9 -]+)` \|", (ROOT / "docs" / "commands.md").read_text(), re.MULTILINE)
    assert sorted(listed) == _commands()
