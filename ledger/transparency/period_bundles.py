"""Per-period balance bundles from the database (`balance ARTIST --proof FILE --period P`).

A bundle of one period holds, per currency of the account: the close entry of the period
before (the signed opening balance), every entry of the account counting in the period
(read through `ledger.payouts.period_reading`: the period's index ranges, never the history),
and, once the period is closed, its own close entry (the closing balance); each with its
inclusion proof under one signed checkpoint; and the evidence its rewards were paid for
with the key entries that check it (`ledger.evidence.bundle`). Its format is `ledger.tlog.period_proofs`.
Cost: the account's entries of the period, plus O(log n) tree nodes per entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from ledger.books.balances import account_currencies
from ledger.payouts.close_entries import close_prefix, parse_close_entry
from ledger.payouts.close import timeline
from ledger.transparency.cosigned_notes import cosigned_note
from ledger.evidence.bundle import evidence_part
from ledger.keys.signing import Signer
from ledger.tlog.merkle import inclusion_proof, nodes_for_inclusion
from ledger.tlog.period_proofs import period_part
from ledger.payouts.period_reading import first_period, mark_of, period_rows
from ledger.payouts.periods import Period
from ledger.tlog.proofs import BUNDLE_FORMAT, display_balances, inclusion_part
from ledger.books.schema import TRANSFERS
from ledger.transparency.proving import bundle_checkpoint
from ledger.transparency.tree import TransparencyError, node_fetcher


def period_bundle(engine: Engine, account: str, period: Period, signer: Signer | None = None) -> dict[str, Any]:
    """The bundle of `account` in `period`, under a checkpoint covering what it lists."""
    checkpoint = bundle_checkpoint(engine, signer)
    size = checkpoint.size
    with engine.connect() as connection:
        rows, ends = [], {}
        for currency in account_currencies(connection, account):
            line = timeline(connection, currency, period.cadence)
            first = first_period(connection, currency, line)
            if first is None or period < first:
                continue
            before = _close_row(connection, period.previous(), currency, account, size)
            if before is None and mark_of(line, period.previous()) is not None \
                    and not _recorded_entries(connection, period.previous(), currency):
                raise TransparencyError(f"The close of {period.previous().id} ({currency}) recorded no close entry "
                                        f"for {account} (it predates close entries), so {period.id} has no signed opening.")
            if before is None and period != first:
                raise TransparencyError(f"{period.previous().id} is not closed for {currency}, so {period.id} has no "
                                        "signed opening balance yet; close it first.")
            mark = mark_of(line, period)
            until = min(size, mark.through_seq if mark else size)
            rows += period_rows(connection, currency, line, period, period, until, account, columns=[TRANSFERS])
            ends[currency] = (before, _close_row(connection, period, currency, account, size))
        if not ends:
            raise TransparencyError(f"{account} has no entries in {period.id} or before it.")
        proven = rows + [row for pair in ends.values() for row in pair if row is not None]
        wanted = sorted({node for row in proven for node in nodes_for_inclusion(row["seq"] - 1, size)})
        nodes = node_fetcher(connection)(wanted)
        note = cosigned_note(connection, size, checkpoint.note)
        evidence = evidence_part(connection, rows, size)  # what the period's rewards were paid for, and the keys

    def part(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return inclusion_part(row, inclusion_proof(row["seq"] - 1, size, lambda want: {n: nodes[n] for n in want if n in nodes}))

    balances: dict[str, int] = {}
    openings = {}
    for currency, (before, after) in ends.items():
        opening = _carried(before)
        openings[currency] = (opening, part(before), part(after))
        balances[currency] = opening
    rows.sort(key=lambda row: row["seq"])
    for row in rows:
        sign = 1 if row["credit_account"] == account else -1
        balances[row["currency"]] += sign * row["amount"]
    return {"format": BUNDLE_FORMAT, "account": account, "balances": dict(sorted(balances.items())),
            "display": display_balances(balances), "entries": [part(row) for row in rows],
            **evidence, "period": period_part(period.id, openings), "checkpoint": note}


def _close_row(connection, period: Period, currency: str, account: str, size: int) -> dict[str, Any] | None:
    row = connection.execute(select(TRANSFERS).where(TRANSFERS.c.event_id == close_prefix(period, currency) + account,
                                                     TRANSFERS.c.kind == "close", TRANSFERS.c.seq <= size)).mappings().first()
    return None if row is None else dict(row)


def _recorded_entries(connection, period: Period, currency: str) -> bool:
    """Whether the close of `period` recorded close entries (closes before they existed did not)."""
    prefix = close_prefix(period, currency)
    return connection.execute(select(TRANSFERS.c.seq).where(
        TRANSFERS.c.event_id >= prefix, TRANSFERS.c.event_id < prefix[:-1] + ";").limit(1)).first() is not None


def _carried(row: dict[str, Any] | None) -> int:
    entry = None if row is None else parse_close_entry(row)
    return 0 if entry is None else entry.carried
