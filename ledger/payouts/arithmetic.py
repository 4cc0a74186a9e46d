"""Payout arithmetic, without a database: what a period close pays and what it carries.

Invariants (each checked in one place, named below):
  1. Only payees are paid: `artist:` and `model:` accounts (`is_payee`).
  2. Paid = the balance rounded DOWN to the currency's minor unit (1 cent = 10,000
     micro-units in USD, 1 yen = 1,000,000 in JPY), and only when that rounded amount is
     at least the minimum payout and above zero (`decide`). A negative balance (after
     reversals) is never paid.
  3. Nothing is lost: `paid + carried == balance` for every account; the carried part
     (sub-cent remainder, sub-minimum or negative balance) stays in the account and is
     the next period's opening balance (`decide`).
  4. A transfer's effective period is the period of its `occurred_at`, unless that
     period (or a later one) was already closed when the transfer was appended — then
     it is the first period after the last close (`effective_period`): closed periods
     never change, late events are paid in the next open period.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.money import MICRO_DIGITS, check_currency, minor_units
from ledger.payouts.periods import Period, period_of

PAYEE_KINDS = ("artist", "model")


def is_payee(account: str) -> bool:
    return account.partition(":")[0] in PAYEE_KINDS


def minor_unit_micros(currency: str) -> int:
    """Micro-units in the currency's smallest coin: USD 10,000 (a cent), JPY 1,000,000."""
    return 10 ** (MICRO_DIGITS - minor_units(currency))


def round_down_to_minor(amount: int, currency: str) -> int:
    """`amount` (>= 0) rounded down to a whole number of minor units."""
    unit = minor_unit_micros(currency)
    return amount - amount % unit


def payout_event_id(period: Period, currency: str) -> str:
    """The event id of a close's payout transfers: `payout:<period>:<CUR>`.

    Transfer ids derive from (event id, payee, kind), so a period can pay an account once.
    """
    return f"payout:{period.id}:{check_currency(currency)}"


def payout_time(period: Period) -> datetime:
    """`occurred_at` of a period's payouts: its last microsecond, so they fall inside it."""
    return period.end - timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class PayoutDecision:
    """What a close does with one account's balance (micro-units)."""

    account: str
    balance: int
    paid: int
    carried: int
    reason: str  # paid | below-minimum | negative | nothing

    def as_dict(self) -> dict[str, object]:
        return {"account": self.account, "balance": self.balance, "paid": self.paid,
                "carried": self.carried, "reason": self.reason}


def decide(account: str, balance: int, currency: str, minimum: int = 0) -> PayoutDecision:
    """Invariants 2 and 3 for one account."""
    if isinstance(balance, bool) or not isinstance(balance, int):
        raise TypeError(f"Balance {balance!r} must be an integer number of micro-units.")
    if balance < 0:
        return PayoutDecision(account, balance, 0, balance, "negative")
    payable = round_down_to_minor(balance, currency)
    if payable == 0:
        return PayoutDecision(account, balance, 0, balance, "nothing")
    if payable < minimum:
        return PayoutDecision(account, balance, 0, balance, "below-minimum")
    return PayoutDecision(account, balance, payable, balance - payable, "paid")


def plan_payouts(balances: Mapping[str, int], currency: str, minimum: int = 0) -> list[PayoutDecision]:
    """A decision for every payee account in `balances`, sorted by account."""
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
        raise ValueError(f"Minimum payout {minimum!r} must be a non-negative integer number of micro-units.")
    return [decide(account, balances[account], currency, minimum)
            for account in sorted(balances) if is_payee(account)]


@dataclass(frozen=True, slots=True)
class CloseMark:
    """A closed period and the ledger head seq its close covered (payouts included)."""

    period: Period
    through_seq: int


class Timeline:
    """Effective periods (invariant 4) given the closes of one currency, oldest first."""

    def __init__(self, cadence: str, closes: Sequence[CloseMark] = ()) -> None:
        self.cadence = cadence
        self.closes = sorted(closes, key=lambda mark: (mark.through_seq, mark.period.start))
        self._seqs = [mark.through_seq for mark in self.closes]

    @property
    def last_closed(self) -> Period | None:
        return self.closes[-1].period if self.closes else None

    @property
    def first_closed(self) -> Period | None:
        return self.closes[0].period if self.closes else None

    def closed_before(self, seq: int) -> Period | None:
        """The newest period that was already closed when the transfer `seq` was appended."""
        index = bisect.bisect_left(self._seqs, seq)
        return self.closes[index - 1].period if index else None

    def effective_period(self, seq: int, occurred_at: datetime) -> tuple[Period, bool]:
        """(the period the transfer counts in, whether it arrived late for its own period)."""
        own = period_of(occurred_at, self.cadence)
        closed = self.closed_before(seq)
        if closed is None or own > closed:
            return own, False
        return closed.next(), True

    def is_closed(self, period: Period) -> bool:
        """Closed: between the first and the last close (periods before the ledger's first
        entry were never closed, and no close may name them)."""
        return self.last_closed is not None and self.first_closed <= period <= self.last_closed


def period_deltas(rows: Iterable[Mapping[str, object]]) -> dict[Period, dict[str, int]]:
    """{effective period: {payee account: net change}} of `rows`, each carrying its
    `effective` period (`Timeline.effective_period`, as `ledger.payouts.period_reading` adds it).

    A period's payee balances are the balances the close before it carried plus these
    deltas: the close never replays the history before its own periods.
    """
    deltas: dict[Period, dict[str, int]] = {}
    for row in rows:
        into = deltas.setdefault(row["effective"], {})
        for account, sign in ((row["credit_account"], 1), (row["debit_account"], -1)):
            if is_payee(account) and row["amount"]:
                into[account] = into.get(account, 0) + sign * row["amount"]
    return deltas
