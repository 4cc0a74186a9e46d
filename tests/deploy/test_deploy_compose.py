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
        if word.startswith("-") or not hasattr(command, "list_commands"):
            break
        assert word in cli.subcommands(command), f"`fairsplit {' '.join(words)}`: no command {word!r}"
        command = cli.subcommands(command)[word]
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


def test_one_attribution_worker_per_gpu_all_in_one_consumer_group():
    spec = yaml.safe_load(COMPOSE.read_text())
    workers = {name: svc for name, svc in spec["services"].items() if name.startswith("attribution")}
    assert len(workers) >= 2
    gpus = []
    for name, svc in workers.items():
        (device,) = svc["deploy"]["resources"]["reservations"]["devices"]
        assert device["capabilities"] == ["gpu"] and "count" not in device, name
        (gpu,) = device["device_ids"]  # pinned to one GPU: a replica per GPU, never two on one
        gpus.append(gpu)
        assert svc["command"][:2] == ["serve", "attribution"] and "--topic-prefix" not in svc["command"]
        assert "FAIRSPLIT_TOPIC_PREFIX" not in svc["environment"]  # same topics, same group
        assert any(v.startswith("compile-cache:") for v in svc["volumes"])  # restarts load compiled graphs
    assert len(set(gpus)) == len(gpus)
    commands = {tuple(svc["command"]) for svc in workers.values()}
    assert len(commands) == 1


def test_services_connect_as_the_service_role_and_only_migrations_as_the_owner():
    """Least privilege: `migrate` (the owner) grants the role the services log in as."""
    from sqlalchemy.engine import make_url

    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    migrate = services["migrate"]
    role = migrate["command"][migrate["command"].index("--grant-service-role") + 1]
    assert make_url(migrate["environment"]["FAIRSPLIT_DATABASE_URL"]).username == owner
    assert make_url(services["cli"]["environment"]["FAIRSPLIT_DATABASE_URL"]).username == owner
    secret = spec["secrets"][migrate["secrets"][0]]["file"]
    password = (ROOT / secret).read_text().strip()
    for name in ("attribution", "attribution-gpu1", "ledger"):
        url = make_url(services[name]["environment"]["FAIRSPLIT_DATABASE_URL"])
        assert (url.username, url.password) == (role, password) and role != owner, name


def test_the_portal_reads_the_ledger_through_its_select_only_role():
    spec = yaml.safe_load(COMPOSE.read_text())
    portal, role = spec["services"]["portal"], spec["services"]["portal-role"]
    assert portal["command"][:2] == ["serve", "portal"]
    assert "fairsplit_portal:" in portal["environment"]["FAIRSPLIT_DATABASE_URL"]  # never the owner's role
    assert "keys" not in " ".join(portal.get("volumes", []))  # no signing key in the portal's reach
    assert portal["environment"]["FAIRSPLIT_PORTAL_URL"].startswith("https://")
    assert role["command"][:4] == ["portal", "grants", "--role", "fairsplit_portal"] and "--apply" in role["command"]
    assert portal["depends_on"]["portal-role"]["condition"] == "service_completed_successfully"
