"""Canonical JSON and Ed25519 signatures for events and results.

Canonical form of a record (platform events and worker results alike; docs/pipeline.md):
the JSON object without its top-level `signature` field, encoded as UTF-8 with keys sorted
at every level, no whitespace (`,` and `:` separators), non-ASCII characters written as
themselves (`ensure_ascii=False`), and NaN/Infinity refused. Numbers are written as
Python's `json` writes them (integers as digits, floats by `repr`), which is why money is
a decimal *string*. The signature is Ed25519 over those bytes, base64 (standard alphabet,
padded) in the `signature` field.

Signatures are checked over the record as received (the decoded JSON object), never
over a re-serialisation of a pydantic model, so fields a model would normalise cannot
change what was signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "SignatureError", "canonical_json", "body_sha256", "sign_event", "verify_event",
    "generate_private_key", "load_private_key", "load_public_key", "private_key_pem",
    "public_key_pem", "key_id",
]


class SignatureError(ValueError):
    """A record whose signature is missing, malformed or does not verify."""


def canonical_json(record: dict[str, Any]) -> bytes:
    """The signed bytes of `record`: its canonical JSON without `signature`."""
    body = {key: value for key, value in record.items() if key != "signature"}
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise SignatureError(f"the record cannot be canonicalised: {exc}.") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") has no UTF-8 form
        raise SignatureError("the record cannot be canonicalised: it holds text that is not valid Unicode.") from None


def body_sha256(record: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON (what a result cites as `event_sha256`)."""
    return hashlib.sha256(canonical_json(record)).hexdigest()


def sign_event(record: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """A copy of `record` with `signature` set over its canonical JSON."""
    signature = private_key.sign(canonical_json(record))
    return {**record, "signature": base64.b64encode(signature).decode("ascii")}


def verify_event(record: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Return if `record["signature"]` is a valid signature by `public_key`; raise `SignatureError` otherwise."""
    encoded = record.get("signature")
    if encoded is None:
        raise SignatureError("the record carries no signature.")
    if not isinstance(encoded, str):
        raise SignatureError("the signature must be a base64 string.")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature is not valid base64.") from None
    if len(signature) != 64:
        raise SignatureError(f"the signature is {len(signature)} bytes, an Ed25519 signature is 64.")
    try:
        public_key.verify(signature, canonical_json(record))
    except InvalidSignature:
        raise SignatureError("the signature does not match the record and the signer's key.") from None


# --- keys ------------------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _pem_bytes(source: bytes | str | Path) -> bytes:
    if isinstance(source, Path):
        return source.read_bytes()
    if isinstance(source, str):
        return source.encode("ascii") if source.lstrip().startswith("-----BEGIN") else Path(source).read_bytes()
    return source


def load_private_key(source: bytes | str | Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from PKCS#8 PEM (bytes, PEM text, or a file path)."""
    try:
        key = serialization.load_pem_private_key(_pem_bytes(source), password=None)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"the private key is not an unencrypted PKCS#8 PEM key ({exc}).") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"the private key is {type(key).__name__}, not Ed25519.")
    return key


def load_public_key(source: bytes | str | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from SubjectPublicKeyInfo PEM (bytes, PEM text, or a file path)."""
    try:
        key = serialization.load_pem_public_key(_pem_bytes(source))
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"the public key is not a PEM public key ({exc}).") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(f"the public key is {type(key).__name__}, not Ed25519.")
    return key


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: Ed25519PublicKey) -> str:
    """A short stable id of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
