"""The project's one crypto module: key ids, key files and canonical JSON. No database.

- **Key id**: the first 16 hex digits of SHA-256 over the 32 raw bytes of an Ed25519
  public key, so anyone holding the public key can recompute it. Ledger keys, worker
  keys, platform keys and witness keys are all named this way.
- **Private key files**: PKCS#8 PEM, unencrypted. Written exclusively (an existing file
  is never overwritten) with mode 0600, in a directory created with mode 0700; read only
  when neither group nor others may read them. Every private key the project loads —
  ledger, attribution worker, platform, witness — goes through `read_private_key`.
- **Public keys**: SubjectPublicKeyInfo PEM.
- **Canonical JSON** (what platform events, worker results and statement manifests are
  signed over): the object without its top-level `signature` field, keys sorted at every
  level, separators `,` and `:`, non-ASCII characters written as themselves (UTF-8, no
  `\\uXXXX` escapes for them), NaN and Infinity refused. Manifests were once signed with
  ASCII escapes; their content is ASCII by construction, where both rules give the same
  bytes, so every manifest ever signed still verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import SigningKeyError

__all__ = [
    "SignatureError", "canonical_text", "canonical_json", "verify_record", "key_id", "generate_private_key", "read_private_key",
    "write_private_key", "load_private_key", "load_public_key", "private_key_pem", "public_key_pem",
    "public_key_from_raw", "public_key_raw",
]

MAX_KEY_FILE_BYTES = 64 * 1024
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class SignatureError(ValueError):
    """A record that cannot be signed or verified: no canonical form, or a signature that is
    missing, malformed or does not match."""


def canonical_text(value: Any) -> str:
    """`value` as canonical JSON text (module docstring): the one compact spelling the
    project writes, signed or not. ValueError for NaN or Infinity, TypeError for what JSON
    cannot hold."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(record: dict[str, Any]) -> bytes:
    """The signed bytes of `record`: its canonical JSON without `signature` (module docstring)."""
    body = {key: value for key, value in record.items() if key != "signature"}
    try:
        text = canonical_text(body)
    except (ValueError, TypeError, RecursionError) as exc:
        raise SignatureError(f"the record cannot be canonicalised: {str(exc)[:120]}.") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") has no UTF-8 form
        raise SignatureError("the record cannot be canonicalised: it holds text that is not valid Unicode.") from None


def verify_record(record: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Return if `record["signature"]` (base64 Ed25519 over `canonical_json(record)`) is valid
    for `public_key`; raise `SignatureError` with one sentence otherwise."""
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


def public_key_raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(*_RAW)


def public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's id: the first 16 hex digits of SHA-256 over its 32 raw bytes."""
    return hashlib.sha256(public_key_raw(public_key)).hexdigest()[:16]


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PKCS#8 PEM bytes (use `read_private_key` for files)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SigningKeyError("The private key is not an unencrypted PKCS#8 PEM key.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"The private key is {type(key).__name__}, not Ed25519.")
    return key


def load_public_key(source: bytes | str | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from SubjectPublicKeyInfo PEM (bytes, PEM text, or a file path)."""
    if isinstance(source, Path):
        source = _read_bounded(source, "public key file")
    elif isinstance(source, str):
        source = source.encode("utf-8", "replace")
    try:
        key = serialization.load_pem_public_key(source)
    except (ValueError, TypeError):
        raise SigningKeyError("The public key is not a PEM public key.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"The public key is {type(key).__name__}, not Ed25519.")
    return key


def _read_bounded(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise SigningKeyError(f"Cannot read {what} {path}: {exc.strerror or exc}.") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise SigningKeyError(f"{path} is too large to be a key file.")
    return data


def read_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Load a private key file, refusing one that group or others may read."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise SigningKeyError(f"Cannot read key file {path}: {exc.strerror or exc}.") from None
    if not path.is_file():
        raise SigningKeyError(f"Key file {path} is not a regular file.")
    if mode & 0o077:
        raise SigningKeyError(f"Key file {path} has mode {mode:o}; a private key must be 600 (chmod 600 {path}).")
    try:
        return load_private_key(_read_bounded(path, "key file"))
    except SigningKeyError as exc:
        raise SigningKeyError(f"Key file {path}: {str(exc)[0].lower()}{str(exc)[1:]}") from None


def write_private_key(path: str | Path, key: Ed25519PrivateKey) -> Path:
    """Write `key` to a new file with mode 0600; an existing file is never overwritten."""
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningKeyError(f"{path} already exists; a key file is never overwritten.") from None
    except OSError as exc:
        raise SigningKeyError(f"Cannot write key file {path}: {exc.strerror or exc}.") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(key))
    return path
