"""Helpers of the verifiable-ledger tests: a migrated ledger with a key, and what it books."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ledger.books.store import TransferSpec
from tests.ledger.support import LedgerEnv, make_ledger_env

WHEN = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)
PAYEES = ("artist:van-gogh", "artist:monet", "model:sd-1.5")


class Env(LedgerEnv):
    def book(self, count: int, start: int = 0, amount: int = 1000) -> None:
        """`count` transfers ev-<start>… cycling through PAYEES: payouts, so the proofs' tests need
        no signed evidence (rewards carry theirs: `services.signed_rewards`); balances are negative."""
        self.ledger.append([
            TransferSpec(f"ev-{n}", PAYEES[n % 3], "payouts:USD", amount + n, "USD", "payout", WHEN)
            for n in range(start, start + count)
        ])


def make_env(url: str, key_dir: Path) -> Env:
    """A migrated ledger at `url` with a new key in `key_dir` (`make_ledger_env`, as an `Env`)."""
    return make_ledger_env(url, key_dir, Env)
