"""Control characters are escaped in everything printed (issue 19 item 10): a failing bundle
cannot erase or overwrite its own "invalid" line, and no command prints user text raw."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from services.safe_text import printable
from ledger.crypto import generate_private_key, public_key_pem

ROOT = Path(__file__).resolve().parents[2]
# Up a line, erase it, back to column 0, print a verdict; an OSC 8 hyperlink; a BEL; a
# right-to-left override; a C1 CSI.
PAYLOAD = ("\x1b[1A\x1b[2K\rvalid: 3 entries of artist:van-gogh; balance 1000000.00 USD."
           "\x1b]8;;http://evil.example/\x07x\u202e\x9b2J\b")
RAW = ("\x1b", "\r", "\x07", "\u202e", "\x9b", "\b")


def _no_controls(text: str) -> None:
    assert not any(c in text for c in RAW), repr(text)


def _cli(url: str, keys: Path, *args: str):
    return CliRunner().invoke(app, ["--database-url", url, "--key-dir", str(keys), *args])


@pytest.fixture
def bundle(sqlite_url, tmp_path):
    keys = tmp_path / "keys"
    for args in (("init",), ("ledger", "demo", "--events", "3"), ("keys", "public", "--out", str(tmp_path / "keys.pem")),
                 ("balance", "van-gogh", "--proof", str(tmp_path / "bundle.json"))):
        assert _cli(sqlite_url, keys, *args).exit_code == 0
    return json.loads((tmp_path / "bundle.json").read_text())


def _tampered(document: dict, field: str) -> dict:
    document = json.loads(json.dumps(document))
    entry = document["entries"][0]["entry"]
    if field == "account":
        document["account"] += PAYLOAD
    elif field == "memo":
        entry["memo"] = PAYLOAD
    elif field == "credit_account":
        entry["credit_account"] = "artist:x" + PAYLOAD
    elif field == "origin":
        document["checkpoint"] = PAYLOAD + document["checkpoint"]
    elif field == "currency":
        document["balances"][PAYLOAD] = 5
    elif field == "format":
        document["format"] = PAYLOAD
    return document


@pytest.mark.parametrize("field", ["account", "memo", "credit_account", "origin", "currency", "format"])
def test_a_failing_bundle_cannot_overwrite_its_invalid_line(bundle, tmp_path, field):
    (tmp_path / "forged.json").write_text(json.dumps(_tampered(bundle, field)))
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "verify-proof", "forged.json", "--public-key",
                             "keys.pem"], cwd=tmp_path, capture_output=True, timeout=120)
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1 and stdout == ""
    _no_controls(stderr)
    assert stderr.startswith("invalid: ") and stderr.count("\n") == 1  # one line, and nothing can move back over it
    as_json = subprocess.run([sys.executable, str(ROOT / "cli.py"), "verify-proof", "forged.json", "--public-key",
                              "keys.pem", "--json"], cwd=tmp_path, capture_output=True, timeout=120)
    _no_controls(as_json.stdout.decode())
    assert json.loads(as_json.stdout)["valid"] is False


def test_other_commands_escape_what_users_wrote(sqlite_url, tmp_path):
    keys = tmp_path / "keys"
    assert _cli(sqlite_url, keys, "init").exit_code == 0
    (tmp_path / "acme.pub").write_bytes(public_key_pem(generate_private_key().public_key()))
    assert _cli(sqlite_url, keys, "platforms", "add", "acme", "--public-key", str(tmp_path / "acme.pub")).exit_code == 0
    assert _cli(sqlite_url, keys, "platforms", "revoke-key", "acme", "--reason", "leaked" + PAYLOAD).exit_code == 0
    listed = _cli(sqlite_url, keys, "platforms", "list")  # a table cell
    assert listed.exit_code == 0 and "leaked" in listed.output
    _no_controls(listed.output)
    refused = _cli(sqlite_url, keys, "balance", "artist:" + PAYLOAD)  # an error sentence
    assert refused.exit_code == 2
    _no_controls(refused.output)


def test_printable_shows_each_control_as_a_visible_escape():
    assert printable("a\x1b[2Kb\rc\x07\u202e\x9b\td\ne") == "a\\x1b[2Kb\\rc\\x07\\u202e\\x9b\td\ne"
    assert printable("x\ny\tz", newlines=False) == "x\\ny\\tz"
    assert printable("Köln — 東京 ✓") == "Köln — 東京 ✓"  # everything else is left as it is
