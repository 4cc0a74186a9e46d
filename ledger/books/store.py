"""Appending to and reading from the ledger.

`Ledger.append(specs)` is the only writer. One call is one transaction that:
1. validates every spec (amounts, currencies, accounts, kinds; see `check_spec`);
2. takes the chain lock (PostgreSQL `pg_advisory_xact_lock`, SQLite `BEGIN IMMEDIATE`),
   so concurrent writers queue and never fork the chain;
3. returns already-booked transfers unchanged (same derived id, same body) and raises
   `ConflictError` for a booked id with a different body, before writing anything;
4. seals the new rows in a tight loop (seq, prev_hash, hash, signature) and inserts them
   in bulk (COPY on PostgreSQL, executemany on SQLite) — no ORM per row;
5. inserts the new balance of every (account, currency) they moved (`ledger.books.balances`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from fractions import Fraction
from functools import lru_cache
from hashlib import sha1, sha256
from typing import Any

from sqlalchemy import Connection, Engine, String, any_, bindparam, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

from ledger.books.accounts import resolve_account, validate_account
from ledger.books.db import WRITE_OPTION, is_sqlite
from ledger.books.encoding import ENCODING_VERSION, encode_row, utc
from ledger.errors import ConflictError, MoneyError, TransferError
from ledger.invariants import invariant
from ledger.keys.log import guard_signer
from ledger.keys.signing import Signer
from ledger.money import MAX_MICROS, check_currency, split_largest_remainder
from ledger.books.balances import current_balances, history_query, record_balances
from ledger.books.schema import GENESIS_HASH, TRANSFER_COLUMNS, TRANSFER_KINDS, TRANSFERS
from ledger.books.system_entries import check_system_entry, is_system, refuse_ledger_accounts

#: uuid5 namespace of transfer ids (fixed forever: ids are derived, never stored elsewhere).
TRANSFER_NAMESPACE = uuid.UUID("6f1b9c1e-3a53-5d0e-9a51-2f0a1e5c7b10")
#: Key of the PostgreSQL advisory lock that serialises appends ("fairsplt" in ASCII).
CHAIN_LOCK_KEY = 0x66616972_73706C74
_LOOKUP_CHUNK = 500
_SIGN_CHUNK = 256
_BODY = ("event_id", "attribution_id", "kind", "debit_account", "credit_account", "amount",
         "currency", "occurred_at", "reverses_id", "memo")


_NAMESPACE_BYTES = TRANSFER_NAMESPACE.bytes


def transfer_id(event_id: str, payee: str, kind: str) -> str:
    """The derived id: uuid5(TRANSFER_NAMESPACE, "event_id|payee|kind").

    Spelled out (SHA-1, version and variant bits, canonical hex) because it runs once per
    appended row and `uuid.uuid5` + `str(UUID)` cost three times as much.
    """
    digest = bytearray(sha1(_NAMESPACE_BYTES + f"{event_id}|{payee}|{kind}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """A transfer to append: what the caller decides. The ledger adds seq, hashes, signature."""

    event_id: str
    debit: str
    credit: str
    amount: int
    currency: str
    kind: str
    occurred_at: datetime
    attribution_id: str | None = None
    reverses_id: str | None = None
    memo: str | None = None

    @property
    def payee(self) -> str:
        """The account the id is derived from: who is paid, or whom a reversal/payout takes from."""
        return self.debit if self.kind in ("reversal", "payout") else self.credit

    @property
    def id(self) -> str:
        return transfer_id(self.event_id, self.payee, self.kind)

    def body(self) -> dict[str, Any]:
        """The caller-chosen columns, normalised as stored."""
        return {
            "event_id": self.event_id, "attribution_id": self.attribution_id, "kind": self.kind,
            "debit_account": self.debit, "credit_account": self.credit, "amount": self.amount,
            "currency": self.currency, "occurred_at": utc(self.occurred_at),
            "reverses_id": self.reverses_id, "memo": self.memo,
        }


def check_spec(spec: TransferSpec) -> None:
    """Raise TransferError/MoneyError/AccountError unless `spec` may be booked."""
    if not isinstance(spec.event_id, str) or not 0 < len(spec.event_id) <= 200 or "\x00" in spec.event_id:
        raise TransferError("An event id must be 1-200 characters of text without NUL.")
    if not isinstance(spec.occurred_at, datetime) or spec.occurred_at.tzinfo is None:
        raise TransferError(f"occurred_at {spec.occurred_at!r} must be a timezone-aware datetime.")
    if is_system(spec.kind):
        return check_system_entry(spec)  # key changes and closes: amount 0, ledger: accounts
    for name, value in (("memo", spec.memo), ("attribution id", spec.attribution_id)):
        if value is not None and (not isinstance(value, str) or "\x00" in value or len(value) > 2000):
            raise TransferError(f"A transfer's {name} must be text of at most 2000 characters without NUL.")
    if spec.kind not in TRANSFER_KINDS:
        raise TransferError(f"Kind {spec.kind!r} is not one of {', '.join(TRANSFER_KINDS)}.")
    if isinstance(spec.amount, bool) or not isinstance(spec.amount, int):
        raise MoneyError(f"Amount {spec.amount!r} must be an integer number of micro-units, never a float.")
    if not 0 < spec.amount <= MAX_MICROS:
        raise MoneyError(f"Amount {spec.amount} must be more than zero and fit the ledger's 64-bit amounts.")
    check_currency(spec.currency)
    _known_account(spec.debit)
    _known_account(spec.credit)
    refuse_ledger_accounts(spec.debit, spec.credit)
    if spec.debit == spec.credit:
        raise TransferError(f"A transfer needs two different accounts, not {spec.debit} twice.")
    if (spec.kind == "reversal") != (spec.reverses_id is not None):
        raise TransferError("A reversal must name the transfer it reverses (reverses_id), and only a reversal may.")
    for account in (spec.debit, spec.credit):
        if account.startswith("payouts:") and account != f"payouts:{spec.currency}":
            raise TransferError(f"Account {account} only holds {account[8:]}, not {spec.currency}.")


@lru_cache(maxsize=65536)
def _checked_account(name: str) -> str:
    return validate_account(name)  # a refused name raises, and lru_cache keeps no exception


def _known_account(name: object) -> str:
    """`validate_account`, remembered: a busy ledger pays the same few thousand accounts."""
    return _checked_account(name) if isinstance(name, str) else validate_account(name)


def reward_transfers(
    event_id: str,
    platform: str,
    payees_with_weights: Mapping[str, int | Fraction],
    amount: int,
    currency: str,
    occurred_at: datetime,
    attribution_id: str | None = None,
) -> list[TransferSpec]:
    """One reward transfer per payee, the largest-remainder split of `amount` (zero parts skipped).

    `platform` is `platform:<id>` or a bare platform id; payees are account names (a bare
    id means an artist). Weights are ints or Fractions (`Fraction(float_share)`).
    """
    payer = platform if ":" in platform else f"platform:{platform}"
    validate_account(payer)
    weights = {resolve_account(payee): weight for payee, weight in payees_with_weights.items()}
    parts = split_largest_remainder(amount, weights)
    return [
        TransferSpec(event_id, payer, payee, part, currency, "reward", occurred_at, attribution_id)
        for payee, part in parts.items()
        if part > 0
    ]


@dataclass(frozen=True, slots=True)
class StoredTransfer:
    """A booked transfer: every column of `transfers` (times in UTC), as a plain record.

    Returned instead of the `ledger.books.schema.Transfer` model because building an ORM
    instance per row would cost more than hashing and signing it.
    """

    seq: int
    id: str
    version: int
    event_id: str
    attribution_id: str | None
    kind: str
    debit_account: str
    credit_account: str
    amount: int
    currency: str
    occurred_at: datetime
    created_at: datetime
    reverses_id: str | None
    memo: str | None
    prev_hash: str
    hash: str
    key_id: str
    signature: str

    def as_dict(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


class Ledger:
    """The ledger on one database, appending with its current signing key.

    `key_dir`: where a rotated key is picked up from (`ledger.keys.log.guard_signer`).
    """

    def __init__(self, engine: Engine, signer: Signer | None = None, key_dir: str | None = None) -> None:
        self.engine = engine
        self.signer = signer
        self.key_dir = key_dir

    # --- writing -------------------------------------------------------------------

    def append(
        self,
        specs: Sequence[TransferSpec],
        before_insert: Callable[[Connection], object] | None = None,
    ) -> list[StoredTransfer]:
        """Book `specs` atomically; returns the stored transfer for each spec, in order.

        `before_insert(connection)` runs inside the same transaction, under the chain lock,
        before anything is written: a caller records what the transfers pay for (the
        event) there, so both land or neither does; whatever it raises aborts the append.
        """
        if self.signer is None:
            raise TransferError("This ledger was opened without a signing key, so it cannot append.")
        ids = [spec.id for spec in specs]
        wanted = _dedupe(specs, ids)
        if not wanted and before_insert is None:
            return []
        with self._chain_lock() as connection:
            self.signer = guard_signer(connection, self.signer, self.key_dir)  # the log's current key, or nothing
            if before_insert is not None:
                before_insert(connection)
            return self._book(connection, wanted, ids)

    def append_decided(self, decide: Callable[[Connection], Sequence[TransferSpec]]) -> list[StoredTransfer]:
        """Book what `decide(connection)` returns, decided under the chain lock in the same
        transaction: a registry change and the log entry that records it land together,
        and no other writer can change what the decision read."""
        if self.signer is None:
            raise TransferError("This ledger was opened without a signing key, so it cannot append.")
        with self._chain_lock() as connection:
            self.signer = guard_signer(connection, self.signer, self.key_dir)
            specs = list(decide(connection))
            ids = [spec.id for spec in specs]
            return self._book(connection, _dedupe(specs, ids), ids)

    def _book(self, connection: Connection, wanted: dict[str, TransferSpec], ids: list[str]) -> list[StoredTransfer]:
        if not wanted:
            return []
        stored = _fetch_by_ids(connection, list(wanted))
        fresh = [(key, spec) for key, spec in wanted.items() if key not in stored]
        for key, row in stored.items():
            _check_same_body(wanted[key], row)
        _check_reversals(connection, [spec for _, spec in fresh])
        head_seq, head_hash = _head(connection)
        rows = _insert(connection, _seal(fresh, head_seq, head_hash, self.signer))
        record_balances(connection, rows)  # the maintained balances, in the same transaction
        written = {row["id"]: StoredTransfer(**row) for row in rows}  # sealed in UTC already
        return [written[key] if key in written else _transfer(stored[key]) for key in ids]

    @contextmanager
    def _chain_lock(self) -> Iterator[Connection]:
        if is_sqlite(self.engine):
            with self.engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
                yield connection
            return
        with self.engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
            yield connection

    # --- reading -------------------------------------------------------------------

    def balance(self, account: str, currency: str | None = None) -> dict[str, int]:
        """Credits − debits of `account`, in micro-units, per currency (only `currency` if given):
        the maintained balances (`ledger.books.balances`), one index lookup per currency."""
        validate_account(account)
        if currency is not None:
            check_currency(currency)
        with self.engine.connect() as connection:
            return current_balances(connection, account, currency)

    def history(self, account: str, limit: int = 50, offset: int = 0) -> list[StoredTransfer]:
        """Transfers into or out of `account`, newest first."""
        validate_account(account)
        with self.engine.connect() as connection:
            query = history_query(connection, account, limit, offset)  # index scans, newest first
            return [_transfer(row._mapping) for row in connection.execute(query)]

    def get(self, transfer_id: str) -> StoredTransfer | None:
        with self.engine.connect() as connection:
            row = _fetch_by_ids(connection, [transfer_id]).get(transfer_id)
        return None if row is None else _transfer(row)

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest row; (0, 64 zeros) for an empty ledger."""
        with self.engine.connect() as connection:
            return _head(connection)


# --- the append steps ---------------------------------------------------------------


def _dedupe(specs: Sequence[TransferSpec], ids: list[str]) -> dict[str, TransferSpec]:
    wanted: dict[str, TransferSpec] = {}
    for spec, key in zip(specs, ids, strict=True):
        check_spec(spec)
        if key in wanted and wanted[key].body() != spec.body():
            raise ConflictError(f"Transfer {key} appears twice in one batch with different bodies.")
        wanted.setdefault(key, spec)
    return wanted


def _fetch_by_ids(connection: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Booked rows among `ids` (PostgreSQL: one `= ANY(array)` per chunk, far cheaper than IN)."""
    found: dict[str, dict[str, Any]] = {}
    postgres = connection.dialect.name == "postgresql"
    chunk_size = 10 * _LOOKUP_CHUNK if postgres else _LOOKUP_CHUNK
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        if postgres:
            match = TRANSFERS.c.id == any_(bindparam("ids", chunk, type_=ARRAY(String)))
        else:
            match = TRANSFERS.c.id.in_(chunk)
        for row in connection.execute(select(TRANSFERS).where(match)):
            found[row.id] = dict(row._mapping)
    return found


def _check_same_body(spec: TransferSpec, row: Mapping[str, Any]) -> None:
    stored = {name: row[name] for name in _BODY}
    stored["occurred_at"] = utc(stored["occurred_at"])
    if stored != spec.body():
        changed = ", ".join(name for name, value in spec.body().items() if stored[name] != value)
        raise ConflictError(
            f"Transfer {spec.id} (event {spec.event_id}) is already booked with a different {changed}."
        )


def _check_reversals(connection: Connection, fresh: list[TransferSpec]) -> None:
    reversals = [spec for spec in fresh if spec.reverses_id is not None]
    if not reversals:
        return
    originals = _fetch_by_ids(connection, [spec.reverses_id for spec in reversals])
    for spec in reversals:
        original = originals.get(spec.reverses_id)
        if original is None:
            raise TransferError(f"Reversal of {spec.reverses_id} names a transfer that is not booked.")
        swapped = (original["credit_account"], original["debit_account"], original["currency"])
        if (spec.debit, spec.credit, spec.currency) != swapped or spec.amount > original["amount"]:
            raise TransferError(
                f"Reversal of {spec.reverses_id} must move at most its amount back between the same accounts."
            )


def _head(connection: Connection) -> tuple[int, str]:
    row = connection.execute(
        select(TRANSFERS.c.seq, TRANSFERS.c.hash).order_by(TRANSFERS.c.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), row.hash)


def _seal(
    fresh: list[tuple[str, TransferSpec]], seq: int, prev_hash: str, signer: Signer
) -> Iterator[dict[str, Any]]:
    """Number, chain, hash and sign new rows: the hot loop of the ledger.

    Hashing is sequential (each row names its predecessor); signatures are independent,
    so chunks of a large batch are handed to signing threads (Ed25519 releases the GIL)
    as soon as they are hashed, and rows are yielded chunk by chunk, letting PostgreSQL
    ingest while the rest is still being signed.
    """
    created_at = datetime.now(UTC)
    pending: list[tuple[list[dict[str, Any]], Any]] = []
    rows: list[dict[str, Any]] = []
    digests: list[bytes] = []
    invariant(seq >= 0 and len(prev_hash) == 64, f"the chain head ({seq}, {prev_hash[:16]}…) is a head")
    for key, spec in fresh:
        seq += 1
        row = spec.body()
        row.update(seq=seq, id=key, version=ENCODING_VERSION, created_at=created_at,
                   key_id=signer.key_id, prev_hash=prev_hash)
        digest = sha256(encode_row(row)).digest()
        invariant(row["seq"] == seq and row["prev_hash"] == prev_hash, "each sealed row follows the one before")
        prev_hash = row["hash"] = digest.hex()
        rows.append(row)
        digests.append(digest)
        if len(rows) == _SIGN_CHUNK:
            pending.append((rows, _signing_pool().submit(_sign_chunk, signer, digests)))
            rows, digests = [], []
    pending.append((rows, None))
    for chunk, future in pending:
        signatures = future.result() if future is not None else _sign_chunk(signer, digests)
        for row, signature in zip(chunk, signatures, strict=True):
            row["signature"] = signature.hex()
            yield row


def _sign_chunk(signer: Signer, digests: list[bytes]) -> list[bytes]:
    return [signer.sign(digest) for digest in digests]


@lru_cache(maxsize=1)
def _signing_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2)), thread_name_prefix="ledger-sign")


def _insert(connection: Connection, rows: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert sealed rows (COPY on PostgreSQL, executemany elsewhere); returns them."""
    if connection.dialect.name != "postgresql":
        written = list(rows)
        if written:
            connection.execute(insert(TRANSFERS), written)
        return written
    written = []
    statement = f"COPY transfers ({', '.join(TRANSFER_COLUMNS)}) FROM STDIN"
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in TRANSFER_COLUMNS])
                written.append(row)
    except driver.Error as exc:  # surface driver errors as SQLAlchemy's, like every other statement
        raise DBAPIError.instance(statement, None, exc, type(driver).Error, dialect=connection.dialect) from exc
    return written


def _transfer(row: Mapping[str, Any]) -> StoredTransfer:
    values = dict(row)
    for name in ("occurred_at", "created_at"):
        values[name] = utc(values[name])
    return StoredTransfer(**values)
