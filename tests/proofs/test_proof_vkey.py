"""Issue 19 item 15: `keys public --format vkey` is the C2SP / Go sumdb-note verifier key of the
ledger, and a checkpoint opens with it under Go's reference rules (`tests/proofs/go_note.py`)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from ledger.tlog.checkpoint import Checkpoint
from tests.proofs.go_note import NoteError, Verifier, open_note


@pytest.fixture
def cli(sqlite_url, tmp_path):
    runner = CliRunner()
    base = ["--database-url", sqlite_url, "--key-dir", str(tmp_path / "keys")]

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == code, result.output
        return result.stdout

    invoke("init")
    return invoke


def test_the_vkey_opens_a_checkpoint_as_go_would_and_follows_a_rotation(cli, tmp_path):
    cli("ledger", "demo", "--events", "3")
    cli("ledger", "checkpoint", "--out", str(tmp_path / "cp1.note"))
    vkey = cli("keys", "public", "--format", "vkey").strip()
    name, key_hash, material = vkey.split("+", 2)
    assert name == "fairsplit/ledger" and len(key_hash) == 8 and material.startswith("A")  # base64 of 0x01 ‖ key
    assert f"# note verifier key: {vkey}" in cli("keys", "public")
    text = open_note((tmp_path / "cp1.note").read_bytes(), [Verifier(vkey)])
    assert Checkpoint.parse(text).size == 13  # genesis, evidence start, demo platform and worker keys, 9 demo rows

    cli("keys", "rotate")
    cli("ledger", "demo", "--events", "4")
    cli("ledger", "checkpoint", "--out", str(tmp_path / "cp2.note"))
    rotated = cli("keys", "public", "--format", "vkey").strip()
    assert rotated != vkey
    with pytest.raises(NoteError, match="no verifiable signatures"):  # the old key does not sign past its range
        open_note((tmp_path / "cp2.note").read_bytes(), [Verifier(vkey)])
    assert Checkpoint.parse(open_note((tmp_path / "cp2.note").read_bytes(), [Verifier(rotated)])).size == 17  # + the rotation entry and 3 rows


def test_a_tampered_vkey_is_refused_by_the_go_rules(cli):
    vkey = cli("keys", "public", "--format", "vkey").strip()
    name, key_hash, material = vkey.split("+", 2)
    with pytest.raises(NoteError, match="hash"):
        Verifier(f"other/log+{key_hash}+{material}")
    assert "not one of pem, vkey" in " ".join(CliRunner().invoke(app, ["keys", "public", "--format", "x"]).output.split())
