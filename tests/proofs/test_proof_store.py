"""The stored Merkle tree, checkpoints and proof documents, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ledger.books.encoding import encode_row
from ledger.keys.lifecycle import public_keyring
from ledger.tlog.merkle import MemoryTree
from ledger.tlog.proofs import VerificationError, verify_document
from ledger.transparency.proving import balance_bundle, prove_consistency, prove_inclusion
from ledger.books.schema import TRANSFERS
from ledger.transparency.tree import (
    NODES,
    TransparencyError,
    create_checkpoint,
    extend_tree,
    latest_checkpoint,
    maybe_checkpoint,
    verify_checkpoints,
)
from ledger.audit.chain import verify_ledger
from tests.proofs.support import make_env


def memory_tree(env) -> MemoryTree:
    with env.engine.connect() as connection:
        rows = connection.execute(select(TRANSFERS).order_by(TRANSFERS.c.seq)).mappings().all()
    return MemoryTree(encode_row(row) for row in rows)


def test_tree_grows_incrementally_and_matches_an_in_memory_tree(env):
    sizes = []
    for batch in (1, 4, 32, 26):
        env.book(batch, start=sum(sizes))
        sizes.append(batch)
        stored = create_checkpoint(env.engine, env.signer)
        n = sum(sizes)
        assert stored.size == n
        assert stored.checkpoint.root_hash == memory_tree(env).root()
        with env.engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(NODES)).scalar()
        assert count == 2 * n - bin(n).count("1")  # every complete node, exactly once
    assert create_checkpoint(env.engine, env.signer) == latest_checkpoint(env.engine)  # no new entries: same one


def test_every_entry_has_a_proof_that_verifies_offline(env):
    env.book(23)
    keyring = public_keyring(env.engine)
    for seq in range(1, 24):
        document = prove_inclusion(env.engine, seq, env.signer)
        assert verify_document(json.dumps(document), keyring).checkpoint.size == 23
    by_id = prove_inclusion(env.engine, document["entry"]["id"])
    assert by_id["entry"]["seq"] == 23
    with pytest.raises(TransparencyError, match="No transfer"):
        prove_inclusion(env.engine, 99)


def test_consistency_between_stored_checkpoints(env):
    env.book(5)
    create_checkpoint(env.engine, env.signer)
    env.book(12, start=5)
    create_checkpoint(env.engine, env.signer)
    document = prove_consistency(env.engine, 5, 17)
    keyring = public_keyring(env.engine)
    verified = verify_document(json.dumps(document), keyring, kept=prove_inclusion(env.engine, 2)["checkpoint"])
    assert "prefix" in " ".join(verified.lines)
    with pytest.raises(TransparencyError, match="No checkpoint of tree size 6"):
        prove_consistency(env.engine, 6, 17)


def test_maybe_checkpoint_every_n_entries(env):
    env.book(3)
    assert maybe_checkpoint(env.engine, env.signer, every_entries=5, every_seconds=3600).size == 3
    env.book(4, start=3)
    assert maybe_checkpoint(env.engine, env.signer, every_entries=5, every_seconds=3600) is None
    env.book(1, start=7)
    assert maybe_checkpoint(env.engine, env.signer, every_entries=5, every_seconds=3600).size == 8
    assert maybe_checkpoint(env.engine, env.signer, every_entries=1, every_seconds=0) is None


@pytest.mark.parametrize("table", ["merkle_nodes", "checkpoints"])
def test_tree_and_checkpoints_are_append_only(env, table):
    env.book(3)
    create_checkpoint(env.engine, env.signer)
    column = "idx" if table == "merkle_nodes" else "tree_size"
    for statement in (f"UPDATE {table} SET {column} = {column} + 100", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"):
            env.sql(statement)


def test_a_tampered_entry_is_never_added_to_the_tree(env):
    env.book(4)
    env.drop_trigger("transfers_no_update", "transfers")
    env.sql("UPDATE transfers SET amount = amount + 1 WHERE seq = 3")
    with pytest.raises(TransparencyError, match="seq 3 no longer matches its hash"):
        extend_tree(env.engine)


def test_a_rewritten_history_is_caught_against_a_kept_checkpoint(env, tmp_path):
    """The operator keeps the key but rebuilds the log with entry 3 changed."""
    env.book(5)
    kept = prove_inclusion(env.engine, 1, env.signer)  # the artist keeps this proof's checkpoint
    keyring = public_keyring(env.engine)
    shutil.copytree(env.key_dir, tmp_path / "forger-keys")
    forged = make_env(f"sqlite:///{tmp_path / 'forged.db'}", tmp_path / "forger-keys")
    assert forged.signer.key_id == env.signer.key_id
    forged.book(2)
    forged.book(1, start=2, amount=999_999)  # entry 3 now pays much more
    forged.book(2, start=3)
    create_checkpoint(forged.engine, forged.signer)  # a different tree of the same size 5
    forged.book(5, start=5)
    create_checkpoint(forged.engine, forged.signer)
    fresh = prove_inclusion(forged.engine, 10, since=5)
    verify_document(json.dumps(fresh), keyring)  # valid on its own …
    with pytest.raises(VerificationError, match="rewritten"):
        verify_document(json.dumps(fresh), keyring, kept=json.dumps(kept))  # … but not a continuation
    step = prove_consistency(forged.engine, 5, 10)
    verify_document(json.dumps(step), keyring)
    with pytest.raises(VerificationError, match="rewritten"):
        verify_document(json.dumps(step), keyring, kept=kept["checkpoint"])


def test_bundle_balance_matches_the_ledger_and_its_entries_verify(env):
    env.book(30)
    document = balance_bundle(env.engine, "artist:monet", env.signer)
    ledger_balance = env.ledger.balance("artist:monet")
    assert document["balances"] == ledger_balance and len(document["entries"]) == 10
    verified = verify_document(json.dumps(document), public_keyring(env.engine))
    assert verified.balances == ledger_balance
    edited = json.loads(json.dumps(document))
    edited["entries"][4]["entry"]["amount"] += 1
    edited["balances"]["USD"] += 1
    with pytest.raises(VerificationError, match="altered"):
        verify_document(json.dumps(edited), public_keyring(env.engine))


def test_ledger_verify_sees_removed_entries_through_the_checkpoints(env):
    env.book(5)
    create_checkpoint(env.engine, env.signer)
    env.book(3, start=5)
    create_checkpoint(env.engine, env.signer)
    report = verify_checkpoints(env.engine)
    assert report.ok and report.checkpoints == 2 and report.tree_size == 8
    env.drop_trigger("transfers_no_delete", "transfers")
    env.sql("DELETE FROM transfers WHERE seq > 6")
    assert verify_ledger(env.engine).ok  # the chain alone cannot see a shortened end …
    report = verify_checkpoints(env.engine)  # … the signed checkpoint of 8 entries can
    assert not report.ok and "checkpoint 8 was signed" in report.problem and report.checkpoints == 1


def test_ledger_verify_sees_a_rebuilt_history_through_the_checkpoints(env):
    env.book(4)
    create_checkpoint(env.engine, env.signer)
    for table in ("transfers", "account_balances"):  # the maintained balances would give it away too
        env.drop_trigger(f"{table}_no_delete", table)
        env.sql(f"DELETE FROM {table}")
    env.book(4, amount=5000)  # a consistent, freshly signed chain with other amounts
    assert verify_ledger(env.engine).ok
    report = verify_checkpoints(env.engine)
    assert not report.ok and "rewritten" in report.problem
