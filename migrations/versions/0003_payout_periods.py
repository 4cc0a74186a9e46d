"""Payout periods: one append-only `period_closes` row per closed (currency, period).

A close is recorded in the same transaction as its payout transfers. `through_seq` is
the ledger head seq right after those payouts: transfers with a higher seq whose own
period is already closed count in the next open period (`ledger.payouts.arithmetic.Timeline`).

Revision ID: 0003_payout_periods
Revises: 0002_registry_events
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_payout_periods"
down_revision = "0002_registry_events"
branch_labels = None
depends_on = None

TABLE = "period_closes"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),
        sa.Column("cadence", sa.String(16), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("through_seq", sa.BigInteger, nullable=False),
        sa.Column("min_payout", sa.BigInteger, nullable=False),
        sa.Column("payees", sa.Integer, nullable=False),
        sa.Column("paid_count", sa.Integer, nullable=False),
        sa.Column("paid_total", sa.BigInteger, nullable=False),
        sa.Column("carried_total", sa.BigInteger, nullable=False),
        sa.CheckConstraint("cadence IN ('monthly', 'weekly', 'quarterly')", name="ck_period_closes_cadence"),
        sa.CheckConstraint("through_seq >= 0 AND min_payout >= 0 AND paid_total >= 0",
                           name="ck_period_closes_non_negative"),
    )
    op.create_index("ix_period_closes_seq", TABLE, ["currency", "through_seq"])
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"""CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE}
                    BEGIN SELECT RAISE(ABORT, 'ledger table {TABLE} is append-only: {verb} rejected'); END"""
            )
        return
    # ledger_reject_change() is created by 0001_ledger_core.
    for verb, scope in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
            f"FOR EACH {scope} EXECUTE FUNCTION ledger_reject_change()"
        )


def downgrade() -> None:
    op.drop_table(TABLE)  # drops its triggers with it
