"""Which platform and attribution-worker keys the log itself says were trusted, and when.

A platform key or a worker key is trusted only through a `key` entry of the log (never
because it sits in a table): its range of validity is the sequence numbers strictly
between the entry that adds it and the entry that revokes it. Entries (kind `key`,
amount 0, currency XXX, debit `ledger:keys`), each memo a canonical JSON document:

    fairsplit.platform-key.v1  credit ledger:platform-keys  event_id platform-key:<key_id>:<action>
        {"type", "action": "add"|"revoke", "platform_id", "key_id", "public_key", "reason"}
    fairsplit.service-key.v1   credit ledger:service-keys   event_id service-key:<key_id>:<action>
        {"type", "action": "add"|"revoke", "role", "key_id", "public_key", "reason"}
    fairsplit.evidence-start.v1  credit ledger:evidence     event_id evidence-start
        {"type", "through_seq", "legacy_rewards"}

`public_key` is the 32 raw Ed25519 bytes in lower-case hex and `key_id` their id
(`ledger.crypto.key_id`). A key is added once, to one holder, and revoked at most once.
The evidence start marks the upgrade of a ledger written before rewards carried
evidence: rewards at seq <= `through_seq` (there are `legacy_rewards` of them) have none;
every later reward must (`ledger.evidence.rewards`). A log without it has no legacy rewards.
Key entries of other types (the ledger's own key history) are left to their own module.

Pure: no database (the offline bundle verifier uses it too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.crypto import key_id, public_key_from_raw
from ledger.ids import is_slug
from ledger.keys.history import KEY_CURRENCY, KEYS_ACCOUNT, canonical_memo  # one frame for both key histories
from ledger.strictjson import StrictJsonError, parse_object

PLATFORM_KEY = "fairsplit.platform-key.v1"
SERVICE_KEY = "fairsplit.service-key.v1"
EVIDENCE_START = "fairsplit.evidence-start.v1"
#: type -> the account its entries are booked to
ACCOUNTS = {PLATFORM_KEY: "ledger:platform-keys", SERVICE_KEY: "ledger:service-keys", EVIDENCE_START: "ledger:evidence"}
WORKER_ROLE = "attribution-worker"
ACTIONS = ("add", "revoke")
MAX_MEMO_BYTES = 2000
_FIELDS = {
    PLATFORM_KEY: {"type", "action", "platform_id", "key_id", "public_key", "reason"},
    SERVICE_KEY: {"type", "action", "role", "key_id", "public_key", "reason"},
    EVIDENCE_START: {"type", "through_seq", "legacy_rewards"},
}


class KeyEntryError(ValueError):
    """A key entry that is malformed or contradicts the history before it; one sentence."""


@dataclass(frozen=True)
class KeyRange:
    """One trusted key and the seqs it is valid for: added < seq < revoked."""

    owner: str  # "platform" | "service"
    holder: str  # platform id, or service role
    key_id: str
    public_key: Ed25519PublicKey
    added: int
    revoked: int | None = None

    def valid_at(self, seq: int) -> bool:
        return self.added < seq and (self.revoked is None or seq < self.revoked)


@dataclass
class TrustedKeys:
    """The key history read from the log so far (feed it key entries in seq order)."""

    keys: dict[str, KeyRange] = field(default_factory=dict)
    evidence_start: int | None = None  # seq of the evidence-start entry
    legacy_through: int = 0  # rewards at seq <= this may lack evidence
    legacy_rewards: int = 0
    last_seq: int = 0

    def apply(self, row: Mapping[str, Any]) -> None:
        """Take in one entry of kind `key` (a mapping of its columns); KeyEntryError if bad."""
        seq = row["seq"]
        if seq <= self.last_seq:
            raise KeyEntryError(f"key entries must come in seq order ({seq} after {self.last_seq})")
        self.last_seq = seq
        document = _document(row)
        kind = document.get("type")
        if kind not in _FIELDS:
            return  # another history's entry (the ledger's own keys)
        if set(document) != _FIELDS[kind]:
            raise KeyEntryError(f"a {kind} entry must have exactly the fields {', '.join(sorted(_FIELDS[kind]))}")
        _check_frame(row, kind)
        if kind == EVIDENCE_START:
            self._start(row, document)
        else:
            self._key(row, kind, document)

    def platform_keys_at(self, platform_id: str, seq: int) -> list[KeyRange]:
        return [k for k in self.keys.values() if k.owner == "platform" and k.holder == platform_id and k.valid_at(seq)]

    def worker_key_at(self, worker_key_id: str, seq: int) -> KeyRange | None:
        key = self.keys.get(worker_key_id)
        if key is None or key.owner != "service" or key.holder != WORKER_ROLE or not key.valid_at(seq):
            return None
        return key

    def _start(self, row: Mapping[str, Any], document: dict[str, Any]) -> None:
        if self.evidence_start is not None:
            raise KeyEntryError(f"a second evidence start (the first is seq {self.evidence_start})")
        through, legacy = document["through_seq"], document["legacy_rewards"]
        if not (_count(through) and _count(legacy)) or through != row["seq"] - 1 or row["event_id"] != "evidence-start":
            raise KeyEntryError("the evidence start must be through_seq = its seq - 1, with a legacy_rewards count")
        self.evidence_start, self.legacy_through, self.legacy_rewards = row["seq"], through, legacy

    def _key(self, row: Mapping[str, Any], kind: str, document: dict[str, Any]) -> None:
        owner, holder_field = ("platform", "platform_id") if kind == PLATFORM_KEY else ("service", "role")
        holder, action, ident = document[holder_field], document["action"], document["key_id"]
        reason = document["reason"]
        if action not in ACTIONS or not isinstance(reason, str) or not 0 < len(reason) <= 500:
            raise KeyEntryError(f"a {kind} entry needs an action (add or revoke) and a reason")
        if not (is_slug(holder) if owner == "platform" else holder == WORKER_ROLE):
            raise KeyEntryError(f"a {kind} entry names an invalid {holder_field}")
        public = _public_key(document["public_key"], ident)
        if row["event_id"] != f"{owner}-key:{ident}:{action}":
            raise KeyEntryError(f"a {kind} entry must have event id {owner}-key:<key_id>:{action}")
        known = self.keys.get(ident)
        if action == "add":
            if known is not None:
                raise KeyEntryError(f"key {ident} is added twice (first for {known.owner} {known.holder})")
            self.keys[ident] = KeyRange(owner, holder, ident, public, row["seq"])
            return
        if known is None or (known.owner, known.holder) != (owner, holder) or known.revoked is not None:
            raise KeyEntryError(f"key {ident} is revoked without being an active key of {holder}")
        self.keys[ident] = KeyRange(owner, holder, ident, known.public_key, known.added, row["seq"])


def check_entry(row: Mapping[str, Any]) -> None:
    """KeyEntryError unless `row` (memo, amount, currency, debit_account, credit_account) is
    well formed as an entry of this module's types; its place in the history is checked by
    `TrustedKeys.apply`, which needs the log before it."""
    document = _document(row)
    kind = document.get("type")
    if kind not in _FIELDS or set(document) != _FIELDS[kind]:
        raise KeyEntryError(f"an entry to {row['credit_account']} must be one of {', '.join(_FIELDS)} with its fields")
    _check_frame(row, kind)


def _document(row: Mapping[str, Any]) -> dict[str, Any]:
    memo = row.get("memo")
    if not isinstance(memo, str) or len(memo.encode("utf-8", "replace")) > MAX_MEMO_BYTES:
        raise KeyEntryError("a key entry's memo must be a canonical JSON document")
    try:
        document = parse_object(memo, "The memo", MAX_MEMO_BYTES)
    except StrictJsonError:
        raise KeyEntryError("a key entry's memo is not a JSON object") from None
    if "signature" in document or canonical_memo(document) != memo:
        raise KeyEntryError("a key entry's memo is not in canonical JSON")
    return document


def _check_frame(row: Mapping[str, Any], kind: str) -> None:
    if (row["amount"], row["currency"], row["debit_account"], row["credit_account"]) != (
            0, KEY_CURRENCY, KEYS_ACCOUNT, ACCOUNTS[kind]):
        raise KeyEntryError(f"a {kind} entry moves 0 XXX from {KEYS_ACCOUNT} to {ACCOUNTS[kind]}")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _public_key(text: Any, ident: Any) -> Ed25519PublicKey:
    try:
        raw = bytes.fromhex(text) if isinstance(text, str) else b""
        public = public_key_from_raw(raw) if len(raw) == 32 and raw.hex() == text else None
    except ValueError:
        public = None
    if public is None or key_id(public) != ident:
        raise KeyEntryError("a key entry's public_key must be 32 bytes of lower-case hex whose id is its key_id")
    return public


#: The memo of a key entry: its canonical JSON, spelled as every system entry's (`ledger.keys.history`).
key_memo = canonical_memo
