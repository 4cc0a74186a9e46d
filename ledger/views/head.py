"""The ledger's side of `fairsplit status`: how many entries, the newest checkpoint, and
which witnesses cosigned it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from ledger.books.schema import TRANSFERS, WITNESS_COSIGNATURES
from ledger.transparency.tree import latest_checkpoint


def head_status(engine: Engine) -> dict[str, Any]:
    """{entries, checkpoint: {size, root_hash, issued_at, key_id, behind, cosigned_by} | None}."""
    with engine.connect() as connection:
        entries = int(connection.execute(select(func.coalesce(func.max(TRANSFERS.c.seq), 0))).scalar_one())
    stored = latest_checkpoint(engine)
    if stored is None:
        return {"entries": entries, "checkpoint": None}
    with engine.connect() as connection:
        witnesses = sorted(connection.execute(select(WITNESS_COSIGNATURES.c.witness).where(
            WITNESS_COSIGNATURES.c.tree_size == stored.size)).scalars())
    tree = stored.checkpoint
    return {"entries": entries, "checkpoint": {
        "origin": tree.origin, "size": tree.size, "root_hash": tree.root_hash.hex(), "issued_at": tree.issued_at,
        "key_id": stored.key_id, "behind": entries - tree.size, "cosigned_by": witnesses}}
