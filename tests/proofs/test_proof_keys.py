"""Key rotation: old entries keep verifying, new ones use the new key, a retired key is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.key_lifecycle import public_keyring, rotate_key
from ledger.keyring import parse_keyring
from ledger.keys import load_signer
from ledger.proofs import VerificationError, open_signed_checkpoint, verify_document
from ledger.proving import balance_bundle
from ledger.store import Ledger, TransferSpec
from ledger.transparency import TransparencyError, create_checkpoint
from ledger.verify import verify_ledger
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
    assert report.ok and report.checked == 10
    with pytest.raises(TransparencyError, match="retired"):
        create_checkpoint(env.engine, old)
    bundle = balance_bundle(env.engine, "artist:monet", new)
    keyring = parse_keyring(public_keyring(env.engine).render())  # the file an artist is given
    assert [k.retired_at is not None for k in keyring.keys] == [True, False]
    assert {e["entry"]["key_id"] for e in bundle["entries"]} == {old.key_id, new.key_id}
    verified = verify_document(json.dumps(bundle), keyring)
    assert verified.balances == env.ledger.balance("artist:monet")


def test_an_entry_forged_with_a_retired_key_is_caught(env):
    env.book(3)
    old = env.signer
    new, _ = rotate_key(env.engine, env.key_dir)
    Ledger(env.engine, old).append([TransferSpec("forged", "artist:monet", "payouts:USD", 10**9, "USD", "payout", WHEN)])
    report = verify_ledger(env.engine)
    assert not report.ok and report.bad_seq == 4 and "key not valid" in report.problem
    # Offline too: the artist's bundle holds the forged entry, and its key was retired before it.
    bundle = balance_bundle(env.engine, "artist:monet", new)
    keyring = parse_keyring(public_keyring(env.engine).render())
    with pytest.raises(VerificationError, match="retired"):
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
    assert open_signed_checkpoint(stored.note, keyring).size == 2  # issued before retirement: still good
    with pytest.raises(VerificationError, match="retired"):
        open_signed_checkpoint(forged, keyring)
