"""What an account holder is shown: balances by period, paid totals, history lines with
the period each transfer counts in and whether that period is still open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from ledger.books.balances import account_currencies as moved_currencies
from ledger.payouts.close import timeline
from ledger.books.db import refuse_overflow
from ledger.books.encoding import utc
from ledger.payouts.periods import Period
from ledger.books.schema import ARTISTS, EVENTS, PLATFORMS, TEST_MODEL_EVENT, TRANSFERS
from ledger.statements.export import statements_for
from ledger.statements.lines import Statement
from ledger.books.store import Ledger, StoredTransfer


def account_period_view(engine: Engine, account: str, period: Period, currency: str) -> Statement:
    """One account's statement for `period` (open or closed): pending vs paid for balance/history."""
    statements, _ = statements_for(engine, period, currency, [account])
    return statements[0] if statements else Statement(account, currency, period.id)


def paid_totals(engine: Engine, account: str) -> dict[str, int]:
    """Everything ever paid out of `account` (its payout transfers), per currency."""
    query = (select(TRANSFERS.c.currency, func.sum(TRANSFERS.c.amount))
             .where(TRANSFERS.c.debit_account == account, TRANSFERS.c.kind == "payout")
             .group_by(TRANSFERS.c.currency))
    with engine.connect() as connection, refuse_overflow(f"The payouts of {account}"):
        return {currency: int(total) for currency, total in connection.execute(query)}


def period_status(engine: Engine, transfers: Iterable[StoredTransfer]) -> dict[int, dict[str, Any]]:
    """seq -> {period, late, status} for booked transfers: the period each one counts in,
    whether it arrived after its own period closed, and `pending` (period open) or `closed`."""
    by_currency: dict[str, list[StoredTransfer]] = {}
    for transfer in transfers:
        by_currency.setdefault(transfer.currency, []).append(transfer)
    found: dict[int, dict[str, Any]] = {}
    with engine.connect() as connection:
        for currency, group in by_currency.items():
            line = timeline(connection, currency)
            for transfer in group:
                period, late = line.effective_period(transfer.seq, transfer.occurred_at)
                found[transfer.seq] = {"period": period.id, "late": late,
                                       "status": "closed" if line.is_closed(period) else "pending"}
    return found


def period_transfers(engine: Engine, account: str, period: Period, limit: int) -> list[StoredTransfer]:
    """The account's transfers that count in `period` (any currency), newest first."""
    seqs: list[int] = []
    for currency in account_currencies(engine, account):
        seqs += [line.seq for line in account_period_view(engine, account, period, currency).lines]
    seqs = sorted(seqs, reverse=True)[:limit]
    with engine.connect() as connection:
        rows = connection.execute(select(TRANSFERS).where(TRANSFERS.c.seq.in_(seqs)).order_by(TRANSFERS.c.seq.desc()))
        return [StoredTransfer(**(dict(row._mapping) | {"occurred_at": utc(row.occurred_at),
                                                        "created_at": utc(row.created_at)})) for row in rows]


def account_known(engine: Engine, account: str) -> bool:
    """Whether `account` is one this ledger knows: a registered artist or platform, any
    account a transfer names, or the payouts account of a currency. An unknown account is
    an error to show, never a balance of zero (it may be a typo, or someone else's id)."""
    kind, _, ident = account.partition(":")
    if kind == "payouts":
        return True
    if kind == "ledger":
        return False  # the log's system entries (amount 0): no balance, no history to show
    with engine.connect() as connection:
        if kind == "artist" and connection.execute(
                select(ARTISTS.c.artist_id).where(ARTISTS.c.artist_id == ident)).first() is not None:
            return True
        if kind == "platform" and connection.execute(
                select(PLATFORMS.c.platform_id).where(PLATFORMS.c.platform_id == ident)).first() is not None:
            return True
        return connection.execute(select(TRANSFERS.c.seq).where(
            (TRANSFERS.c.credit_account == account) | (TRANSFERS.c.debit_account == account)).limit(1)).first() is not None


@dataclass(frozen=True)
class PeriodBalance:
    """One currency of an account in one period (micro-units)."""

    currency: str
    period: str
    status: str  # "open" | "closed"
    opening: int
    earned: int
    paid: int
    pending: int


def period_balances(engine: Engine, account: str, period: Period) -> list[PeriodBalance]:
    """Per currency the account ever used: what `period` opened with, earned, paid and left pending."""
    balances = []
    for currency in account_currencies(engine, account):
        view = account_period_view(engine, account, period, currency)
        status = "closed" if timeline(engine, currency, period.cadence).is_closed(period) else "open"
        balances.append(PeriodBalance(currency, period.id, status, view.opening, view.before_payout - view.opening,
                                      view.payout, view.closing))
    return balances


def account_currencies(engine: Engine, account: str) -> list[str]:
    """The currencies the account ever moved: one index probe each on the maintained balances."""
    with engine.connect() as connection:
        return moved_currencies(connection, account)


@dataclass(frozen=True)
class HistoryLine:
    """One transfer as the account holder sees it: signed for the account, with its period."""

    transfer: StoredTransfer
    amount: int  # positive into the account, negative out of it
    counterparty: str
    period: str
    late: bool
    status: str  # "pending" | "closed"


def account_history(engine: Engine, account: str, limit: int, period: Period | None = None) -> list[HistoryLine]:
    """The account's transfers, newest first (only those counting in `period` if given)."""
    transfers = (Ledger(engine).history(account, limit=limit) if period is None
                 else period_transfers(engine, account, period, limit))
    periods = period_status(engine, transfers)
    return [HistoryLine(t, t.amount if t.credit_account == account else -t.amount,
                        t.debit_account if t.credit_account == account else t.credit_account,
                        periods[t.seq]["period"], periods[t.seq]["late"], periods[t.seq]["status"])
            for t in transfers]


def paid_by_test_models(engine: Engine, account: str | None = None, event_ids: Iterable[str] | None = None) -> bool:
    """Whether any reward into `account` (or any of `event_ids`) was split by a test model,
    whose shares mean nothing: every output that shows such money says so.

    First one probe of the partial index of test-model events (`TEST_MODEL_EVENT`, the same
    text as the index's predicate, so the planners use it): on a ledger without test models
    that is all. Else those events joined to the account's rewards (or `event_ids`) by
    their indexes, stopping at the first: never a LIKE over every event."""
    query = select(EVENTS.c.event_id).where(text(TEST_MODEL_EVENT))
    if account is not None:
        query = query.join(TRANSFERS, TRANSFERS.c.event_id == EVENTS.c.event_id).where(
            TRANSFERS.c.kind == "reward", (TRANSFERS.c.credit_account == account) | (TRANSFERS.c.debit_account == account))
    if event_ids is not None:
        query = query.where(EVENTS.c.event_id.in_(list(event_ids)))
    with engine.connect() as connection:
        if connection.execute(select(EVENTS.c.event_id).where(text(TEST_MODEL_EVENT)).limit(1)).first() is None:
            return False
        return connection.execute(query.limit(1)).first() is not None
