"""Maintained balances and record entries: `account_balances`, close entries, period indexes.

1. `transfers` CHECKs take the record kinds (the same final definitions as every branch
   that adds them): kinds ('reward','payout','reversal','adjustment','key','close') and
   `amount > 0 OR kind IN ('key','close')`. Existing rows are not touched (SQLite copies
   them, byte for byte, into the table with the new CHECKs), so they verify as before.
2. `ix_transfers_occurred (currency, occurred_at)`: a close and a statement read the
   entries of a period by time, not the whole history.
3. `account_balances` (append-only by trigger), backfilled by one INSERT … SELECT the
   database streams: one row per (account, currency) ever moved, its balance through the
   last seq that moved it.

Revision ID: 0009_maintained_balances
Revises: 0007_witness_cosignatures
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_maintained_balances"
down_revision = "0007_witness_cosignatures"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
TABLE = "account_balances"
AMOUNT_CHECK = "amount > 0 OR kind IN ('key','close')"
KIND_CHECK = "kind IN ('reward','payout','reversal','adjustment','key','close')"
BACKFILL = """
INSERT INTO account_balances (account, currency, through_seq, balance)
SELECT account, currency, MAX(seq), SUM(delta) FROM (
    SELECT credit_account AS account, currency, seq, amount AS delta FROM transfers WHERE amount <> 0
    UNION ALL
    SELECT debit_account AS account, currency, seq, -amount AS delta FROM transfers WHERE amount <> 0
) AS moves
GROUP BY account, currency
"""


def _sqlite_transfers(metadata: sa.MetaData, name: str) -> sa.Table:
    """`transfers` as 0001 made it, with the final CHECKs."""
    return sa.Table(
        name, metadata,
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("version", sa.SmallInteger, nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("attribution_id", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("debit_account", sa.String(140), nullable=False),
        sa.Column("credit_account", sa.String(140), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("reverses_id", sa.String(36), sa.ForeignKey("transfers.id"), nullable=True),
        sa.Column("memo", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), sa.ForeignKey("signing_keys.key_id"), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.CheckConstraint(AMOUNT_CHECK, name="ck_transfers_amount_positive"),
        sa.CheckConstraint("debit_account <> credit_account", name="ck_transfers_two_accounts"),
        sa.CheckConstraint(KIND_CHECK, name="ck_transfers_kind"),
        sa.CheckConstraint("seq > 0", name="ck_transfers_seq_positive"),
    )


def _relax_sqlite_checks() -> None:
    """SQLite cannot alter a CHECK: copy the rows into a table with the new ones (the
    FK checks wait for the commit), then restore its indexes and append-only triggers."""
    bind = op.get_bind()
    metadata = sa.MetaData()
    sa.Table("signing_keys", metadata, sa.Column("key_id", sa.String(16), primary_key=True))
    sa.Table("transfers", metadata, sa.Column("id", sa.String(36), primary_key=True))
    new = _sqlite_transfers(metadata, "transfers_0009")
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(sa.schema.CreateTable(new).compile(dialect=bind.dialect).string)
    columns = ", ".join(column.name for column in new.columns)
    op.execute(f"INSERT INTO transfers_0009 ({columns}) SELECT {columns} FROM transfers ORDER BY seq")
    op.execute("DROP TABLE transfers")
    op.execute("ALTER TABLE transfers_0009 RENAME TO transfers")
    op.create_index("ix_transfers_credit", "transfers", ["credit_account", "currency", "seq"])
    op.create_index("ix_transfers_debit", "transfers", ["debit_account", "currency", "seq"])
    op.create_index("ix_transfers_event", "transfers", ["event_id"])
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"""CREATE TRIGGER transfers_no_{verb.lower()} BEFORE {verb} ON transfers
           BEGIN SELECT RAISE(ABORT, 'ledger table transfers is append-only: {verb} rejected'); END""")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _relax_sqlite_checks()
    else:
        for name, check in (("ck_transfers_amount_positive", AMOUNT_CHECK), ("ck_transfers_kind", KIND_CHECK)):
            op.execute(f"ALTER TABLE transfers DROP CONSTRAINT IF EXISTS {name}")
            op.execute(f"ALTER TABLE transfers ADD CONSTRAINT {name} CHECK ({check})")
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
