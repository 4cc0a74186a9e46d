"""Maintained balances: `account_balances` and the period index of the transfers.

The transfer CHECKs that admit the close entries (kind `close`, amount 0) are
`0008_key_entries`'; nothing here touches them, and no transfer row is rewritten, so a
ledger written before verifies as before.
1. `ix_transfers_occurred (currency, occurred_at)`: a close and a statement read the
   entries of a period by time, not the whole history.
2. `account_balances` (append-only by trigger), backfilled by one INSERT … SELECT the
   database streams: one row per (account, currency) ever moved, its balance through the
   last seq that moved it.

Revision ID: 0009_maintained_balances
Revises: 0008_key_entries
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_maintained_balances"
down_revision = "0008_key_entries"
branch_labels = None
depends_on = None

TABLE = "account_balances"
BACKFILL = """
INSERT INTO account_balances (account, currency, through_seq, balance)
SELECT account, currency, MAX(seq), SUM(delta) FROM (
    SELECT credit_account AS account, currency, seq, amount AS delta FROM transfers WHERE amount <> 0
    UNION ALL
    SELECT debit_account AS account, currency, seq, -amount AS delta FROM transfers WHERE amount <> 0
) AS moves
GROUP BY account, currency
"""


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_index("ix_transfers_occurred", "transfers", ["currency", "occurred_at"])
    op.create_table(
        TABLE,
        sa.Column("account", sa.String(140), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("through_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.CheckConstraint("through_seq > 0", name="ck_account_balances_seq"),
    )
    op.create_index("ix_account_balances_seq", TABLE, ["through_seq"])
    op.execute(BACKFILL)
    if sqlite:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE}
                BEGIN SELECT RAISE(ABORT, 'ledger table {TABLE} is append-only: {verb} rejected'); END""")
        return
    for verb, scope in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
        op.execute(f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
                   f"FOR EACH {scope} EXECUTE FUNCTION ledger_reject_change()")


def downgrade() -> None:
    raise NotImplementedError("The ledger is append-only: maintained balances are never dropped by a migration.")
