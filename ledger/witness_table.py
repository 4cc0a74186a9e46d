"""`witness_cosignatures`: the cosignature lines witnesses returned for each checkpoint.

Invariant: a row is written only after its line verified (cosignature/v1) against the
checkpoint of `tree_size` with the witness's key (`ledger.witnessing.record_cosignature`);
rows are never changed or removed (append-only by trigger, migration 0007).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Connection, DateTime, ForeignKey, String, Text, select
from sqlmodel import Field, SQLModel

from ledger.cosignature import with_cosignatures


class WitnessCosignature(SQLModel, table=True):
    __tablename__ = "witness_cosignatures"

    tree_size: int = Field(sa_column=Column(BigInteger, ForeignKey("checkpoints.tree_size"), primary_key=True,
                                            autoincrement=False))
    witness: str = Field(sa_column=Column(String(200), primary_key=True))
    key_id: str = Field(sa_column=Column(String(8), primary_key=True))  # 4 bytes, hex
    cosigned_at: int = Field(sa_column=Column(BigInteger, nullable=False))  # the cosignature's Unix time
    line: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


COSIGNATURES = WitnessCosignature.__table__


def cosignature_lines(connection: Connection, tree_size: int) -> list[str]:
    rows = connection.execute(
        select(COSIGNATURES.c.line).where(COSIGNATURES.c.tree_size == tree_size)
        .order_by(COSIGNATURES.c.witness, COSIGNATURES.c.key_id)
    )
    return list(rows.scalars())


def cosigned_note(connection: Connection, tree_size: int, note: str) -> str:
    """The checkpoint's signed note with every cosignature kept for it appended."""
    return with_cosignatures(note, cosignature_lines(connection, tree_size))
