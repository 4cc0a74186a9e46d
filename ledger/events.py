"""The record of every attributed event the ledger has paid for.

Invariants:
  1. One row per event_id, written in the same database transaction as the event's
     reward transfers (`book_event`), so an event is either recorded and paid, or neither.
     `book_events` books several events in one transaction (and falls back to one
     transaction per event if any of them is refused), which keeps this per event.
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

from ledger.errors import ConflictError, LedgerError
from ledger.ids import is_event_id
from ledger.invariants import invariant
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
    """What is kept of one attributed event (the caller serialises the JSON parts).

    Invariant (checked on construction): `event_id` is canonical (`ledger.ids.EVENT_ID`),
    so the primary key cannot hold one event twice under two spellings.
    """

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

    def __post_init__(self) -> None:
        invariant(is_event_id(self.event_id), f"event id {self.event_id!r} is not a lower-case UUID")


Outcome = Literal["recorded", "duplicate"]


class _AlreadyRecorded(Exception):
    """Raised inside the append transaction to leave it without writing anything."""


def book_event(ledger: Ledger, record: EventRecord, transfers: Sequence[TransferSpec]) -> Outcome:
    """Record `record` and append its transfers in one transaction.

    A duplicate (same id, same body) books nothing — not even transfers recomputed by a
    second attribution of the same event — and returns "duplicate"; the same id with a
    different body raises ConflictError and books nothing.
    """

    def record_row(connection: Connection) -> None:
        known = _known(connection, [record.event_id]).get(record.event_id)
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


def book_events(
    ledger: Ledger, items: Sequence[tuple[EventRecord, Sequence[TransferSpec]]]
) -> list[Outcome | Exception]:
    """`book_event` for each item, in one transaction when all of them can be booked.

    Returns, per item, its outcome or the LedgerError/ValueError that refused it. Events
    already recorded (or repeated within `items`) with the same body are "duplicate";
    the others are recorded and paid together under one chain lock. If any of them is
    refused, or turns out recorded meanwhile, that transaction books nothing and each
    item is booked on its own (`book_event`), so one bad event never drags the others.
    Other errors (database unreachable, ...) propagate.
    """
    outcomes: list[Outcome | Exception | None] = [None] * len(items)
    first: dict[str, int] = {}
    for index, (record, _) in enumerate(items):
        seen = first.setdefault(record.event_id, index)
        if seen != index and items[seen][0].body_sha256 == record.body_sha256:
            outcomes[index] = "duplicate"
    fresh = [i for i, outcome in enumerate(outcomes) if outcome is None]
    with ledger.engine.connect() as connection:
        known = _known(connection, [items[i][0].event_id for i in fresh])
    for i in fresh:
        if known.get(items[i][0].event_id) == items[i][0].body_sha256:
            outcomes[i] = "duplicate"
    fresh = [i for i in fresh if outcomes[i] is None]
    records = [items[i][0] for i in fresh]
    if fresh and len({r.event_id for r in records}) == len(records) and not any(r.event_id in known for r in records):

        def record_rows(connection: Connection) -> None:
            if _known(connection, [r.event_id for r in records]):
                raise _Refused  # recorded by another writer since: sort it out one by one
            now = datetime.now(UTC)
            connection.execute(insert(EVENTS), [{**r.__dict__, "recorded_at": now} for r in records])

        try:
            ledger.append([t for i in fresh for t in items[i][1]], before_insert=record_rows)
        except (_Refused, LedgerError, ValueError):
            pass  # something is refused: book each on its own below, to tell which
        else:
            return [outcome or "recorded" for outcome in outcomes]
    for i in fresh:
        try:
            outcomes[i] = book_event(ledger, *items[i])
        except (LedgerError, ValueError) as exc:
            outcomes[i] = exc
    return outcomes  # type: ignore[return-value]


def _known(connection: Connection, event_ids: list[str]) -> dict[str, str]:
    """event id → body_sha256 of the recorded ones among `event_ids`."""
    if not event_ids:
        return {}
    query = select(EVENTS.c.event_id, EVENTS.c.body_sha256).where(EVENTS.c.event_id.in_(event_ids))
    return {event_id: sha for event_id, sha in connection.execute(query)}


class _Refused(Exception):
    """Raised inside a batch's transaction when one of its events conflicts."""


def get_event(engine: Engine, event_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(select(EVENTS).where(EVENTS.c.event_id == event_id)).mappings().first()
        return dict(row) if row else None


def recorded_body(engine: Engine, event_id: str) -> str | None:
    """The body hash an event id was recorded with, or None."""
    with engine.connect() as connection:
        return _known(connection, [event_id]).get(event_id)
