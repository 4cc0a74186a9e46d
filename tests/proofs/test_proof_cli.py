"""The verifiable-ledger CLI: checkpoint, prove, consistency, balance --proof, keys, verify-proof.

The verifier runs as a fresh process in an empty directory holding only the document and
the public keys file, with the database URL pointing nowhere: it must need neither.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(migrated_database_url, tmp_path):
    """The CLI on a database at head, after `init` (which makes the signing key)."""
    runner = CliRunner()
    base = ["--database-url", migrated_database_url, "--key-dir", str(tmp_path / "keys")]

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == code, result.output
        return result

    invoke("init")
    return invoke


@pytest.fixture
def book(cli):
    """`ledger demo --events N`: signed sample rewards with their evidence (3 key entries, then 3 rows an event)."""
    return lambda events: cli("ledger", "demo", "--events", str(events))


def words(text: str) -> str:
    return " ".join(text.split())


def offline_verify(tmp_path: Path, document: Path, keys: Path, *extra: Path) -> subprocess.CompletedProcess:
    """`fairsplit verify-proof` in a fresh process, in a directory with only the given files."""
    alone = tmp_path / f"artist-{len(list(tmp_path.glob('artist-*')))}"
    alone.mkdir()
    names = []
    for path in (document, keys, *extra):
        (alone / path.name).write_bytes(path.read_bytes())
        names.append(path.name)
    command = [sys.executable, str(ROOT / "cli.py"), "verify-proof", names[0], "--public-key", names[1]]
    if extra:
        command += ["--previous-checkpoint", names[2]]
    environment = {**os.environ, "PYTHONPATH": str(ROOT),
                   "FAIRSPLIT_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere", "FAIRSPLIT_KEY_DIR": "/nonexistent"}
    return subprocess.run(command, cwd=alone, env=environment, capture_output=True, text=True, timeout=60)


def test_balance_bundle_verifies_offline_and_fails_after_an_amount_is_edited(cli, book, tmp_path):
    book(12)
    bundle, keys = tmp_path / "bundle.json", tmp_path / "ledger-keys.pem"
    cli("keys", "public", "--out", str(keys))
    shown = json.loads(cli("balance", "van-gogh", "--json", "--proof", str(bundle)).stdout)
    document = json.loads(bundle.read_text())
    assert len(document["entries"]) == 12 and shown["balances"][0]["amount"] == document["display"]["USD"]

    good = offline_verify(tmp_path, bundle, keys)
    assert good.returncode == 0, good.stderr
    assert "12 entries of artist:van-gogh" in good.stdout and document["display"]["USD"] in good.stdout

    document["entries"][5]["entry"]["amount"] += 1
    document["balances"]["USD"] += 1
    bundle.write_text(json.dumps(document))
    bad = offline_verify(tmp_path, bundle, keys)
    assert bad.returncode == 1 and "invalid" in bad.stderr and "altered" in bad.stderr


def test_prove_consistency_and_a_kept_checkpoint(cli, book, tmp_path):
    book(3)
    kept = tmp_path / "kept.checkpoint"
    cli("ledger", "checkpoint", "--out", str(kept))
    book(7)
    assert "tree size 25" in cli("ledger", "checkpoint").output  # seq 1 is the key's genesis entry, 2-4 key entries
    keys, proof, step = tmp_path / "keys.pem", tmp_path / "proof.json", tmp_path / "step.json"
    cli("keys", "public", "--out", str(keys))
    cli("ledger", "prove", "5", "--out", str(proof), "--since", "13")
    cli("ledger", "consistency", "13", "25", "--out", str(step))
    assert json.loads(step.read_text())["format"] == "fairsplit.consistency-proof/v1"

    result = offline_verify(tmp_path, proof, keys, kept)
    assert result.returncode == 0 and "only grew" in result.stdout, result.stderr
    result = offline_verify(tmp_path, step, keys, kept)
    assert result.returncode == 0 and "only grew since the kept checkpoint (size 13 -> 25)" in result.stdout, result.stderr
    assert "Checkpoints intact: 2 signed tree heads" in words(cli("ledger", "verify").output)
    assert "no checkpoint of tree size 11" in words(cli("ledger", "consistency", "11", "25", code=2).output.lower())
    assert "no transfer" in words(cli("ledger", "prove", "99", "--out", str(proof), code=2).output.lower())


def test_keys_rotate_and_public_keys_file(cli, book, tmp_path):
    book(2)
    before = cli("keys", "public").stdout
    assert before.count("BEGIN PUBLIC KEY") == 1 and "first_seq: 1" in before and "last_seq: -" in before
    assert "now in use" in cli("keys", "rotate").output
    book(4)
    after = cli("keys", "public").stdout
    # genesis (1), 3 key entries and 6 rewards (2-10), the rotation entry (11, sealed by the old key), the new key from 12
    assert after.count("BEGIN PUBLIC KEY") == 2 and after.count("last_seq: -") == 1 and "last_seq: 11" in after
    assert "first_seq: 12" in after
    assert "17 transfers verified" in " ".join(cli("ledger", "verify").output.split())
    assert not list((tmp_path / "keys").glob("*.ed25519.pem"))[1:]  # one ledger key left in the key folder
    assert len(list((tmp_path / "keys" / "retired").glob("*.ed25519.pem"))) == 1


def test_verify_proof_reports_bad_files_without_tracebacks(cli, tmp_path):
    keys = tmp_path / "keys.pem"
    cli("keys", "public", "--out", str(keys))
    for name, content in [("garbage.json", b"\x00\xff{"), ("deep.json", b"[" * 100_000), ("other.json", b'{"format": "x"}')]:
        (tmp_path / name).write_bytes(content)
        result = cli("verify-proof", str(tmp_path / name), "--public-key", str(keys), code=1)
        assert "invalid" in result.output and "Traceback" not in result.output
    assert "does not exist" in words(cli("verify-proof", str(tmp_path / "missing.json"), "--public-key", str(keys), code=2).output)
    (tmp_path / "bad.pem").write_text("not a key")
    assert "no PEM" in words(cli("verify-proof", str(tmp_path / "other.json"), "--public-key", str(tmp_path / "bad.pem"), code=2).output)


def test_no_bundle_is_handed_out_from_a_ledger_that_does_not_verify(env, tmp_path):
    """Someone edits a row behind the triggers' back: `balance --proof` refuses instead of
    handing an artist a bundle from a ledger `ledger verify` rejects."""
    base = ["--database-url", env.url, "--key-dir", env.key_dir]
    env.book(9)
    env.drop_trigger("transfers_no_update", "transfers")
    env.sql("UPDATE transfers SET amount = amount + 1 WHERE seq = 7")  # not an entry of artist:van-gogh
    result = CliRunner().invoke(app, [*base, "balance", "van-gogh", "--proof", str(tmp_path / "bundle.json")])
    assert result.exit_code == 2 and "does not verify" in result.output and "hash mismatch" in result.output
    assert not (tmp_path / "bundle.json").exists()


def test_huge_or_foreign_seqs_are_one_sentence(cli, book, tmp_path):
    book(1)
    for entry in ("99999999999999999999", "\u0661", "0", "x" * 5000):
        result = cli("ledger", "prove", entry, "--out", str(tmp_path / "p.json"), code=2)
        assert "No transfer with" in result.output and "Traceback" not in result.output and len(result.output) < 400
    assert not (tmp_path / "p.json").exists()


def test_ledger_verify_pins_the_first_key_of_the_keys_file_it_is_given(cli, tmp_path):
    from ledger.crypto import generate_private_key, key_id
    from ledger.tlog.public_keys import Keyring, PublicKeyInfo

    cli("ledger", "demo", "--events", "2")
    mine, other = tmp_path / "mine.pem", tmp_path / "other.pem"
    cli("keys", "public", "--out", str(mine))
    assert "Ledger intact" in cli("ledger", "verify", "--public-key", str(mine)).output
    stranger = generate_private_key().public_key()
    other.write_text(Keyring("fairsplit/ledger", (PublicKeyInfo(key_id(stranger), stranger),)).render())
    said = words(cli("ledger", "verify", "--public-key", str(other), code=1).output)
    assert "broken at seq 1" in said and "the log's first key is " + key_id(stranger) in said
