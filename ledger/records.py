"""Record entries: log rows that move no money (kinds `key` and `close`).

Invariants (checked in `check_record_spec`, called by `ledger.store.check_spec`):
  1. amount is 0 and both accounts are `ledger:` accounts, so no sum of money changes.
  2. the memo is a canonical-JSON object (`ledger.crypto.canonical_json`) with a "type"
     string: the entry's meaning is in the signed, hash-chained row itself.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.crypto import canonical_json
from ledger.errors import TransferError

LEDGER_PREFIX = "ledger:"


def record_memo(document: dict[str, Any]) -> str:
    """The memo of a record entry: `document` as canonical JSON text."""
    return canonical_json(document).decode("utf-8")


def parse_record_memo(memo: str | None) -> dict[str, Any] | None:
    """The document of a record entry's memo, or None when the memo is not canonical JSON with a type."""
    if not isinstance(memo, str):
        return None
    try:
        document = json.loads(memo)
    except ValueError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        return None
    return document if record_memo(document) == memo else None


def check_record_spec(spec: Any) -> None:
    """Invariants 1 and 2 for a transfer spec of a record kind."""
    if spec.amount != 0:
        raise TransferError(f"A {spec.kind} entry moves no money: its amount must be 0.")
    if not (str(spec.debit).startswith(LEDGER_PREFIX) and str(spec.credit).startswith(LEDGER_PREFIX)):
        raise TransferError(f"A {spec.kind} entry is between two ledger: accounts.")
    if parse_record_memo(spec.memo) is None:
        raise TransferError(f"A {spec.kind} entry's memo must be a canonical-JSON document with a type.")
