"""The record of every attributed event the ledger has paid for.

Invariants:
  1. One row per event_id, written in the same database transaction as the event's
     reward transfers (`book_events`), so an event is either recorded and paid, or neither.
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

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine

from ledger.books.encoding import utc
from ledger.errors import ConflictError, LedgerError
from ledger.evidence.store import BookedEvidence, store_evidence
from ledger.ids import is_event_id
from ledger.invariants import invariant
from ledger.books.schema import EVENTS, TRANSFERS
from ledger.books.store import Ledger, TransferSpec


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


Booking = Literal["recorded", "duplicate"]


_RACES = 5


class _Raced(Exception):
    """Raised inside the append transaction: another writer recorded one of the events since
    they were checked; the whole call is checked and booked again."""


def book_event(ledger: Ledger, record: EventRecord, transfers: Sequence[TransferSpec]) -> Booking:
    """Record `record` and append its transfers in one transaction (see `book_events`)."""
    return book_events(ledger, [(record, transfers)])[0]


def book_events(ledger: Ledger, items: Sequence[tuple[EventRecord, Sequence[TransferSpec]]],
                evidence: Sequence[BookedEvidence] = ()) -> list[Booking]:
    """Record and pay `items` in one transaction under the chain lock; an outcome per item.

    An event already recorded, or repeated within `items`, with the same body is
    "duplicate" and books nothing — not even transfers recomputed by a second attribution.
    The same id with another body raises `ConflictError`: the first one stands. Anything
    refused raises, and then nothing of the call is booked; the caller (the stream's
    `RunTask`) isolates the bad item by booking each alone. `evidence` (by event id) is
    kept in the same transaction, its signers checked against the log's key history
    (`ledger.evidence.store`).
    """
    evidence_of = {item.event_id: item for item in evidence}
    for _ in range(_RACES):
        with ledger.engine.connect() as connection:
            known = _known(connection, [record.event_id for record, _ in items])
        outcomes: list[Booking] = []
        fresh: list[tuple[EventRecord, Sequence[TransferSpec]]] = []
        seen = dict(known)
        for record, transfers in items:
            body = seen.get(record.event_id)
            if body is not None and body != record.body_sha256:
                raise ConflictError(f"Event {record.event_id} is already recorded with a different body; "
                                    "the first one stands.")
            outcomes.append("duplicate" if body is not None else "recorded")
            if body is None:
                seen[record.event_id] = record.body_sha256
                fresh.append((record, transfers))
        if not fresh:
            return outcomes

        def record_rows(connection: Connection) -> None:
            if _known(connection, [record.event_id for record, _ in fresh]):
                raise _Raced
            now = datetime.now(UTC)
            connection.execute(insert(EVENTS), [{**record.__dict__, "recorded_at": now} for record, _ in fresh])
            kept = [evidence_of[record.event_id] for record, _ in fresh if record.event_id in evidence_of]
            if kept:
                store_evidence(connection, kept)

        try:
            ledger.append([spec for _, transfers in fresh for spec in transfers], before_insert=record_rows)
        except _Raced:
            continue
        return outcomes
    raise LedgerError("Other writers kept recording the same events; the batch will be tried again.")


def _known(connection: Connection, event_ids: list[str]) -> dict[str, str]:
    """event id → body_sha256 of the recorded ones among `event_ids`."""
    if not event_ids:
        return {}
    query = select(EVENTS.c.event_id, EVENTS.c.body_sha256).where(EVENTS.c.event_id.in_(event_ids))
    return {event_id: sha for event_id, sha in connection.execute(query)}


def get_event(engine: Engine, event_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = connection.execute(select(EVENTS).where(EVENTS.c.event_id == event_id)).mappings().first()
        return dict(row) if row else None


def recorded_bodies(engine: Engine, event_ids: Sequence[str]) -> dict[str, str]:
    """event id → the body hash it was recorded with, for the recorded ones among `event_ids`."""
    with engine.connect() as connection:
        return _known(connection, list(event_ids))


def count_recorded(engine: Engine, event_ids: Sequence[str] | None) -> int:
    """How many of `event_ids` (None: of all events) are recorded."""
    query = select(func.count()).select_from(EVENTS)
    if event_ids is not None:
        query = query.where(EVENTS.c.event_id.in_(list(event_ids)))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar())


def event_rewards(engine: Engine, event_id: str) -> list[tuple[str, int, str]]:
    """(payee account, amount, currency) of every reward transfer the event paid."""
    with engine.connect() as connection:
        rows = connection.execute(select(TRANSFERS.c.credit_account, TRANSFERS.c.amount, TRANSFERS.c.currency)
                                  .where(TRANSFERS.c.event_id == event_id, TRANSFERS.c.kind == "reward")
                                  .order_by(TRANSFERS.c.seq))
        return [(account, int(amount), currency) for account, amount, currency in rows]


def recorded_since(engine: Engine, after: datetime | None, limit: int = 500) -> list[dict[str, Any]]:
    """Events recorded after `after` (all when None), oldest first, with what each paid:
    {event_id, recorded_at, reward_amount, currency, payees: {account: amount}}."""
    query = select(EVENTS.c.event_id, EVENTS.c.recorded_at, EVENTS.c.reward_amount, EVENTS.c.currency)
    if after is not None:
        query = query.where(EVENTS.c.recorded_at > after)
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(EVENTS.c.recorded_at, EVENTS.c.event_id).limit(limit)).all()
        paid = connection.execute(
            select(TRANSFERS.c.event_id, TRANSFERS.c.credit_account, TRANSFERS.c.amount)
            .where(TRANSFERS.c.event_id.in_([row.event_id for row in rows]), TRANSFERS.c.kind == "reward")
            .order_by(TRANSFERS.c.seq)).all() if rows else []
    payees: dict[str, dict[str, int]] = {}
    for event_id, account, amount in paid:
        payees.setdefault(event_id, {})[account] = int(amount)
    return [{"event_id": row.event_id, "recorded_at": utc(row.recorded_at), "reward_amount": int(row.reward_amount),
             "currency": row.currency, "payees": payees.get(row.event_id, {})} for row in rows]
