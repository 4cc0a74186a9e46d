"""Keeping the evidence of rewards (`reward_evidence`), in the transaction that pays them.

`store_evidence` runs inside `ledger.books.events.book_events`, under the chain lock, right
before the rewards are sealed: it checks once more, against the log's own key history
(`ledger.keys.entries.read_trusted_keys`, not the registry tables the writer's quick
checks read), that the platform key and the worker key that signed each event are valid
at the seq its rewards will get — so a key revoked a moment ago, or one written straight
into a table, never pays — and keeps each document once (append-only, keyed by digest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select

from ledger.evidence.rewards import EvidenceError
from ledger.keys.entries import read_trusted_keys
from ledger.books.schema import REWARD_EVIDENCE, TRANSFERS

_CHUNK = 200


@dataclass(frozen=True)
class BookedEvidence:
    """An event's evidence as the writer books it: the document, its digest, and the ids
    of the keys whose signatures the writer verified (platform's and worker's)."""

    digest: str
    event_id: str
    document: str
    platform_id: str
    platform_key_id: str
    worker_key_id: str


def store_evidence(connection: Connection, items: Sequence[BookedEvidence]) -> None:
    """Refuse (EvidenceError) an item whose signers the log does not trust at the next seq;
    keep the documents not kept yet. Call under the chain lock, before the rewards are sealed."""
    keys = read_trusted_keys(connection)
    next_seq = (connection.execute(select(func.max(TRANSFERS.c.seq))).scalar() or 0) + 1
    for item in items:
        key = keys.keys.get(item.platform_key_id)
        if key is None or (key.owner, key.holder) != ("platform", item.platform_id) or not key.valid_at(next_seq):
            raise EvidenceError(f"event {item.event_id} is signed by platform key {item.platform_key_id}, which the "
                                f"ledger's key history does not show active for platform {item.platform_id}.")
        if keys.worker_key_at(item.worker_key_id, next_seq) is None:
            raise EvidenceError(f"the result for event {item.event_id} is signed by worker key {item.worker_key_id}, "
                                "which the ledger's key history does not show enrolled and unrevoked.")
    fresh = {item.digest: item for item in items}
    for digest in documents(connection, list(fresh)):
        fresh.pop(digest)
    if fresh:
        now = datetime.now(UTC)
        connection.execute(insert(REWARD_EVIDENCE), [
            {"digest": item.digest, "event_id": item.event_id, "document": item.document, "recorded_at": now}
            for item in fresh.values()])


def documents(connection: Connection, digests: Iterable[str]) -> dict[str, str]:
    """digest -> document of the kept ones among `digests`."""
    wanted, found = sorted(set(digests)), {}
    for start in range(0, len(wanted), _CHUNK):
        query = select(REWARD_EVIDENCE.c.digest, REWARD_EVIDENCE.c.document).where(
            REWARD_EVIDENCE.c.digest.in_(wanted[start:start + _CHUNK]))
        found.update((digest, document) for digest, document in connection.execute(query))
    return found
