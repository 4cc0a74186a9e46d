"""Witnesses through the command line: `ledger cosign`, `verify-proof --witness-key` and
`ledger verify --witness-key`, with a witness as a real process (the commands run in this
process: what they print and return is the point here, not their process boundary)."""

from __future__ import annotations

import json

import pytest

from tests.proofs.witness_support import WitnessProcess
from tests.proofs.witness_support import cli_here as cli

WITNESS = "witness.test/cli"


@pytest.mark.slow
def test_proofs_and_the_ledger_verify_only_with_the_witness_cosignature(migrated_sqlite_url, tmp_path):
    base = ["--database-url", migrated_sqlite_url, "--key-dir", str(tmp_path / "keys")]
    assert cli(*base, "init").returncode == 0
    assert cli(*base, "ledger", "demo", "--events", "3").returncode == 0
    keys = tmp_path / "ledger-keys.pem"
    assert cli(*base, "keys", "public", "--out", str(keys)).returncode == 0
    witness = WitnessProcess(tmp_path / "w", keys, WITNESS).start()
    vkey = tmp_path / "w" / "witness.vkey"
    witnesses = f"{witness.url} {vkey.read_text().strip()}"
    try:
        assert cli(*base, "ledger", "checkpoint").returncode == 0
        proof = tmp_path / "proof.json"
        assert cli(*base, "ledger", "prove", "1", "--out", str(proof)).returncode == 0
        unwitnessed = cli("verify-proof", str(proof), "--public-key", str(keys), "--witness-key", str(vkey))
        assert unwitnessed.returncode == 1 and "not witnessed" in unwitnessed.stderr
        refused = cli(*base, "ledger", "verify", "--witness-key", str(vkey))
        assert refused.returncode == 1 and "Not witnessed" in refused.stderr

        cosigned = cli(*base, "ledger", "cosign", "--witnesses", witnesses, "--json")
        assert cosigned.returncode == 0, cosigned.stderr
        assert [w["status"] for w in json.loads(cosigned.stdout)["witnesses"]] == ["cosigned"]

        fresh = tmp_path / "fresh.json"
        assert cli(*base, "ledger", "prove", "1", "--out", str(fresh)).returncode == 0
        valid = cli("verify-proof", str(fresh), "--public-key", str(keys), "--witness-key", str(vkey))
        assert valid.returncode == 0 and "cosigned by 1 witness" in valid.stdout, valid.stderr
        assert cli(*base, "ledger", "verify", "--witness-key", str(vkey)).returncode == 0

        bad_quorum = cli("verify-proof", str(fresh), "--public-key", str(keys), "--witness-key", str(vkey),
                         "--witness-quorum", "2")
        assert bad_quorum.returncode == 2 and "between 1 and the 1 witness keys" in bad_quorum.stderr
    finally:
        witness.stop()
    assert cli(*base, "ledger", "demo", "--events", "5").returncode == 0
    assert cli(*base, "ledger", "checkpoint").returncode == 0  # a newer checkpoint, and its witness is down
    down = cli(*base, "ledger", "cosign", "--witnesses", witnesses)
    assert down.returncode == 1 and "down" in down.stdout and "Traceback" not in down.stderr
