"""Admission: the checks every generation event passes before any GPU time is spent on it.

raw bytes → JSON object → `fairsplit.generation.v1` contract → registered platform →
signature by one of the platform's active (unrevoked) keys → the per-event budget
(pixels × steps × coalition renders, and the decoded size of its PNG: `fairsplit.budget`)
→ event time inside the ledger's window (`ledger.books.eventtime`) → served model → registered
artists. Each refusal is a `Rejected` with one sentence saying what is wrong; the caller
dead-letters it and goes on. Nobody can mint rewards by writing to the topic: an event
that is not signed by its platform's active key never reaches attribution (and the
ledger writer checks the platform's signature again before booking).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fairsplit.budget import MAX_EVENT_WORK, MAX_IMAGE_PIXELS, BudgetError, check_event_budget, check_png_budget
from ledger.crypto import canonical_text
from ledger.books.eventtime import EventTimeWindow
from services.contracts import ContractError, GenerationEventV1, load_json_object, parse_event
from services.signing import SignatureError, body_sha256, sign_event, verify_event
from services.stream.messages import Rejected

#: Default model routing: event `model.id` → attribution profile.
@dataclass(frozen=True)
class Admitted:
    """An event that passed every check, with what later steps need of it."""

    event: GenerationEventV1
    body: dict[str, Any]  # the signed JSON object as received
    body_sha256: str
    profile: str


def verify_platform_signature(body: dict[str, Any], event: GenerationEventV1,
                              keys: Sequence[Ed25519PublicKey] | None) -> Ed25519PublicKey:
    """The platform's active key that signed `body`; `Rejected` when none did."""
    if keys is None:
        raise Rejected(f"platform {event.platform_id!r} is not registered.", "unknown_platform")
    if not keys:
        raise Rejected(f"platform {event.platform_id!r} has no active key (its keys are revoked).", "signature")
    problem = "no key"
    for key in keys:
        try:
            verify_event(body, key)
            return key
        except SignatureError as exc:
            problem = str(exc)
    raise Rejected(f"event {event.event_id} is not signed by an active key of platform {event.platform_id}: {problem}",
                   "signature")


def check_budget(event: GenerationEventV1, max_work: int = MAX_EVENT_WORK, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Raise `Rejected` when the event asks for more work than one event may, or carries a
    PNG that decodes to too many pixels (read from its header: nothing is decoded)."""
    try:
        params = event.params
        check_event_budget(params.width, params.height, params.steps, len(event.styles), max_work)
        if event.image is not None:
            check_png_budget(event.image.png_bytes, "the event's image", max_pixels)
    except BudgetError as exc:
        raise Rejected(f"event {event.event_id}: {exc}", "budget") from None


@dataclass
class Gate:
    """The admission checks, over lookups the caller provides (the registry, in practice).

    `platform_keys(id)` (None: unregistered) and `known_artists(ids)` are called per
    event, so the caller decides how fresh they are (the services cache for seconds).
    """

    platform_keys: Callable[[str], Sequence[Ed25519PublicKey] | None]
    known_artists: Callable[[list[str]], set[str]]
    routes: Mapping[str, str]
    window: EventTimeWindow = field(default_factory=EventTimeWindow)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    max_event_work: int = MAX_EVENT_WORK  # pixels × steps × coalition renders (fairsplit.budget)
    max_image_pixels: int = MAX_IMAGE_PIXELS  # of the event's PNG, once decoded

    def admit(self, raw: bytes | str | dict[str, Any]) -> Admitted:
        try:
            body = raw if isinstance(raw, dict) else load_json_object(raw, "generation event")
            event = parse_event(body)
        except ContractError as exc:
            raise Rejected(str(exc), "contract") from None
        verify_platform_signature(body, event, self.platform_keys(event.platform_id))
        check_budget(event, self.max_event_work, self.max_image_pixels)
        late = self.window.problem(event.occurred_at, self.clock())
        if late:
            raise Rejected(f"event {event.event_id}: {late}", "time")
        profile = self.routes.get(event.model.id)
        if profile is None:
            served = ", ".join(sorted(self.routes)) or "none"
            raise Rejected(f"model {event.model.id!r} is not served by this worker (serves: {served}).", "unserved_model")
        wanted = [style.artist_id for style in event.styles]
        missing = sorted(set(wanted) - self.known_artists(wanted))
        if missing:
            raise Rejected(f"artist{'s' if len(missing) > 1 else ''} not registered: {', '.join(missing)}.", "unknown_artist")
        return Admitted(event, body, body_sha256(body), profile)


def sign_admissible(raw_lines: Iterable[bytes], platform: str, private: Ed25519PrivateKey,
                    gate: Gate) -> tuple[list[str], list[tuple[int, Exception]]]:
    """`fairsplit sign`: each non-blank JSONL line as an event of `platform` (the field filled
    in when missing), signed with `private` and checked by `gate` as a worker would check it.
    Returns the signed events as canonical JSON lines, and the refused lines (1-based number,
    the `ContractError` or `Rejected` saying why): a caller writes all or none."""
    lines: list[str] = []
    problems: list[tuple[int, Exception]] = []
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            event = load_json_object(raw, "generation event")
            if event.setdefault("platform_id", platform) != platform:
                raise Rejected(f"the event is for platform {event['platform_id']!r}, not {platform!r}.", "platform")
            signed = sign_event(event, private)
            gate.admit(signed)
        except (ContractError, Rejected) as exc:
            problems.append((number, exc))
            continue
        lines.append(canonical_text(signed))
    return lines, problems
