"""Issue 19 item 4: a statement manifest re-signed with a retired key is refused, offline and
online; and item 12's FIFO: `statements verify` refuses a special file instead of hanging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from ledger.crypto import canonical_json
from ledger.keys.signing import read_key
from tests.payouts.support import MODEL, at

SHARES = {"artist:van-gogh": Fraction(2, 3), "artist:monet": Fraction(1, 6), MODEL: Fraction(1, 6)}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(env):
    runner = CliRunner()
    base = ["--database-url", env.url, "--key-dir", env.key_dir]

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result.output

    return invoke


@pytest.fixture
def exported(env, cli, tmp_path):
    """Period 2026-10 closed and exported after a rotation; returns (folder, keys file, the retired signer)."""
    env.reward("e1", at(3, 10), 3_000_000, SHARES)
    old = env.signer
    assert "now in use" in cli("keys", "rotate")
    env.ledger.key_dir = env.key_dir  # the test's own writer picks the new key up, as the services do
    env.reward("e2", at(4, 10), 2_000_000, SHARES)
    cli("payouts", "close", "2026-10")
    out, keys = tmp_path / "export", tmp_path / "ledger-keys.pem"
    cli("statements", "export", "2026-10", "--format", "csv,json", "--out", str(out))
    cli("keys", "public", "--out", str(keys))
    retired = read_key(Path(env.key_dir) / "retired" / f"{old.key_id}.ed25519.pem")
    return out, keys, retired


def resign(folder: Path, signer, **changes) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, value in changes.items():
        if name == "through_seq":
            manifest["subject"]["through_seq"] = value
        else:
            manifest[name] = value
    manifest["key_id"] = signer.key_id
    manifest["signature"] = signer.sign(canonical_json(manifest)).hex()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def offline(folder: Path, keys: Path):
    return CliRunner().invoke(app, ["--database-url", "sqlite:////nonexistent/x.db", "statements", "verify",
                                    str(folder), "--public-key", str(keys)])


def test_a_manifest_resigned_with_the_retired_key_is_refused_offline_and_online(exported, cli):
    out, keys, retired = exported
    assert offline(out, keys).exit_code == 0 and "Manifest intact" in cli("statements", "verify", str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["log_size"] >= manifest["subject"]["through_seq"] > 0

    resign(out, retired)
    result = offline(out, keys)
    assert result.exit_code == 1 and "outside its range" in result.output and "Traceback" not in result.output
    assert "outside its range" in cli("statements", "verify", str(out), code=1)

    resign(out, retired, log_size=2)  # claims to be made in the retired key's time, before the close
    assert "before its period's close" in offline(out, keys).output
    resign(out, retired, log_size=2, through_seq=1)  # and lies about the close too: the ledger knows better
    assert "before its period's close" in cli("statements", "verify", str(out), code=1)


def test_a_manifest_without_its_log_size_is_refused(exported, cli):
    out, keys, _ = exported
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["log_size"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert "export the period again" in " ".join(offline(out, keys).output.split())


def test_statements_verify_refuses_a_fifo_with_one_sentence(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    os.mkfifo(folder / "manifest.json")
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "statements", "verify", str(folder), "--public-key",
                             str(tmp_path / "none.pem")], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and "not a regular file" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
