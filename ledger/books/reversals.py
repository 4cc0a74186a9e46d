"""Reversals: a clawback of an event's rewards, as new transfers (nothing is ever edited).

For every reward transfer of the event, a `reversal` moves the same amount back from
the payee to the platform, pointing at the original (`reverses_id`), dated like it, with
the reason as its memo. An event is reversed once. A reversal after its period closed is
late and counts in the next open period (`ledger.payouts.arithmetic.Timeline`).
"""

from __future__ import annotations

from sqlalchemy import select

from ledger.books.encoding import utc
from ledger.errors import TransferError
from ledger.books.schema import TRANSFERS
from ledger.books.store import Ledger, StoredTransfer, TransferSpec


def reverse_event(ledger: Ledger, event_id: str, reason: str) -> list[StoredTransfer]:
    """Reverse every reward transfer of `event_id` (a clawback); refuses a second reversal."""
    reason = (reason or "").strip()
    if not reason:
        raise TransferError("A reversal needs a reason (--reason), e.g. 'withdrawn by the platform'.")
    with ledger.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(
            select(TRANSFERS).where(TRANSFERS.c.event_id == event_id).order_by(TRANSFERS.c.seq))]
    rewards = [row for row in rows if row["kind"] == "reward"]
    if not rewards:
        raise TransferError(f"Event {event_id} has no reward transfers in the ledger, so there is nothing to reverse.")
    if any(row["kind"] == "reversal" for row in rows):
        raise TransferError(f"Event {event_id} is already reversed; an event can be reversed only once.")
    specs = [
        TransferSpec(event_id, row["credit_account"], row["debit_account"], row["amount"], row["currency"],
                     "reversal", utc(row["occurred_at"]), row["attribution_id"], reverses_id=row["id"], memo=reason)
        for row in rewards
    ]
    return ledger.append(specs)
