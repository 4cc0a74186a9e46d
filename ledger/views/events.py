"""One event's story and lists of events, read from the database as recorded (nothing is
re-rendered): the event, its attribution (players, recognised or not, shares, method),
the transfers it booked with their seqs, reversals, and the period each counts in.

An event's status: `reversed` (a reversal took its rewards back), `closed` (every reward
counts in a closed period: paid out, or carried under the minimum), else `pending`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, exists, or_, select

from ledger.views.accounts import period_status
from ledger.books.encoding import utc
from ledger.payouts.periods import Period
from ledger.books.schema import EVENTS, TRANSFERS
from ledger.books.store import StoredTransfer

STATUSES = ("pending", "closed", "reversed")
MAX_LIST = 1000
SCAN_FACTOR = 20  # a status filter reads at most this many rows per row it may return


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_after: str | None  # the event id to pass as `after` for the next page; None: no more


def _transfers(connection, event_ids: list[str]) -> dict[str, list[StoredTransfer]]:
    rows = connection.execute(select(TRANSFERS).where(TRANSFERS.c.event_id.in_(event_ids))
                              .order_by(TRANSFERS.c.seq)).mappings().all() if event_ids else []
    found: dict[str, list[StoredTransfer]] = {}
    for row in rows:
        values = {**row, "occurred_at": utc(row["occurred_at"]), "created_at": utc(row["created_at"])}
        found.setdefault(row["event_id"], []).append(StoredTransfer(**values))
    return found


def _status(transfers: list[StoredTransfer], periods: dict[int, dict[str, Any]]) -> str:
    if any(t.kind == "reversal" for t in transfers):
        return "reversed"
    rewards = [t for t in transfers if t.kind == "reward"]
    return "closed" if rewards and all(periods[t.seq]["status"] == "closed" for t in rewards) else "pending"


def _summary(row: Any, transfers: list[StoredTransfer], periods: dict[int, dict[str, Any]]) -> dict[str, Any]:
    payees = {t.credit_account: t.amount for t in transfers if t.kind == "reward"}
    return {"event_id": row["event_id"], "platform_id": row["platform_id"], "model_id": row["model_id"],
            "occurred_at": utc(row["occurred_at"]), "recorded_at": utc(row["recorded_at"]),
            "reward_amount": int(row["reward_amount"]), "currency": row["currency"], "payees": payees,
            "status": _status(transfers, periods)}


def event_story(engine: Engine, event_id: str) -> dict[str, Any] | None:
    """Everything the ledger holds about one event, or None when it is not recorded."""
    with engine.connect() as connection:
        row = connection.execute(select(EVENTS).where(EVENTS.c.event_id == event_id)).mappings().first()
        if row is None:
            return None
        transfers = _transfers(connection, [event_id]).get(event_id, [])
    periods = period_status(engine, transfers)
    attribution = json.loads(row["attribution_json"])
    return {
        **_summary(row, transfers, periods), "content": row["content"], "attribution_id": row["attribution_id"],
        "attribution": {"players": attribution.get("players", []), "shares": attribution.get("shares", {}),
                        "method": attribution.get("method", {}), "clamped": bool(attribution.get("clamped"))},
        "transfers": [{"seq": t.seq, "id": t.id, "kind": t.kind, "from": t.debit_account, "to": t.credit_account,
                       "amount": t.amount, "currency": t.currency, "reverses_id": t.reverses_id,
                       "period": periods[t.seq]["period"], "period_status": periods[t.seq]["status"],
                       "late": periods[t.seq]["late"]} for t in transfers],
    }


def list_events(engine: Engine, *, platform: str | None = None, artist: str | None = None,
                status: str | None = None, period: Period | None = None, limit: int = 50,
                after: str | None = None) -> EventPage:
    """Recorded events, newest first, filtered; `after` (an event id of the previous page)
    continues where that page stopped. A status filter scans a bounded number of rows."""
    if not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be from 1 to {MAX_LIST}")
    query = select(EVENTS)
    if platform:
        query = query.where(EVENTS.c.platform_id == platform)
    if period is not None:
        query = query.where(EVENTS.c.occurred_at >= period.start, EVENTS.c.occurred_at < period.end)
    if artist:
        query = query.where(exists().where(and_(TRANSFERS.c.event_id == EVENTS.c.event_id,
                                                TRANSFERS.c.kind == "reward",
                                                TRANSFERS.c.credit_account == f"artist:{artist}")))
    with engine.connect() as connection:
        if after is not None:
            anchor = connection.execute(select(EVENTS.c.recorded_at).where(EVENTS.c.event_id == after)).scalar()
            if anchor is None:
                raise LookupError(f"event {after} (given as --after) is not recorded")
            query = query.where(or_(EVENTS.c.recorded_at < anchor,
                                    and_(EVENTS.c.recorded_at == anchor, EVENTS.c.event_id < after)))
        scan = limit + 1 if status is None else limit * SCAN_FACTOR
        rows = connection.execute(query.order_by(EVENTS.c.recorded_at.desc(), EVENTS.c.event_id.desc())
                                  .limit(scan)).mappings().all()
        transfers = _transfers(connection, [row["event_id"] for row in rows])
    periods = period_status(engine, [t for group in transfers.values() for t in group])
    events = [_summary(row, transfers.get(row["event_id"], []), periods) for row in rows]
    if status is not None:
        events = [event for event in events if event["status"] == status]
    page = events[:limit]
    if len(events) > limit:
        return EventPage(page, page[-1]["event_id"])
    if status is not None and len(rows) == scan:  # filtered out: continue after the last row read
        return EventPage(page, rows[-1]["event_id"])
    return EventPage(page, None)
