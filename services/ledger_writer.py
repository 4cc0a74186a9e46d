"""Ledger writer logic: a signed attribution result → the event's transfers, booked once.

No Kafka here: the stream runner decodes and batches; this module checks a result
(contract, worker signature), splits its reward by largest remainder from the exact
rationals of its float shares, and books the event record and its transfers in one
database transaction. Redelivery is harmless: a recorded event books nothing more. `record_results` books a
batch of results in one transaction (each event still all-or-nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.events import EventRecord, Outcome, book_event, book_events
from ledger.store import Ledger, TransferSpec, reward_transfers
from services.contracts import AttributionResultV1, ContractError, load_json_object, parse_result
from services.signing import SignatureError, verify_event


class Refused(ValueError):
    """A result that must not be booked; the message is the dead-letter reason."""


@dataclass(frozen=True)
class AcceptedResult:
    result: AttributionResultV1
    body: dict[str, Any]


def accept_result(raw: bytes | str | dict[str, Any], worker_key: Callable[[str], Ed25519PublicKey | None]) -> AcceptedResult:
    """Validate a result and check it is signed by a registered attribution worker."""
    try:
        body = raw if isinstance(raw, dict) else load_json_object(raw, "attribution result")
        result = parse_result(body)
    except ContractError as exc:
        raise Refused(str(exc)) from None
    key = worker_key(result.worker_key_id)
    if key is None:
        raise Refused(f"result for event {result.event_id} is signed by unknown worker key {result.worker_key_id!r}.")
    try:
        verify_event(body, key)
    except SignatureError as exc:
        raise Refused(f"result for event {result.event_id} is not signed by worker {result.worker_key_id}: {exc}") from None
    return AcceptedResult(result, body)


def booking(accepted: AcceptedResult) -> tuple[EventRecord, list[TransferSpec]]:
    """The event record and reward transfers of an accepted result (pure)."""
    result = accepted.result
    occurred_at: datetime = result.occurred_at
    amount = result.reward.micros
    weights = {account: Fraction(share) for account, share in result.shares.items() if share > 0}
    transfers = reward_transfers(
        result.event_id, f"platform:{result.platform_id}", weights, amount, result.reward.currency,
        occurred_at, result.attribution_id,
    )
    record = EventRecord(
        event_id=result.event_id,
        body_sha256=result.event_sha256,
        platform_id=result.platform_id,
        model_id=result.model.id,
        occurred_at=occurred_at,
        content=result.content,
        reward_amount=amount,
        currency=result.reward.currency,
        attribution_id=result.attribution_id,
        attribution_json=_compact(accepted.body),
        event_json=_compact(result.event or {}),
    )
    return record, transfers


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_result(ledger: Ledger, accepted: AcceptedResult) -> Outcome:
    """Book one accepted result: "recorded", or "duplicate" when its event already is."""
    record, transfers = booking(accepted)
    return book_event(ledger, record, transfers)


def record_results(ledger: Ledger, batch: list[AcceptedResult]) -> list[Outcome | Exception]:
    """`record_result` for each of `batch`, in one transaction when none is refused;
    per result, its outcome or the exception that refused it (see `book_events`)."""
    outcomes: list[Outcome | Exception | None] = [None] * len(batch)
    items, where = [], []
    for index, accepted in enumerate(batch):
        try:
            items.append(booking(accepted))
            where.append(index)
        except ValueError as exc:
            outcomes[index] = exc
    for index, outcome in zip(where, book_events(ledger, items)):
        outcomes[index] = outcome
    return outcomes  # type: ignore[return-value]
