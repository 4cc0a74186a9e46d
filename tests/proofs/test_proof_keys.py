"""Key rotation: old entries keep verifying, new ones use the new key, a retired key is refused
outside its seq range — by `ledger verify` and offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sqlalchemy import text

from ledger.tlog.checkpoint import Checkpoint, sign_checkpoint
from ledger.errors import SigningKeyError
from ledger.keys.lifecycle import public_keyring, rotate_key
from ledger.tlog.public_keys import parse_keyring
from ledger.keys.signing import load_signer
from ledger.tlog.proofs import VerificationError, open_signed_checkpoint, verify_document
from ledger.transparency.proving import balance_bundle
from ledger.books.store import Ledger, TransferSpec, _insert, _seal
from ledger.transparency.tree import TransparencyError, create_checkpoint
from ledger.audit.chain import verify_ledger
from tests.proofs.support import WHEN


def test_entries_before_and_after_rotation_verify(env):
    env.book(6)
    old = env.signer
    create_checkpoint(env.engine, old)
    new, retired = rotate_key(env.engine, env.key_dir)
    assert retired == [old.key_id] and load_signer(env.key_dir, env.engine).key_id == new.key_id
    Ledger(env.engine, new).append([TransferSpec(f"later-{n}", "artist:monet", "payouts:USD", 7, "USD", "payout", WHEN)
                                   for n in range(4)])
    report = verify_ledger(env.engine)
    assert report.ok and report.checked == 11  # 6, the rotation entry (seq 7, sealed by the old key), 4
    with pytest.raises(TransparencyError, match="not " + old.key_id):
        create_checkpoint(env.engine, old)
    bundle = balance_bundle(env.engine, "artist:monet", new)
    keyring = parse_keyring(public_keyring(env.engine).render())  # the file an artist is given
    assert [(k.key_id, k.first_seq, k.last_seq) for k in keyring.keys] == [(old.key_id, 1, 7), (new.key_id, 8, None)]
    assert {e["entry"]["key_id"] for e in bundle["entries"]} == {old.key_id, new.key_id}
    verified = verify_document(json.dumps(bundle), keyring)
    assert verified.balances == env.ledger.balance("artist:monet")


def test_an_entry_forged_with_a_retired_key_is_caught(env):
    env.book(3)
    old = env.signer
    new, _ = rotate_key(env.engine, env.key_dir)
    spec = TransferSpec("forged", "artist:monet", "payouts:USD", 10**9, "USD", "payout", WHEN)
    with pytest.raises(SigningKeyError, match="rotated"):  # Ledger.append refuses the retired key …
        Ledger(env.engine, old).append([spec])
    with env.engine.begin() as connection:  # … so the attacker seals the row by hand
        head = connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq DESC LIMIT 1")).one()
        _insert(connection, _seal([(spec.id, spec)], head.seq, head.hash, old))
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == 5 and "key not valid" in report.problem
    # Offline too: the artist's bundle holds the forged entry, past the end of its key's range.
    bundle = balance_bundle(env.engine, "artist:monet", new)
    keyring = parse_keyring(public_keyring(env.engine).render())
    with pytest.raises(VerificationError, match="outside its range"):
        verify_document(json.dumps(bundle), keyring)


def test_a_checkpoint_signed_with_a_retired_key_is_refused_offline(env):
    env.book(2)
    stored = create_checkpoint(env.engine, env.signer)
    keyring = public_keyring(env.engine)
    assert open_signed_checkpoint(stored.note, keyring).size == 2
    rotate_key(env.engine, env.key_dir)
    later = Checkpoint(stored.checkpoint.origin, 2, stored.checkpoint.root_hash, datetime.now(UTC))
    forged = sign_checkpoint(later, env.signer.private_key)
    keyring = public_keyring(env.engine)
    assert open_signed_checkpoint(stored.note, keyring).size == 2  # size 2 is inside the old key's range: still good
    assert open_signed_checkpoint(forged, keyring).size == 2  # the time line proves nothing, the size decides
    bigger = Checkpoint(stored.checkpoint.origin, 3, stored.checkpoint.root_hash, stored.checkpoint.issued_at)
    with pytest.raises(VerificationError, match="outside its range"):  # backdated, but past the rotation entry
        open_signed_checkpoint(sign_checkpoint(bigger, env.signer.private_key), keyring)
