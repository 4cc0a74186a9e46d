"""Issue 23: the README and docs/commands.md list every command `fairsplit --help` has, every
command they list exists, and every command takes --json (the command tree is walked)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from cli import app, subcommands

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    paths = []

    def walk(command, prefix: list[str]) -> None:
        if hasattr(command, "list_commands"):
            for name, sub in subcommands(command).items():
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


#: Commands whose output is itself a machine format, or that run until stopped.
NO_JSON = {
    "sign": "writes signed events (JSONL) to stdout or --out",
    "ledger prove": "writes a JSON proof document",
    "ledger consistency": "writes a JSON proof document",
    "keys public": "writes the public keys file (PEM)",
    "serve attribution": "a service: it logs one JSON object per line",
    "serve ledger": "a service: it logs one JSON object per line",
    "serve portal": "a service: the artists' web pages",
    "witness serve": "a service: it logs until stopped",
}


def _options(path: str) -> set[str]:
    command = typer.main.get_command(app)
    for name in path.split():
        command = subcommands(command)[name]
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def test_every_command_takes_json_unless_its_output_is_a_machine_format():
    missing = [c for c in _commands() if c not in NO_JSON and "--json" not in _options(c)]
    assert missing == []
    assert set(NO_JSON) <= set(_commands())  # the exemptions name real commands


def test_commands_that_change_something_report_it_as_json(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    base = ["--database-url", f"sqlite:///{tmp_path / 'l.db'}", "--key-dir", str(tmp_path / "keys")]

    def run(*args):
        result = CliRunner().invoke(app, [*base, *args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    made = run("init")
    assert made["key_created"] is True and made["key_id"]
    platform = run("platforms", "add", "acme")
    assert platform["account"] == "platform:acme" and Path(platform["private_key_file"]).exists()
    enrolled = run("keys", "enroll", "attribution-worker")
    assert enrolled["enrolled"] is True and enrolled["created_key_file"]
    assert run("keys", "revoke", enrolled["key_id"], "--reason", "test")["key_id"] == enrolled["key_id"]
    assert run("platforms", "revoke-key", "acme", "--reason", "leak")["revoked"]
