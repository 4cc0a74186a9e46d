"""The ledger signing keys' lifecycle as log entries: genesis, rotation, adoption of a legacy
history, and the public keys file artists are given (every key with its seq range).

Invariants:
- a key change is one `Ledger.append` of one ledger-key entry (`ledger.keys.history`) under
  the chain lock, in the transaction that registers the new key in `signing_keys`; the
  entry is sealed by the outgoing key (genesis: by the new key itself);
- the new key's file is written to the key folder before that transaction commits (so
  running services can pick it up) and removed if it fails; the retired private key is
  then moved to `<key_dir>/retired/` (0700), which no service reads.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select, update

from ledger.crypto import public_key_raw
from ledger.errors import SigningKeyError
from ledger.keys.history import (KEY_CURRENCY, KEY_DOCUMENT_TYPE, KEY_KIND, KEYS_ACCOUNT, SIGNING_ACCOUNT, b64,
                                canonical_memo, handover_message, incoming_message)
from ledger.keys.log import KeyEntryError, key_current_after, legacy_pending, log_key_history
from ledger.tlog.public_keys import Keyring, PublicKeyInfo
from ledger.keys.signing import ALGORITHM, KEY_SUFFIX, Signer, load_signer, read_key, write_new_key
from ledger.books.schema import CHECKPOINTS, TRANSFERS, SigningKey
from ledger.books.store import Ledger, TransferSpec

DEFAULT_ORIGIN = "fairsplit/ledger"
RETIRED_DIR = "retired"


def ledger_origin(connection: Connection, configured: str | None = None) -> str:
    """The log's origin: its checkpoints', else its key entries', else `configured`, else the default."""
    stored = connection.execute(select(CHECKPOINTS.c.origin).order_by(CHECKPOINTS.c.tree_size.desc()).limit(1)).scalar()
    if stored:
        return stored
    try:
        history_origin = log_key_history(connection).origin
    except (SigningKeyError, ValueError):
        history_origin = None
    return history_origin or configured or DEFAULT_ORIGIN


def key_document(action: str, origin: str, previous: str | None, new: Signer, **extra) -> dict:
    """A `fairsplit.ledger-key.v1` document with the incoming key's signature."""
    public_hex = new.public_hex
    return {"type": KEY_DOCUMENT_TYPE, "action": action, "origin": origin, "previous": previous,
            "key_id": new.key_id, "public_key": public_hex,
            "incoming_signature": b64(new.sign(incoming_message(action, origin, previous, new.key_id, public_hex))),
            **extra}


def key_spec(document: dict) -> TransferSpec:
    """The log entry of a key document: kind key, amount 0, XXX, ledger:keys -> ledger:signing."""
    return TransferSpec(f"ledger-key/{document['action']}/{document['key_id']}", KEYS_ACCOUNT, SIGNING_ACCOUNT, 0,
                        KEY_CURRENCY, KEY_KIND, datetime.now(UTC), memo=canonical_memo(document))


def _register(connection: Connection, signer: Signer) -> None:
    known = connection.execute(select(SigningKey.public_key).where(SigningKey.key_id == signer.key_id)).scalar()
    if known is None:
        connection.execute(insert(SigningKey).values(key_id=signer.key_id, algorithm=ALGORITHM,
                                                     public_key=signer.public_hex, created_at=datetime.now(UTC)))
    elif known != signer.public_hex:
        raise SigningKeyError(f"Key id {signer.key_id} is registered with a different public key.")


def rotate_key(engine: Engine, key_dir: str | Path, origin: str | None = None) -> tuple[Signer, list[str]]:
    """Rotate to a new key: one log entry signed by the current key (which must be at hand)."""
    key_dir = Path(key_dir)
    current = load_signer(key_dir, engine)
    with engine.connect() as connection:
        if legacy_pending(connection):
            raise SigningKeyError("This ledger's key was rotated before key changes were log entries; "
                                  "run `fairsplit init` first to record that history in the log.")
        origin = ledger_origin(connection, origin)
    new = write_new_key(key_dir)
    try:
        def register(connection: Connection) -> None:
            _register(connection, new)
            connection.execute(update(SigningKey).where(SigningKey.key_id == current.key_id,
                                                        SigningKey.retired_at.is_(None))
                               .values(retired_at=datetime.now(UTC)))  # the cache follows the log

        Ledger(engine, current).append([key_spec(key_document("rotate", origin, current.key_id, new))],
                                       before_insert=register)
    except BaseException:
        (key_dir / f"{new.key_id}{KEY_SUFFIX}").unlink(missing_ok=True)
        raise
    archive_key(key_dir, current.key_id)
    return new, [current.key_id]


def archive_key(key_dir: Path, key_id: str) -> Path | None:
    """Move a retired key's file out of the key folder into `retired/` (0700), never read by services."""
    source = Path(key_dir) / f"{key_id}{KEY_SUFFIX}"
    if not source.exists():
        return None
    archive = Path(key_dir) / RETIRED_DIR
    archive.mkdir(mode=0o700, exist_ok=True)
    os.chmod(archive, 0o700)
    target = archive / source.name
    os.replace(source, target)
    return target


def init_key_history(engine: Engine, signer: Signer, key_dir: str | Path, origin: str | None = None) -> str | None:
    """Anchor the key history in the log once: a genesis entry for a new ledger, an adopt entry
    for one rotated before key entries existed; nothing for a single-key older ledger (its key
    is the one of seq 1). Returns what was written ("genesis", "adopt") or None."""
    with engine.connect() as connection:
        head = connection.execute(select(func.max(TRANSFERS.c.seq))).scalar() or 0
        if key_current_after(connection) not in (None, signer.key_id):
            return None  # not this key's ledger: load_signer refuses elsewhere
        has_entries = bool(connection.execute(select(func.count()).select_from(TRANSFERS).where(
            TRANSFERS.c.credit_account == SIGNING_ACCOUNT, TRANSFERS.c.kind == KEY_KIND)).scalar())
        if has_entries:
            return None
        origin = ledger_origin(connection, origin)
        if head == 0:
            document = key_document("genesis", origin, None, signer)
        else:
            ranges = _legacy_ranges(connection)
            if len(ranges) == 1 and ranges[0][0] == signer.key_id:
                return None
            document = _adopt_document(ranges, origin, signer, Path(key_dir))
    Ledger(engine, signer).append([key_spec(document)])
    if document["action"] == "adopt":
        for item in document["legacy"]:
            if item["key_id"] != signer.key_id:
                archive_key(Path(key_dir), item["key_id"])
    return document["action"]


def _legacy_ranges(connection: Connection) -> list[tuple[str, int, int]]:
    """(key_id, first seq, last seq) per key, as the rows show them; refused unless contiguous."""
    rows = connection.execute(select(TRANSFERS.c.key_id, func.min(TRANSFERS.c.seq), func.max(TRANSFERS.c.seq),
                                     func.count()).group_by(TRANSFERS.c.key_id).order_by(func.min(TRANSFERS.c.seq))).all()
    expected = 1
    for key_id, first, last, count in rows:
        if first != expected or count != last - first + 1:
            raise SigningKeyError(f"Key {key_id}'s rows are not one contiguous range of seqs; "
                                  "run `fairsplit ledger verify` before adopting the key history.")
        expected = last + 1
    return [(key_id, int(first), int(last)) for key_id, first, last, _ in rows]


def _adopt_document(ranges: list[tuple[str, int, int]], origin: str, signer: Signer, key_dir: Path) -> dict:
    legacy = []
    for number, (key_id, first, last) in enumerate(ranges):
        following = ranges[number + 1][0] if number + 1 < len(ranges) else signer.key_id
        path = next((p for p in (key_dir / f"{key_id}{KEY_SUFFIX}", key_dir / RETIRED_DIR / f"{key_id}{KEY_SUFFIX}")
                     if p.exists()), None)
        if path is None:
            raise SigningKeyError(f"Recording the key history needs each earlier key to vouch for the next; "
                                  f"{key_id}{KEY_SUFFIX} is not in {key_dir}.")
        old = read_key(path)
        legacy.append({"key_id": key_id, "public_key": public_key_raw(old.private_key.public_key()).hex(),
                       "first_seq": first, "last_seq": last,
                       "handover_signature": b64(old.sign(handover_message(origin, key_id, first, last, following)))})
    return key_document("adopt", origin, None, signer, legacy=legacy)


def public_keyring(engine: Engine) -> Keyring:
    """Every key of the log's key history with its seq range: the file artists are given."""
    with engine.connect() as connection:
        try:
            history = log_key_history(connection)
        except KeyEntryError as exc:
            if exc.seq == 1 and "no signing key" in str(exc):
                raise SigningKeyError("This ledger has no signing key yet; run `fairsplit init`.") from None
            raise SigningKeyError(f"The log's key history is broken at seq {exc.seq} ({exc}); "
                                  "run `fairsplit ledger verify`.") from None
        origin = ledger_origin(connection)
    infos = tuple(PublicKeyInfo(r.key_id, r.public_key, r.first_seq, r.last_seq) for r in history.ranges)
    return Keyring(origin, infos, history.legacy_below)


def manifest_context(engine: Engine, manifest: dict) -> tuple:
    """(the log's key history, the close seq of the manifest's period) to check a manifest online."""
    from ledger.payouts.close import closes

    subject = manifest.get("subject") if isinstance(manifest.get("subject"), dict) else {}
    with engine.connect() as connection:
        try:
            history = log_key_history(connection)
        except KeyEntryError as exc:
            raise SigningKeyError(f"The log's key history is broken at seq {exc.seq}; run `fairsplit ledger verify`.") from None
        through = next((r["through_seq"] for r in closes(connection, subject.get("currency"))
                        if r["period"] == subject.get("period")), None) if isinstance(subject.get("currency"), str) else None
    return history, through
