"""The ledger signing keys' lifecycle on the database: rotation, and the public keys file
artists are given (every key, current and retired, with its validity).

Invariant: rotating registers the new key before retiring the old, so exactly one key is
active after it; retired keys stay in `signing_keys` and in the public keys file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select, update

from ledger.encoding import utc
from ledger.keyring import Keyring, PublicKeyInfo
from ledger.keys import Signer, public_key_from_hex, register_key, write_new_key
from ledger.schema import SigningKey
from ledger.transparency import DEFAULT_ORIGIN, latest_checkpoint


def rotate_key(engine: Engine, key_dir: str | Path, now: datetime | None = None) -> tuple[Signer, list[str]]:
    """Create and register a new signing key, then retire every other active key (invariant 4)."""
    signer = write_new_key(key_dir)
    register_key(engine, signer)
    with engine.begin() as connection:
        retired = list(connection.execute(
            select(SigningKey.key_id).where(SigningKey.retired_at.is_(None), SigningKey.key_id != signer.key_id)
        ).scalars())
        if retired:
            connection.execute(
                update(SigningKey).where(SigningKey.key_id.in_(retired)).values(retired_at=now or datetime.now(UTC))
            )
    return signer, retired


def public_keyring(engine: Engine) -> Keyring:
    """Every registered key, current and retired, with its validity: the file artists are given."""
    latest = latest_checkpoint(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(SigningKey).order_by(SigningKey.created_at, SigningKey.key_id)).all()
    infos = tuple(
        PublicKeyInfo(row.key_id, public_key_from_hex(row.public_key), utc(row.created_at),
                      None if row.retired_at is None else utc(row.retired_at))
        for row in rows
    )
    return Keyring(latest.checkpoint.origin if latest else DEFAULT_ORIGIN, infos)
