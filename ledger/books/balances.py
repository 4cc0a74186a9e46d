"""Balances maintained as the ledger appends: one meaning of a balance, kept, not replayed.

`account_balances` (append-only, `ledger.books.schema`) holds, for each append, one row per
(account, currency) the append touched: the balance credits − debits through the
append's last seq. `record_balances` writes them in the append's own transaction
(`ledger.books.store.Ledger.append`, under the chain lock), so the newest row of a pair is its
balance, read with one primary-key lookup (`current_balances`).

Invariants:
  1. A row's balance is the sum of the amounts credited minus debited to that pair by
     every transfer with seq <= through_seq; every sum stays in 64 bits (an append that
     would leave it is refused, nothing written).
  2. A pair gets a row for every append that moved its money, and only then (system
     entries, amount 0, move none).
`ledger.audit.balances` re-derives every row from the transfers it verifies (paired check).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, insert, select, text, union_all

from ledger.money import checked_total
from ledger.books.schema import ACCOUNT_BALANCES, TRANSFERS

Pair = tuple[str, str]  # (account, currency)
_CHUNK = 200


def balance_deltas(rows: Iterable[Mapping[str, Any]]) -> dict[Pair, int]:
    """Pure: the net change each row set makes to each (account, currency)."""
    deltas: dict[Pair, int] = {}
    for row in rows:
        amount = row["amount"]
        if amount:
            credit, debit = (row["credit_account"], row["currency"]), (row["debit_account"], row["currency"])
            deltas[credit] = deltas.get(credit, 0) + amount
            deltas[debit] = deltas.get(debit, 0) - amount
    return deltas


def record_balances(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert the new balance of every pair `rows` (one append, seq order) moved."""
    deltas = balance_deltas(rows)
    if not deltas:
        return
    through = rows[-1]["seq"]
    latest = latest_balances(connection, list(deltas))
    values = [
        {"account": account, "currency": currency, "through_seq": through,
         "balance": checked_total([latest.get((account, currency), 0), delta], f"The balance of {account}")}
        for (account, currency), delta in deltas.items()
    ]
    connection.execute(insert(ACCOUNT_BALANCES), values)


def latest_balances(connection: Connection, pairs: Sequence[Pair], through_seq: int | None = None) -> dict[Pair, int]:
    """The newest balance of each pair (as of `through_seq` if given); pairs never moved are absent.

    One scalar subquery per pair, each a descending primary-key lookup, a few hundred per
    statement: O(pairs × log n) whatever the history's length.
    """
    found: dict[Pair, int] = {}
    bound = "" if through_seq is None else " AND through_seq <= :through"
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start:start + _CHUNK]
        params: dict[str, Any] = {} if through_seq is None else {"through": through_seq}
        columns = []
        for i, (account, currency) in enumerate(chunk):
            params[f"a{i}"], params[f"c{i}"] = account, currency
            columns.append(f"(SELECT balance FROM account_balances WHERE account = :a{i} AND currency = :c{i}{bound} "
                           f"ORDER BY through_seq DESC LIMIT 1)")
        row = connection.execute(text(f"SELECT {', '.join(columns)}"), params).one()
        found.update((pair, int(value)) for pair, value in zip(chunk, row, strict=True) if value is not None)
    return found


def account_currencies(connection: Connection, account: str) -> list[str]:
    """The currencies `account` ever moved, one index probe each (a skip scan)."""
    currencies: list[str] = []
    while True:
        after = currencies[-1] if currencies else ""
        nxt = connection.execute(text(
            "SELECT currency FROM account_balances WHERE account = :a AND currency > :after "
            "ORDER BY currency LIMIT 1"), {"a": account, "after": after}).scalar()
        if nxt is None:
            return currencies
        currencies.append(nxt)


def current_balances(connection: Connection, account: str, currency: str | None = None) -> dict[str, int]:
    """{currency: balance} of `account` now (only `currency`, 0 when never moved, if given)."""
    currencies = [currency] if currency is not None else account_currencies(connection, account)
    latest = latest_balances(connection, [(account, cur) for cur in currencies])
    return {cur: latest.get((account, cur), 0) for cur in sorted(currencies)}


def history_query(connection: Connection, account: str, limit: int, offset: int = 0) -> Select:
    """The newest `limit` transfers into or out of `account` (after skipping `offset`), newest
    first: one backward index scan per (side, currency) the account moved, each stopping
    after `limit + offset` rows, merged — O((limit + offset) log n), not the account's history."""
    wanted = limit + offset
    currencies = account_currencies(connection, account) or [None]
    parts = []
    for column in (TRANSFERS.c.credit_account, TRANSFERS.c.debit_account):
        for currency in currencies:
            part = select(TRANSFERS).where(column == account)
            if currency is not None:
                part = part.where(TRANSFERS.c.currency == currency)
            parts.append(part.order_by(TRANSFERS.c.seq.desc()).limit(wanted).subquery().select())
    merged = union_all(*parts).subquery()
    return select(merged).order_by(merged.c.seq.desc()).limit(limit).offset(offset)
