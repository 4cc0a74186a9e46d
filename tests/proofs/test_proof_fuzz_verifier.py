"""Fuzzing the offline verifier and the checkpoint parser: clear errors, never a wrong "valid".

Documents are built in memory (no database): sealed rows as the ledger writes them, an
in-memory tree, a signed checkpoint and a public keys file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ledger.tlog.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteKey,
    open_checkpoint,
    open_note,
    sign_checkpoint,
)
from ledger.books.encoding import encode_row
from ledger.tlog.public_keys import Keyring, PublicKeyInfo, public_key_id
from ledger.tlog.merkle import (
    MemoryTree,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.tlog.proofs import (
    BUNDLE_FORMAT,
    CONSISTENCY_FORMAT,
    INCLUSION_FORMAT,
    VerificationError,
    consistency_part,
    display_balances,
    inclusion_part,
    verify_document,
)
from tests.proofs.rfc_reference import Reference

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEY_ID = public_key_id(KEY.public_key())
T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)
KEYRING = Keyring("fairsplit/ledger", (PublicKeyInfo(KEY_ID, KEY.public_key(), 1),))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sealed_rows(n: int) -> list[dict]:
    rows, prev = [], "0" * 64
    for seq in range(1, n + 1):
        row = {
            "seq": seq, "id": f"00000000-0000-5000-8000-{seq:012d}", "version": 1, "event_id": f"ev-{seq}",
            "attribution_id": None, "kind": "payout", "debit_account": ("artist:monet", "model:sd-1.5")[seq % 2],
            "credit_account": "payouts:USD", "amount": 1000 + seq, "currency": "USD",
            "occurred_at": T0, "created_at": T0 + timedelta(seconds=seq), "reverses_id": None,
            "memo": "ünïcode memo" if seq == 3 else None, "key_id": KEY_ID, "prev_hash": prev,
        }
        digest = sha256(encode_row(row)).digest()
        row["hash"], row["signature"] = digest.hex(), KEY.sign(digest).hex()
        rows.append(row)
        prev = row["hash"]
    return rows


ROWS = sealed_rows(13)
TREE = MemoryTree(encode_row(row) for row in ROWS)


def note(size: int) -> str:
    return sign_checkpoint(Checkpoint("fairsplit/ledger", size, TREE.root(size), T0 + timedelta(minutes=size)), KEY)


def compact(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


INCLUSION = compact({"format": INCLUSION_FORMAT, **inclusion_part(ROWS[4], TREE.inclusion_proof(4)), "checkpoint": note(13),
                     "consistency": consistency_part(6, TREE.root(6), TREE.consistency_proof(6))})
MONET = [row for row in ROWS if row["debit_account"] == "artist:monet"]  # payouts: a reward needs signed evidence
BALANCE = {"USD": -sum(row["amount"] for row in MONET)}
BUNDLE = compact({"format": BUNDLE_FORMAT, "account": "artist:monet", "balances": BALANCE, "display": display_balances(BALANCE),
                  "entries": [inclusion_part(row, TREE.inclusion_proof(row["seq"] - 1)) for row in MONET[:3]]
                  + [inclusion_part(row, TREE.inclusion_proof(row["seq"] - 1)) for row in MONET[3:]],
                  "checkpoint": note(13)})
CONSISTENCY = compact({"format": CONSISTENCY_FORMAT, "old_checkpoint": note(5), "checkpoint": note(13),
                       "consistency": consistency_part(5, TREE.root(5), TREE.consistency_proof(5))})


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_the_fixtures_verify():
    assert verify_document(INCLUSION, KEYRING, kept=note(6)).checkpoint.size == 13
    assert verify_document(BUNDLE, KEYRING).balances == BALANCE
    assert verify_document(CONSISTENCY, KEYRING, kept=note(5))


@pytest.mark.parametrize("document", [INCLUSION, CONSISTENCY], ids=["inclusion", "consistency"])
def test_every_single_bit_flip_of_a_document_is_rejected(document):
    for bit in range(len(document) * 8):
        with pytest.raises(VerificationError):
            verify_document(flip(document, bit), KEYRING)


@FUZZ
@given(st.integers(0, len(BUNDLE) * 8 - 1))
def test_fuzz_bit_flips_of_a_bundle_are_rejected(bit):
    with pytest.raises(VerificationError):
        verify_document(flip(BUNDLE, bit), KEYRING)


@FUZZ
@given(st.sampled_from([INCLUSION, BUNDLE, CONSISTENCY]), st.integers(0, 4000), st.binary(max_size=4))
def test_fuzz_truncated_or_padded_documents_are_rejected(document, cut, tail):
    changed = document[: cut % len(document)] + tail
    assume(json.loads(changed) != json.loads(document) if _is_json(changed) else True)
    with pytest.raises(VerificationError):
        verify_document(changed, KEYRING)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_fuzz_random_input_is_a_clear_error(data):
    with pytest.raises(VerificationError):
        verify_document(data, KEYRING, kept=data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10) | st.just(10**30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@FUZZ
@given(st.sampled_from([INCLUSION, BUNDLE, CONSISTENCY]), st.data())
def test_fuzz_replaced_values_are_rejected(document, data):
    parsed = json.loads(document)
    target = parsed
    if "entry" in parsed and data.draw(st.booleans()):
        target = parsed["entry"]
    key = data.draw(st.sampled_from(sorted(target)))
    value = data.draw(json_values)
    assume(value != target[key])
    target[key] = value
    try:
        changed = json.dumps(parsed).encode()
    except ValueError:
        return
    with pytest.raises(VerificationError):
        verify_document(changed, KEYRING)


@pytest.mark.parametrize("data", [
    b"[" * 100_000,
    b'{"format":' * 50_000,
    INCLUSION.replace(b'"leaf_index":4', b'"leaf_index":' + b"9" * 5000),
    INCLUSION.replace(b'"leaf_index":4', b'"leaf_index":100000000000000000000000000000'),
    INCLUSION.replace(b'"leaf_index":4', b'"leaf_index":4.0'),
    INCLUSION.replace(b'"leaf_index":4', b'"leaf_index":NaN'),
    INCLUSION.replace(b'"leaf_index":4', b'"leaf_index":1e999'),
    INCLUSION.replace(b'"leaf_index":4', b'"leaf_index":true'),
    INCLUSION.replace(b'"amount":1005', b'"amount":-1005'),
    INCLUSION.replace(b'"old_size":6', b'"old_size":-6'),
    INCLUSION.replace(b'"inclusion_path":[', b'"inclusion_path":[' + b'"AAAA",' * 70),
    INCLUSION.replace(b'"format":', b'"format":"x","format":'),
    INCLUSION.replace(b'"memo":null', b'"memo":"\\ud800"'),
    INCLUSION.replace(b'"version":1', b'"version":2'),
    INCLUSION[:-1] + b',"extra":1}',
], ids=lambda data: repr(data[:12]))
def test_deep_nesting_huge_numbers_and_odd_values_are_clear_errors(data):
    with pytest.raises(VerificationError):
        verify_document(data, KEYRING)


@FUZZ
@given(st.integers(1, 13), st.integers(-2, 20), st.integers(-2, 2**64), st.data())
def test_fuzz_inclusion_verifier_accepts_only_the_true_proof(entry, index, size, data):
    ref = Reference([encode_row(row) for row in ROWS])
    true_path = ref.path(entry - 1, 13)
    path = data.draw(st.sampled_from(["true", "mutated", "random"]))
    if path == "true":
        claimed = true_path
    elif path == "mutated":
        claimed = list(true_path)
        if claimed and data.draw(st.booleans()):
            claimed.pop(data.draw(st.integers(0, len(claimed) - 1)))
        else:
            claimed.insert(data.draw(st.integers(0, len(claimed))), data.draw(st.binary(min_size=32, max_size=32)))
    else:
        claimed = data.draw(st.lists(st.binary(min_size=0, max_size=40), max_size=70))
    root = ref.root(size) if 1 <= size <= 13 else data.draw(st.binary(min_size=32, max_size=32))
    try:
        verify_inclusion(leaf_hash(encode_row(ROWS[entry - 1])), index, size, claimed, root)
    except ProofError:
        return
    assert (index, claimed) == (entry - 1, ref.path(entry - 1, size))


@FUZZ
@given(st.integers(-1, 15), st.integers(-1, 15), st.lists(st.binary(min_size=30, max_size=33), max_size=8), st.data())
def test_fuzz_consistency_verifier_accepts_only_the_true_proof(old, new, noise, data):
    ref = Reference([encode_row(row) for row in ROWS])
    true_proof = ref.proof(old, new) if 0 <= old <= new <= 13 else []
    claimed = data.draw(st.sampled_from([true_proof, noise, true_proof[:-1], true_proof + noise[:1]]))
    roots = [ref.root(s) if 0 <= s <= 13 else bytes(32) for s in (old, new)]
    try:
        verify_consistency(old, new, *roots, claimed)
    except ProofError:
        return
    if old == 0 or old == new:  # every tree extends the empty one, and itself
        assert claimed == [] and 0 <= old <= new and (old == 0 or roots[0] == roots[1])
    else:
        assert claimed == true_proof and 0 < old <= new <= 13


@FUZZ
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_fuzz_note_and_checkpoint_parsers_only_raise_checkpoint_errors(data):
    keys = [NoteKey("fairsplit/ledger", KEY.public_key())]
    with pytest.raises(CheckpointError):
        open_checkpoint(data, keys)
    try:
        Checkpoint.parse(data if isinstance(data, str) else data.decode("utf-8", "replace"))
    except CheckpointError:
        pass


@FUZZ
@given(st.integers(0, len(note(13).encode()) * 8 - 1))
def test_fuzz_flipped_bits_of_a_signed_checkpoint_never_open(bit):
    with pytest.raises(CheckpointError):
        open_note(flip(note(13).encode(), bit), [NoteKey("fairsplit/ledger", KEY.public_key())])
