"""Closing a payout period, the whole workflow `fairsplit payouts close` runs: close the
period (and earlier open ones) for a currency, sign a checkpoint of the log that now holds
the close's entries, then ask the configured witnesses to cosign it.

Every close ends in a signed tree head, so a payee can prove their payout against it at
once. A witness that cannot be reached is an outcome to report, never an error: the close
and its checkpoint stand, and the next cosigning round (`fairsplit ledger cosign`, or the
writer's) asks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.payouts.close import CloseResult, close_period
from ledger.payouts.periods import Period
from ledger.books.store import Ledger
from ledger.transparency.tree import StoredCheckpoint, create_checkpoint
from services.witness_client import WitnessOutcome, WitnessPool


@dataclass(frozen=True)
class WitnessedClose:
    result: CloseResult
    checkpoint: StoredCheckpoint  # signed right after the close: it covers the close's entries
    witnesses: list[WitnessOutcome]  # one per configured witness; empty when none is configured


def close_and_witness(ledger: Ledger, period: Period, currency: str, minimum: int, pool: WitnessPool | None,
                      now: datetime | None = None) -> WitnessedClose:
    """Close `period` for `currency` (paying balances of at least `minimum` micro-units),
    sign a checkpoint, ask `pool`'s witnesses to cosign it. `ledger` must sign."""
    result = close_period(ledger, period, currency, minimum, now)
    checkpoint = create_checkpoint(ledger.engine, ledger.signer)
    return WitnessedClose(result, checkpoint, pool.cosign_latest(ledger.engine) if pool is not None else [])
