"""The `period` part of a per-period balance bundle, and its offline check.

    "period": {"id": "2026-11",
               "currencies": {"USD": {"opening": 4568,
                                      "opening_entry": {"entry", "leaf_index", "inclusion_path"} | null,
                                      "closing_entry": {"entry", "leaf_index", "inclusion_path"} | null}}}

`opening_entry` is the account's close entry (`ledger.payouts.close_entries`) of the period
before, proven in the log: it states the balance carried into this period, which must
equal `opening` (null only with an opening of 0: the period before was never closed).
The bundle's `entries` are the account's entries counting in the period: each one
occurred before the period's end, and in the period or after the close before it (a
late entry). The bundle's balance per currency is opening + those entries; a
`closing_entry` (this period's own close entry, once closed) must state it as carried.
A year is a chain of twelve such bundles: each one's closing entry is the next one's
opening entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ledger.payouts.close_documents import parse_close_entry
from ledger.money import MAX_MICROS
from ledger.payouts.periods import PeriodError, parse_period

_PERIOD_FIELDS = {"id", "currencies"}
_CURRENCY_FIELDS = {"opening", "opening_entry", "closing_entry"}


def period_part(period_id: str, currencies: Mapping[str, tuple[int, dict | None, dict | None]]) -> dict[str, Any]:
    """{currency: (opening, opening entry part, closing entry part)} as a bundle's `period`."""
    return {"id": period_id, "currencies": {
        currency: {"opening": opening, "opening_entry": before, "closing_entry": after}
        for currency, (opening, before, after) in sorted(currencies.items())}}


def verify_period(part: Any, account: str, rows: list[dict[str, Any]], totals: Mapping[str, int],
                  check_entry: Callable[[Any, str], dict[str, Any]]) -> dict[str, int]:
    """Check a bundle's `period` part; returns its balances (opening + the entries' `totals`).

    `rows`: the bundle's verified entries; `check_entry(part, where)` verifies one proven
    entry (hash, signature, inclusion) and returns its row.
    """
    from ledger.tlog.proofs import VerificationError

    if not isinstance(part, dict) or set(part) != _PERIOD_FIELDS or not isinstance(part["currencies"], dict):
        raise VerificationError("The bundle's period must be an object with an id and its currencies.")
    try:
        period = parse_period(part["id"]) if isinstance(part["id"], str) else None
    except PeriodError:
        period = None
    if period is None or period.id != part["id"]:
        raise VerificationError("The bundle's period id is not a period (e.g. 2026-11).")
    currencies = part["currencies"]
    if not currencies or len(currencies) > 200 or any(row["currency"] not in currencies for row in rows):
        raise VerificationError(f"The bundle's {period.id} part must name every currency of its entries.")
    balances = {}
    for currency, spec in sorted(currencies.items()):
        where = f"The {period.id} {currency} opening"
        if not isinstance(spec, dict) or set(spec) != _CURRENCY_FIELDS:
            raise VerificationError(f"{where} must hold opening, opening_entry and closing_entry.")
        opening = spec["opening"]
        if isinstance(opening, bool) or not isinstance(opening, int) or abs(opening) > MAX_MICROS:
            raise VerificationError(f"{where} must be an integer of micro-units.")
        after = 0
        if spec["opening_entry"] is None:
            if opening != 0:
                raise VerificationError(f"{where} is {opening}, but no signed close of the period before states it.")
        else:
            row = check_entry(spec["opening_entry"], f"{where} entry")
            before = _previous(period)
            if before is None:
                raise VerificationError(f"{where} entry cannot be the close of a period before {period.id}: there is none.")
            _check_close(row, account, currency, before.id, opening, where)
            after = row["seq"]
        for row in rows:
            late = row["seq"] > after and row["occurred_at"] < period.start
            if row["currency"] == currency and not (row["occurred_at"] < period.end and
                                                    (row["occurred_at"] >= period.start or late)):
                raise VerificationError(f"Entry seq {row['seq']} does not count in {period.id}.")
        balances[currency] = opening + totals.get(currency, 0)
        if spec["closing_entry"] is not None:
            row = check_entry(spec["closing_entry"], f"The {period.id} {currency} closing entry")
            _check_close(row, account, currency, period.id, balances[currency], f"The {period.id} {currency} closing")
    return balances


def _previous(period):
    """The period before `period`, or None for the first one there is (year 1)."""
    try:
        return period.previous()
    except (OverflowError, PeriodError):
        return None


def _check_close(row: dict[str, Any], account: str, currency: str, period_id: str, carried: int, where: str) -> None:
    from ledger.tlog.proofs import VerificationError

    entry = parse_close_entry(row)
    if entry is None or (entry.account, entry.currency, entry.period) != (account, currency, period_id):
        raise VerificationError(f"{where} entry is not the close of {period_id} for {account} in {currency}.")
    if entry.carried != carried:
        raise VerificationError(f"{where} entry carried {entry.carried}, not {carried}.")
