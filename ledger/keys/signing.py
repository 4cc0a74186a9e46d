"""Ed25519 signing keys: private halves on disk, public halves in `signing_keys`.

- A private key is `<key_dir>/<key_id>.ed25519.pem`, written and read by `ledger.crypto`
  (PKCS#8 PEM, mode 0600, a file others can read is refused); its id is `ledger.crypto.key_id`.
- Every key that signs is registered in `signing_keys` first (the rows' foreign key). That
  table is a cache: which key signs which seqs is the log's own key history
  (`ledger.keys.history`, `ledger.keys.log`), and the key to sign with is the log's current one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, insert, select

from ledger.crypto import key_id, public_key_from_raw, public_key_raw, read_private_key, write_private_key
from ledger.errors import SigningKeyError
from ledger.books.schema import SigningKey

ALGORITHM = "ed25519"
KEY_SUFFIX = ".ed25519.pem"
_RAW_PRIVATE = (serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())

try:  # libsodium signs ~1.7x faster than OpenSSL here and releases the GIL; Ed25519 is
    # deterministic (RFC 8032), so both produce the same 64 bytes for the same key and message.
    from nacl.bindings import crypto_sign as _sodium_sign
    from nacl.bindings import crypto_sign_seed_keypair as _sodium_keypair
except ImportError:  # pragma: no cover - PyNaCl is optional (extra "fast")
    _sodium_sign = _sodium_keypair = None


def public_key_from_hex(raw_hex: str) -> Ed25519PublicKey:
    return public_key_from_raw(bytes.fromhex(raw_hex))


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
        return cls(key_id(private_key.public_key()), private_key)

    @property
    def public_hex(self) -> str:
        return public_key_raw(self.private_key.public_key()).hex()

    def sign(self, message: bytes) -> bytes:
        if self._sodium_key is not None:
            return _sodium_sign(message, self._sodium_key)[:64]
        return self.private_key.sign(message)


def write_new_key(key_dir: str | Path) -> Signer:
    """Generate a key and write it to `key_dir` (0600); does not register it."""
    signer = Signer.from_private_key(Ed25519PrivateKey.generate())
    write_private_key(Path(key_dir) / f"{signer.key_id}{KEY_SUFFIX}", signer.private_key)
    return signer


def read_key(path: Path) -> Signer:
    """Load one private key file (refused when group or others can read it)."""
    return Signer.from_private_key(read_private_key(path))


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
    """The signer to append with; a key is created only for a ledger that has none.

    A ledger that already signs with a key never gains another one implicitly: if its
    active key is not in `key_dir`, this refuses (rotation is `keys rotate`, run with the
    current key at hand). A fresh ledger registers the one unregistered key file found in
    `key_dir`, or a new key. Returns (signer, created_or_registered).
    """
    key_dir = Path(key_dir)
    active = active_key_ids(engine)
    if active:
        return load_signer(key_dir, engine), False
    on_disk = sorted(key_dir.glob(f"*{KEY_SUFFIX}")) if key_dir.is_dir() else []
    if len(on_disk) > 1:
        raise SigningKeyError(f"{key_dir} holds {len(on_disk)} ledger key files; keep only the one this ledger should use.")
    signer = read_key(on_disk[0]) if on_disk else write_new_key(key_dir)
    register_key(engine, signer)
    return signer, True


def load_signer(key_dir: str | Path, engine: Engine) -> Signer:
    """The log's current signing key from `key_dir`; never creates or registers anything."""
    from ledger.keys.log import key_current_after  # the log's key history, which imports this module

    key_dir = Path(key_dir)
    with engine.connect() as connection:
        current = key_current_after(connection)
    active = [current] if current is not None else active_key_ids(engine)
    for active_id in active:
        path = key_dir / f"{active_id}{KEY_SUFFIX}"
        if path.exists():
            signer = read_key(path)
            if signer.key_id != active_id:
                raise SigningKeyError(f"Key file {path} holds key {signer.key_id}, not {active_id}.")
            return signer
    if not active:
        raise SigningKeyError("This ledger has no signing key yet; run `fairsplit init`.")
    raise SigningKeyError(
        f"This ledger signs with key {active[0]}, whose file {active[0]}{KEY_SUFFIX} is not in {key_dir}; "
        "point --key-dir (FAIRSPLIT_KEY_DIR) at the folder that holds it."
    )
