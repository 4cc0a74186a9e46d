"""The ledger key history in the database: read from the log's key entries, and the append guard.

`signing_keys` is a cache (the foreign key of `transfers.key_id`), never a source of trust:
which key signs which seqs is `ledger.keys.history`, derived from the key entries of the
log itself. The first key is pinned by the caller (a public keys file), else it is the key
that signed seq 1 (a genesis entry names it; an older ledger's comes from the cache).

`guard_signer` is the one check `Ledger.append` makes under the chain lock: the signer is
the log's current key. A process whose key was rotated meanwhile picks the new key up
from its key folder (the rotation writes it there before committing) or stops with one
sentence — either way no row is ever sealed under a key whose range has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, func, select

from ledger.crypto import key_id as key_id_of
from ledger.errors import SigningKeyError
from ledger.keys.history import (KEY_CURRENCY, KEY_KIND, SIGNING_ACCOUNT, KeyHistory, KeyHistoryError, parse_key_memo)
from ledger.keys.signing import KEY_SUFFIX, Signer, public_key_from_hex, read_key
from ledger.books.schema import TRANSFERS, SigningKey

LEGACY_HINT = ("this ledger's key was rotated before key changes were log entries; "
               "run `fairsplit init` once to record its key history in the log")


class KeyEntryError(KeyHistoryError):
    """The log's key history is broken at `seq`."""

    def __init__(self, seq: int, message: str) -> None:
        super().__init__(message)
        self.seq = seq


def _key_entries(connection: Connection, through: int | None = None, newest_first: bool = False, limit: int | None = None):
    """(seq, key_id, memo) of the ledger-key entries (the credit index serves this query)."""
    query = select(TRANSFERS.c.seq, TRANSFERS.c.key_id, TRANSFERS.c.memo).where(
        TRANSFERS.c.credit_account == SIGNING_ACCOUNT, TRANSFERS.c.currency == KEY_CURRENCY,
        TRANSFERS.c.kind == KEY_KIND)
    if through is not None:
        query = query.where(TRANSFERS.c.seq <= through)
    query = query.order_by(TRANSFERS.c.seq.desc() if newest_first else TRANSFERS.c.seq)
    return connection.execute(query if limit is None else query.limit(limit)).all()


def _cached_public(connection: Connection, key_id: str) -> Ed25519PublicKey | None:
    raw = connection.execute(select(SigningKey.public_key).where(SigningKey.key_id == key_id)).scalar()
    try:
        return None if raw is None else public_key_from_hex(raw)
    except ValueError:
        return None


def _legacy_rotated(connection: Connection) -> bool:
    """Keys were retired before this ledger had key entries (checked only when it has none)."""
    return bool(connection.execute(select(func.count()).select_from(SigningKey)
                                   .where(SigningKey.retired_at.is_not(None))).scalar())


def _newest_active(connection: Connection) -> str | None:
    return connection.execute(select(SigningKey.key_id).where(SigningKey.retired_at.is_(None))
                              .order_by(SigningKey.created_at.desc(), SigningKey.key_id).limit(1)).scalar()


def first_key(connection: Connection) -> tuple[str, Ed25519PublicKey] | None:
    """The ledger's own first key: the signer of seq 1 (a genesis entry names its public key),
    or, for an empty log, its one registered key. None for a ledger without any."""
    row = connection.execute(select(TRANSFERS.c.key_id).where(TRANSFERS.c.seq == 1)).first()
    key_id = row.key_id if row is not None else _newest_active(connection)
    if key_id is None:
        return None
    entries = _key_entries(connection, through=1)
    if entries:
        try:
            document = parse_key_memo(entries[0].memo)
            if document["key_id"] == key_id:
                return key_id, public_key_from_hex(document["public_key"])
        except (KeyHistoryError, ValueError):
            pass
    public = _cached_public(connection, key_id)
    return None if public is None else (key_id, public)


def derive_history(connection: Connection, pinned: Ed25519PublicKey | None = None,
                   through: int | None = None) -> tuple[KeyHistory | None, tuple[int, str] | None]:
    """(the history up to the first bad key entry, (its seq, why) or None).

    `pinned`: the first key as the verifier knows it (a public keys file); else the ledger's own.
    """
    start = (key_id_of(pinned), pinned) if pinned is not None else first_key(connection)
    if start is None:
        return None, None
    history = KeyHistory.starting_with(*start)
    for entry in _key_entries(connection, through):
        try:
            history = history.apply(entry.seq, entry.key_id, entry.memo)
        except KeyHistoryError as exc:
            return history, (entry.seq, f"key entry refused: {exc}")
    return history, None


def log_key_history(connection: Connection, pinned: Ed25519PublicKey | None = None,
                    through: int | None = None) -> KeyHistory:
    """The key history of the log (up to seq `through`); KeyEntryError at the first bad key entry."""
    history, failure = derive_history(connection, pinned, through)
    if failure is not None:
        raise KeyEntryError(*failure)
    if history is None:
        raise KeyEntryError(1, "the ledger has no signing key")
    return history


@dataclass
class LogKeys:
    """What `ledger verify` checks each row's key against: the history derived from the log."""

    history: KeyHistory | None
    failure: tuple[int, str] | None = None
    hint: str = ""

    @property
    def public(self) -> dict[str, Ed25519PublicKey]:
        return {} if self.history is None else {r.key_id: r.public_key for r in self.history.ranges}

    def problem(self, key_id: str, seq: int) -> str | None:
        if self.failure is not None and seq >= self.failure[0]:
            return self.failure[1]
        if self.history is None:
            return f"unknown key: {key_id} is not a registered key, so the log has no first key"
        problem = self.history.entry_problem(key_id, seq)
        return None if problem is None else f"key not valid: {problem}{self.hint}"


def log_keys(engine: Engine, pinned: Ed25519PublicKey | None = None) -> LogKeys:
    with engine.connect() as connection:
        history, failure = derive_history(connection, pinned)
        hint = f" ({LEGACY_HINT})" if legacy_pending(connection) else ""
    return LogKeys(history, failure, hint)


def key_current_after(connection: Connection, size: int | None = None) -> str | None:
    """The id of the key current once the log holds `size` entries (None: the head), cheaply:
    the newest ledger-key entry up to there names it. None when any key may start a log."""
    last = _key_entries(connection, through=size, newest_first=True, limit=1)
    if last:
        try:
            return parse_key_memo(last[0].memo)["key_id"]
        except KeyHistoryError as exc:
            raise SigningKeyError(f"The ledger's key entry at seq {last[0].seq} is unreadable ({exc}); "
                                  "run `fairsplit ledger verify`.") from None
    if (size is None or not _key_entries(connection, limit=1)) and _legacy_rotated(connection):
        return _newest_active(connection)  # legacy: the cache was the only record until `init` adopts it
    row = connection.execute(select(TRANSFERS.c.key_id).where(TRANSFERS.c.seq == 1)).first()
    return None if row is None else row.key_id


def guard_signer(connection: Connection, signer: Signer, key_dir: str | Path | None) -> Signer:
    """The signer to seal with: `signer` if it is the log's current key, else the current key
    from `key_dir`; SigningKeyError (nothing written) when that key is not at hand."""
    current = key_current_after(connection)
    if current is None or current == signer.key_id:
        return signer
    if key_dir is not None:
        path = Path(key_dir) / f"{current}{KEY_SUFFIX}"
        if path.is_file():
            fresh = read_key(path)
            if fresh.key_id == current:
                return fresh
    raise SigningKeyError(f"The ledger key was rotated to {current}, and this process holds only {signer.key_id}; "
                          f"nothing was written: give it the key folder that holds {current}{KEY_SUFFIX}.")


def signer_problem(connection: Connection, signer: Signer, size: int) -> str | None:
    """Why `signer` may not sign a checkpoint or manifest of log size `size` (None: it may)."""
    expected = key_current_after(connection, size)
    if expected is None or expected == signer.key_id:
        return None
    return f"a log of size {size} is signed by key {expected}, not {signer.key_id}"


def legacy_pending(connection: Connection) -> bool:
    """A ledger rotated before key entries existed, whose history `init` has not adopted yet."""
    return not _key_entries(connection, limit=1) and _legacy_rotated(connection)
