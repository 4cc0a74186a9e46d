"""Signed checkpoints (C2SP tlog-checkpoint + signed-note) and the public keys file."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    NoteKey,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from ledger.keyring import (
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


def test_public_keys_file_round_trips_with_validity():
    old = PublicKeyInfo(public_key_id(KEY.public_key()), KEY.public_key(), NOW - timedelta(days=9), NOW)
    new = PublicKeyInfo(public_key_id(OTHER.public_key()), OTHER.public_key(), NOW, None)
    parsed = parse_keyring(keyring(old, new).render())
    assert parsed.origin == ORIGIN
    assert [(k.key_id, k.created_at, k.retired_at) for k in parsed.keys] == [
        (old.key_id, old.created_at, old.retired_at), (new.key_id, new.created_at, None)]
    assert parsed.key_valid_at(old.key_id, NOW - timedelta(days=1)) is not None
    with pytest.raises(KeyringError, match="retired"):
        parsed.key_valid_at(old.key_id, NOW + timedelta(seconds=1))
    with pytest.raises(KeyringError, match="created"):
        parsed.key_valid_at(new.key_id, NOW - timedelta(seconds=1))
    with pytest.raises(KeyringError, match="not in the public keys file"):
        parsed.key_valid_at("0" * 16, NOW)


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
