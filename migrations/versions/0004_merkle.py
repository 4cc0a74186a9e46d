"""Verifiable ledger: the Merkle tree's complete nodes and the signed checkpoints.

Both tables are append-only by trigger, like the transfers: a stored node never changes
(complete subtrees are immutable) and a signed checkpoint is a promise never taken back.

Revision ID: 0004_merkle
Revises: 0003_payout_periods
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_merkle"
down_revision = "0003_payout_periods"
branch_labels = None
depends_on = None

TABLES = ("merkle_nodes", "checkpoints")


def _triggers(table: str, sqlite: bool) -> list[str]:
    if sqlite:
        return [
            f"""CREATE TRIGGER {table}_no_{name.lower()} BEFORE {name} ON {table}
                BEGIN SELECT RAISE(ABORT, 'ledger table {table} is append-only: {name} rejected'); END"""
            for name in ("UPDATE", "DELETE")
        ]
    # ledger_reject_change() is created by 0001_ledger_core.
    return [
        f"CREATE TRIGGER {table}_no_{name.lower()} BEFORE {name} ON {table} FOR EACH {each} "
        "EXECUTE FUNCTION ledger_reject_change()"
        for name, each in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT"))
    ]


def upgrade() -> None:
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.CheckConstraint("level >= 0 AND level < 64 AND idx >= 0", name="ck_merkle_nodes_position"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), sa.ForeignKey("signing_keys.key_id"), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.CheckConstraint("tree_size >= 0", name="ck_checkpoints_size"),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        for statement in _triggers(table, sqlite):
            op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        for name in ("update", "delete") + (() if sqlite else ("truncate",)):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{name}" + ("" if sqlite else f" ON {table}"))
        op.drop_table(table)
