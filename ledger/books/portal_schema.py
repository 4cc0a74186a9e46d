"""The artists' portal's access tables: login-token hashes and revocations.

Both are written only by the CLI (`fairsplit portal token|revoke`), never by the portal,
whose database role may only SELECT (docs/portal.md). Both are append-only by trigger,
like every ledger table:

`portal_tokens` — one row per login link: SHA-256 (hex) of the token, never the token
  itself; the artist it opens; when it was made and when it expires (created_at <
  expires_at, at most 366 days later, checked where the row is assembled,
  `services.portal.tokens`).
`portal_revocations` — `portal revoke ARTIST`: every token of that artist made at or
  before `revoked_at` is dead from then on, and so is every session it opened.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel


class PortalToken(SQLModel, table=True):
    __tablename__ = "portal_tokens"
    __table_args__ = (CheckConstraint("expires_at > created_at", name="ck_portal_tokens_expiry"),)

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    artist_id: str = Field(sa_column=Column(String(64), ForeignKey("artists.artist_id"), nullable=False, index=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PortalRevocation(SQLModel, table=True):
    __tablename__ = "portal_revocations"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    artist_id: str = Field(sa_column=Column(String(64), ForeignKey("artists.artist_id"), nullable=False, index=True))
    revoked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


PORTAL_TOKENS = PortalToken.__table__
PORTAL_REVOCATIONS = PortalRevocation.__table__
