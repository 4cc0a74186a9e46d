"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked:
it is valid against the compose specification, and every service runs a real CLI command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer.main
import yaml

import cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def test_compose_file_is_valid_against_the_compose_spec():
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _resolve(group, words: list[str]):
    """Walk the click command tree along the leading non-option words of a command."""
    command = group
    for word in words:
        if word.startswith("-") or not hasattr(command, "commands"):
            break
        assert word in command.commands, f"`fairsplit {' '.join(words)}`: no command {word!r}"
        command = command.commands[word]
    return command


def test_every_service_command_exists_in_the_cli():
    spec = yaml.safe_load(COMPOSE.read_text())
    root = typer.main.get_command(cli.app)
    fairsplit_services = {
        name: svc for name, svc in spec["services"].items() if "build" in svc
    }
    assert {"migrate", "attribution", "ledger"} <= set(fairsplit_services)
    for name, svc in fairsplit_services.items():
        words = svc.get("command", [])
        command = _resolve(root, words)
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for word in words:
            if word.startswith("--"):
                assert word in options, f"service {name}: `{word}` is not an option of {words}"


def test_gpu_is_reserved_for_the_attribution_worker():
    spec = yaml.safe_load(COMPOSE.read_text())
    devices = spec["services"]["attribution"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
