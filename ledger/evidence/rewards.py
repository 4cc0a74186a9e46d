"""Evidence-bound rewards: what a reward was paid for, and the check that it was.

The evidence of an event's rewards is the worker-signed `fairsplit.attribution.v1`
result as the ledger writer accepted it, which carries the platform-signed
`fairsplit.generation.v1` event as the platform sent it (image included: the platform's
signature covers it). It is kept as one text, its *document*: canonical JSON
(`ledger.crypto.canonical_json` rules) of the whole result, `signature` fields kept.
Its *digest* is the lower-case hex SHA-256 of the document's UTF-8 bytes, and every
reward transfer of the event commits to it in its memo, spelled exactly
`evidence:sha256:<digest>` — inside the row's v1 encoding, so under its hash, signature
and Merkle leaf.

`check` decides whether rows were paid as the evidence says: the document hashes to
the digest and is canonical; the result's worker signature verifies with an enrolled
worker key and the event's with a key of its platform, both valid at the rows' seq
(`ledger.keys.trusted`); the result agrees with the event (id, platform, time, reward,
body hash, attribution id, payees among the event's model and artists); and each row is
`reward` from `platform:<platform_id>` to a payee, of exactly that payee's part of the
largest-remainder split of the reward by the result's shares (`payments`), with the
event's id, attribution id, time and currency.

Pure: no database (the offline bundle verifier uses it too).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from ledger.crypto import SignatureError, canonical_json, canonical_text, verify_record
from ledger.books.encoding import utc
from ledger.errors import MoneyError
from ledger.ids import attribution_id, is_event_id, is_slug
from ledger.money import MAX_EVENT_REWARD, parse_amount, split_largest_remainder
from ledger.strictjson import StrictJsonError, parse_object
from ledger.keys.trusted import TrustedKeys

MEMO_PREFIX = "evidence:sha256:"
_MEMO = re.compile(r"evidence:sha256:([0-9a-f]{64})")
MAX_DOCUMENT_BYTES = 24 * 1024 * 1024  # a result carrying a 16 MiB event, with room


class EvidenceError(ValueError):
    """Evidence that is missing, malformed, unsigned or does not match its rows; one sentence."""


def spell(record: dict[str, Any]) -> str:
    """The document of a signed result: canonical JSON with its signatures kept."""
    try:
        return canonical_text(record)
    except (ValueError, TypeError, RecursionError):
        raise EvidenceError("the result cannot be written as canonical JSON") from None


def digest_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def memo_for(digest: str) -> str:
    return MEMO_PREFIX + digest


def memo_digest(memo: str | None) -> str | None:
    """The digest a reward's memo commits to, or None when the memo is not a commitment."""
    match = _MEMO.fullmatch(memo) if isinstance(memo, str) else None
    return match.group(1) if match else None


@dataclass(frozen=True)
class Evidence:
    """A document read and checked for shape (not yet for signatures and rows)."""

    digest: str
    result: dict[str, Any]
    event: dict[str, Any]
    event_id: str
    attribution_id: str
    platform_id: str
    occurred_at: datetime
    currency: str
    amount: int
    worker_key_id: str

    @property
    def payer(self) -> str:
        return f"platform:{self.platform_id}"

    def payments(self) -> dict[str, int]:
        """payee account -> micro-units: the largest-remainder split of the reward by the
        result's positive shares, zero parts left out (as `ledger.books.store.reward_transfers`)."""
        weights = {account: Fraction(share) for account, share in self.result["shares"].items() if share > 0}
        return {payee: part for payee, part in split_largest_remainder(self.amount, weights).items() if part > 0}


def open_document(document: str, digest: str) -> Evidence:
    """Read `document`, which must hash to `digest`; EvidenceError says what is wrong."""
    if not isinstance(document, str) or digest_of(document) != digest:
        raise EvidenceError(f"evidence {digest[:16]} does not hash to its digest")
    try:
        result = parse_object(document, "The evidence", MAX_DOCUMENT_BYTES)
    except StrictJsonError:
        raise EvidenceError(f"evidence {digest[:16]} is not a JSON object") from None
    if spell(result) != document:
        raise EvidenceError(f"evidence {digest[:16]} is not in canonical JSON")
    event = result.get("event")
    if result.get("schema") != "fairsplit.attribution.v1" or not isinstance(event, dict):
        raise EvidenceError(f"evidence {digest[:16]} is not an attribution result carrying its event")
    if event.get("schema") != "fairsplit.generation.v1":
        raise EvidenceError(f"evidence {digest[:16]} does not carry a generation event")
    return _read(digest, result, event)


def _read(digest: str, result: dict[str, Any], event: dict[str, Any]) -> Evidence:
    where = f"evidence {digest[:16]}"
    shares, reward, styles = result.get("shares"), event.get("reward"), event.get("styles")
    model = event.get("model")
    if not (isinstance(shares, dict) and isinstance(reward, dict) and isinstance(styles, list) and isinstance(model, dict)
            and all(isinstance(s, dict) for s in styles)):
        raise EvidenceError(f"{where} lacks the shares, reward, model or styles")
    for share in shares.values():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise EvidenceError(f"{where} has a share that is not a number from 0 to 1")
    players = {f"model:{model.get('id')}"} | {f"artist:{s.get('artist_id')}" for s in styles}
    if not set(shares) <= players:
        raise EvidenceError(f"{where} pays an account that is not the event's model or one of its artists")
    event_id, platform_id = event.get("event_id"), event.get("platform_id")
    if not is_event_id(event_id) or not is_slug(platform_id):
        raise EvidenceError(f"{where} has an invalid event id or platform id")
    event_sha256 = hashlib.sha256(canonical_json(event)).hexdigest()
    agrees = (result.get("event_id") == event_id and result.get("platform_id") == platform_id
              and result.get("reward") == reward and result.get("occurred_at") == event.get("occurred_at")
              and result.get("event_sha256") == event_sha256
              and result.get("attribution_id") == attribution_id(event_id, event_sha256))
    if not agrees:
        raise EvidenceError(f"{where}: the result does not say what the platform's event says")
    try:
        amount = parse_amount(reward.get("amount"), reward.get("currency"), MAX_EVENT_REWARD)
    except (MoneyError, TypeError, AttributeError):
        amount = 0
    if amount <= 0:
        raise EvidenceError(f"{where} has no valid reward")
    worker = result.get("worker_key_id")
    if not isinstance(worker, str):
        raise EvidenceError(f"{where} names no worker key")
    return Evidence(digest, result, event, event_id, result["attribution_id"], platform_id,
                    _time(event.get("occurred_at"), where), reward["currency"], amount, worker)


def _time(text: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.upper()) if isinstance(text, str) else None
        return utc(moment) if moment is not None and moment.tzinfo is not None else _bad_time(where)
    except (ValueError, OverflowError):
        return _bad_time(where)


def _bad_time(where: str) -> datetime:
    raise EvidenceError(f"{where} has no valid occurred_at")


def check_signatures(evidence: Evidence, keys: TrustedKeys, seq: int) -> None:
    """Both signatures verify with keys the log says were valid at `seq`."""
    where = f"evidence {evidence.digest[:16]}"
    worker = keys.worker_key_at(evidence.worker_key_id, seq)
    if worker is None:
        raise EvidenceError(f"{where} is signed by worker key {evidence.worker_key_id[:16]!r}, "
                            "which the log does not show enrolled and unrevoked at this point")
    try:
        verify_record(evidence.result, worker.public_key)
    except SignatureError as exc:
        raise EvidenceError(f"{where}: the worker's signature does not verify ({str(exc).rstrip('.')})") from None
    for key in keys.platform_keys_at(evidence.platform_id, seq):
        try:
            verify_record(evidence.event, key.public_key)
            return
        except SignatureError:
            continue
    raise EvidenceError(f"{where}: the event is not signed by a key the log shows active for platform "
                        f"{evidence.platform_id} at this point")


def check_rows(evidence: Evidence, rows: Sequence[Mapping[str, Any]], complete: bool) -> None:
    """Each row is the reward the evidence pays its payee; `complete`: and every payee is paid once."""
    expected, where = evidence.payments(), f"evidence {evidence.digest[:16]}"
    paid: set[str] = set()
    for row in rows:
        payee = row["credit_account"]
        fields = (row["kind"], row["event_id"], row["attribution_id"], row["debit_account"], row["currency"],
                  utc(row["occurred_at"]), row["memo"])
        if fields != ("reward", evidence.event_id, evidence.attribution_id, evidence.payer, evidence.currency,
                      evidence.occurred_at, memo_for(evidence.digest)):
            raise EvidenceError(f"reward at seq {row['seq']} is not a reward of the event in {where}")
        if payee in paid or expected.get(payee) != row["amount"]:
            raise EvidenceError(f"reward at seq {row['seq']} pays {payee} other than the split in {where} says")
        paid.add(payee)
    if complete and paid != set(expected):
        raise EvidenceError(f"the rewards at seq {rows[0]['seq']}-{rows[-1]['seq']} do not pay every payee "
                            f"the split in {where} names")
