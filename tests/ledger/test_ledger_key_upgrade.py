"""The upgrade path: a ledger written before key entries existed — rows, a rotation the old way
(`signing_keys.retired_at`, the retired key file left in the key folder), more rows, a
checkpoint — is migrated to 0008, `fairsplit init` records its key history in the log (an
adopt entry vouched for by every earlier key), and it verifies, online and offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import insert, select, text
from typer.testing import CliRunner

from cli import app
from ledger.tlog.checkpoint import Checkpoint, sign_checkpoint
from ledger.books.db import alembic_config, make_engine
from ledger.books.encoding import encode_row, row_hash
from ledger.tlog.public_keys import parse_keyring
from ledger.keys.signing import load_signer, write_new_key
from ledger.tlog.merkle import MemoryTree
from ledger.tlog.proofs import verify_document
from ledger.transparency.proving import balance_bundle
from ledger.books.schema import CHECKPOINTS, TRANSFERS, SigningKey
from ledger.books.store import Ledger, TransferSpec
from ledger.transparency.tree import extend_tree
from services.signed_rewards import enrol, reward
from tests.ledger.support import WHEN

LEGACY = "0007_witness_cosignatures"


def _legacy_rows(engine, signer, start: int, count: int, prev_hash: str) -> str:
    """Rows sealed as the pre-change code sealed them: v1 encoding, by direct SQL."""
    with engine.begin() as connection:
        for seq in range(start, start + count):
            spec = TransferSpec(f"ev-{seq}", "platform:acme", "artist:van-gogh", 1000 + seq, "USD", "reward", WHEN)
            row = {**spec.body(), "seq": seq, "id": spec.id, "version": 1, "key_id": signer.key_id,
                   "created_at": WHEN + timedelta(seconds=seq), "prev_hash": prev_hash}
            row["hash"] = prev_hash = row_hash(row)
            row["signature"] = signer.sign(bytes.fromhex(row["hash"])).hex()
            connection.execute(insert(TRANSFERS), row)
    return prev_hash


def _register(engine, signer, retired_at=None) -> None:
    with engine.begin() as connection:
        connection.execute(insert(SigningKey).values(key_id=signer.key_id, algorithm="ed25519",
                                                     public_key=signer.public_hex, created_at=datetime.now(UTC),
                                                     retired_at=retired_at))


def _legacy_ledger(url: str, key_dir: Path):
    """Schema at 0007; 5 rows by key A; A retired (old-style), B registered; 4 rows by B; checkpoints 5 by A, 9 by B."""
    engine = make_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, LEGACY)
    first = write_new_key(key_dir)
    _register(engine, first)
    head = _legacy_rows(engine, first, 1, 5, "0" * 64)
    second = write_new_key(key_dir)
    _register(engine, second)
    with engine.begin() as connection:
        connection.execute(text("UPDATE signing_keys SET retired_at = :t WHERE key_id = :k"),
                           {"t": datetime.now(UTC), "k": first.key_id})
    _legacy_rows(engine, second, 6, 4, head)
    extend_tree(engine)  # the stored Merkle tree, as the old checkpointing left it
    with engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(select(TRANSFERS).order_by(TRANSFERS.c.seq))]
    tree = MemoryTree(encode_row(row) for row in rows)
    before = sign_checkpoint(Checkpoint("fairsplit/ledger", 5, tree.root(5), WHEN), first.private_key)  # then current
    note = sign_checkpoint(Checkpoint("fairsplit/ledger", 9, tree.root(), WHEN), second.private_key)
    with engine.begin() as connection:
        connection.execute(insert(CHECKPOINTS).values(tree_size=5, origin="fairsplit/ledger", root_hash=tree.root(5).hex(),
                                                      key_id=first.key_id, issued_at=WHEN, note=before))
        connection.execute(insert(CHECKPOINTS).values(tree_size=9, origin="fairsplit/ledger", root_hash=tree.root().hex(),
                                                      key_id=second.key_id, issued_at=WHEN, note=note))
    return engine, first, second


def test_a_ledger_rotated_before_key_entries_upgrades_and_verifies(database_url, tmp_path):
    key_dir = tmp_path / "keys"
    engine, first, second = _legacy_ledger(database_url, key_dir)
    runner = CliRunner()
    base = ["--database-url", database_url, "--key-dir", str(key_dir)]

    def cli(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == code, result.output
        return result.output

    said = cli("init")
    assert "upgraded from 0007_witness_cosignatures" in said and "earlier key rotations are now recorded" in said
    assert "rewards so far are recorded as legacy" in said  # the evidence start, seq 11
    verified = " ".join(cli("ledger", "verify").split())
    assert "Ledger intact: 11 transfers verified" in verified and "9 legacy rewards" in verified, verified
    keys = parse_keyring(cli("keys", "public"))
    assert [(k.key_id, k.first_seq, k.last_seq) for k in keys.keys] == [(first.key_id, 1, 5), (second.key_id, 6, None)]
    assert keys.legacy_below == 10
    assert not (key_dir / f"{first.key_id}.ed25519.pem").exists()  # the retired key left the key folder
    assert (key_dir / "retired" / f"{first.key_id}.ed25519.pem").exists()
    ledger = Ledger(engine, load_signer(str(key_dir), engine), str(key_dir))  # new rewards carry evidence
    reward(ledger, enrol(ledger), "5d0c2a1e-9f4b-4c1a-8e2d-3b6a7c8d9e0f", {"artist:monet": 0.5, "model:sd-1.5": 0.5},
           10_000, when=WHEN)
    assert "15 transfers verified" in " ".join(cli("ledger", "verify").split())  # 2 key entries, 2 rewards
    cli("ledger", "checkpoint")  # a bundle must be proven under a log that holds the evidence start
    bundle = balance_bundle(engine, "artist:van-gogh", None)
    # the bundle proves what the newest checkpoint covers: the legacy rewards, not yet the new payout
    assert verify_document(json.dumps(bundle), keys).balances == {"USD": sum(1000 + seq for seq in range(1, 10))}
    (tmp_path / "keys.pem").write_text(keys.render())
    assert "Ledger intact" in cli("ledger", "verify", "--public-key", str(tmp_path / "keys.pem"))
    assert "now in use" in cli("keys", "rotate")  # and it rotates the new way from here
    assert "Ledger intact" in cli("ledger", "verify")
    assert "recorded" not in cli("init")  # idempotent: nothing more is written (15 + the rotation entry)
    assert "Ledger intact: 16 transfers" in " ".join(cli("ledger", "verify").split())
    engine.dispose()


def test_before_init_the_legacy_rotation_is_reported_with_what_to_do(sqlite_url, tmp_path):
    from ledger.books.db import upgrade_to_head
    from ledger.audit.chain import verify_ledger

    engine, _, _ = _legacy_ledger(sqlite_url, tmp_path / "keys")
    upgrade_to_head(engine)
    report = verify_ledger(engine)
    # the first bad seq is a reward from before evidence; `init` records both upgrades
    assert report.bad_seq == 1 and "run `fairsplit init` once" in report.problem
    engine.dispose()
