"""The canonical byte encoding of a transfer row, and its hash.

Encoding version 1 (`docs/ledger.md` states it for re-implementers) is the
concatenation of 16 fields, each written as a 4-byte big-endian length followed by that
many bytes of UTF-8 text; a NULL is the length 0xFFFFFFFF and no bytes. The fields, in
order:

    tag "fairsplit.transfer.v1", seq, id, event_id, attribution_id, kind,
    debit_account, credit_account, amount, currency, occurred_at, created_at,
    reverses_id, memo, key_id, prev_hash

Integers are decimal ASCII without sign or leading zeros; timestamps are UTC as
`YYYY-MM-DDTHH:MM:SS.ffffffZ` (always 6 fraction digits); hashes are lower-case hex.
`hash` = lower-case hex of SHA-256 over the encoding; the signature is Ed25519 over the
32 raw bytes of that digest. `signature` and `hash` themselves are not encoded.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

ENCODING_VERSION = 1
TAG_V1 = "fairsplit.transfer.v1"
NULL_LENGTH = b"\xff\xff\xff\xff"

#: Row fields in encoding order (after the tag).
FIELDS_V1 = (
    "seq", "id", "event_id", "attribution_id", "kind", "debit_account", "credit_account",
    "amount", "currency", "occurred_at", "created_at", "reverses_id", "memo", "key_id",
    "prev_hash",
)
_FIELD_VALUES = itemgetter(*FIELDS_V1)
_LENGTH = struct.Struct(">I").pack
_TAG_FIELD = _LENGTH(len(TAG_V1)) + TAG_V1.encode()


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime (as SQLite returns it) is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@lru_cache(maxsize=4096)
def format_timestamp(moment: datetime) -> str:
    """`2026-11-24T12:00:00.000000Z`: the encoding's one spelling of an instant."""
    return utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def encode_row(row: Mapping[str, Any]) -> bytes:
    """The version-1 canonical bytes of a transfer row (a mapping of column values)."""
    version = row.get("version", ENCODING_VERSION)
    if version != ENCODING_VERSION:
        raise ValueError(f"Unknown transfer encoding version {version!r}.")
    (seq, id_, event_id, attribution_id, kind, debit, credit, amount, currency, occurred_at,
     created_at, reverses_id, memo, key_id, prev_hash) = _FIELD_VALUES(row)
    values = (
        None if seq is None else str(int(seq)), id_, event_id, attribution_id, kind, debit, credit,
        None if amount is None else str(int(amount)), currency,
        None if occurred_at is None else format_timestamp(occurred_at),
        None if created_at is None else format_timestamp(created_at),
        reverses_id, memo, key_id, prev_hash,
    )
    parts = [_TAG_FIELD]
    append = parts.append
    for value in values:
        if value is None:
            append(NULL_LENGTH)
            continue
        data = value.encode()
        append(_LENGTH(len(data)))
        append(data)
    return b"".join(parts)


def row_digest(row: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical encoding (the 32 bytes that get signed)."""
    return hashlib.sha256(encode_row(row)).digest()


def row_hash(row: Mapping[str, Any]) -> str:
    """Lower-case hex of `row_digest(row)`: the value stored in `transfers.hash`."""
    return row_digest(row).hex()
