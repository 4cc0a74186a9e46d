"""The evidence part of a balance bundle, from the database (checked offline by
`ledger.evidence.offline`; formats in docs/verifiable-ledger.md).

For the bundle's reward entries it adds:
- `evidence`: one `{"digest", "document"}` per evidence their memos name;
- `key_entries`: the `key` entries, each with its inclusion proof under the bundle's
  checkpoint, that an offline verifier needs to rebuild the key ranges: the evidence
  start, every platform-key entry of the platforms that paid, every service-key entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from ledger.evidence.rewards import memo_digest
from ledger.evidence.store import documents
from ledger.tlog.merkle import inclusion_proof
from ledger.tlog.proofs import inclusion_part
from ledger.books.schema import TRANSFERS
from ledger.transparency.tree import node_fetcher
from ledger.keys.trusted import EVIDENCE_START, PLATFORM_KEY, SERVICE_KEY


def evidence_part(connection: Connection, rows: Sequence[Mapping[str, Any]], size: int) -> dict[str, Any]:
    """{"evidence": […], "key_entries": […]} for the bundle's `rows` under a tree of `size`."""
    rewards = [row for row in rows if row["kind"] == "reward"]
    kept = documents(connection, {memo_digest(row["memo"]) for row in rewards} - {None})
    platforms = {row["debit_account"].partition(":")[2] for row in rewards}
    fetch = node_fetcher(connection)
    entries = []
    if rewards:
        query = select(TRANSFERS).where(TRANSFERS.c.kind == "key", TRANSFERS.c.seq <= size).order_by(TRANSFERS.c.seq)
        for row in connection.execute(query).mappings():
            if _needed(row["memo"], platforms):
                entries.append(inclusion_part(row, inclusion_proof(row["seq"] - 1, size, fetch)))
    return {"evidence": [{"digest": digest, "document": kept[digest]} for digest in sorted(kept)],
            "key_entries": entries}


def _needed(memo: str | None, platforms: set[str]) -> bool:
    try:
        document = json.loads(memo) if memo else {}
    except ValueError:
        return False
    kind = document.get("type") if isinstance(document, dict) else None
    return kind in (EVIDENCE_START, SERVICE_KEY) or (kind == PLATFORM_KEY and document.get("platform_id") in platforms)
