"""Proof documents (versioned JSON) and their offline verification.

Three documents, each a JSON object whose `format` names it and its version:

`fairsplit.inclusion-proof/v1` — one ledger entry is in the log:
    {"format", "entry": {every column of the transfer}, "leaf_index": seq - 1,
     "inclusion_path": [base64 hash, …], "checkpoint": "<signed checkpoint note>",
     "consistency": {"old_size", "old_root", "consistency_path"}   (optional, see below)}
`fairsplit.balance-bundle/v1` — an account's balance and every entry behind it:
    {"format", "account", "balances": {currency: micro-units}, "display": {currency: "1.50"},
     "entries": [{"entry", "leaf_index", "inclusion_path"}, …],
     "evidence": [{"digest", "document"}, …], "key_entries": [{"entry", "leaf_index", "inclusion_path"}, …],
     "checkpoint", "consistency"?}
    (each reward entry checked against its signed evidence: `ledger.evidence.offline`)
`fairsplit.consistency-proof/v1` — the log of `old_checkpoint` is a prefix of `checkpoint`:
    {"format", "old_checkpoint", "checkpoint", "consistency": {"old_size", "old_root", "consistency_path"}}

Verification (`verify_document`) needs only the document, the ledger's public keys file
(`ledger.tlog.public_keys`) and, optionally, a checkpoint the verifier kept from before. No
database, no network. For each entry it recomputes the canonical row encoding
(`ledger.books.encoding`), checks the row's hash and its Ed25519 signature by the key whose seq
range (`ledger.tlog.public_keys`) holds the row's seq, then the RFC 6962 inclusion of SHA-256(0x00 ‖ encoding)
at index seq - 1 under the signed checkpoint. A bundle's balance is recomputed from its
entries. A `consistency` part names an older tree head (size, root) and proves, RFC 9162
§2.1.4, that it is a prefix of the checkpoint's tree; it is always checked. With a kept
checkpoint, the document must show the log only grew since: the kept checkpoint is the
document's, or the older head its consistency part starts from.

Witnesses: the signed checkpoint may carry cosignature lines of independent witnesses
(`ledger.tlog.cosignature`); with witness keys, `verify_document` also requires a quorum of
them on the checkpoint the document ends at, so a history rebuilt with the ledger's own
key, which no witness cosigns, is refused.

A bundle may be one period's (`"period"`, `ledger.tlog.period_proofs`): its balances are then
the opening balance a signed close entry states plus that period's entries.

What no proof here can show: that a bundle lists *every* entry of the account. Entries
are proven to be in the log, and the balance is exactly theirs, but an omitted entry is
not detected.

Every failure is a `VerificationError` with one sentence; nothing else is raised for
any input, and nothing is reported valid unless every check passed.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from cryptography.exceptions import InvalidSignature

from ledger.books.accounts import SYSTEM_KINDS
from ledger.tlog.checkpoint import Checkpoint, CheckpointError, b64decode_strict, open_checkpoint, parse_time
from ledger.tlog.cosignature import CosignerKey, require_quorum
from ledger.books.encoding import ENCODING_VERSION, encode_row, format_timestamp
from ledger.errors import MoneyError
from ledger.evidence.rewards import EvidenceError
from ledger.evidence.offline import check_bundle_evidence
from ledger.tlog.public_keys import Keyring, KeyringError, public_key_id
from ledger.tlog.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from ledger.money import format_amount
from ledger.strictjson import StrictJsonError, parse_object
from ledger.keys.trusted import KeyEntryError

INCLUSION_FORMAT = "fairsplit.inclusion-proof/v1"
BUNDLE_FORMAT = "fairsplit.balance-bundle/v1"
CONSISTENCY_FORMAT = "fairsplit.consistency-proof/v1"
MAX_DOCUMENT_BYTES = 256 << 20

_TEXT, _OPTIONAL_TEXT, _INT, _TIME, _HEX = "text", "optional text", "int", "time", "hex"
#: Every column of a transfer as it appears in a proof, and how it is checked.
ENTRY_FIELDS = {
    "seq": _INT, "id": _TEXT, "version": _INT, "event_id": _TEXT, "attribution_id": _OPTIONAL_TEXT,
    "kind": _TEXT, "debit_account": _TEXT, "credit_account": _TEXT, "amount": _INT, "currency": _TEXT,
    "occurred_at": _TIME, "created_at": _TIME, "reverses_id": _OPTIONAL_TEXT, "memo": _OPTIONAL_TEXT,
    "prev_hash": _HEX, "hash": _HEX, "key_id": _TEXT, "signature": _HEX,
}
_MAX_INT = 2**63 - 1
#: The fields each document may have: anything else is refused, so nothing unchecked rides along.
DOCUMENT_FIELDS = {
    INCLUSION_FORMAT: {"format", "entry", "leaf_index", "inclusion_path", "checkpoint", "consistency"},
    BUNDLE_FORMAT: {"format", "account", "balances", "display", "entries", "evidence", "key_entries", "checkpoint",
                    "consistency", "period"},
    CONSISTENCY_FORMAT: {"format", "old_checkpoint", "checkpoint", "consistency"},
}
_PART_FIELDS = {"entry", "leaf_index", "inclusion_path"}
_CONSISTENCY_FIELDS = {"old_size", "old_root", "consistency_path"}


class VerificationError(ValueError):
    """The document is malformed or does not verify; the message says which and why."""


# --- writing documents ----------------------------------------------------------------


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def entry_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A transfer row (mapping of its columns) as it appears in a proof."""
    return {
        name: (format_timestamp(row[name]) if kind == _TIME else row[name])
        for name, kind in ENTRY_FIELDS.items()
    }


def inclusion_part(row: Mapping[str, Any], path: list[bytes]) -> dict[str, Any]:
    return {"entry": entry_json(row), "leaf_index": row["seq"] - 1, "inclusion_path": [b64(h) for h in path]}


def consistency_part(old_size: int, old_root: bytes, path: list[bytes]) -> dict[str, Any]:
    return {"old_size": old_size, "old_root": b64(old_root), "consistency_path": [b64(h) for h in path]}


# --- reading ---------------------------------------------------------------------------


def load_json(data: bytes | str, what: str = "The document") -> dict[str, Any]:
    """Parse a JSON object strictly (`ledger.strictjson`: no NaN, no repeated keys, bounded)."""
    try:
        return parse_object(data, what, MAX_DOCUMENT_BYTES)
    except StrictJsonError as exc:
        raise VerificationError(str(exc)) from None


def _get(obj: Any, name: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise VerificationError(f"{where} lacks {name!r}.")
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise VerificationError(f"{where}: {name!r} has the wrong type.")
    return value


def _only(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise VerificationError(f"{where} has an unknown field {unknown[0]!r}.")


def _get_int(obj: Any, name: str, where: str) -> int:
    value = _get(obj, name, int, where)
    if not 0 <= value <= _MAX_INT:
        raise VerificationError(f"{where}: {name!r} is out of range.")
    return value


def _hashes(items: Any, where: str) -> list[bytes]:
    if not isinstance(items, list) or len(items) > 64:
        raise VerificationError(f"{where} must be a list of at most 64 base64 hashes.")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise VerificationError(f"{where} holds something that is not a base64 hash.")
        try:
            digest = b64decode_strict(item, f"{where} hash")
        except CheckpointError as exc:
            raise VerificationError(str(exc)) from None
        if len(digest) != 32:
            raise VerificationError(f"{where} holds a hash that is not 32 bytes.")
        out.append(digest)
    return out


def _entry_row(obj: Any, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise VerificationError(f"{where} must be an object.")
    unknown = set(obj) - set(ENTRY_FIELDS)
    if unknown:
        raise VerificationError(f"{where} has unknown field {sorted(unknown)[0]!r}.")
    row: dict[str, Any] = {}
    for name, kind in ENTRY_FIELDS.items():
        if kind == _OPTIONAL_TEXT and obj.get(name, "") is None:
            row[name] = None
        elif kind == _INT:
            row[name] = _get_int(obj, name, where)
        else:
            value = _get(obj, name, str, where)
            row[name] = _checked_text(value, name, kind, where)
    if row["version"] != ENCODING_VERSION:
        raise VerificationError(f"{where} uses entry encoding version {row['version']}, which this verifier does not know.")
    if row["seq"] < 1 or row["amount"] < (0 if row["kind"] in SYSTEM_KINDS else 1):
        raise VerificationError(f"{where}: seq and amount must be positive (amount 0 only for a log entry of kind key or close).")
    return row


def _checked_text(value: str, name: str, kind: str, where: str) -> Any:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise VerificationError(f"{where}: {name!r} is not valid Unicode text.") from None
    if kind == _TIME:
        try:
            return parse_time(value, f"{where}: {name!r}")
        except CheckpointError as exc:
            raise VerificationError(str(exc)) from None
    if kind == _HEX:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = None
        if raw is None or raw.hex() != value:
            raise VerificationError(f"{where}: {name!r} must be lower-case hex.")
    return value


# --- verifying -------------------------------------------------------------------------


@dataclass
class Verified:
    """What a valid document proved."""

    format: str
    checkpoint: Checkpoint
    lines: list[str] = field(default_factory=list)
    account: str | None = None
    balances: dict[str, int] | None = None


def open_signed_checkpoint(note: Any, keyring: Keyring, what: str = "The checkpoint") -> Checkpoint:
    """Verify a signed checkpoint against the public keys file, including key validity."""
    if not isinstance(note, str):
        raise VerificationError(f"{what} must be the text of a signed note.")
    try:
        origin = note.split("\n", 1)[0]
        if keyring.origin is not None and origin != keyring.origin:
            raise VerificationError(f"{what} is from log {origin!r}, not {keyring.origin!r}.")
        checkpoint, key = open_checkpoint(note, keyring.note_keys(origin))
        keyring.key_for_size(public_key_id(key.public_key), checkpoint.size)
    except (CheckpointError, KeyringError) as exc:
        raise VerificationError(f"{what}: {exc}") from None
    return checkpoint


def check_witnessed(note: str, witness_keys: Sequence[CosignerKey], quorum: int | None = None) -> str:
    """Raise VerificationError unless `quorum` (default: all) of the witnesses cosigned `note`."""
    try:
        cosignatures = require_quorum(note, list(witness_keys), len(witness_keys) if quorum is None else quorum)
    except CheckpointError as exc:
        raise VerificationError(f"The checkpoint is not witnessed: {exc}") from None
    names = ", ".join(sorted(c.key.name for c in cosignatures))
    return f"it is cosigned by {len(cosignatures)} witness{'es' if len(cosignatures) > 1 else ''} ({names})"


def verify_entry(
    part: Any, checkpoint: Checkpoint, keyring: Keyring, where: str, fields: set[str] | None = _PART_FIELDS
) -> dict[str, Any]:
    """Check one {"entry", "leaf_index", "inclusion_path"}; returns the entry's row.

    `fields`: the keys `part` may have (None when the caller checked them already).
    """
    row = _entry_row(_get(part, "entry", dict, where), f"{where} entry")
    if fields is not None:
        _only(part, fields, where)
    where = f"{where} (seq {row['seq']})"
    if _get_int(part, "leaf_index", where) != row["seq"] - 1:
        raise VerificationError(f"{where}: leaf_index must be seq - 1.")
    path = _hashes(_get(part, "inclusion_path", list, where), f"{where} inclusion_path")
    encoding = encode_row(row)
    digest = sha256(encoding).digest()
    if digest.hex() != row["hash"]:
        raise VerificationError(f"{where}: the entry's fields do not match its hash; it was altered.")
    try:
        public_key = keyring.key_for_entry(row["key_id"], row["seq"])
        public_key.verify(bytes.fromhex(row["signature"]), digest)
    except KeyringError as exc:
        raise VerificationError(f"{where}: {exc}") from None
    except InvalidSignature:
        raise VerificationError(f"{where}: the entry's signature by key {row['key_id']} does not verify.") from None
    try:
        verify_inclusion(leaf_hash(encoding), row["seq"] - 1, checkpoint.size, path, checkpoint.root_hash)
    except ProofError as exc:
        raise VerificationError(f"{where}: {exc}") from None
    return row


def _verified_consistency(part: Any, new: Checkpoint) -> tuple[int, bytes]:
    """Check a {"old_size", "old_root", "consistency_path"} part against `new`; returns (old_size, old_root).

    The part names the older tree head it starts from, so it is checked in full even
    without a kept checkpoint; a kept one must then equal that head.
    """
    where = "The consistency proof"
    if not isinstance(part, dict):
        raise VerificationError(f"{where} must be an object.")
    _only(part, _CONSISTENCY_FIELDS, where)
    old_size = _get_int(part, "old_size", where)
    old_root = _hashes([_get(part, "old_root", str, where)], f"{where} old_root")[0]
    path = _hashes(_get(part, "consistency_path", list, where), f"{where} path")
    try:
        verify_consistency(old_size, new.size, old_root, new.root_hash, path)
    except ProofError as exc:
        raise VerificationError(f"{where}: {exc}") from None
    return old_size, old_root


def _check_grew_from(kept: Checkpoint, current: Checkpoint, since: tuple[int, bytes] | None) -> str:
    """The kept checkpoint is `current`, or the proven older head `since` it grew from."""
    if kept.origin != current.origin:
        raise VerificationError(f"The kept checkpoint is from log {kept.origin!r}, not {current.origin!r}.")
    if kept.size > current.size:
        raise VerificationError(
            f"The document's checkpoint (size {current.size}) is older than the kept one (size {kept.size}); "
            "ask for a fresh proof."
        )
    if kept.size == current.size:
        if kept.root_hash != current.root_hash:
            raise VerificationError(f"Two different root hashes for tree size {kept.size}: the log was rewritten.")
        return f"same tree as the kept checkpoint (size {kept.size})"
    if since is None or since[0] != kept.size:
        raise VerificationError(
            f"The document has no consistency proof from the kept checkpoint (size {kept.size}); "
            f"ask for one with --since {kept.size}."
        )
    if since[1] != kept.root_hash:
        raise VerificationError(
            f"The log's first {kept.size} entries differ from the kept checkpoint's: the log was rewritten."
        )
    return f"the log only grew since the kept checkpoint (size {kept.size} -> {current.size})"


def _verify_bundle(document: dict[str, Any], checkpoint: Checkpoint, keyring: Keyring, result: Verified) -> None:
    account = _get(document, "account", str, "The bundle")
    claimed = _get(document, "balances", dict, "The bundle")
    parts = _get(document, "entries", list, "The bundle")
    totals: dict[str, int] = {}
    seen: set[int] = set()
    rows = []
    for number, part in enumerate(parts):
        row = verify_entry(part, checkpoint, keyring, f"Bundle entry {number}")
        rows.append(row)
        if row["seq"] in seen:
            raise VerificationError(f"Entry seq {row['seq']} appears twice in the bundle.")
        seen.add(row["seq"])
        sign = 1 if row["credit_account"] == account else -1 if row["debit_account"] == account else 0
        if not sign:
            raise VerificationError(f"Entry seq {row['seq']} does not move money into or out of {account}.")
        totals[row["currency"]] = totals.get(row["currency"], 0) + sign * row["amount"]
    if "period" in document:  # a per-period bundle: opening (signed close) + the period's entries
        from ledger.tlog.period_proofs import verify_period  # it raises this module's VerificationError

        totals = verify_period(document["period"], account, rows, totals, lambda part, where: verify_entry(
            part, checkpoint, keyring, where))
        result.lines.append(f"{document['period']['id']} opens with the balances the close before it carried")
    for currency, amount in claimed.items():
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise VerificationError(f"The bundle's {currency} balance must be an integer of micro-units.")
    if {c: a for c, a in claimed.items() if a} != {c: a for c, a in totals.items() if a}:
        raise VerificationError(
            f"The bundle claims balances {_show(claimed)}, but its proven entries add up to {_show(totals)}."
        )
    if "display" in document and document["display"] != display_balances(totals):
        raise VerificationError("The bundle's displayed balances do not match its proven entries.")
    result.account, result.balances = account, dict(sorted(totals.items()))
    result.lines.append(f"{len(parts)} entries of {account} are in the log; balance {_show(totals) or '0'}")
    try:  # every reward bound to its signed evidence (`ledger.evidence.offline`)
        result.lines.append(check_bundle_evidence(
            document, rows, lambda part, where: verify_entry(part, checkpoint, keyring, where)))
    except (EvidenceError, KeyEntryError) as exc:
        raise VerificationError(f"{str(exc)[0].upper()}{str(exc)[1:].rstrip('.')}.") from None


def display_balances(balances: Mapping[str, int]) -> dict[str, str]:
    """{currency: decimal string}, as `balance --proof` writes it."""
    try:
        return {currency: format_amount(micros, currency) for currency, micros in sorted(balances.items())}
    except MoneyError as exc:
        raise VerificationError(f"The bundle has an amount in an unknown currency: {exc}") from None


def _show(balances: Mapping[str, int]) -> str:
    shown = []
    for currency, micros in sorted(balances.items()):
        try:
            shown.append(f"{format_amount(micros, currency)} {currency}")
        except MoneyError:
            shown.append(f"{micros} micro-units of {currency!r}")
    return ", ".join(shown)


def verify_document(
    data: bytes | str, keyring: Keyring, kept: bytes | str | None = None,
    witness_keys: Sequence[CosignerKey] = (), quorum: int | None = None,
) -> Verified:
    """Verify a proof, bundle or consistency document offline; VerificationError if invalid.

    With `witness_keys`, the checkpoint the document ends at must also carry valid
    cosignatures by at least `quorum` of them (default: all).
    """
    document = load_json(data)
    fmt = document.get("format")
    if not isinstance(fmt, str) or fmt not in DOCUMENT_FIELDS:
        raise VerificationError(f"Unknown document format {fmt!r}; expected one of fairsplit's proof formats.")
    _only(document, DOCUMENT_FIELDS[fmt], "The document")
    checkpoint = open_signed_checkpoint(document.get("checkpoint"), keyring)
    result = Verified(fmt, checkpoint, [f"checkpoint of {checkpoint.origin} at tree size {checkpoint.size} is signed by the ledger"])
    if witness_keys:
        result.lines.append(check_witnessed(document["checkpoint"], witness_keys, quorum))
    if fmt == INCLUSION_FORMAT:
        row = verify_entry(document, checkpoint, keyring, "The proof", fields=None)
        result.lines.append(f"entry seq {row['seq']} (transfer {row['id']}) is in the log")
    elif fmt == BUNDLE_FORMAT:
        _verify_bundle(document, checkpoint, keyring, result)
    else:
        old = open_signed_checkpoint(document.get("old_checkpoint"), keyring, "The old checkpoint")
        if old.origin != checkpoint.origin:
            raise VerificationError("The two checkpoints are from different logs.")
        if "consistency" not in document:
            raise VerificationError("The document lacks 'consistency'.")
    since = None
    if "consistency" in document:
        since = _verified_consistency(document["consistency"], checkpoint)
        result.lines.append(f"the log of size {since[0]} is a prefix of the log of size {checkpoint.size}")
    if fmt == CONSISTENCY_FORMAT and since != (old.size, old.root_hash):
        raise VerificationError("The consistency proof does not start at the old checkpoint's tree head.")
    if kept is not None:
        result.lines.append(_check_grew_from(_kept_checkpoint(kept, keyring), checkpoint, since))
    return result


def _kept_checkpoint(kept: bytes | str, keyring: Keyring) -> Checkpoint:
    """A kept checkpoint: a signed note, or any fairsplit proof document holding one."""
    text = kept.decode("utf-8", "replace") if isinstance(kept, bytes) else kept
    if text.lstrip().startswith("{"):
        text = load_json(kept, "The kept checkpoint file").get("checkpoint")
    return open_signed_checkpoint(text, keyring, "The kept checkpoint")
