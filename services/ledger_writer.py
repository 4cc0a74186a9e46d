"""Ledger writer logic: a signed attribution result → the event's transfers, booked once.

No Kafka here: the stream runner decodes and batches; this module checks a result, splits
its reward by largest remainder from the exact rationals of its float shares, and books
the event record and its transfers in one database transaction. Redelivery is harmless:
a recorded event books nothing more. `WriterTask` books a batch of results in one
transaction (each event still all-or-nothing).

A result is booked only if all of these hold (`accept_result`), so neither a stolen
worker key nor a stolen platform key alone can mint money:
1. it satisfies the `fairsplit.attribution.v1` contract;
2. it is signed by an enrolled, unrevoked attribution-worker key;
3. the platform event it carries satisfies `fairsplit.generation.v1` and is signed by one
   of the platform's active keys;
4. what the result says of the event (id, platform, time, model, content, reward, body
   hash, attribution id) is what the event says, and its players are exactly the model
   and the artists the event names;
5. the event's time is inside the ledger's window (`ledger.books.eventtime`), by this clock;
6. at booking, under the chain lock, the log's own key history shows both signing keys
   valid (`ledger.evidence.store`); the result is kept as the rewards' evidence and each
   reward transfer commits to it (`ledger.evidence.rewards`), so `ledger verify` and bundles can
   check every reward against the signatures behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.books.db import is_transient
from ledger.errors import LedgerError
from ledger.books.eventtime import EventTimeWindow
from ledger.crypto import canonical_text, key_id
from ledger.books.events import EventRecord, book_events
from ledger.evidence.rewards import digest_of, memo_for, spell
from ledger.evidence.store import BookedEvidence
from ledger.ids import attribution_id
from ledger.invariants import invariant
from ledger.books.store import Ledger, TransferSpec, reward_transfers
from services.admission import verify_platform_signature
from services.contracts import (AttributionResultV1, ContractError, GenerationEventV1, load_json_object,
                                parse_event, parse_result)
from services.signing import SignatureError, body_sha256, verify_event
from services.stream import Done, Failure, Message, Outcome, Rejected, TransientError, reason_of

log = logging.getLogger("fairsplit.ledger_writer")


@dataclass(frozen=True)
class AcceptedResult:
    result: AttributionResultV1
    body: dict[str, Any]
    platform_key_id: str | None = None  # the platform key whose signature on the event verified


@dataclass
class ResultChecks:
    """What `accept_result` looks up: worker keys, platform keys, the window and the clock."""

    worker_key: Callable[[str], Ed25519PublicKey | None]
    platform_keys: Callable[[str], Sequence[Ed25519PublicKey] | None]
    window: EventTimeWindow = field(default_factory=EventTimeWindow)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def accept_result(raw: bytes | str | dict[str, Any], checks: ResultChecks) -> AcceptedResult:
    """Check a result as the module docstring says; `Rejected` (one sentence) otherwise."""
    try:
        body = raw if isinstance(raw, dict) else load_json_object(raw, "attribution result")
        result = parse_result(body)
    except ContractError as exc:
        raise Rejected(str(exc), "contract") from None
    key = checks.worker_key(result.worker_key_id)
    if key is None:
        raise Rejected(f"result for event {result.event_id} is signed by worker key {result.worker_key_id!r}, "
                       "which is not enrolled (or is revoked).", "worker_key")
    try:
        verify_event(body, key)
    except SignatureError as exc:
        raise Rejected(f"result for event {result.event_id} is not signed by worker {result.worker_key_id}: {exc}",
                       "signature") from None
    if result.event is None:
        raise Rejected(f"result for event {result.event_id} does not carry the platform's signed event.", "event")
    try:
        event = parse_event(result.event)
        platform_key = verify_platform_signature(result.event, event, checks.platform_keys(event.platform_id))
    except ContractError as exc:
        raise Rejected(f"result for event {result.event_id} carries an {exc}", "event") from None
    except Rejected as exc:
        raise Rejected(f"result for event {result.event_id}: {exc}", exc.kind) from None
    mismatch = _mismatch(result, event, body_sha256(result.event))
    if mismatch:
        raise Rejected(f"result for event {result.event_id} does not match the platform's event: {mismatch}.", "event")
    late = checks.window.problem(event.occurred_at, checks.clock())
    if late:
        raise Rejected(f"result for event {result.event_id}: {late}", "time")
    return AcceptedResult(result, body, key_id(platform_key))


def _mismatch(result: AttributionResultV1, event: GenerationEventV1, event_sha256: str) -> str | None:
    """The first thing the result says of its event that the event does not (None: all agree)."""
    players = {player.account for player in result.players}
    named = {f"model:{event.model.id}"} | {f"artist:{style.artist_id}" for style in event.styles}
    checks = (
        ("event_id", result.event_id == event.event_id),
        ("event_sha256", result.event_sha256 == event_sha256),
        ("attribution_id", result.attribution_id == attribution_id(event.event_id, event_sha256)),
        ("platform_id", result.platform_id == event.platform_id),
        ("occurred_at", result.occurred_at == event.occurred_at),
        ("model", result.model == event.model),
        ("content", result.content == event.content),
        ("reward", result.reward == event.reward),
        ("players", players == named),
    )
    return next((name for name, same in checks if not same), None)


def booking(accepted: AcceptedResult) -> tuple[EventRecord, list[TransferSpec], BookedEvidence]:
    """The event record, reward transfers and evidence of an accepted result (pure).

    The evidence is the result as accepted (`ledger.evidence.rewards`); each transfer's memo
    commits to its digest, and `ledger verify` recomputes the split from it."""
    result = accepted.result
    occurred_at: datetime = result.occurred_at
    amount = result.reward.micros
    document = spell(accepted.body)
    digest = digest_of(document)
    invariant(accepted.platform_key_id is not None, "an accepted result names the platform key that signed its event")
    evidence = BookedEvidence(digest, result.event_id, document, result.platform_id, accepted.platform_key_id,
                              result.worker_key_id)
    weights = {account: Fraction(share) for account, share in result.shares.items() if share > 0}
    transfers = [replace(spec, memo=memo_for(digest)) for spec in reward_transfers(
        result.event_id, f"platform:{result.platform_id}", weights, amount, result.reward.currency,
        occurred_at, result.attribution_id,
    )]
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
        attribution_json=canonical_text(_without_image(accepted.body)),
        event_json=canonical_text({k: v for k, v in (result.event or {}).items() if k not in (*BULKY, "signature")}),
    )
    return record, transfers, evidence


#: what the ledger does not keep of an event: its image (up to 8 MiB) and image embedding
BULKY = ("image", "image_embedding")


def _without_image(body: dict[str, Any]) -> dict[str, Any]:
    """The result as stored: without the event's bulky parts (`event_sha256` still covers them)."""
    event = body.get("event") or {}
    return {**body, "event": {k: v for k, v in event.items() if k not in BULKY}}


@dataclass
class WriterTask:
    """The ledger writer's effect, for the broker and for `ingest` alike: accept each result
    (a refusal is that message's failure), book the accepted ones in one transaction,
    then sign a checkpoint if one is due.

    A refusal by the ledger (a conflict, a refused transfer) fails the whole call when it
    holds several messages, so that the stream's `RunTask` — the one place that isolates
    failures — books each alone and pins the refusal on its message. An unreachable
    database is a `TransientError`: the batch is retried, never dead-lettered for it.
    """

    accept: Callable[[bytes], AcceptedResult]
    ledger: Ledger
    after_batch: Callable[[], None] | None = None

    def __call__(self, messages: list[Message]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(messages)
        accepted: list[tuple[int, AcceptedResult]] = []
        for index, message in enumerate(messages):
            try:
                accepted.append((index, self.accept(message.payload)))
            except Rejected as exc:
                outcomes[index] = Failure.of(exc)
        if accepted:
            try:
                bookings = [booking(result) for _, result in accepted]
                booked = book_events(self.ledger, [(record, specs) for record, specs, _ in bookings],
                                     [evidence for _, _, evidence in bookings])
            except Exception as exc:
                if is_transient(exc):
                    raise TransientError(f"the ledger database cannot be reached: {reason_of(exc)}") from exc
                if len(messages) > 1 or not isinstance(exc, (LedgerError, ValueError)):
                    raise
                booked = [exc]
            for (index, _), outcome in zip(accepted, booked, strict=True):
                outcomes[index] = Failure.of(outcome) if isinstance(outcome, Exception) else Done(outcome)
            if self.after_batch is not None:
                try:
                    self.after_batch()
                except Exception:  # noqa: BLE001 - the bookings stand; the next batch tries again
                    log.warning("after-batch step failed", exc_info=True)
        invariant(all(outcome is not None for outcome in outcomes), "every result has an outcome")
        return outcomes
