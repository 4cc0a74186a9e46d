"""Signing: canonical JSON is stable (golden vector), Ed25519 round trip, tampering caught."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.crypto import (
    generate_private_key,
    key_id,
    load_private_key,
    load_public_key,
    public_key_pem,
    read_private_key,
    write_private_key,
)
from ledger.errors import SigningKeyError
from services.contracts import parse_event
from services.signing import (
    SignatureError,
    body_sha256,
    canonical_json,
    sign_event,
    verify_event,
)

GOLDEN_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
GOLDEN_RECORD = {"schema": "fairsplit.generation.v1", "b": [1, 2.5, {"z": None, "a": True}],
                 "content": "ein Bild, by Dürer", "signature": "ignored"}
GOLDEN_CANONICAL = '{"b":[1,2.5,{"a":true,"z":null}],"content":"ein Bild, by Dürer","schema":"fairsplit.generation.v1"}'
GOLDEN_SIGNATURE = "K41CmJ6IoUJS4rl9j5T868zAjw3hYr18EHuhoHze7c1v/Qfe/e06mnMp3xQBqgFjIPLpya6nMEDkBbQXXDIbCw=="
GOLDEN_SHA256 = "db4b75072ba1bfa746cb1704d3799ea61604a48b68d0cba9ff02c024291d0b8e"


def test_golden_vector():
    assert canonical_json(GOLDEN_RECORD) == GOLDEN_CANONICAL.encode("utf-8")
    assert sign_event(GOLDEN_RECORD, GOLDEN_KEY)["signature"] == GOLDEN_SIGNATURE
    assert body_sha256(GOLDEN_RECORD) == GOLDEN_SHA256
    verify_event({**GOLDEN_RECORD, "signature": GOLDEN_SIGNATURE}, GOLDEN_KEY.public_key())


def test_canonical_json_ignores_key_order_and_rejects_nan():
    shuffled = dict(reversed(list(GOLDEN_RECORD.items())))
    assert canonical_json(shuffled) == canonical_json(GOLDEN_RECORD)
    with pytest.raises(SignatureError, match="cannot be canonicalised"):
        canonical_json({"x": float("nan")})


@pytest.fixture
def keys(tmp_path):
    private = generate_private_key()
    path = write_private_key(tmp_path / "acme.platform.pem", private)
    return read_private_key(path), load_public_key(public_key_pem(private.public_key()))


def test_round_trip_of_a_design_event(design_event, keys):
    private, public = keys
    signed = sign_event(design_event, private)
    verify_event(signed, public)
    assert parse_event(signed).signature == signed["signature"]
    assert len(key_id(public)) == 16


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda e: e["reward"].update(amount="4.000"), "does not match"),
        (lambda e: e.update(extra="x"), "does not match"),
        (lambda e: e.pop("signature"), "carries no signature"),
        (lambda e: e.update(signature="@@"), "not valid base64"),
        (lambda e: e.update(signature="AAAA"), "is 3 bytes"),
        (lambda e: e.update(signature=12), "base64 string"),
    ],
)
def test_tampering_is_caught(design_event, keys, tamper, reason):
    private, public = keys
    signed = copy.deepcopy(sign_event(design_event, private))
    tamper(signed)
    with pytest.raises(SignatureError, match=reason):
        verify_event(signed, public)


def test_wrong_key_is_caught(design_event, keys):
    private, _ = keys
    signed = sign_event(design_event, private)
    with pytest.raises(SignatureError, match="does not match"):
        verify_event(signed, generate_private_key().public_key())


def test_bad_key_material_is_a_clear_error():
    with pytest.raises(SigningKeyError, match="not an unencrypted PKCS#8 PEM"):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_every_private_key_file_must_be_0600_and_is_never_overwritten(tmp_path):
    path = write_private_key(tmp_path / "k" / "worker.pem", generate_private_key())
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    with pytest.raises(SigningKeyError, match="never overwritten"):
        write_private_key(path, generate_private_key())
    path.chmod(0o644)
    with pytest.raises(SigningKeyError, match="mode 644; a private key must be 600"):
        read_private_key(path)
    with pytest.raises(SigningKeyError, match="Cannot read key file"):
        read_private_key(tmp_path / "missing.pem")
