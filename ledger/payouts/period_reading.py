"""Reading one period from the database: what a close, a statement and a bundle read.

A transfer counts in its effective period (`ledger.payouts.arithmetic.Timeline`). When the period
before `first` is closed (close mark L), the rows counting in [first, last] are exactly

  (a) the rows booked after L (seq > L.through_seq) that occurred before `last` ended
      (late ones, dated in a closed period, count in `first`): read by seq, what was
      booked since L, the later-dated ones skipped here, and
  (b) the rows booked up to L that are dated in [first.start, last.end) (booked early,
      e.g. November's first days before October was closed),

so a period is read through two index ranges — seq (primary key) and (currency,
occurred_at) — never the history before it; what came before is the opening balance
the close of L carried (`ledger.payouts.close_entries`). Rows stream from the database
(`yield_per`): nothing here holds a period in memory. Every row is still filtered by its
effective period in Python, so the SQL ranges only need to be a superset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, func, select, union_all

from ledger.payouts.close_entries import carried_by
from ledger.books.encoding import utc
from ledger.money import checked_total
from ledger.payouts.arithmetic import CloseMark, Timeline, period_deltas
from ledger.payouts.periods import Period, period_of
from ledger.books.schema import TRANSFERS

ROW_COLUMNS = (TRANSFERS.c.seq, TRANSFERS.c.id, TRANSFERS.c.event_id, TRANSFERS.c.kind,
               TRANSFERS.c.debit_account, TRANSFERS.c.credit_account, TRANSFERS.c.amount, TRANSFERS.c.currency,
               TRANSFERS.c.occurred_at, TRANSFERS.c.memo, TRANSFERS.c.reverses_id)
STREAM_ROWS = 2000


def mark_of(line: Timeline, period: Period) -> CloseMark | None:
    return next((mark for mark in reversed(line.closes) if mark.period == period), None)


def first_period(connection: Connection, currency: str, line: Timeline) -> Period | None:
    """The currency's first period: the first close's or, before any, the period of its
    earliest transfer (one index probe); None when it has no transfer."""
    if line.first_closed is not None:
        return line.first_closed
    earliest = connection.execute(select(func.min(TRANSFERS.c.occurred_at))
                                  .where(TRANSFERS.c.currency == currency)).scalar()
    return None if earliest is None else period_of(utc(earliest), line.cadence)


def period_rows(connection: Connection, currency: str, line: Timeline, first: Period, last: Period,
                head: int, account: str | None = None, columns=ROW_COLUMNS) -> Iterator[dict[str, Any]]:
    """Rows of `currency` (moving `account` if given) with seq <= `head` whose effective
    period is in [first, last], in seq order, each with `effective` and `late` added."""
    before = mark_of(line, first.previous())
    # (b) by time: (currency, occurred_at); (a) by seq: the primary key alone, so no planner
    # walks the time index from the ledger's first day (currency is checked below), or for
    # one account its indexes (account, currency, seq), one query per side.
    dated = [TRANSFERS.c.currency == currency, TRANSFERS.c.occurred_at < last.end]
    if before is None:
        ranges = [dated + [TRANSFERS.c.seq <= head]]
    else:
        ranges = [dated + [TRANSFERS.c.seq <= min(head, before.through_seq), TRANSFERS.c.occurred_at >= first.start],
                  [TRANSFERS.c.seq > before.through_seq, TRANSFERS.c.seq <= head]]
    streaming = connection.execution_options(yield_per=STREAM_ROWS)
    for bounds in ranges:
        if account is None or bounds[0] is dated[0]:  # by time: the account is checked below
            query = select(*columns).where(*bounds).order_by(TRANSFERS.c.seq)
        else:  # one query per side, so each is a range of its index (account, currency, seq)
            sides = union_all(*(select(*columns).where(*bounds, side == account, TRANSFERS.c.currency == currency)
                                for side in (TRANSFERS.c.credit_account, TRANSFERS.c.debit_account))).subquery()
            query = select(sides).order_by(sides.c.seq)
        for row in streaming.execute(query).mappings():
            values = dict(row)
            if values.get("currency", currency) != currency or (
                    account is not None and account not in (values["credit_account"], values["debit_account"])):
                continue
            values["occurred_at"] = utc(values["occurred_at"])
            if "created_at" in values:
                values["created_at"] = utc(values["created_at"])
            effective, late = line.effective_period(values["seq"], values["occurred_at"])
            if first <= effective <= last:
                values["effective"], values["late"] = effective, late
                yield values


def opening_balances(connection: Connection, currency: str, line: Timeline, period: Period) -> dict[str, int]:
    """Payee balances `period` opens with: what the close of the period before carried
    (its close entries); {} when that period is not closed. A close made before close
    entries existed recorded none: its balances are then replayed from the transfers, once."""
    before = mark_of(line, period.previous())
    if before is None:
        return {}
    carried = carried_by(connection, before.period, currency)
    if carried is not None:
        return carried
    first = line.first_closed
    totals: dict[str, int] = {}
    for rows in period_deltas(period_rows(connection, currency, Timeline(line.cadence, [
            mark for mark in line.closes if mark.through_seq <= before.through_seq]), first, before.period,
            before.through_seq)).values():
        for account, delta in rows.items():
            totals[account] = checked_total([totals.get(account, 0), delta], f"The balance of {account}")
    return totals
