"""What a close entry states, read without a database (the offline verifier reads it too).

A close entry (`ledger.payouts.close_entries` writes them) is a system entry of kind `close`,
amount 0, `ledger:closes` -> `ledger:carried`, event id `close:<period>:<CUR>:<account>`,
whose memo is the canonical JSON {"type": CLOSE_TYPE, "period", "currency", "account",
"balance", "paid", "carried"} (integer micro-units). Invariant, checked by
`parse_close_entry`: balance == paid + carried, and the event id and currency agree
with the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.payouts.periods import Period
from ledger.books.system_entries import parse_system_memo

CLOSE_TYPE = "fairsplit.period-close.v1"
CLOSE_DEBIT, CLOSE_CREDIT = "ledger:closes", "ledger:carried"
_FIELDS = {"type", "period", "currency", "account", "balance", "paid", "carried"}


@dataclass(frozen=True, slots=True)
class CloseEntry:
    """One account's line of a close, as its entry states it (micro-units)."""

    period: str
    currency: str
    account: str
    balance: int
    paid: int
    carried: int


def close_prefix(period: Period | str, currency: str) -> str:
    return f"close:{period if isinstance(period, str) else period.id}:{currency}:"


def parse_close_entry(row: Mapping[str, Any]) -> CloseEntry | None:
    """The close a row states, or None when the row is not a well-formed close entry."""
    if row["kind"] != "close" or row["amount"] != 0:
        return None
    document = parse_system_memo(row["memo"])
    if document is None or set(document) != _FIELDS or document["type"] != CLOSE_TYPE:
        return None
    numbers = [document[name] for name in ("balance", "paid", "carried")]
    if any(isinstance(n, bool) or not isinstance(n, int) for n in numbers) or numbers[0] != numbers[1] + numbers[2]:
        return None
    entry = CloseEntry(document["period"], document["currency"], document["account"], *numbers)
    if row["event_id"] != close_prefix(entry.period, entry.currency) + entry.account or row["currency"] != entry.currency:
        return None
    return entry
