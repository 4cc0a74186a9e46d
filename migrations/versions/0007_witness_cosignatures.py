"""Witness cosignatures of the signed checkpoints (C2SP tlog-cosignature lines).

One row per (checkpoint, witness key): the cosignature line as the witness returned it,
after it was verified against the checkpoint. Append-only by trigger, like the
checkpoints they belong to: a cosignature is evidence, never taken back.

Revision ID: 0007_witness_cosignatures
Revises: 0006_key_lifecycle
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_witness_cosignatures"
down_revision = "0006_key_lifecycle"
branch_labels = None
depends_on = None

TABLE = "witness_cosignatures"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tree_size", sa.BigInteger, sa.ForeignKey("checkpoints.tree_size"), primary_key=True,
                  autoincrement=False),
        sa.Column("witness", sa.String(200), primary_key=True),
        sa.Column("key_id", sa.String(8), primary_key=True),
        sa.Column("cosigned_at", sa.BigInteger, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cosigned_at > 0", name="ck_witness_cosignatures_time"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for name in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER {TABLE}_no_{name.lower()} BEFORE {name} ON {TABLE}
                BEGIN SELECT RAISE(ABORT, 'ledger table {TABLE} is append-only: {name} rejected'); END""")
        return
    for name, each in (("update", "ROW"), ("delete", "ROW"), ("truncate", "STATEMENT")):
        op.execute(f"CREATE TRIGGER {TABLE}_no_{name} BEFORE {name.upper()} ON {TABLE} "
                   f"FOR EACH {each} EXECUTE FUNCTION ledger_reject_change()")


def downgrade() -> None:
    op.drop_table(TABLE)
