"""Ed25519 signatures on wire records (platform events and worker results).

A record is signed over its canonical JSON (`ledger.crypto.canonical_json`: without the
top-level `signature` field, keys sorted, no whitespace, UTF-8, NaN/Infinity refused;
numbers as Python's `json` writes them, which is why money is a decimal *string*). The
signature is Ed25519 over those bytes, base64 (standard alphabet, padded) in `signature`.

Signatures are checked over the record as received (the decoded JSON object), never
over a re-serialisation of a pydantic model, so fields a model would normalise cannot
change what was signed.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.crypto import SignatureError, canonical_json, verify_record

__all__ = ["SignatureError", "canonical_json", "body_sha256", "sign_event", "verify_event"]


def body_sha256(record: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON (what a result cites as `event_sha256`)."""
    return hashlib.sha256(canonical_json(record)).hexdigest()


def sign_event(record: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """A copy of `record` with `signature` set over its canonical JSON."""
    signature = private_key.sign(canonical_json(record))
    return {**record, "signature": base64.b64encode(signature).decode("ascii")}


#: Check a record's signature (`ledger.crypto.verify_record`: the ledger checks evidence the same way).
verify_event = verify_record
