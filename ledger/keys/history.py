"""The ledger key history, derived from the log alone: which key signs which sequence numbers.

Pure (no database, no clock): the offline verifier, the witness, `ledger verify` and the
append guard all read key validity from here, so it has one definition.

A ledger key change is a log entry (`transfers` row) of kind `key`, amount 0, currency
`XXX`, from `ledger:keys` to `ledger:signing`, whose memo is the canonical JSON of

    {"type": "fairsplit.ledger-key.v1", "action": "genesis" | "rotate" | "adopt",
     "origin": <log origin>, "previous": <key id, or null for genesis/adopt>,
     "key_id": <16 hex>, "public_key": <64 hex, raw Ed25519>,
     "incoming_signature": <base64 Ed25519 by the NEW key over `incoming_message`>,
     "legacy": [ … ]    (adopt only, see below)}

Invariants (checked by `KeyHistory.apply`):
- the row is signed by the key current before it (genesis: by the new key itself), so a
  key change needs the outgoing private key, and the incoming signature proves the new
  key's holder took part;
- key ranges are contiguous: the first key signs from seq 1; a rotation at seq R ends the
  outgoing key's range at R and the incoming key signs from R + 1;
- a checkpoint (or a statement manifest) of log size N must be signed by the key current
  after entry N (`current_after(N)`, the key of seq N + 1).
Times written by a signer are labels, never evidence of validity.

Ledgers written before key entries existed (no key entry at all) have one implicit key:
the one that signed seq 1. A legacy ledger that was rotated before is upgraded by one
`adopt` entry (written by `fairsplit init`), signed by the key current at the upgrade,
whose `legacy` list states each earlier key's range as the rows show it, each with a
`handover_signature` by that legacy key over `handover_message` — so the pinned first key
vouches for the second, and so on; checkpoints of size below the adopt entry may be
signed by the key of entry N or of N + 1 (old ledgers checkpointed right before rotating).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field, replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.crypto import SignatureError, canonical_json, public_key_from_raw
from ledger.crypto import key_id as key_id_of

KEY_DOCUMENT_TYPE = "fairsplit.ledger-key.v1"
KEY_KIND = "key"
KEY_CURRENCY = "XXX"
KEYS_ACCOUNT = "ledger:keys"
SIGNING_ACCOUNT = "ledger:signing"
ACTIONS = ("genesis", "rotate", "adopt")
MAX_KEY_MEMO_CHARS = 64 << 10
_HEX16 = re.compile(r"[0-9a-f]{16}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FIELDS = {"type", "action", "origin", "previous", "key_id", "public_key", "incoming_signature"}
_LEGACY_FIELDS = {"key_id", "public_key", "first_seq", "last_seq", "handover_signature"}


class KeyHistoryError(ValueError):
    """A key entry or a signature outside the log's key history; one sentence."""


def incoming_message(action: str, origin: str, previous: str | None, key_id: str, public_hex: str) -> bytes:
    """What the incoming key signs: domain-separated, naming the log, the old and the new key."""
    return (f"{KEY_DOCUMENT_TYPE} incoming\naction {action}\norigin {origin}\nprevious {previous or '-'}\n"
            f"key {key_id}\npublic {public_hex}\n").encode()


def handover_message(origin: str, key_id: str, first_seq: int, last_seq: int, next_key_id: str) -> bytes:
    """What a legacy key signs when adopted: its range, and the key that followed it."""
    return (f"{KEY_DOCUMENT_TYPE} handover\norigin {origin}\nkey {key_id}\nfirst {first_seq}\nlast {last_seq}\n"
            f"next {next_key_id}\n").encode()


@dataclass(frozen=True)
class KeyRange:
    """A key and the sequence numbers it signs: [first_seq, last_seq], last_seq None = still current."""

    key_id: str
    public_key: Ed25519PublicKey
    first_seq: int
    last_seq: int | None = None

    def covers(self, seq: int) -> bool:
        return self.first_seq <= seq and (self.last_seq is None or seq <= self.last_seq)

    @property
    def span(self) -> str:
        return f"{self.first_seq}-{self.last_seq if self.last_seq is not None else ''}"


@dataclass(frozen=True)
class KeyHistory:
    """Contiguous key ranges from seq 1 (the first pinned); `legacy_below`: see the module docstring."""

    ranges: tuple[KeyRange, ...]
    origin: str | None = None
    legacy_below: int = 0
    entries: tuple[int, ...] = field(default=())  # seqs of the key entries applied

    @classmethod
    def starting_with(cls, key_id: str, public_key: Ed25519PublicKey, origin: str | None = None) -> KeyHistory:
        if key_id_of(public_key) != key_id:
            raise KeyHistoryError(f"The first key's id {key_id} is not the id of its public key.")
        return cls((KeyRange(key_id, public_key, 1),), origin)

    @property
    def current(self) -> KeyRange:
        return self.ranges[-1]

    def key(self, key_id: str) -> KeyRange | None:
        return next((r for r in self.ranges if r.key_id == key_id), None)

    def at(self, seq: int) -> KeyRange:
        """The key that signs entry `seq` (seq >= 1)."""
        for key in reversed(self.ranges):
            if key.covers(seq):
                return key
        return self.ranges[0]

    def current_after(self, size: int) -> KeyRange:
        """The key current once the log holds `size` entries: it signs checkpoints of that size."""
        return self.at(size + 1)

    def entry_problem(self, key_id: str, seq: int) -> str | None:
        """Why `key_id` cannot have signed entry `seq` (None: it can)."""
        expected = self.at(seq)
        if expected.key_id == key_id:
            return None
        known = self.key(key_id)
        if known is None:
            return f"key {key_id} is not in the log's key history"
        return f"key {key_id} signs entries {known.span}, not seq {seq} (signed by {expected.key_id})"

    def checkpoint_problem(self, key_id: str, size: int) -> str | None:
        """Why `key_id` cannot have signed a checkpoint (or manifest) of log size `size`."""
        expected = self.current_after(size)
        if expected.key_id == key_id:
            return None
        if size < self.legacy_below and size >= 1 and self.at(size).key_id == key_id:
            return None
        known = self.key(key_id)
        if known is None:
            return f"key {key_id} is not in the log's key history"
        return f"a log of size {size} is signed by key {expected.key_id}, not {key_id} (which signs entries {known.span})"

    def apply(self, seq: int, signed_by: str, memo: str | None) -> KeyHistory:
        """The history after the ledger-key entry at `seq` (signed by `signed_by`); KeyHistoryError if invalid."""
        document = parse_key_memo(memo)
        action, origin = document["action"], document["origin"]
        if self.origin is not None and origin != self.origin:
            raise KeyHistoryError(f"the key entry names log {origin!r}, not {self.origin!r}")
        new_key = _public(document["public_key"], document["key_id"])
        _check_signature(new_key, document["incoming_signature"],
                         incoming_message(action, origin, document["previous"], document["key_id"], document["public_key"]),
                         f"the incoming signature of key {document['key_id']}")
        if action == "genesis":
            if seq != 1 or self.entries:
                raise KeyHistoryError("a genesis key entry must be the log's first entry")
            if signed_by != document["key_id"] or self.current.key_id != document["key_id"]:
                raise KeyHistoryError(f"the genesis entry is for key {document['key_id']}, but the log's first key is "
                                      f"{self.current.key_id}")
            return replace(self, origin=origin, entries=(seq,))
        if action == "adopt":
            return self._adopt(seq, signed_by, document, new_key)
        if document["previous"] != self.current.key_id or signed_by != self.current.key_id:
            raise KeyHistoryError(f"a rotation must be signed by the current key {self.current.key_id}")
        if self.key(document["key_id"]) is not None:
            raise KeyHistoryError(f"key {document['key_id']} was used before; a rotation needs a new key")
        ended = replace(self.current, last_seq=seq)
        return replace(self, origin=origin, entries=(*self.entries, seq),
                       ranges=(*self.ranges[:-1], ended, KeyRange(document["key_id"], new_key, seq + 1)))

    def _adopt(self, seq: int, signed_by: str, document: dict, new_key: Ed25519PublicKey) -> KeyHistory:
        if self.entries or len(self.ranges) != 1:
            raise KeyHistoryError("an adopt entry must be the log's first key entry")
        legacy = document.get("legacy")
        if not isinstance(legacy, list) or not 1 <= len(legacy) <= 1000:
            raise KeyHistoryError("an adopt entry must list the legacy key ranges")
        ranges, expected_first = [], 1
        for number, item in enumerate(legacy):
            if not isinstance(item, dict) or set(item) != _LEGACY_FIELDS:
                raise KeyHistoryError("a legacy key range must name key_id, public_key, first_seq, last_seq, handover_signature")
            first, last = item["first_seq"], item["last_seq"]
            if (not all(isinstance(v, int) and not isinstance(v, bool) for v in (first, last))
                    or first != expected_first or last < first or last >= seq):
                raise KeyHistoryError("the legacy key ranges must be contiguous from seq 1 and end before the adopt entry")
            public = _public(item["public_key"], item["key_id"])
            following = legacy[number + 1]["key_id"] if number + 1 < len(legacy) else document["key_id"]
            if not isinstance(following, str):
                raise KeyHistoryError("a legacy key range names no key")
            _check_signature(public, item["handover_signature"],
                             handover_message(document["origin"], item["key_id"], first, last, following),
                             f"the handover signature of legacy key {item['key_id']}")
            ranges.append(KeyRange(item["key_id"], public, first, last))
            expected_first = last + 1
        if ranges[0].key_id != self.ranges[0].key_id:
            raise KeyHistoryError(f"the legacy history starts with key {ranges[0].key_id}, not the first key "
                                  f"{self.ranges[0].key_id}")
        if signed_by != document["key_id"]:
            raise KeyHistoryError(f"an adopt entry must be signed by the key it adopts, {document['key_id']}")
        if ranges[-1].key_id == document["key_id"]:
            ranges[-1] = replace(ranges[-1], last_seq=None)
            if expected_first != seq:
                raise KeyHistoryError("the legacy key ranges must reach the adopt entry")
        else:
            if expected_first != seq:
                raise KeyHistoryError("the legacy key ranges must reach the adopt entry")
            ranges.append(KeyRange(document["key_id"], new_key, seq))
        ids = [r.key_id for r in ranges]
        if len(set(ids)) != len(ids):
            raise KeyHistoryError("a legacy key appears in two ranges")
        return replace(self, origin=document["origin"], ranges=tuple(ranges), legacy_below=seq, entries=(seq,))


def history_mismatch(stated: KeyHistory, derived: KeyHistory) -> str | None:
    """Where a published history (a keys file) disagrees with the log's (None: it is a prefix of it).

    A file made before a later rotation still agrees: its last, open range may have ended since.
    """
    if len(stated.ranges) > len(derived.ranges):
        return f"the keys file names {len(stated.ranges)} keys, the log's key history only {len(derived.ranges)}"
    for number, (said, found) in enumerate(zip(stated.ranges, derived.ranges)):
        open_end = said.last_seq is None and number == len(stated.ranges) - 1
        if said.key_id != found.key_id or said.first_seq != found.first_seq or (
                not open_end and said.last_seq != found.last_seq):
            return (f"the keys file says key {said.key_id} signs seqs {said.span}, the log says key {found.key_id} "
                    f"signs seqs {found.span}")
    if stated.legacy_below != derived.legacy_below and stated.legacy_below:
        return f"the keys file says legacy_below {stated.legacy_below}, the log {derived.legacy_below}"
    return None


def parse_key_memo(memo: str | None) -> dict:
    """The memo document of a ledger-key entry, checked for shape; KeyHistoryError otherwise."""
    if not isinstance(memo, str) or len(memo) > MAX_KEY_MEMO_CHARS:
        raise KeyHistoryError("a ledger-key entry must carry its key document as memo")
    try:
        document = json.loads(memo)
    except (ValueError, RecursionError):
        raise KeyHistoryError("a ledger-key entry's memo is not JSON") from None
    if not isinstance(document, dict) or document.get("type") != KEY_DOCUMENT_TYPE:
        raise KeyHistoryError(f"a ledger-key entry's memo is not a {KEY_DOCUMENT_TYPE} document")
    action = document.get("action")
    allowed = _FIELDS | ({"legacy"} if action == "adopt" else set())
    if action not in ACTIONS or not _FIELDS <= set(document) <= allowed:
        raise KeyHistoryError("a ledger-key document must hold exactly type, action, origin, previous, key_id, "
                              "public_key and incoming_signature (and legacy, to adopt)")
    try:
        canonical = canonical_memo(document)
    except SignatureError:
        canonical = None
    if canonical != memo or "signature" in document:
        raise KeyHistoryError("a ledger-key entry's memo is not canonical JSON")
    previous = document["previous"]
    if (action == "rotate") != (previous is not None) or (previous is not None and not _is_id(previous)):
        raise KeyHistoryError("a rotation names the previous key id; genesis and adopt name none")
    if not isinstance(document["origin"], str) or not document["origin"] or "\n" in document["origin"]:
        raise KeyHistoryError("a ledger-key document must name its log's origin")
    return document


def canonical_memo(document: dict) -> str:
    """The memo text of a key document: its canonical JSON (`ledger.crypto.canonical_json`)."""
    return canonical_json(document).decode("utf-8")


def _is_id(value: object) -> bool:
    return isinstance(value, str) and bool(_HEX16.fullmatch(value))


def _public(public_hex: object, key_id: object) -> Ed25519PublicKey:
    if not isinstance(public_hex, str) or not _HEX64.fullmatch(public_hex) or not _is_id(key_id):
        raise KeyHistoryError("a key document's key_id must be 16 and its public_key 64 lower-case hex digits")
    public = public_key_from_raw(bytes.fromhex(public_hex))
    if key_id_of(public) != key_id:
        raise KeyHistoryError(f"key id {key_id} is not the id of the public key it names")
    return public


def _check_signature(public: Ed25519PublicKey, encoded: object, message: bytes, what: str) -> None:
    try:
        signature = base64.b64decode(encoded if isinstance(encoded, str) else "", validate=True)
        public.verify(signature, message)
    except (binascii.Error, ValueError, InvalidSignature):
        raise KeyHistoryError(f"{what} does not verify") from None


def b64(signature: bytes) -> str:
    return base64.b64encode(signature).decode("ascii")
