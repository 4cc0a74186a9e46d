"""The paired check of maintained balances and close entries, for `ledger verify`.

1. Every `account_balances` row with through_seq > `after` equals the balance re-derived
   from the transfers (credits − debits of the pair through that seq), and every pair a
   transfer after `after` moved has a row at or after that transfer's seq, equal to its
   balance (`audit_balances`). From a kept checkpoint, the balances at it are the
   newest rows at or before it (themselves checked by an earlier verify).
2. Every close whose through_seq > `after` and that recorded close entries: the entries
   are exactly one per payee, and each one's carried balance, balance and payout are the
   ones re-derived from the balances the close before it carried and the rows of its
   period, with the payout rule of `ledger.payouts.arithmetic.decide` (`audit_closes`).

Both stream (transfers and balance rows in seq order); memory is one integer per pair.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, Engine, select

from ledger.books.balances import Pair, latest_balances
from ledger.payouts.close_entries import close_entry_rows, parse_close_entry
from ledger.payouts.close import closes, timeline
from ledger.money import MAX_MICROS
from ledger.payouts.arithmetic import decide, is_payee
from ledger.payouts.period_reading import STREAM_ROWS, opening_balances, period_rows
from ledger.payouts.periods import parse_period
from ledger.books.schema import ACCOUNT_BALANCES, TRANSFERS


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    balances: int  # balance rows re-derived
    closes: int  # closes whose entries were re-derived
    legacy_closes: int = 0  # closes made before close entries existed (nothing recorded to check)
    problem: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def audit(engine: Engine, after: int = 0) -> AuditReport:
    """Checks 1 and 2 of the module docstring, for what comes after seq `after`."""
    with engine.connect() as connection:
        checked, problem = audit_balances(connection, after)
        if problem is not None:
            return AuditReport(False, checked, 0, problem=problem)
        closed, legacy, problem = audit_closes(connection, after)
    return AuditReport(problem is None, checked, closed, legacy, problem)


def _moves(connection: Connection, after: int) -> Iterator[tuple[int, str, str, int, str]]:
    query = (select(TRANSFERS.c.seq, TRANSFERS.c.credit_account, TRANSFERS.c.debit_account, TRANSFERS.c.amount,
                    TRANSFERS.c.currency).where(TRANSFERS.c.seq > after).order_by(TRANSFERS.c.seq))
    yield from connection.execution_options(yield_per=STREAM_ROWS).execute(query)


def audit_balances(connection: Connection, after: int = 0) -> tuple[int, str | None]:
    """Check 1; returns (balance rows checked, the first problem or None)."""
    snapshots = (select(ACCOUNT_BALANCES.c.through_seq, ACCOUNT_BALANCES.c.account, ACCOUNT_BALANCES.c.currency,
                        ACCOUNT_BALANCES.c.balance)
                 .where(ACCOUNT_BALANCES.c.through_seq > after)
                 .order_by(ACCOUNT_BALANCES.c.through_seq, ACCOUNT_BALANCES.c.account, ACCOUNT_BALANCES.c.currency))
    derived: dict[Pair, int] = {}
    moved_at: dict[Pair, int] = {}
    kept_at: dict[Pair, int] = {}
    moves = _moves(connection, after)
    pending = next(moves, None)
    checked = 0

    def derive(pair: Pair, delta: int) -> None:
        if pair not in derived:
            derived[pair] = latest_balances(connection, [pair], after).get(pair, 0) if after else 0
        derived[pair] += delta

    for through, account, currency, balance in connection.execution_options(yield_per=STREAM_ROWS).execute(snapshots):
        while pending is not None and pending[0] <= through:
            seq, credit, debit, amount, cur = pending
            if amount:
                derive((credit, cur), amount)
                derive((debit, cur), -amount)
                moved_at[(credit, cur)] = moved_at[(debit, cur)] = seq
            pending = next(moves, None)
        pair = (account, currency)
        if pair not in derived:
            derive(pair, 0)
        if derived[pair] != balance:
            return checked, (f"the maintained balance of {account} ({currency}) through seq {through} is {balance}, "
                             f"but the transfers add up to {derived[pair]}")
        kept_at[pair] = through
        checked += 1
    while pending is not None:
        if pending[3]:
            return checked, f"transfer seq {pending[0]} moved money but no maintained balance records it"
        pending = next(moves, None)
    for pair, seq in moved_at.items():
        if kept_at.get(pair, 0) < seq:
            return checked, f"the maintained balance of {pair[0]} ({pair[1]}) misses transfer seq {seq}"
    for pair, total in derived.items():
        if not -MAX_MICROS <= total <= MAX_MICROS:
            return checked, f"the balance of {pair[0]} ({pair[1]}) leaves the 64-bit range"
    return checked, None


def audit_closes(connection: Connection, after: int = 0) -> tuple[int, int, str | None]:
    """Check 2; returns (closes checked, closes with no entries, the first problem or None)."""
    checked = legacy = 0
    for record in closes(connection):
        if record["through_seq"] <= after:
            continue
        period, currency = parse_period(record["period"]), record["currency"]
        entries = {}
        for row in close_entry_rows(connection, period, currency):
            entry = parse_close_entry(row)
            if entry is None or entry.period != period.id:
                return checked, legacy, f"close entry seq {row['seq']} is not a well-formed close of {period.id}"
            if row["seq"] > record["through_seq"]:
                return checked, legacy, f"close entry seq {row['seq']} comes after the close of {period.id}"
            entries[entry.account] = entry
        if not entries:
            legacy += record["payees"] > 0
            continue
        problem = _close_problem(connection, record, period, entries)
        if problem is not None:
            return checked, legacy, problem
        checked += 1
    return checked, legacy, None


def _close_problem(connection: Connection, record: dict, period, entries: dict) -> str | None:
    currency = record["currency"]
    line = timeline(connection, currency)
    balances = dict(opening_balances(connection, currency, line, period))
    paid: dict[str, int] = {}
    for row in period_rows(connection, currency, line, period, period, record["through_seq"]):
        for account, sign in ((row["credit_account"], 1), (row["debit_account"], -1)):
            if is_payee(account) and row["amount"]:
                balances[account] = balances.get(account, 0) + sign * row["amount"]
                if row["kind"] == "payout":
                    paid[account] = paid.get(account, 0) + row["amount"]
    if set(entries) != set(balances) or len(entries) != record["payees"]:
        missing = sorted(set(balances) ^ set(entries))
        return f"the close of {period.id} ({currency}) has no entry, or an extra one, for {missing[0] if missing else 'a payee'}"
    for account, carried in balances.items():
        entry, expected = entries[account], decide(account, carried + paid.get(account, 0), currency, record["min_payout"])
        if (entry.balance, entry.paid, entry.carried) != (expected.balance, paid.get(account, 0), carried) \
                or expected.paid != entry.paid:
            return (f"the close of {period.id} ({currency}) states {account} carried {entry.carried} of {entry.balance}, "
                    f"but the transfers give {carried} of {expected.balance}")
    return None
