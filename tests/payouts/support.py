"""Payout test support: a ledger environment that books attributed events like the writer does."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from fractions import Fraction

from sqlalchemy import func, select

from ledger.events import EventRecord, book_event
from ledger.schema import TRANSFERS
from ledger.store import reward_transfers
from tests.ledger.support import LedgerEnv

MODEL = "model:sd-1.5"


def eid(name: str) -> str:
    """The canonical event id (a lower-case UUID) a test names `name`, e.g. "e1"."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fairsplit-test:{name}"))


class PayoutEnv(LedgerEnv):
    """The ledger environment of the payout tests, with what they book and read."""

    def reward(self, event_id: str, when: datetime, amount: int, shares: dict[str, Fraction],
               currency: str = "USD", content: str = "an image of a man", test_model: bool | None = None) -> None:
        """Book one attributed event the way the ledger writer does (event row + reward transfers);
        `test_model` records the attribution's `method.test_model`."""
        event_id = eid(event_id)
        specs = reward_transfers(event_id, "acme", shares, amount, currency, when, f"att-{event_id}")
        attribution: dict = {"shares": {account: str(share) for account, share in shares.items()}}
        if test_model is not None:
            attribution["method"] = {"test_model": test_model}
        record = EventRecord(
            event_id=event_id, body_sha256="0" * 64, platform_id="acme", model_id=MODEL.partition(":")[2],
            occurred_at=when, content=content, reward_amount=amount, currency=currency,
            attribution_id=f"att-{event_id}", attribution_json=json.dumps(attribution), event_json="{}",
        )
        book_event(self.ledger, record, specs)

    def balance(self, account: str, currency: str = "USD") -> int:
        return self.ledger.balance(account, currency)[currency]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(TRANSFERS)).scalar()


def at(day: int, month: int = 11, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)
