"""Payout periods on the database: closing them (payouts and close records) and listing
them. The arithmetic is pure, in `ledger.payouts.arithmetic` and `ledger.payouts.periods`.

Invariants:
  1. A close is atomic: its payout transfers and its `period_closes` rows are written in
     one transaction, under the ledger's chain lock, after checking that the ledger head
     and the currency's last close are the ones the plan was computed from (otherwise the
     plan is recomputed) — so two racing closes never both land.
  2. Closes are idempotent and lock their period: closing a closed period writes nothing
     and says so; payout ids derive from `payout:<period>:<CUR>`, so no account can be
     paid twice for one period even by a racing close.
  3. Periods of one currency close in order, in one cadence (fixed at the first close):
     closing P also closes every earlier open period since the last close (or since the
     first transfer), oldest first, each with its own payouts and record, in the same
     transaction.
  4. A period closes only once it has ended, and never before the ledger's first period
     of that currency (there is nothing to close there; the close is refused).
  5. A close records what it carried in the log: after each period's payouts, one close
     entry per payee decided on (`ledger.payouts.close_entries`), so the next close reads those
     balances and the rows of its own periods only (`ledger.payouts.period_reading`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine

from ledger.books.encoding import utc
from ledger.errors import LedgerError
from ledger.money import check_currency, checked_total
from ledger.payouts.close_entries import close_specs
from ledger.payouts.arithmetic import (CloseMark, PayoutDecision, Timeline, payout_event_id, payout_time, period_deltas,
                            plan_payouts)
from ledger.payouts.period_reading import first_period, opening_balances, period_rows
from ledger.payouts.periods import DEFAULT_CADENCE, Period, parse_period, periods_between
from ledger.books.schema import PERIOD_CLOSES as CLOSES, TRANSFERS
from ledger.books.store import Ledger, StoredTransfer, TransferSpec

_RETRIES = 5


class PeriodLockedError(LedgerError):
    """A close that would have to change a closed period."""


class _HeadMoved(Exception):
    """The ledger grew between planning and writing; plan again."""


# --- reading ------------------------------------------------------------------------


def closes(connection: Connection | Engine, currency: str | None = None) -> list[dict[str, Any]]:
    """Close records, oldest first (per currency)."""
    query = select(CLOSES).order_by(CLOSES.c.currency, CLOSES.c.through_seq, CLOSES.c.period)
    if currency is not None:
        query = query.where(CLOSES.c.currency == currency)
    if isinstance(connection, Engine):
        with connection.connect() as conn:
            return closes(conn, currency)
    return [dict(row._mapping) | {"closed_at": utc(row.closed_at)} for row in connection.execute(query)]


def timeline(connection: Connection | Engine, currency: str, cadence: str | None = None) -> Timeline:
    """The currency's closes as a Timeline; `cadence` (if given) must match theirs."""
    records = closes(connection, currency)
    known = records[0]["cadence"] if records else None
    if known and cadence and known != cadence:
        raise PeriodLockedError(
            f"{currency} periods are closed {known}; a {cadence} period cannot be used with them."
        )
    cadence = known or cadence or DEFAULT_CADENCE
    marks = [CloseMark(parse_period(record["period"]), record["through_seq"]) for record in records]
    return Timeline(cadence, marks)


def _head_seq(connection: Connection) -> int:
    return int(connection.execute(select(func.coalesce(func.max(TRANSFERS.c.seq), 0))).scalar())


# --- closing ------------------------------------------------------------------------


@dataclass
class PeriodPlan:
    period: Period
    decisions: list[PayoutDecision]
    through_seq: int = 0

    @property
    def paid(self) -> list[PayoutDecision]:
        return [decision for decision in self.decisions if decision.paid > 0]


@dataclass
class CloseResult:
    """What `close_period` did: the periods it closed now (empty when already closed)."""

    period: Period
    currency: str
    closed: list[PeriodPlan] = field(default_factory=list)
    already_closed: bool = False
    transfers: list[StoredTransfer] = field(default_factory=list)

    @property
    def paid_total(self) -> int:
        return checked_total((decision.paid for plan in self.closed for decision in plan.paid), "The payouts")


def plan_close(opening: Mapping[str, int], deltas: Mapping[Period, Mapping[str, int]], first: Period,
               target: Period, currency: str, minimum: int, head_seq: int) -> list[PeriodPlan]:
    """Pure: the periods [first, target] that closing `target` closes now, oldest first.

    `opening`: the payee balances the last close carried; `deltas`: what each period's
    rows (`ledger.payouts.period_reading.period_deltas`) add. Each plan's through_seq counts its
    payouts and its close entries (one per decision), written in that order.
    """
    balances = dict(opening)
    plans: list[PeriodPlan] = []
    through = head_seq
    for period in periods_between(first, target):
        for account, delta in deltas.get(period, {}).items():
            balances[account] = checked_total([balances.get(account, 0), delta], f"The balance of {account}")
        plan = PeriodPlan(period, plan_payouts(balances, currency, minimum))
        for decision in plan.paid:
            balances[decision.account] -= decision.paid
        through += len(plan.paid) + len(plan.decisions)
        plan.through_seq = through
        plans.append(plan)
    return plans


def payout_specs(plans: Iterable[PeriodPlan], currency: str) -> list[TransferSpec]:
    """Each plan's payouts, then its close entries (`ledger.payouts.close_entries`)."""
    specs = []
    for plan in plans:
        specs += [TransferSpec(payout_event_id(plan.period, currency), decision.account, f"payouts:{currency}",
                               decision.paid, currency, "payout", payout_time(plan.period),
                               memo=f"payout for period {plan.period.id}")
                  for decision in plan.paid]
        specs += close_specs(plan.period, currency, plan.decisions)
    return specs


def close_period(ledger: Ledger, period: Period | str, currency: str = "USD", minimum: int = 0,
                 now: datetime | None = None) -> CloseResult:
    """Close `period` (and earlier open periods) for `currency`; see the module invariants.

    Reads the balances the last close carried and the rows of the periods it closes
    (`ledger.payouts.period_reading`), streamed into per-account sums: never the older history.
    """
    period = parse_period(period) if isinstance(period, str) else period
    check_currency(currency)
    now = utc(now or datetime.now(UTC))
    if period.end > now:
        raise PeriodLockedError(
            f"Period {period.id} has not ended yet (it ends {period.end.isoformat().replace('+00:00', 'Z')}), "
            "so it cannot be closed."
        )
    for _ in range(_RETRIES):
        with ledger.engine.connect() as connection:
            line = timeline(connection, currency, period.cadence)
            head = _head_seq(connection)
            first = first_period(connection, currency, line)
            if first is None:
                raise PeriodLockedError(f"The ledger has no {currency} transfers yet, so there is no period to close.")
            if period < first:
                raise PeriodLockedError(f"Period {period.id} ends before the ledger's first {currency} period "
                                        f"({first.id}); there is nothing to close.")
            if line.is_closed(period):
                return CloseResult(period, currency, already_closed=True)
            start = line.last_closed.next() if line.last_closed is not None else first
            opening = opening_balances(connection, currency, line, start)
            deltas = period_deltas(period_rows(connection, currency, line, start, period, head))
        plans = plan_close(opening, deltas, start, period, currency, minimum, head)
        records = [_close_record(plan, currency, minimum, now) for plan in plans]
        try:
            stored = _append_with(ledger, payout_specs(plans, currency), head, records, line)
        except _HeadMoved:
            continue
        return CloseResult(period, currency, plans,
                           transfers=[transfer for transfer in stored if transfer.kind == "payout"])
    raise LedgerError("The ledger kept growing while closing the period; try the close again.")


def _close_record(plan: PeriodPlan, currency: str, minimum: int, now: datetime) -> dict[str, Any]:
    return {
        "currency": currency, "period": plan.period.id, "cadence": plan.period.cadence, "closed_at": now,
        "through_seq": plan.through_seq, "min_payout": minimum, "payees": len(plan.decisions),
        "paid_count": len(plan.paid),
        "paid_total": checked_total((d.paid for d in plan.paid), f"The payouts of {plan.period.id}"),
        "carried_total": checked_total((d.carried for d in plan.decisions), f"The carried balances of {plan.period.id}"),
    }


def _append_with(ledger: Ledger, specs: list[TransferSpec], head: int, records: list[dict],
                 line: Timeline) -> list[StoredTransfer]:
    """Append `specs` and insert the close `records` in one chain-locked transaction.

    Under the lock, the currency's closes must still be the ones the plan was made from
    (same last close, same cadence): two racing closes of different cadences cannot both
    land, and one currency keeps the cadence of its first close forever.
    """
    currency = records[0]["currency"]

    def record(connection: Connection) -> bool:
        last = connection.execute(
            select(CLOSES.c.period, CLOSES.c.cadence).where(CLOSES.c.currency == currency)
            .order_by(CLOSES.c.through_seq.desc(), CLOSES.c.closed_at.desc()).limit(1)
        ).first()
        if last is not None and last.cadence != records[0]["cadence"]:
            raise PeriodLockedError(f"{currency} periods are closed {last.cadence}; "
                                    f"a {records[0]['cadence']} period cannot be used with them.")
        seen = line.last_closed.id if line.last_closed else None
        if _head_seq(connection) != head or (last.period if last else None) != seen:
            raise _HeadMoved()
        connection.execute(insert(CLOSES), records)
        return True

    return ledger.append(specs, before_insert=record)


def list_payouts(engine: Engine, period: Period | None = None) -> list[dict[str, Any]]:
    """Close records (newest first) with the payout transfers each one made."""
    with engine.connect() as connection:
        records = closes(connection)
        if period is not None:
            records = [r for r in records if r["period"] == period.id]
        for record in records:
            event_id = payout_event_id(parse_period(record["period"]), record["currency"])
            record["payouts"] = [
                dict(row._mapping) for row in connection.execute(
                    select(TRANSFERS.c.seq, TRANSFERS.c.id, TRANSFERS.c.debit_account.label("account"),
                           TRANSFERS.c.amount)
                    .where(TRANSFERS.c.event_id == event_id, TRANSFERS.c.kind == "payout")
                    .order_by(TRANSFERS.c.debit_account))
            ]
    return sorted(records, key=lambda r: (r["currency"], r["through_seq"], r["period"]), reverse=True)
