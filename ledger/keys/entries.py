"""Platform and worker key changes as log entries (formats: `ledger.keys.trusted`).

The registry (`ledger.parties.registry`) writes its key tables and these entries in one
transaction under the chain lock (`Ledger.append_decided`), so the tables are a cache of
the log, never the authority: verification, bundles and the ledger writer's final check
read the key history from the log (`read_trusted_keys`).

Anchoring (the upgrade of a ledger from before evidence-bound rewards): the first time a
key entry is written, a ledger writer starts or `fairsplit init` runs on a log with
rewards, and the log has no evidence start yet,
`anchor_specs` writes it (rewards so far are legacy) followed by an `add` entry for every
unrevoked platform and worker key in the tables. That is the one moment table rows are
taken on trust, once, at the upgrade; afterwards a key reaches the log only through the
registry's commands.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from ledger.crypto import load_public_key, public_key_raw
from ledger.keys.history import KEY_CURRENCY, KEY_KIND
from ledger.books.schema import KEY_REVOCATIONS, PLATFORM_KEYS, SERVICE_KEYS, TRANSFERS
from ledger.books.store import TransferSpec
from ledger.keys.trusted import (ACCOUNTS, EVIDENCE_START, KEYS_ACCOUNT, PLATFORM_KEY, SERVICE_KEY, TrustedKeys,
                                 key_memo)


def _entry(kind: str, event_id: str, document: dict, now: datetime) -> TransferSpec:
    return TransferSpec(event_id, KEYS_ACCOUNT, ACCOUNTS[kind], 0, KEY_CURRENCY, KEY_KIND, now, memo=key_memo(document))


def platform_key_entry(action: str, platform_id: str, key_id: str, public_key_pem: str, reason: str,
                       now: datetime | None = None) -> TransferSpec:
    """The entry that adds a platform's key to, or revokes it from, the log's trust."""
    document = {"type": PLATFORM_KEY, "action": action, "platform_id": platform_id, "key_id": key_id,
                "public_key": _raw_hex(public_key_pem), "reason": reason}
    return _entry(PLATFORM_KEY, f"platform-key:{key_id}:{action}", document, now or datetime.now(UTC))


def service_key_entry(action: str, role: str, key_id: str, public_key_pem: str, reason: str,
                      now: datetime | None = None) -> TransferSpec:
    """The entry that enrols a service (attribution-worker) key, or revokes it."""
    document = {"type": SERVICE_KEY, "action": action, "role": role, "key_id": key_id,
                "public_key": _raw_hex(public_key_pem), "reason": reason}
    return _entry(SERVICE_KEY, f"service-key:{key_id}:{action}", document, now or datetime.now(UTC))


def _raw_hex(public_key_pem: str) -> str:
    return public_key_raw(load_public_key(public_key_pem.encode())).hex()


def has_evidence_start(connection: Connection) -> bool:
    query = select(TRANSFERS.c.seq).where(TRANSFERS.c.kind == KEY_KIND, TRANSFERS.c.event_id == "evidence-start")
    return connection.execute(query.limit(1)).first() is not None


def anchor_specs(connection: Connection, now: datetime | None = None) -> list[TransferSpec]:
    """The evidence start and the table keys' `add` entries, when the log has no evidence
    start yet (see the module docstring); [] otherwise. Call under the chain lock."""
    if has_evidence_start(connection):
        return []
    now = now or datetime.now(UTC)
    head = connection.execute(select(func.max(TRANSFERS.c.seq))).scalar() or 0
    legacy = connection.execute(select(func.count()).select_from(TRANSFERS).where(TRANSFERS.c.kind == "reward")).scalar()
    start = {"type": EVIDENCE_START, "through_seq": int(head), "legacy_rewards": int(legacy)}
    specs = [_entry(EVIDENCE_START, "evidence-start", start, now)]
    revoked = set(connection.execute(select(KEY_REVOCATIONS.c.owner, KEY_REVOCATIONS.c.key_id)).all())
    for row in connection.execute(select(PLATFORM_KEYS).order_by(PLATFORM_KEYS.c.created_at, PLATFORM_KEYS.c.key_id)):
        if ("platform", row.key_id) not in revoked:
            specs.append(platform_key_entry("add", row.platform_id, row.key_id, row.public_key_pem,
                                            "anchored at the upgrade", now))
    for row in connection.execute(select(SERVICE_KEYS).order_by(SERVICE_KEYS.c.created_at, SERVICE_KEYS.c.key_id)):
        if ("service", row.key_id) not in revoked:
            specs.append(service_key_entry("add", row.role, row.key_id, row.public_key_pem, "anchored at the upgrade", now))
    return specs


def upgrade_specs(connection: Connection) -> list[TransferSpec]:
    """`anchor_specs` for a log that holds rewards and no evidence start yet (the upgrade
    `fairsplit init` completes); [] for a new ledger, whose first registration anchors it."""
    if connection.execute(select(TRANSFERS.c.seq).where(TRANSFERS.c.kind == "reward").limit(1)).first() is None:
        return []
    return anchor_specs(connection)


def read_trusted_keys(connection: Connection, through_seq: int | None = None) -> TrustedKeys:
    """The key history of the log (up to `through_seq`), read through the key-entry index."""
    query = select(TRANSFERS).where(TRANSFERS.c.kind == KEY_KIND).order_by(TRANSFERS.c.seq)
    if through_seq is not None:
        query = query.where(TRANSFERS.c.seq <= through_seq)
    keys = TrustedKeys()
    for row in connection.execute(query).mappings():
        keys.apply(row)
    return keys
