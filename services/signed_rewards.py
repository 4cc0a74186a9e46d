"""Rewards booked as the ledger writer books them: a platform-signed event, a worker-signed
result around it, and the result kept as the rewards' evidence (`ledger.evidence.rewards`).

Real keys and real signatures, registered through the registry (so their `key` entries are
in the log): what `ledger verify` and bundles check is what production books. Used by
`fairsplit ledger demo` (`services.demo_ledger`) and by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.crypto import generate_private_key, key_id, public_key_pem
from ledger.books.events import book_events
from ledger.ids import attribution_id
from ledger.money import format_amount
from ledger.parties.registry import WORKER_ROLE, add_platform, enroll_service_key
from ledger.books.store import Ledger
from services.contracts import parse_result
from services.ledger_writer import AcceptedResult, booking
from services.signing import body_sha256, sign_event


@dataclass
class Signers:
    """A platform's key and an attribution worker's key, both registered in the ledger."""

    platform_id: str
    platform: Ed25519PrivateKey
    worker: Ed25519PrivateKey

    @property
    def platform_key_id(self) -> str:
        return key_id(self.platform.public_key())


def _pem(key: Ed25519PrivateKey) -> str:
    return public_key_pem(key.public_key()).decode()


def enrol(ledger: Ledger, platform_id: str = "acme", worker: Ed25519PrivateKey | None = None,
          platform: Ed25519PrivateKey | None = None) -> Signers:
    """Register a platform with its key and enrol a worker key (new ones unless given)."""
    signers = Signers(platform_id, platform or generate_private_key(), worker or generate_private_key())
    add_platform(ledger, platform_id, _pem(signers.platform))
    enroll_service_key(ledger, WORKER_ROLE, _pem(signers.worker))
    return signers


def signed_result(signers: Signers, event_id: str, shares: Mapping[str, Fraction | float], micros: int,
                  currency: str = "USD", when: datetime | None = None, content: str = "an image of a man",
                  test_model: bool = False) -> dict:
    """A `fairsplit.attribution.v1` result paying `shares` of `micros`, with its signed event."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    model = next((a for a in shares if a.startswith("model:")), "model:sd-1.5").partition(":")[2]
    artists = [a.partition(":")[2] for a in shares if a.startswith("artist:")]
    event = sign_event({
        "schema": "fairsplit.generation.v1", "event_id": event_id, "platform_id": signers.platform_id,
        "occurred_at": when.isoformat().replace("+00:00", "Z"), "model": {"id": model, "revision": "1"},
        "content": content, "styles": [{"artist_id": a, "phrase": f"in the style of {a}"} for a in artists],
        "prompt": content, "seed": 7, "params": {"steps": 1, "guidance": 7.5, "width": 64, "height": 64},
        "reward": {"amount": format_amount(micros, currency), "currency": currency},
    }, signers.platform)
    sha = body_sha256(event)
    players = [f"model:{model}", *(f"artist:{a}" for a in artists)]
    return sign_event({
        "schema": "fairsplit.attribution.v1", "event_id": event_id, "attribution_id": attribution_id(event_id, sha),
        "platform_id": signers.platform_id, "occurred_at": event["occurred_at"], "model": event["model"],
        "content": content,
        "method": {"estimator": "exact", "value_function": "generative", "profile": "test",
                   "models": {"generator": {"id": "sd", "revision": "1"}}, "tau": 0.02, "test_model": test_model},
        "players": [{"id": p.partition(":")[2], "account": p, "kind": p.partition(":")[0], "recognised": True}
                    for p in players],
        "values": [], "shares": {account: float(share) for account, share in shares.items()},
        "reward": event["reward"], "event_sha256": sha, "event": event, "worker_key_id": key_id(signers.worker.public_key()),
    }, signers.worker)


def book_signed(ledger: Ledger, signers: Signers, result: dict) -> str:
    """Book `result` exactly as the ledger writer does (after its acceptance checks); its status."""
    record, specs, evidence = booking(AcceptedResult(parse_result(result), result, signers.platform_key_id))
    return book_events(ledger, [(record, specs)], [evidence])[0]


def reward(ledger: Ledger, signers: Signers, event_id: str, shares: Mapping[str, Fraction | float], micros: int,
           **fields) -> str:
    """Sign and book one event's rewards; "recorded" when they are new."""
    return book_signed(ledger, signers, signed_result(signers, event_id, shares, micros, **fields))
