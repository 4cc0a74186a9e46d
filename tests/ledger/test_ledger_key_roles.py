"""One key, one role (issue 19 item 5): a public key that is the ledger's, a platform's or
an attribution worker's can take no other role, through the registry and through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from ledger.crypto import generate_private_key, public_key_pem, read_private_key
from ledger.parties.registry import RegistryError, add_platform, enroll_service_key, rotate_platform_key

WORKER = "attribution-worker"


def _pem(private) -> str:
    return public_key_pem(private.public_key()).decode()


def test_the_registry_gives_a_key_one_role(env):
    platform, worker = generate_private_key(), generate_private_key()
    assert add_platform(env.ledger, "acme", _pem(platform))
    with pytest.raises(RegistryError, match="already belongs to platform:acme; one key holds one role"):
        enroll_service_key(env.ledger, WORKER, _pem(platform))
    with pytest.raises(RegistryError, match="already belongs to ledger"):
        enroll_service_key(env.ledger, WORKER, _pem(env.signer.private_key))
    enroll_service_key(env.ledger, WORKER, _pem(worker))
    with pytest.raises(RegistryError, match=f"already belongs to {WORKER}"):
        add_platform(env.ledger, "globex", _pem(worker))
    with pytest.raises(RegistryError, match=f"already belongs to {WORKER}"):
        rotate_platform_key(env.ledger, "acme", _pem(worker))
    with pytest.raises(RegistryError, match="already belongs to ledger"):
        rotate_platform_key(env.ledger, "acme", _pem(env.signer.private_key))
    with pytest.raises(RegistryError, match="already belongs to ledger"):
        add_platform(env.ledger, "initech", _pem(env.signer.private_key))


def _cli(url: str, key_dir: Path, *args: str):
    return CliRunner().invoke(app, ["--database-url", url, "--key-dir", str(key_dir), *args])


def _write(path: Path, private) -> str:
    path.write_text(_pem(private))
    return str(path)


def test_the_cli_refuses_a_key_that_has_another_role_in_one_sentence(sqlite_url, tmp_path):
    keys = tmp_path / "keys"
    assert _cli(sqlite_url, keys, "init").exit_code == 0
    ledger_key = read_private_key(next(keys.glob("*.ed25519.pem")))
    platform_pub = _write(tmp_path / "acme.pub", generate_private_key())
    assert _cli(sqlite_url, keys, "platforms", "add", "acme", "--public-key", platform_pub).exit_code == 0

    for stolen, owner in ((platform_pub, "platform:acme"), (_write(tmp_path / "ledger.pub", ledger_key), "ledger")):
        refused = _cli(sqlite_url, keys, "keys", "enroll", WORKER, "--public-key", stolen)
        assert refused.exit_code == 2, refused.output
        assert f"already belongs to {owner}; one key holds one role" in refused.output
        assert "Traceback" not in refused.output and len(refused.output.strip().splitlines()) == 1

    worker_pub = _write(tmp_path / "worker.pub", generate_private_key())
    assert _cli(sqlite_url, keys, "keys", "enroll", WORKER, "--public-key", worker_pub).exit_code == 0
    for command in (("platforms", "add", "globex"), ("platforms", "rotate-key", "acme")):
        for stolen, owner in ((worker_pub, WORKER), (str(tmp_path / "ledger.pub"), "ledger")):
            refused = _cli(sqlite_url, keys, *command, "--public-key", stolen)
            assert refused.exit_code == 2 and f"already belongs to {owner}" in refused.output, refused.output
    listed = _cli(sqlite_url, keys, "platforms", "list", "--json")
    assert listed.stdout.count('"platform_id"') == 1  # acme, with its one original key
