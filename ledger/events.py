"""The record of every attributed event the ledger has paid for.

Invariants:
  1. One row per event_id, written in the same database transaction as the event's
     reward transfers (`book_event`), so an event is either recorded and paid, or neither.
  2. Append-only (triggers on both backends), like the transfers it explains.
  3. An event is identified by its id *and* the SHA-256 of its signed body: the same
     body again is a duplicate (nothing more is paid); the same id with another body is a
     conflict — the first one stands.
Statements, `explain` and replays read the event's content, shares and result from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, Column, DateTime, String, Text, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from ledger.errors import ConflictError
from ledger.store import Ledger, TransferSpec


class EventRow(SQLModel, table=True):
    __tablename__ = "events"

    event_id: str = Field(sa_column=Column(String(200), primary_key=True))
    body_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    platform_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    model_id: str = Field(sa_column=Column(String(200), nullable=False))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    content: str = Field(sa_column=Column(Text, nullable=False))
    reward_amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    attribution_id: str = Field(sa_column=Column(String(200), nullable=False))
    attribution_json: str = Field(sa_column=Column(Text, nullable=False))
    event_json: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


EVENTS = EventRow.__table__


@dataclass(frozen=True)
class EventRecord:
    """What is kept of one attributed event (the caller serialises the JSON parts)."""

    event_id: str
    body_sha256: str
    platform_id: str
    model_id: str
    occurred_at: datetime
    content: str
    reward_amount: int
    currency: str
    attribution_id: str
    attribution_json: str
    event_json: str


Outcome = Literal["recorded", "duplicate"]


def _existing(connection: Connection, event_id: str) -> Any:
    return connection.execute(select(EVENTS.c.body_sha256).where(EVENTS.c.event_id == event_id)).scalar()


class _AlreadyRecorded(Exception):
    """Raised inside the append transaction to leave it without writing anything."""


def book_event(ledger: Ledger, record: EventRecord, transfers: Sequence[TransferSpec]) -> Outcome:
    """Record `record` and append its transfers in one transaction.

    A duplicate (same id, same body) books nothing — not even transfers recomputed by a
    second attribution of the same event — and returns "duplicate"; the same id with a
    different body raises ConflictError and books nothing.
    """

    def record_row(connection: Connection) -> None:
        known = _existing(connection, record.event_id)
        if known is not None:
            if known != record.body_sha256:
                raise ConflictError(
                    f"Event {record.event_id} is already recorded with a different body; the first one stands."
                )
            raise _AlreadyRecorded
        connection.execute(insert(EVENTS).values(**record.__dict__, recorded_at=datetime.now(UTC)))

    try:
        ledger.append(transfers, before_insert=record_row)
    except _AlreadyRecorded:
        return "duplicate"
    return "recorded"


def get_event(engine: Engine, event_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(select(EVENTS).where(EVENTS.c.event_id == event_id)).mappings().first()
        return dict(row) if row else None


def recorded_body(engine: Engine, event_id: str) -> str | None:
    """The body hash an event id was recorded with, or None."""
    with engine.connect() as connection:
        return _existing(connection, event_id)
