"""Verification finds the first bad row: altered, unlinked, or signed by a foreign key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from ledger.books.encoding import row_hash
from ledger.errors import SigningKeyError
from ledger.keys.lifecycle import rotate_key
from ledger.keys.signing import Signer, register_key
from ledger.books.store import Ledger, TransferSpec, _insert, _seal
from ledger.audit.chain import verify_ledger
from tests.ledger.support import WHEN


def fill(env, events=5):
    """Chain checks need rows, not rewards: payouts carry no evidence (`ledger.evidence.audit`)."""
    specs = [TransferSpec(f"ev-{i}", "artist:van-gogh", "payouts:USD", 1000 + i, "USD", "payout", WHEN)
             for i in range(events)]
    return env.ledger.append(specs)


def test_intact_ledger_verifies(env):
    assert verify_ledger(env.engine).ok and verify_ledger(env.engine).checked == 0
    booked = fill(env)
    report = verify_ledger(env.engine, page=2)  # several pages
    assert report.ok and report.checked == 5 and report.head_hash == booked[-1].hash


def test_altered_amount_is_named(env):
    fill(env)
    env.drop_trigger("transfers_no_update", "transfers")
    env.sql("UPDATE transfers SET amount = 999999 WHERE seq = 3")
    report = verify_ledger(env.engine, page=2)
    assert not report.ok and report.bad_seq == 3 and "hash mismatch" in report.problem
    assert report.head_seq == 2


def test_rehashed_row_fails_its_signature(env):
    booked = fill(env)
    forged = replace(booked[1], amount=1)
    env.drop_trigger("transfers_no_update", "transfers")
    env.sql("UPDATE transfers SET amount = 1, hash = :h WHERE seq = 2", h=row_hash(forged.as_dict()))
    report = verify_ledger(env.engine)
    assert report.bad_seq == 2 and "bad signature" in report.problem


def test_deleted_row_breaks_the_chain(env):
    fill(env)
    env.drop_trigger("transfers_no_delete", "transfers")
    env.sql("DELETE FROM transfers WHERE seq = 4")
    report = verify_ledger(env.engine)
    assert report.bad_seq == 5 and "gap in seq" in report.problem


def test_foreign_key_signature_is_caught(env):
    fill(env, 2)
    foreign = Signer.from_private_key(Ed25519PrivateKey.generate())
    # A foreign key claiming the ledger's key id: the signature cannot verify.
    impostor = Ledger(env.engine, Signer(env.signer.key_id, foreign.private_key))
    impostor.append([TransferSpec("ev-x", "artist:mallory", "payouts:USD", 10**9, "USD", "payout", WHEN)])
    report = verify_ledger(env.engine)
    assert report.bad_seq == 3 and "bad signature" in report.problem


def test_rotated_key_verifies_and_unregistered_key_is_refused(env):
    fill(env, 2)
    successor, _ = rotate_key(env.engine, env.key_dir)  # a log entry sealed by the outgoing key
    Ledger(env.engine, successor).append(
        [TransferSpec("ev-x", "artist:a", "payouts:USD", 5, "USD", "payout", WHEN)])
    report = verify_ledger(env.engine)
    assert report.ok and report.checked == 4  # rows of the retired key still verify
    stranger = Signer.from_private_key(Ed25519PrivateKey.generate())
    with pytest.raises(SigningKeyError, match="rotated to"):  # not the log's current key: nothing is written
        Ledger(env.engine, stranger).append(
            [TransferSpec("ev-y", "artist:a", "payouts:USD", 5, "USD", "payout", WHEN)])
    assert verify_ledger(env.engine).checked == 4


def test_a_key_only_in_signing_keys_signs_nothing_that_verifies(env):
    """Issue 19 item 2's key half: INSERT INTO signing_keys (and retire the real key) by SQL."""
    fill(env, 2)
    intruder = Signer.from_private_key(Ed25519PrivateKey.generate())
    register_key(env.engine, intruder)
    env.sql("UPDATE signing_keys SET retired_at = :t WHERE key_id = :k", t=datetime.now(UTC), k=env.signer.key_id)
    Ledger(env.engine, intruder).append(
        [TransferSpec("ev-x", "platform:acme", "artist:mallory", 9 * 10**11, "USD", "reward", WHEN)])
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == 3 and "not in the log's key history" in report.problem


def test_a_row_sealed_by_an_inserted_key_after_a_rotation_is_caught(env):
    fill(env, 1)
    rotate_key(env.engine, env.key_dir)
    intruder = Signer.from_private_key(Ed25519PrivateKey.generate())
    register_key(env.engine, intruder)
    spec = TransferSpec("ev-x", "platform:acme", "artist:mallory", 9 * 10**11, "USD", "reward", WHEN)
    with env.engine.begin() as connection:  # straight into the database, past Ledger.append's guard
        head = connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq DESC LIMIT 1")).one()
        _insert(connection, _seal([(spec.id, spec)], head.seq, head.hash, intruder))
    report = verify_ledger(env.engine)
    assert report.bad_seq == 3 and "not in the log's key history" in report.problem


def test_swapped_key_id_is_caught(env):
    fill(env, 2)
    other = Signer.from_private_key(Ed25519PrivateKey.generate())
    register_key(env.engine, other)
    env.drop_trigger("transfers_no_update", "transfers")
    env.sql("UPDATE transfers SET key_id = :k WHERE seq = 2", k=other.key_id)
    report = verify_ledger(env.engine)
    assert report.bad_seq == 2 and "hash mismatch" in report.problem  # key_id is part of the hash


@pytest.mark.parametrize("column", ["prev_hash"])
def test_relinked_row_is_a_broken_link(env, column):
    fill(env, 3)
    env.drop_trigger("transfers_no_update", "transfers")
    env.sql(f"UPDATE transfers SET {column} = :h WHERE seq = 2", h="ab" * 32)
    report = verify_ledger(env.engine)
    assert report.bad_seq == 2 and "broken link" in report.problem
