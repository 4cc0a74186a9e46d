"""Every command, option and argument of the CLI as it stood before the restructuring
(commit 4ea0754, recorded in help_tree_4ea0754.json) still exists: scripts written against
it keep working."""

from __future__ import annotations

import json
from pathlib import Path

import typer

import cli

BEFORE = json.loads((Path(__file__).parent / "help_tree_4ea0754.json").read_text())


def command_tree() -> dict[str, dict[str, list[str]]]:
    """'sub command path' → its option spellings and argument names."""
    tree: dict[str, dict[str, list[str]]] = {}

    def walk(command, path: list[str]) -> None:
        params = command.params
        tree[" ".join(path)] = {
            "options": sorted(o for p in params if type(p).__name__.endswith("Option") for o in p.opts + p.secondary_opts),
            "arguments": [p.name for p in params if type(p).__name__.endswith("Argument")],
        }
        for name, sub in cli.subcommands(command).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(cli.app), [])
    return tree


def test_every_earlier_command_option_and_argument_still_exists():
    now = command_tree()
    missing = [path for path in BEFORE if path not in now]
    assert not missing, f"commands gone: {missing}"
    for path, before in BEFORE.items():
        assert set(before["options"]) <= set(now[path]["options"]), path
        assert before["arguments"] == now[path]["arguments"], path


def test_the_key_lifecycle_witness_and_dead_letter_commands_were_added():
    added = {path.split(" ")[0] for path in set(command_tree()) - set(BEFORE)}
    assert {"keys", "witness", "dead-letters"} <= added


def test_the_roots_table_names_exactly_the_commands_its_modules_define():
    """cli.py imports a command's module when the command runs, by its table: the table and
    the modules must agree, or a command would be missing or unreachable."""
    import importlib
    import pkgutil

    import commands

    defined: dict[str, str] = {}
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"commands.{info.name}")
        if isinstance(getattr(module, "app", None), typer.Typer):
            if info.name in cli.GROUPS.values():
                continue
            for name in typer.main.get_group(module.app).commands:
                defined[name] = info.name
    assert defined == cli.COMMANDS
    assert all(isinstance(importlib.import_module(f"commands.{m}").app, typer.Typer) for m in cli.GROUPS.values())
    assert not set(cli.COMMANDS) & set(cli.GROUPS)
