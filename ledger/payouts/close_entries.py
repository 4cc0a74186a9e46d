"""Close entries: what a period close carried, recorded in the log itself.

For each payee a close decides on, the close appends one system entry (kind `close`,
amount 0, `ledger:closes` -> `ledger:carried`, occurred at the period's last
microsecond) whose memo is the canonical JSON

    {"type": "fairsplit.period-close.v1", "period": "2026-11", "currency": "USD",
     "account": "artist:van-gogh", "balance": 1234568, "paid": 1230000, "carried": 4568}

(micro-units). Its event id is `close:<period>:<CUR>:<account>`, so its transfer id is
one per account and period, and an account's entry is one index lookup away. The entries
are signed, hash-chained and in the Merkle tree like every row: an artist proves an
opening balance with one inclusion proof, and `ledger verify` re-derives each one.

Invariants: balance == paid + carried; one entry per payee the close decided on (every
payee with a balance or activity through the period), written after the period's
payouts, in the close's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from ledger.payouts.close_documents import (CLOSE_CREDIT, CLOSE_DEBIT, CLOSE_TYPE, CloseEntry, close_prefix,
                                    parse_close_entry)
from ledger.payouts.arithmetic import PayoutDecision, payout_time
from ledger.payouts.periods import Period
from ledger.books.system_entries import system_memo
from ledger.books.schema import TRANSFERS
from ledger.books.store import TransferSpec

__all__ = ["CLOSE_CREDIT", "CLOSE_DEBIT", "CLOSE_TYPE", "CloseEntry", "carried_by", "close_entry_rows", "close_prefix",
           "close_specs", "parse_close_entry"]


def close_specs(period: Period, currency: str, decisions: Iterable[PayoutDecision]) -> list[TransferSpec]:
    """The close entries of one period, one per decision."""
    return [
        TransferSpec(close_prefix(period, currency) + decision.account, CLOSE_DEBIT, CLOSE_CREDIT, 0, currency,
                     "close", payout_time(period),
                     memo=system_memo({"type": CLOSE_TYPE, "period": period.id, "currency": currency,
                                       "account": decision.account, "balance": decision.balance,
                                       "paid": decision.paid, "carried": decision.carried}))
        for decision in decisions
    ]


def close_entry_rows(connection: Connection, period: Period | str, currency: str, columns=None):
    """The rows of a close's entries (an index range on event_id), in seq order."""
    prefix = close_prefix(period, currency)
    query = (select(*(columns or [TRANSFERS])).where(TRANSFERS.c.event_id >= prefix,
                                                     TRANSFERS.c.event_id < prefix[:-1] + ";",
                                                     TRANSFERS.c.kind == "close")
             .order_by(TRANSFERS.c.seq))
    return connection.execute(query).mappings()


def carried_by(connection: Connection, period: Period | str, currency: str) -> dict[str, int] | None:
    """{account: carried} that the close of `period` recorded; None when it recorded no entry
    (a close made before close entries existed)."""
    found: dict[str, int] = {}
    for row in close_entry_rows(connection, period, currency):
        entry = parse_close_entry(row)
        if entry is None:
            raise ValueError(f"Close entry seq {row['seq']} is malformed; run `fairsplit ledger verify`.")
        found[entry.account] = entry.carried
    return found or None
