"""Login links of the artists' portal: random tokens, stored only as SHA-256 hashes.

A token is 32 random bytes (256 bits) in URL-safe base64 without padding: 43 characters.
The database keeps SHA-256(token) in hex, the artist and the expiry; the token itself is
printed once, in the link, and never stored. `issue_token` and `revoke_artist` write and
are called by the CLI only; the portal calls `artist_for_token` and `token_alive`, which
only SELECT (its database role can do nothing else).

A token is alive while now < expires_at and no revocation of its artist was made at or
after its creation. It may be used more than once until then: the portal cannot mark it
used (it cannot write), so the link is a bearer credential for its lifetime — keep the
lifetime short, revoke when in doubt.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine

from ledger.books.encoding import utc
from ledger.errors import LedgerError
from ledger.books.portal_schema import PORTAL_REVOCATIONS, PORTAL_TOKENS
from ledger.books.schema import ARTISTS

TOKEN_BYTES = 32
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
MAX_LIFETIME = timedelta(days=366)
MIN_LIFETIME = timedelta(minutes=1)
_EXPIRY = re.compile(r"([1-9][0-9]{0,5})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class PortalAccessError(LedgerError):
    """A token, expiry or artist the portal's access commands refuse; the message says why."""


def parse_lifetime(text: str) -> timedelta:
    """`30d`, `12h`, `45m`: how long a login link stays valid (1 minute to 366 days)."""
    match = _EXPIRY.fullmatch(text) if isinstance(text, str) and text.isascii() else None
    if match is None:
        raise PortalAccessError("--expires must be a whole number of minutes, hours or days, such as 30d, 12h or 45m.")
    lifetime = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        raise PortalAccessError("--expires must be between 1 minute and 366 days.")
    return lifetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: object) -> bool:
    """Whether `token` could be one of ours at all (checked before any database query)."""
    return isinstance(token, str) and TOKEN_PATTERN.fullmatch(token) is not None


def _registered(connection: Connection, artist_id: str) -> None:
    if connection.execute(select(ARTISTS.c.artist_id).where(ARTISTS.c.artist_id == artist_id)).first() is None:
        shown = artist_id if len(artist_id) <= 64 else artist_id[:64] + "…"
        raise PortalAccessError(f"artist:{shown} is not registered in this ledger.")


def issue_token(engine: Engine, artist_id: str, lifetime: timedelta, now: datetime) -> tuple[str, datetime]:
    """A new login token for a registered artist, and when it expires (the hash is stored)."""
    if not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        raise PortalAccessError("A login link lives between 1 minute and 366 days.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utc(now)
    expires = now + lifetime
    with engine.begin() as connection:
        _registered(connection, artist_id)
        connection.execute(insert(PORTAL_TOKENS).values(token_hash=token_hash(token), artist_id=artist_id,
                                                        created_at=now, expires_at=expires))
    return token, expires


def revoke_artist(engine: Engine, artist_id: str, now: datetime) -> int:
    """Kill every login link and session of `artist_id` made up to `now`; returns how many links were alive."""
    now = utc(now)
    with engine.begin() as connection:
        _registered(connection, artist_id)
        alive = [row for row in connection.execute(select(PORTAL_TOKENS).where(
            PORTAL_TOKENS.c.artist_id == artist_id, PORTAL_TOKENS.c.expires_at > now)).mappings()
            if _alive(connection, row, now)]
        connection.execute(insert(PORTAL_REVOCATIONS).values(artist_id=artist_id, revoked_at=now))
    return len(alive)


def _alive(connection: Connection, row, now: datetime) -> bool:
    if utc(row["expires_at"]) <= now:
        return False
    revoked = connection.execute(select(func.max(PORTAL_REVOCATIONS.c.revoked_at)).where(
        PORTAL_REVOCATIONS.c.artist_id == row["artist_id"])).scalar()
    return revoked is None or utc(revoked) < utc(row["created_at"])


def token_alive(engine: Engine, hashed: str, now: datetime) -> tuple[str, datetime] | None:
    """(artist id, expiry) of the token with this hash if it is alive; None otherwise. SELECT only."""
    with engine.connect() as connection:
        row = connection.execute(select(PORTAL_TOKENS).where(PORTAL_TOKENS.c.token_hash == hashed)).mappings().first()
        if row is None or not _alive(connection, row, utc(now)):
            return None
        return row["artist_id"], utc(row["expires_at"])


def artist_for_token(engine: Engine, token: object, now: datetime) -> tuple[str, str, datetime] | None:
    """(artist id, token hash, expiry) for a well-formed, alive token; None for anything else."""
    if not well_formed(token):
        return None
    hashed = token_hash(token)
    found = token_alive(engine, hashed, now)
    return None if found is None else (found[0], hashed, found[1])
