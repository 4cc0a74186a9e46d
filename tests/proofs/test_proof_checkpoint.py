"""Signed checkpoints (C2SP tlog-checkpoint + signed-note) and the public keys file."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.tlog.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteKey,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from ledger.tlog.public_keys import (
    Keyring,
    KeyringError,
    PublicKeyInfo,
    parse_keyring,
    public_key_id,
)

ORIGIN = "fairsplit.example/ledger"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CHECKPOINT = Checkpoint(ORIGIN, 20852163, hashlib.sha256(b"root").digest(), NOW)
TRUSTED = [NoteKey(ORIGIN, KEY.public_key())]


def test_checkpoint_round_trips_and_matches_the_c2sp_layout():
    note = sign_checkpoint(CHECKPOINT, KEY)
    text, _, signature = note.partition("\n\n")
    assert text.split("\n") == [ORIGIN, "20852163", base64.b64encode(CHECKPOINT.root_hash).decode(),
                                "time 2026-11-24T12:00:00.000000Z"]
    assert signature.startswith(f"\u2014 {ORIGIN} ") and signature.endswith("\n")
    blob = base64.b64decode(signature.split(" ")[-1])
    raw = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert blob[:4] == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw).digest()[:4]
    KEY.public_key().verify(blob[4:], (text + "\n").encode())
    checkpoint, key = open_checkpoint(note, TRUSTED)
    assert checkpoint == CHECKPOINT and key.name == ORIGIN


def test_every_flipped_bit_of_a_signed_checkpoint_is_rejected():
    note = sign_checkpoint(CHECKPOINT, KEY).encode()
    for bit in range(len(note) * 8):
        bad = bytearray(note)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CheckpointError):
            open_checkpoint(bytes(bad), TRUSTED)


def test_unknown_signatures_are_ignored_but_a_bad_known_one_rejects():
    text = CHECKPOINT.text()
    ours = sign_note(text, ORIGIN, KEY)
    theirs = sign_note(text, "witness.example", OTHER).split("\n\n")[1]
    assert open_checkpoint(ours + theirs, TRUSTED)[0] == CHECKPOINT
    with pytest.raises(CheckpointError, match="no signature by any"):
        open_checkpoint(sign_note(text, ORIGIN, OTHER), TRUSTED)
    forged = sign_note(text.replace("20852163", "20852164"), ORIGIN, OTHER).split("\n\n")[1]
    bad_known = ours.split("\n\n")[1].split(" ")[-1]
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(text + "\n" + forged + f"\u2014 {ORIGIN} " + base64.b64encode(
            base64.b64decode(bad_known)[:4] + bytes(64)).decode() + "\n", TRUSTED)


@pytest.mark.parametrize("text, reason", [
    ("", "non-empty lines"),
    ("origin\n12\n", "needs an origin"),
    (" \n1\n" + base64.b64encode(bytes(32)).decode() + "\n", "origin line is empty"),
    ("o\n012\n" + base64.b64encode(bytes(32)).decode() + "\n", "leading zeros"),
    ("o\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n", "tree size"),
    ("o\n" + "9" * 30 + "\n" + base64.b64encode(bytes(32)).decode() + "\n", "tree size"),
    ("o\n9223372036854775808\n" + base64.b64encode(bytes(32)).decode() + "\n", "2\\^63-1"),
    ("o\n1\n" + base64.b64encode(bytes(31)).decode() + "\n", "32 bytes"),
    ("o\n1\nnot base64!\n", "base64"),
    ("o\n1\n" + base64.b64encode(bytes(32)).decode().rstrip("=") + "\n", "base64"),
    ("o\n1\n" + base64.b64encode(bytes(32)).decode() + "\ntime yesterday\n", "YYYY"),
    ("o\n1\n" + base64.b64encode(bytes(32)).decode() + "\ntime 2026-02-30T00:00:00.000000Z\n", "real date"),
])
def test_malformed_checkpoint_texts_have_clear_errors(text, reason):
    with pytest.raises(CheckpointError, match=reason):
        Checkpoint.parse(text)


@pytest.mark.parametrize("note, reason", [
    (b"\xff\xfe", "UTF-8"),
    ("no blank line\n", "blank line"),
    ("a\n\nno dash\n", "em dash"),
    ("a\n\n\u2014 name\n", "no signature"),
    ("a\n\n\u2014 name !!!!\n", "base64"),
    ("a\n\n\u2014 name AAAA\n", "too short"),
    ("a\n\n\u2014 name AAAAAAA=", "newline"),
    ("a\x07\n\n\u2014 name AAAAAAA=\n", "control"),
    ("a\n" + "\n\u2014 n AAAAAAA=" * 101 + "\n", "signature lines"),
    ("x" * (2 << 20), "larger"),
])
def test_malformed_notes_have_clear_errors(note, reason):
    with pytest.raises(CheckpointError, match=reason):
        open_note(note, TRUSTED)


def keyring(*infos: PublicKeyInfo) -> Keyring:
    return Keyring(ORIGIN, infos)


def test_public_keys_file_round_trips_with_seq_ranges():
    old = PublicKeyInfo(public_key_id(KEY.public_key()), KEY.public_key(), 1, 40)
    new = PublicKeyInfo(public_key_id(OTHER.public_key()), OTHER.public_key(), 41, None)
    parsed = parse_keyring(keyring(old, new).render())
    assert parsed.origin == ORIGIN
    assert [(k.key_id, k.first_seq, k.last_seq) for k in parsed.keys] == [(old.key_id, 1, 40), (new.key_id, 41, None)]
    assert parsed.key_for_entry(old.key_id, 40) is not None and parsed.key_for_entry(new.key_id, 41) is not None
    with pytest.raises(KeyringError, match="outside its range"):
        parsed.key_for_entry(old.key_id, 41)
    with pytest.raises(KeyringError, match="outside its range"):
        parsed.key_for_entry(new.key_id, 40)
    assert parsed.key_for_size(old.key_id, 39) is not None  # a checkpoint of size N: the key after entry N
    with pytest.raises(KeyringError, match="outside its range"):
        parsed.key_for_size(old.key_id, 40)
    with pytest.raises(KeyringError, match="not in the public keys file"):
        parsed.key_for_entry("0" * 16, 1)


def test_a_keys_file_stating_validity_by_time_is_refused_when_it_holds_several_keys():
    pem = [k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
           for k in (KEY, OTHER)]
    old = (f"# origin: {ORIGIN}\n# created_at: 2026-11-01T00:00:00.000000Z\n# retired_at: 2026-11-02T00:00:00.000000Z\n"
           f"{pem[0]}\n# created_at: 2026-11-02T00:00:00.000000Z\n# retired_at: -\n{pem[1]}")
    with pytest.raises(KeyringError, match="by time"):
        parse_keyring(old)
    single = parse_keyring(f"# origin: {ORIGIN}\n# created_at: 2026-11-01T00:00:00.000000Z\n# retired_at: -\n{pem[0]}")
    assert [(k.first_seq, k.last_seq) for k in single.keys] == [(1, None)]


@pytest.mark.parametrize("ranges", [((2, None),), ((1, 5), (7, None)), ((1, None), (2, None)), ((1, 5), (6, 9))])
def test_key_ranges_must_follow_each_other_from_seq_1(ranges):
    keys = (KEY, OTHER)[: len(ranges)]
    infos = tuple(PublicKeyInfo(public_key_id(k.public_key()), k.public_key(), first, last)
                  for k, (first, last) in zip(keys, ranges))
    with pytest.raises(KeyringError, match="seq ranges"):
        keyring(*infos)


def test_a_plain_pem_public_key_is_a_keyring_too():
    pem = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    parsed = parse_keyring(pem)
    assert parsed.origin is None and parsed.keys[0].key_id == public_key_id(KEY.public_key())


@pytest.mark.parametrize("data, reason", [
    (b"", "no PEM"),
    (b"\xff", "UTF-8"),
    (b"-----BEGIN PUBLIC KEY-----\nAAAA\n", "ends inside"),
    (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a public key"),
    (b"# key_id: 0000000000000000\n" + KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), "names key"),
])
def test_malformed_public_keys_files_have_clear_errors(data, reason):
    with pytest.raises(KeyringError, match=reason):
        parse_keyring(data)
