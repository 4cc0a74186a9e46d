"""Issue 19 item 1, end to end: a retired ledger key no longer signs history that verifies.

The attacker holds the retired key (moved to the key folder's `retired/` by the rotation)
and the entries; they append a backdated 1,000,000 USD entry onto the tree a real witness
process holds and sign a backdated checkpoint. The witness refuses to cosign it (the key
is not the one current at that size), the honest ledger keeps being witnessed, and
`verify-proof` refuses the forged bundle — with the artist's keys file, and with the
witness's key even when the artist's keys file is stale.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from ledger.tlog.checkpoint import Checkpoint, sign_checkpoint
from ledger.books.encoding import encode_row, row_hash
from ledger.keys.lifecycle import public_keyring, rotate_key
from ledger.keys.signing import read_key
from ledger.tlog.merkle import MemoryTree
from ledger.tlog.proofs import BUNDLE_FORMAT, VerificationError, display_balances, entry_json, inclusion_part, verify_document
from ledger.books.schema import TRANSFERS
from ledger.books.store import TransferSpec
from ledger.transparency.tree import create_checkpoint, get_checkpoint
from ledger.tlog.witness_protocol import format_request
from tests.proofs.support import WHEN, make_env
from tests.proofs.test_proof_witness_server import body
from tests.proofs.witness_support import WitnessProcess, post


@pytest.fixture
def rotated(sqlite_url, tmp_path):
    """12 entries by key A, checkpoint 12 cosigned; A rotated to B (entry 13); 3 entries by B; checkpoint 16 cosigned."""
    env = make_env(sqlite_url, tmp_path / "keys")
    keys_file = tmp_path / "ledger-keys.pem"
    env.book(12)
    create_checkpoint(env.engine, env.signer)
    keys_file.write_text(public_keyring(env.engine).render())
    stale = keys_file.read_text()  # what an artist who never refreshed holds
    witness = WitnessProcess(tmp_path / "witness", keys_file, "witness.test/w1").start()
    try:
        assert post(witness.url, body(env, 0, 12))[0] == 200
        new, (retired_id,) = rotate_key(env.engine, env.key_dir)
        env.ledger.signer = new
        env.book(3, start=12)
        create_checkpoint(env.engine, new)
        keys_file.write_text(public_keyring(env.engine).render())  # the witness re-reads the changed file
        assert post(witness.url, body(env, 12, 16))[0] == 200
        retired = read_key(tmp_path / "keys" / "retired" / f"{retired_id}.ed25519.pem")
        yield env, witness, retired, stale
    finally:
        witness.kill()
        env.engine.dispose()


def forge(env, retired):
    """The attacker's entry 17 and checkpoint 17, signed with the retired key and backdated."""
    with env.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(select(TRANSFERS).order_by(TRANSFERS.c.seq))]
    spec = TransferSpec("forged", "platform:acme", "artist:mallory", 10**12, "USD", "reward", WHEN)
    row = {**spec.body(), "seq": 17, "id": spec.id, "version": 1, "created_at": WHEN, "key_id": retired.key_id,
           "prev_hash": rows[-1]["hash"]}
    row["hash"] = row_hash(row)
    row["signature"] = retired.sign(bytes.fromhex(row["hash"])).hex()
    tree = MemoryTree(encode_row(r) for r in [*rows, row])
    held = get_checkpoint(env.engine, 16).checkpoint
    backdated = Checkpoint(held.origin, 17, tree.root(), held.issued_at - timedelta(days=1) + timedelta(hours=23))
    note = sign_checkpoint(backdated, retired.private_key)
    bundle = {"format": BUNDLE_FORMAT, "account": "artist:mallory", "balances": {"USD": 10**12},
              "display": display_balances({"USD": 10**12}), "entries": [inclusion_part(row, tree.inclusion_proof(16))],
              "checkpoint": note}
    return tree, note, bundle, entry_json(row)


def test_the_witness_refuses_a_checkpoint_signed_by_a_retired_key_and_keeps_witnessing(rotated):
    env, witness, retired, _ = rotated
    tree, note, _, _ = forge(env, retired)
    status, _, text = post(witness.url, format_request(16, tree.consistency_proof(16, 17), note))
    assert status == 403 and "outside its range" in text
    env.book(2, start=20)  # the honest ledger goes on, and its witness with it
    create_checkpoint(env.engine, env.ledger.signer)
    assert post(witness.url, body(env, 16, 18))[0] == 200


def test_the_forged_bundle_is_refused_offline(rotated):
    env, witness, retired, stale = rotated
    _, _, bundle, _ = forge(env, retired)
    keyring = public_keyring(env.engine)
    with pytest.raises(VerificationError, match="outside its range"):
        verify_document(json.dumps(bundle), keyring)
    with pytest.raises(VerificationError, match="outside its range"):
        verify_document(json.dumps(bundle), keyring, witness_keys=[witness.key])
    # An artist whose keys file predates the rotation: the key looks current, but the forged reward has no
    # evidence (no platform- and worker-signed result behind it), and no witness cosigned its checkpoint.
    from ledger.tlog.public_keys import parse_keyring

    old_file = parse_keyring(stale)
    with pytest.raises(VerificationError, match="reward without evidence"):
        verify_document(json.dumps(bundle), old_file)
    with pytest.raises(VerificationError, match="not witnessed"):
        verify_document(json.dumps(bundle), old_file, witness_keys=[witness.key])


def test_verify_proof_refuses_the_forged_bundle(rotated, tmp_path):
    env, witness, retired, _ = rotated
    _, _, bundle, _ = forge(env, retired)
    (tmp_path / "forged.json").write_text(json.dumps(bundle))
    (tmp_path / "w1.vkey").write_text(witness.key.vkey() + "\n")
    from tests.proofs.witness_support import cli

    result = cli("verify-proof", str(tmp_path / "forged.json"), "--public-key", str(tmp_path / "ledger-keys.pem"),
                 "--witness-key", str(tmp_path / "w1.vkey"))
    assert result.returncode == 1 and "invalid" in result.stderr and "outside its range" in result.stderr
    assert "valid:" not in result.stdout


def test_a_key_inserted_into_signing_keys_is_caught_by_ledger_verify_and_verify_proof(sqlite_url, tmp_path):
    """Issue 19 item 2's key half: the attacker can write to the database, not sign with the ledger key."""
    from sqlalchemy import text

    from ledger.crypto import generate_private_key
    from ledger.keys.signing import Signer, register_key
    from ledger.transparency.proving import balance_bundle
    from ledger.books.store import _insert, _seal
    from ledger.audit.chain import verify_ledger

    env = make_env(sqlite_url, tmp_path / "keys")
    env.book(3)
    intruder = Signer.from_private_key(generate_private_key())
    register_key(env.engine, intruder)  # INSERT INTO signing_keys
    spec = TransferSpec("minted", "platform:acme", "artist:mallory", 9 * 10**11, "USD", "reward", WHEN)
    with env.engine.begin() as connection:
        head = connection.execute(text("SELECT seq, hash FROM transfers ORDER BY seq DESC LIMIT 1")).one()
        _insert(connection, _seal([(spec.id, spec)], head.seq, head.hash, intruder))
    env.book(2, start=3)  # the honest writer goes on, and checkpoints over the minted row with the real key
    create_checkpoint(env.engine, env.signer)
    report = verify_ledger(env.engine)
    assert report.bad_seq == 4 and "not in the log's key history" in report.problem
    keyring = public_keyring(env.engine)  # what `keys public` publishes: the log's history, not the table
    assert [k.key_id for k in keyring.keys] == [env.signer.key_id]
    with pytest.raises(VerificationError, match="not in the public keys file"):
        verify_document(json.dumps(balance_bundle(env.engine, "artist:mallory", None)), keyring)
    env.engine.dispose()


def test_the_witness_refuses_a_checkpoint_whose_time_goes_backwards():
    from datetime import UTC, datetime

    from ledger.tlog.checkpoint import NoteKey
    from ledger.crypto import generate_private_key
    from ledger.tlog.witness_protocol import AddCheckpoint, Refusal, decide

    key, tree = generate_private_key(), MemoryTree(b"e%d" % i for i in range(8))
    noon = datetime(2026, 12, 6, 12, tzinfo=UTC)
    held = Checkpoint("log.test", 4, tree.root(4), noon)
    trusted = [NoteKey("log.test", key.public_key())]

    def request(issued_at):
        note = sign_checkpoint(Checkpoint("log.test", 8, tree.root(8), issued_at), key)
        return AddCheckpoint(4, tree.consistency_proof(4, 8), note)

    assert decide(request(noon + timedelta(seconds=1)), trusted, held).size == 8
    for earlier in (noon - timedelta(microseconds=1), None):
        with pytest.raises(Refusal) as refused:
            decide(request(earlier), trusted, held)
        assert refused.value.status == 422 and "time" in refused.value.message
