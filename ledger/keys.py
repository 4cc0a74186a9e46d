"""Ed25519 signing keys: private halves on disk, public halves in `signing_keys`.

- A private key is `<key_dir>/<key_id>.ed25519.pem` (PKCS#8 PEM), created with mode 0600
  in a directory created with mode 0700; a key file others can read is refused.
- `key_id` = first 16 hex digits of SHA-256 over the 32 raw public-key bytes, so anyone
  holding the public key can recompute it.
- Every key that signs is registered in `signing_keys` first; verification looks keys up
  there, so retired keys keep verifying the rows they signed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, insert, select

from ledger.errors import SigningKeyError
from ledger.tables import SigningKey

ALGORITHM = "ed25519"
KEY_SUFFIX = ".ed25519.pem"
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
_RAW_PRIVATE = (serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())

try:  # libsodium signs ~1.7x faster than OpenSSL here and releases the GIL; Ed25519 is
    # deterministic (RFC 8032), so both produce the same 64 bytes for the same key and message.
    from nacl.bindings import crypto_sign as _sodium_sign
    from nacl.bindings import crypto_sign_seed_keypair as _sodium_keypair
except ImportError:  # pragma: no cover - PyNaCl is optional (extra "fast")
    _sodium_sign = _sodium_keypair = None


def key_id_of(public_key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key.public_bytes(*_RAW)).hexdigest()[:16]


def public_key_from_hex(raw_hex: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw_hex))


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Signer:
    """A private key and its id; `sign` returns the 64-byte Ed25519 signature."""

    key_id: str
    private_key: Ed25519PrivateKey
    _sodium_key: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if _sodium_keypair is not None:
            _, secret = _sodium_keypair(self.private_key.private_bytes(*_RAW_PRIVATE))
            object.__setattr__(self, "_sodium_key", secret)

    @classmethod
    def from_private_key(cls, private_key: Ed25519PrivateKey) -> Signer:
        return cls(key_id_of(private_key.public_key()), private_key)

    @property
    def public_hex(self) -> str:
        return self.private_key.public_key().public_bytes(*_RAW).hex()

    def sign(self, message: bytes) -> bytes:
        if self._sodium_key is not None:
            return _sodium_sign(message, self._sodium_key)[:64]
        return self.private_key.sign(message)


def _ensure_key_dir(key_dir: Path) -> None:
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_new_key(key_dir: str | Path) -> Signer:
    """Generate a key and write it to `key_dir` (0600); does not register it."""
    key_dir = Path(key_dir)
    _ensure_key_dir(key_dir)
    signer = Signer.from_private_key(Ed25519PrivateKey.generate())
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = key_dir / f"{signer.key_id}{KEY_SUFFIX}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return signer


def read_key(path: Path) -> Signer:
    """Load one private key file, refusing files that group or others can read."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SigningKeyError(f"Key file {path} has mode {mode:o}; it must be 600 (chmod 600 {path}).")
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise SigningKeyError(f"Cannot read key file {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise SigningKeyError(f"Key file {path} is not a PEM Ed25519 private key.") from exc
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SigningKeyError(f"Key file {path} is not an Ed25519 private key.")
    return Signer.from_private_key(private_key)


def register_key(engine: Engine, signer: Signer) -> bool:
    """Record the signer's public key in `signing_keys`; False if it was already there."""
    with engine.begin() as connection:
        known = connection.execute(
            select(SigningKey.public_key).where(SigningKey.key_id == signer.key_id)
        ).scalar()
        if known is not None:
            if known != signer.public_hex:
                raise SigningKeyError(f"Key id {signer.key_id} is registered with a different public key.")
            return False
        connection.execute(
            insert(SigningKey).values(
                key_id=signer.key_id, algorithm=ALGORITHM, public_key=signer.public_hex,
                created_at=datetime.now(UTC),
            )
        )
    return True


def active_key_ids(engine: Engine) -> list[str]:
    """Registered, unretired key ids, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(SigningKey.key_id)
            .where(SigningKey.retired_at.is_(None))
            .order_by(SigningKey.created_at.desc(), SigningKey.key_id)
        )
        return list(rows.scalars())


def load_or_create_signer(key_dir: str | Path, engine: Engine) -> tuple[Signer, bool]:
    """The signer to append with: the newest active registered key found in `key_dir`.

    With no usable key, an unregistered key file in `key_dir` is registered, or else a new
    key is created and registered. Returns (signer, created_or_registered).
    """
    key_dir = Path(key_dir)
    on_disk = {p.name[: -len(KEY_SUFFIX)]: p for p in key_dir.glob(f"*{KEY_SUFFIX}")} if key_dir.is_dir() else {}
    for key_id in active_key_ids(engine):
        if key_id in on_disk:
            signer = read_key(on_disk[key_id])
            if signer.key_id != key_id:
                raise SigningKeyError(f"Key file {on_disk[key_id]} holds key {signer.key_id}, not {key_id}.")
            return signer, False
    with engine.connect() as connection:
        registered = set(connection.execute(select(SigningKey.key_id)).scalars())
    unregistered = sorted(k for k in on_disk if k not in registered)
    signer = read_key(on_disk[unregistered[0]]) if unregistered else write_new_key(key_dir)
    register_key(engine, signer)
    return signer, True


def load_signer(key_dir: str | Path, engine: Engine) -> Signer:
    """Like `load_or_create_signer` but never creates or registers anything."""
    key_dir = Path(key_dir)
    for key_id in active_key_ids(engine):
        path = key_dir / f"{key_id}{KEY_SUFFIX}"
        if path.exists():
            return read_key(path)
    raise SigningKeyError(f"No active signing key of this ledger is in {key_dir}; run `fairsplit init`.")
