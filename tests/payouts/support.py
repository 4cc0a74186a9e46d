"""Payout test support: a ledger environment that books attributed events like the writer does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from fractions import Fraction

from sqlalchemy import func, select

from ledger.books.schema import TRANSFERS
from tests.ledger.support import LedgerEnv
from services.signed_rewards import Signers, enrol, reward

MODEL = "model:sd-1.5"


def eid(name: str) -> str:
    """The canonical event id (a lower-case UUID) a test names `name`, e.g. "e1"."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fairsplit-test:{name}"))


class PayoutEnv(LedgerEnv):
    """The ledger environment of the payout tests, with what they book and read."""

    signers: Signers | None = None

    def reward(self, event_id: str, when: datetime, amount: int, shares: dict[str, Fraction],
               currency: str = "USD", content: str = "an image of a man", test_model: bool | None = None) -> None:
        """Book one attributed event the way the ledger writer does: a platform-signed event, a
        worker-signed result (`test_model`: its `method.test_model`), the rewards bound to it."""
        if self.signers is None:
            self.signers = enrol(self.ledger)
        reward(self.ledger, self.signers, eid(event_id), shares, amount, currency=currency, when=when, content=content,
               test_model=bool(test_model))

    def balance(self, account: str, currency: str = "USD") -> int:
        return self.ledger.balance(account, currency)[currency]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(TRANSFERS)).scalar()


def at(day: int, month: int = 11, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)
