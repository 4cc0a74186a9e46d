"""A checkpoint's signed note with the witnesses' cosignatures kept for it (table
`witness_cosignatures`, `ledger.books.schema`): what proofs, bundles and statements carry."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ledger.tlog.cosignature import with_cosignatures
from ledger.books.schema import WITNESS_COSIGNATURES as COSIGNATURES


def cosignature_lines(connection: Connection, tree_size: int) -> list[str]:
    rows = connection.execute(
        select(COSIGNATURES.c.line).where(COSIGNATURES.c.tree_size == tree_size)
        .order_by(COSIGNATURES.c.witness, COSIGNATURES.c.key_id)
    )
    return list(rows.scalars())


def cosigned_note(connection: Connection, tree_size: int, note: str) -> str:
    """The checkpoint's signed note with every cosignature kept for it appended."""
    return with_cosignatures(note, cosignature_lines(connection, tree_size))
